/**
 * DOC: command-line option parsing for `tandem` and `tandemd`
 *
 * `--name value`, `--name=value` and boolean `--flag`; an unknown option or a
 * bad value is a UsageError that names it, so the CLI can print it with the
 * command's usage and exit 2.
 */

export type OptionKind = 'string' | 'int' | 'boolean';
export type OptionSpec = Record<string, OptionKind>;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Parsed {
  positionals: string[];
  options: Record<string, string | number | boolean | undefined>;
}

export function parseArgs(argv: readonly string[], spec: OptionSpec): Parsed {
  const positionals: string[] = [];
  const options: Parsed['options'] = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      options[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (kind === 'int') {
      if (!/^-?\d+$/.test(value)) throw new UsageError(`--${name} must be an integer, not "${value}"`);
      options[name] = Number(value);
    } else options[name] = value;
  }
  return { positionals, options };
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.options[name];
  return typeof v === 'string' ? v : undefined;
}

export function int(p: Parsed, name: string, min: number, max: number, fallback?: number): number | undefined {
  const v = p.options[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || v < min || v > max) throw new UsageError(`--${name} must be ${min}..${max}, not ${String(v)}`);
  return v;
}

export function flag(p: Parsed, name: string): boolean {
  return p.options[name] === true;
}

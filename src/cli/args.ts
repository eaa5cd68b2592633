/**
 * DOC: command-line option parsing for `tandem` and `tandemd`
 *
 * `--name value`, `--name=value` and boolean `--flag` (node:util parseArgs);
 * an unknown option or a bad value is a UsageError that names it, so the CLI
 * can print it with the command's usage and exit 2.
 */
import { parseArgs as nodeParseArgs } from 'node:util';

export type OptionKind = 'string' | 'int' | 'boolean';
export type OptionSpec = Record<string, OptionKind>;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Parsed {
  positionals: string[];
  options: Record<string, string | number | boolean | undefined>;
}

/**
 * node:util's parseArgs (strict: an unknown option or a missing value is an error; `--` ends the options),
 * with integers checked here and every error a UsageError that names the option.
 */
export function parseArgs(argv: readonly string[], spec: OptionSpec): Parsed {
  const options = Object.fromEntries(
    Object.entries(spec).map(([name, kind]) => [name, { type: kind === 'boolean' ? ('boolean' as const) : ('string' as const) }]),
  );
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = nodeParseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(usageMessage(e as Error & { code?: string }));
  }
  const out: Parsed['options'] = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    const v = Array.isArray(value) ? value.at(-1) : value;
    if (spec[name] === 'int') {
      if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer, not "${String(v)}"`);
      out[name] = Number(v);
    } else out[name] = v;
  }
  return { positionals: parsed.positionals, options: out };
}

/** node:util's errors, in the CLI's words (the option named, what to do). */
function usageMessage(e: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(e.message)?.[1] ?? '?';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(e.message)) return `${option} takes no value`;
      if (/ambiguous/.test(e.message)) return `${option}: a value starting with "-" must be given as ${option}=VALUE`;
      return `${option} needs a value`;
    default:
      return e.message;
  }
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

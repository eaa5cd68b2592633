/**
 * DOC: field-by-field validation of JSON files (board, later configuration)
 *
 * A `Fields` wraps one JSON object and its path from the file's root; every
 * accessor checks one field and, when it is wrong, throws a ValidationError
 * naming the file, the field path (`nics[2].slot`) and what is expected.
 */
import { readFileSync } from 'node:fs';

export class ValidationError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${problem}`);
    this.name = 'ValidationError';
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Reads and parses a JSON file; a missing file or bad JSON is a ValidationError naming the file. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ValidationError(path, '', `cannot read the ${what}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValidationError(path, '', `not valid JSON${jsonErrorPlace(text, (e as Error).message)}`);
  }
}

/**
 * Where JSON.parse stopped, as a line and column, without the parser's own message: Node's quotes the text it
 * read, and a path pointing at the wrong file (a key, a binary) must not have its first bytes printed.
 */
function jsonErrorPlace(text: string, message: string): string {
  const at = /at position (\d+)/.exec(message);
  if (!at) {
    const start = text.trimStart();
    if (start === '') return ' (the file is empty)';
    if (start[0] !== '{' && start[0] !== '[') return ' (it does not begin with "{": not a JSON file)';
    return /end of JSON/.test(message) ? ' (it ends before the JSON does)' : '';
  }
  const before = text.slice(0, Number(at[1]));
  const line = before.split('\n').length;
  return ` (at line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
}

export class Fields {
  private constructor(
    private readonly value: Record<string, unknown>,
    readonly file: string,
    readonly path: string,
  ) {}

  static root(raw: unknown, file: string): Fields {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ValidationError(file, '', `the top level must be a JSON object, not ${describe(raw)}`);
    }
    return new Fields(raw as Record<string, unknown>, file, '');
  }

  /** The same object seen from another path (an array element). */
  rebase(path: string): Fields {
    return new Fields(this.value, this.file, path);
  }

  private at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  fail(field: string, problem: string): never {
    throw new ValidationError(this.file, field, problem);
  }

  private get(key: string): unknown {
    return this.value[key];
  }

  /** The keys of this object (for maps keyed by name, such as bypass segments in a configuration). */
  keys(): string[] {
    return Object.keys(this.value);
  }

  has(key: string): boolean {
    return this.value[key] !== undefined;
  }

  private required(key: string, what: string): unknown {
    const v = this.get(key);
    if (v === undefined) this.fail(this.at(key), `missing; expected ${what}`);
    return v;
  }

  string(key: string, opts: { pattern?: RegExp; hint?: string } = {}): string {
    const what = opts.hint ?? 'a string';
    const v = this.required(key, what);
    if (typeof v !== 'string' || v.length === 0) this.fail(this.at(key), `expected ${what}, got ${describe(v)}`);
    if (opts.pattern && !opts.pattern.test(v)) this.fail(this.at(key), `expected ${what}, got ${describe(v)}`);
    return v;
  }

  optionalString(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(this.at(key), `expected a string, got ${describe(v)}`);
    return v;
  }

  int(key: string, min: number, max: number): number {
    const v = this.required(key, `an integer ${min}..${max}`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(this.at(key), `expected an integer ${min}..${max}, got ${describe(v)}`);
    }
    return v;
  }

  bool(key: string): boolean {
    const v = this.required(key, 'true or false');
    if (typeof v !== 'boolean') this.fail(this.at(key), `expected true or false, got ${describe(v)}`);
    return v;
  }

  oneOf<T extends string | number>(key: string, allowed: readonly T[]): T {
    const list = allowed.map((a) => JSON.stringify(a)).join(', ');
    const v = this.required(key, `one of ${list}`);
    if (!allowed.includes(v as T)) this.fail(this.at(key), `expected one of ${list}, got ${describe(v)}`);
    return v as T;
  }

  object(key: string): Fields {
    const v = this.required(key, 'an object');
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(this.at(key), `expected an object, got ${describe(v)}`);
    return new Fields(v as Record<string, unknown>, this.file, this.at(key));
  }

  nullable<T>(key: string, read: (f: Fields) => T): T | null {
    const v = this.get(key);
    if (v === null || v === undefined) return null;
    return read(this.object(key));
  }

  array(key: string, opts: { min?: number; max?: number } = {}): Item[] {
    const v = this.required(key, 'an array');
    if (!Array.isArray(v)) this.fail(this.at(key), `expected an array, got ${describe(v)}`);
    if (opts.min !== undefined && v.length < opts.min) this.fail(this.at(key), `needs at least ${opts.min} entr${opts.min === 1 ? 'y' : 'ies'}`);
    if (opts.max !== undefined && v.length > opts.max) this.fail(this.at(key), `allows at most ${opts.max} entries, got ${v.length}`);
    return v.map((item, i) => new Item(item, this.file, `${this.at(key)}[${i}]`));
  }

  optionalArray(key: string): Item[] | undefined {
    return this.get(key) === undefined ? undefined : this.array(key);
  }
}

/** One element of an array: an object (use `fields()`) or a scalar (use `self`). */
export class Item {
  constructor(
    private readonly raw: unknown,
    private readonly file: string,
    private readonly path: string,
  ) {}

  fields(): Fields {
    if (typeof this.raw !== 'object' || this.raw === null || Array.isArray(this.raw)) {
      throw new ValidationError(this.file, this.path, `expected an object, got ${describe(this.raw)}`);
    }
    return Fields.root(this.raw, this.file).rebase(this.path);
  }

  get self(): { string(): string } {
    return {
      string: () => {
        if (typeof this.raw !== 'string' || this.raw.length === 0) {
          throw new ValidationError(this.file, this.path, `expected a string, got ${describe(this.raw)}`);
        }
        return this.raw;
      },
    };
  }
}

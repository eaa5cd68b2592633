import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = join(__dirname, '..', '..', '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** What a file takes from others: its imports and its re-exports (`export ... from` is an import too). */
function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^(?:import|export) [^;]*? from '([^']+)';/gms)].map((m) => m[1]!);
}

const layer = (file: string) => relative(SRC, file).split('/')[0]!;

/** DESIGN.md: cli -> runtime -> (core, wire) <- io; core and wire import no node: module. */
const allowed: Record<string, (target: string) => boolean> = {
  wire: (t) => t === 'wire',
  core: (t) => t === 'core' || t === 'wire',
  io: (t) => ['io', 'wire', 'core', 'board'].includes(t),
  board: (t) => ['board', 'wire'].includes(t),
  api: (t) => t === 'api',
  sync: (t) => ['sync', 'wire', 'io', 'core', 'cluster'].includes(t),
  cluster: (t) => ['cluster', 'board', 'wire', 'core'].includes(t),
  runtime: (t) => !['cli', 'lab'].includes(t),
  lab: (t) => !['cli'].includes(t),
  console: (t) => ['console', 'api', 'cluster', 'board', 'wire', 'core'].includes(t),
  image: (t) => ['image', 'board', 'cluster', 'runtime'].includes(t),
  cli: () => true,
  types: () => false,
};

test('imports flow one way between layers', (t) => {
  const bad: string[] = [];
  for (const file of files(SRC)) {
    const from = layer(file);
    for (const spec of imports(file)) {
      if (!spec.startsWith('.')) {
        if ((from === 'core' || from === 'wire') && !spec.startsWith('.')) bad.push(`${relative(SRC, file)} imports ${spec}`);
        continue;
      }
      const target = layer(join(file, '..', spec));
      if (!(allowed[from] ?? (() => false))(target)) bad.push(`${relative(SRC, file)} (${from}) imports ${spec} (${target})`);
    }
  }
  t.deepEqual(bad, []);
});

test('only src/io/native.ts loads the addon', (t) => {
  const loaders = files(SRC).filter((f) => /from 'bindings'|require\('bindings'\)/.test(readFileSync(f, 'utf8')));
  t.deepEqual(
    loaders.map((f) => relative(SRC, f)),
    ['io/native.ts'],
  );
});

test('no file is long enough to need a map', (t) => {
  const long = files(SRC).filter((f) => readFileSync(f, 'utf8').split('\n').length > 400);
  t.deepEqual(
    long.map((f) => relative(SRC, f)),
    [],
  );
});

const NATIVE = join(__dirname, '..', '..', '..', 'native');
/** Ours, not the vendored kernel headers (native/uapi/). */
const nativeFiles = () =>
  readdirSync(NATIVE)
    .filter((f) => /\.[ch]$/.test(f))
    .map((f) => join(NATIVE, f));

test('the C addon stays small enough to audit in one sitting', (t) => {
  const lines = nativeFiles().map((f) => ({ f: relative(NATIVE, f), n: readFileSync(f, 'utf8').split('\n').length }));
  t.deepEqual(
    lines.filter((x) => x.n > 550).map((x) => `${x.f}: ${x.n} lines`),
    [],
    'no C file over 550 lines',
  );
  const total = lines.reduce((a, x) => a + x.n, 0);
  t.true(total <= 3000, `native/ holds ${total} lines of our C (limit 3000)`);
});

test('every JS callback the addon makes from the event loop goes through call_back (exceptions reach uncaughtException)', (t) => {
  const direct = nativeFiles().filter((f) => !f.endsWith('util.c') && /napi_make_callback|napi_call_function/.test(readFileSync(f, 'utf8')));
  t.deepEqual(
    direct.map((f) => relative(NATIVE, f)),
    [],
  );
});

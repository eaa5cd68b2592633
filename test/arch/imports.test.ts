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

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^import [^;]*? from '([^']+)';/gms)].map((m) => m[1]!);
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
  t.deepEqual(loaders.map((f) => relative(SRC, f)), ['io/native.ts']);
});

test('no file is long enough to need a map', (t) => {
  const long = files(SRC).filter((f) => readFileSync(f, 'utf8').split('\n').length > 400);
  t.deepEqual(long.map((f) => relative(SRC, f)), []);
});

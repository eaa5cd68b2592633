import test from 'ava';
import { parseArgs, UsageError } from '../../src/cli/args.js';

const SPEC = { config: 'string', count: 'int', json: 'boolean' } as const;

test('options, values, integers and positionals (node:util parseArgs)', (t) => {
  const p = parseArgs(['status', '--config', 'n1.json', '--count=3', '--json', 'extra'], SPEC);
  t.deepEqual(p.positionals, ['status', 'extra']);
  t.deepEqual(p.options, { config: 'n1.json', count: 3, json: true });
  t.deepEqual(parseArgs(['--', '--json'], SPEC).positionals, ['--json'], '-- ends the options');
});

test('every mistake is a UsageError naming the option', (t) => {
  const bad = (argv: string[], message: RegExp) => t.throws(() => parseArgs(argv, SPEC), { instanceOf: UsageError, message });
  bad(['--nope'], /^unknown option --nope$/);
  bad(['--config'], /^--config needs a value$/);
  bad(['--json=yes'], /^--json takes no value$/);
  bad(['--count', 'many'], /^--count must be an integer, not "many"$/);
  bad(['--count', '-1'], /--count: a value starting with "-" must be given as --count=VALUE/);
});

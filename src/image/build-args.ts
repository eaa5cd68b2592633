/**
 * DOC: the build scripts' command lines (`node dist/src/image/X.js --name value ...`, run by the Makefile)
 */

/** The value after `--name`, or undefined when the option is absent. */
export function optionOf(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

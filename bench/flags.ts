/** DOC: a bench's numeric flag (--name N), or its default when absent. */
export function numberFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number, got ${JSON.stringify(process.argv[i + 1] ?? '')}`);
  return v;
}

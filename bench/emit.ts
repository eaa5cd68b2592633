/**
 * DOC: how benches print a result: one JSON line {name, unit, value, peer, ...extra}, values to 2 decimals; and the
 * min, median and max of repeated samples
 */
const round = (x: number) => Math.round(x * 100) / 100;

export function emit(name: string, unit: string, value: number, peer = 'tandem', extra: Record<string, number> = {}): void {
  const more = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, round(v)]));
  process.stdout.write(JSON.stringify({ name, unit, value: round(value), peer, ...more }) + '\n');
}

export function stats(v: readonly number[]): { min: number; median: number; max: number } {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { min: s[0]!, median: mid, max: s.at(-1)! };
}

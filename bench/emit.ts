/**
 * DOC: how the heartbeat benches print a result: one JSON line {name, unit, value, peer, ...extra}, values to 2 decimals
 */
const round = (x: number) => Math.round(x * 100) / 100;

export function emit(name: string, unit: string, value: number, peer = 'tandem', extra: Record<string, number> = {}): void {
  const more = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, round(v)]));
  process.stdout.write(JSON.stringify({ name, unit, value: round(value), peer, ...more }) + '\n');
}

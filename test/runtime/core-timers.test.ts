import test from 'ava';
import type { TimerName } from '../../src/core/failover-types.js';
import { monotonicNs } from '../../src/io/native.js';
import { CoreTimers } from '../../src/runtime/pair/core-timers.js';

const ms = (n: number) => BigInt(n) * 1_000_000n;
const sleep = (n: number) => new Promise((r) => setTimeout(r, n));
/**
 * The log with runs of reads collapsed: libuv may run a timeout a fraction of a millisecond early, and the timer
 * then reads the heartbeats, finds the deadline not passed and waits again (an extra read, no fire).
 */
const compact = (log: string[]) => log.filter((x, i) => !(x === 'drain' && log[i + 1] === 'drain'));
/** Where a deadline waits is settled at the end of the turn that armed it. */
const settled = () => new Promise<void>((r) => queueMicrotask(r));

function host(withTick: boolean) {
  const log: string[] = [];
  const fired: { name: TimerName; now: bigint }[] = [];
  let tick: (() => void) | undefined;
  const timers = new CoreTimers({
    drain: () => log.push('drain'),
    fire: (name, now) => (log.push(`fire ${name}`), fired.push({ name, now })),
    ...(withTick ? { everyTick: (fn: () => void) => ((tick = fn), () => (tick = undefined)), tickNs: ms(20) } : {}),
  });
  return { timers, log, fired, tick: () => tick?.() };
}

test('without a service tick every deadline gets a timeout; it fires at or after the deadline, after a drain', async (t) => {
  const h = host(false);
  const at = monotonicNs() + ms(40);
  h.timers.arm('peer-dead', at);
  await settled();
  t.is(h.timers.parked, 0);
  await sleep(80);
  t.deepEqual(compact(h.log), ['drain', 'fire peer-dead']);
  t.true(h.fired[0]!.now >= at);
  h.timers.stop();
});

test('a deadline far off waits parked; the service tick fires it once due, after the heartbeats were read', async (t) => {
  const h = host(true);
  const at = monotonicNs() + ms(60);
  h.timers.arm('peer-dead', at);
  await settled();
  t.is(h.timers.parked, 1, 'more than 1.25 service ticks away: no Node timeout');
  await sleep(100);
  t.deepEqual(h.log, [], 'nothing fires without a tick (a stalled loop has no tick either)');
  h.tick();
  t.deepEqual(h.log, ['drain', 'fire peer-dead'], 'the tick that comes after the deadline reads the heartbeats, then fires it');
  t.true(h.fired[0]!.now >= at);
  h.timers.stop();
});

test('a parked deadline within reach of the next tick gets a precise timeout', async (t) => {
  const h = host(true);
  const at = monotonicNs() + ms(50);
  h.timers.arm('sync-silence', at);
  await settled();
  t.is(h.timers.parked, 1);
  h.tick();
  t.deepEqual(h.log, [], 'a tick with every deadline out of reach reads nothing');
  await sleep(30);
  h.tick();
  t.is(h.timers.parked, 0, 'under 25 ms away: a timeout of its own');
  await sleep(60);
  t.deepEqual(compact(h.log), ['drain', 'fire sync-silence'], 'read when it came within reach, and again before it fired');
  t.true(h.log.filter((x) => x === 'drain').length >= 2);
  t.true(h.fired[0]!.now >= at);
  h.timers.stop();
});

test('a deadline moved later while its timeout runs: the timeout finds it moved and parks it again; no fire', async (t) => {
  const h = host(true);
  h.timers.arm('peer-dead', monotonicNs() + ms(20));
  await settled();
  t.is(h.timers.parked, 0);
  h.timers.arm('peer-dead', monotonicNs() + ms(200));
  await sleep(50);
  t.deepEqual(compact(h.log), ['drain'], 'the timeout ran, read the heartbeats, and found the deadline moved');
  t.is(h.timers.parked, 1);
  h.timers.arm('peer-dead', monotonicNs() + ms(10));
  await settled();
  t.is(h.timers.parked, 0, 'moved earlier: a timeout at the new deadline');
  await sleep(40);
  t.deepEqual(compact(h.log), ['drain', 'fire peer-dead'], 'read again, then fired once');
  h.timers.stop();
});

test('a deadline that judges no silence (stall check) fires without a read while no peer deadline is near', async (t) => {
  const h = host(true);
  const now = monotonicNs();
  h.timers.arm('peer-dead', now + ms(300));
  h.timers.arm('stall-check', now + ms(10));
  await settled();
  await sleep(40);
  t.deepEqual(h.log, ['fire stall-check'], 'the peer deadline is far: what the core knows of the peer still holds');
  h.timers.arm('peer-dead', monotonicNs() + ms(15));
  h.timers.arm('stall-check', monotonicNs() + ms(5));
  await settled();
  await sleep(50);
  t.deepEqual(compact(h.log).slice(1), ['drain', 'fire stall-check', 'drain', 'fire peer-dead'], 'a peer deadline within reach: read first');
  h.timers.stop();
});

test('in one turn only the last deadline counts: many heartbeats read at once leave the timer parked', async (t) => {
  const h = host(true);
  const now = monotonicNs();
  h.timers.arm('peer-dead', now + ms(5)); // an old frame's stamp first
  h.timers.arm('peer-dead', now + ms(100)); // the newest last
  await settled();
  t.is(h.timers.parked, 1);
  await sleep(30);
  t.deepEqual(h.log, [], 'no timeout was set for the deadline the same turn moved');
  h.timers.stop();
});

test('stop clears every timer and unhooks the tick', async (t) => {
  const h = host(true);
  h.timers.arm('peer-dead', monotonicNs() + ms(10));
  h.timers.arm('listen', monotonicNs() + ms(500));
  h.timers.stop();
  h.tick();
  await sleep(30);
  t.deepEqual(h.log, []);
});

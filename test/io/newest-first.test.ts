import test from 'ava';
import { examineNewestFirst, type BatchFrame } from '../../src/io/newest-first.js';

/** A frame from source MAC ...:`mac` carrying `n` in byte 14 (bad: the examiner rejects it). */
const frame = (sock: number, mac: number, n: number, bad = false): BatchFrame => {
  const f = Buffer.alloc(20);
  f[11] = mac;
  f[14] = n;
  f[15] = bad ? 1 : 0;
  return { sock, frame: f, stampNs: BigInt(n), truncated: false };
};

function run(batch: BatchFrame[]): { examined: number[]; superseded: [number, number][]; sameSender: boolean } {
  let sameSender = true;
  const examined: number[] = [];
  const superseded: [number, number][] = [];
  examineNewestFirst(
    batch,
    (f) => (examined.push(f.frame[14]!), f.frame[15] === 0),
    (sock, older, accepted) => {
      superseded.push([sock, older.length]);
      // Handed over: only the accepted frame's sender, only frames older than it.
      if (!older.every((f) => f.frame[11] === accepted.frame[11] && f.stampNs < accepted.stampNs)) sameSender = false;
    },
  );
  return { examined, superseded, sameSender };
}

test('each sender on each socket: only its newest frame is examined once it is accepted, the rest counted', (t) => {
  // sock 0: senders 1 and 2 interleaved; sock 1: sender 1 again (another interface is another sender).
  const r = run([frame(0, 1, 1), frame(0, 2, 2), frame(1, 1, 3), frame(0, 1, 4), frame(0, 2, 5), frame(0, 1, 6), frame(1, 1, 7)]);
  t.deepEqual(
    r.examined.sort((a, b) => a - b),
    [5, 6, 7],
  );
  t.deepEqual(r.superseded.sort(), [
    [0, 1],
    [0, 2],
    [1, 1],
  ]);
  t.true(r.sameSender, "the frames handed over are older frames of the accepted one's sender");
});

test("a rejected newest frame (a forgery under the peer's MAC) does not hide the authentic one before it", (t) => {
  const r = run([frame(0, 1, 1), frame(0, 1, 2), frame(0, 1, 3), frame(0, 1, 4, true), frame(0, 1, 5, true)]);
  t.deepEqual(r.examined, [5, 4, 3], 'newest first, down to the first accepted');
  t.deepEqual(r.superseded, [[0, 2]]);
});

test('nothing accepted: every frame is examined and none is superseded', (t) => {
  const r = run([frame(0, 1, 1, true), frame(0, 1, 2, true), frame(0, 1, 3, true)]);
  t.deepEqual(r.examined, [3, 2, 1]);
  t.deepEqual(r.superseded, []);
});

test('the oldest accepted, or a single frame: nothing superseded; a runt is examined on its own', (t) => {
  const runt: BatchFrame = { sock: 0, frame: Buffer.from([9, 9, 9]), stampNs: 0n, truncated: true };
  const examined: number[] = [];
  const superseded: number[] = [];
  examineNewestFirst(
    [frame(0, 1, 1), runt, frame(0, 1, 2, true)],
    (f) => (examined.push(f.frame.length), f.frame.length === 20 && f.frame[15] === 0),
    (_s, older) => superseded.push(older.length),
  );
  t.deepEqual(examined, [3, 20, 20], "the runt arrived before the sender's newest");
  t.deepEqual(superseded, []);
});

test('senders are examined in the order their newest frames arrived (the replay window sees sequence order)', (t) => {
  // sock 0's newest (n=5) arrived after sock 1's newest (n=4): sock 1 first.
  const r = run([frame(0, 1, 1), frame(1, 1, 2), frame(0, 1, 3), frame(1, 1, 4), frame(0, 1, 5)]);
  t.deepEqual(r.examined, [4, 5]);
});

test('a frame filed after a newer one (the thread and a drain read a socket at once) is taken by its stamp', (t) => {
  // Filed 1, 3, 2: the newest by kernel stamp is 3, though 2 was filed last.
  const r = run([frame(0, 1, 1), frame(0, 1, 3), frame(0, 1, 2)]);
  t.deepEqual(r.examined, [3]);
  t.deepEqual(r.superseded, [[0, 2]]);
});

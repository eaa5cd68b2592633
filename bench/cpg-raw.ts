/**
 * DOC: bench/cluster's Corosync baseline: a bare CPG member, with nothing of tandem on top
 *
 * Runs inside a lab node's namespace, beside that node's tandemd, and joins
 * its own group on the same Corosync. Lines on stdin: "burst COUNT SIZE
 * EXPECT": multicast COUNT messages of SIZE bytes, and report when EXPECT
 * messages (from every member, counted since start) have been delivered
 * here; "expect EXPECT": report only. Prints JSON lines: {ev:'view', members}, {ev:'done', ms}
 * (from the command to the last delivery).
 */
import { createInterface } from 'node:readline';
import { CpgGroup } from '../src/io/cpg-group.js';

const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
let delivered = 0;
let goal = Infinity;
let started = 0;
let group: CpgGroup | undefined;

const check = () => {
  if (delivered >= goal) {
    out({ ev: 'done', ms: performance.now() - started, delivered });
    goal = Infinity;
  }
};

for (let tries = 0; !group; tries++) {
  try {
    group = CpgGroup.join('tandem-bench-raw', {
      message: () => {
        delivered++;
        check();
      },
      view: (members) => out({ ev: 'view', members: members.map((m) => m.nodeid) }),
      error: (e) => out({ ev: 'error', message: e.message }),
    });
  } catch (e) {
    if (tries > 100) throw e;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, a, b, c] = line.split(' ');
  // EXPECT counts every delivery since start: a member's messages can arrive here before this member's own
  // command does, and a count reset at the command would miss them.
  started = performance.now();
  if (cmd === 'burst') {
    goal = Number(c);
    const body = Buffer.alloc(Number(b), 0x61);
    for (let i = 0; i < Number(a); i++) group!.send(body);
  } else if (cmd === 'expect') goal = Number(a);
  else if (cmd === 'quit') process.exit(0);
  check();
});

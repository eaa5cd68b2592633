/**
 * A member of a Corosync process group for tests, run inside a lab namespace:
 * starts its own Corosync (CorosyncRunner, private /run), joins the group with
 * CpgGroup, prints every view and message as a JSON line, and obeys lines on
 * stdin: "send TEXT", "burst N TAG" (N messages at once), "leave", "quit".
 * argv: stateDir clusterName membersJson [groupName]
 */
import { createInterface } from 'node:readline';
import { groupName, COROSYNC_PORT } from '../../src/cluster/corosync-conf.js';
import { CpgGroup } from '../../src/io/cpg-group.js';
import { CorosyncRunner } from '../../src/runtime/group/corosync-runner.js';
import { JsonLogger } from '../../src/runtime/logging/log.js';

const [stateDir, clusterName, membersJson, groupArg] = process.argv.slice(2) as [string, string, string, string | undefined];
const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const log = new JsonLogger((l) => process.stderr.write(l));
const runner = new CorosyncRunner(stateDir, { manage: true, privateRun: true, port: COROSYNC_PORT, tokenMs: 1000 }, Buffer.alloc(32, 7), log);
runner.start(runner.plan(clusterName, JSON.parse(membersJson) as { id: number; name: string; address: string }[]));
out({ ev: 'corosync', pid: runner.pid });

let group: CpgGroup | undefined;
const deadline = Date.now() + 20_000;
function join(): void {
  try {
    group = CpgGroup.join(groupArg ?? groupName(clusterName), {
      message: (nodeid, _pid, data) => out({ ev: 'msg', from: nodeid, text: data.toString() }),
      view: (members, left, joined) =>
        out({ ev: 'view', members: members.map((m) => m.nodeid), left: left.map((m) => m.nodeid), joined: joined.map((m) => m.nodeid) }),
      error: (e) => out({ ev: 'error', message: e.message }),
    });
    out({ ev: 'joined', nodeid: group.nodeid });
  } catch (e) {
    if (Date.now() > deadline) {
      out({ ev: 'error', message: (e as Error).message });
      process.exit(1);
    }
    setTimeout(join, 100);
  }
}
join();

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, ...rest] = line.split(' ');
  try {
    if (cmd === 'send') group?.send(Buffer.from(rest.join(' ')));
    else if (cmd === 'burst') for (let i = 0; i < Number(rest[0]); i++) group?.send(Buffer.from(`${rest[1]}-${i}`));
    else if (cmd === 'leave') group?.close();
    else if (cmd === 'quit') void runner.stop().then(() => process.exit(0));
  } catch (e) {
    out({ ev: 'error', message: (e as Error).message });
  }
});

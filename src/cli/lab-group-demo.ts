/**
 * DOC: `tandem lab demo --members N`: a cluster of three and more on Corosync, tried in namespaces
 *
 * N nodes, each with its own tandemd and Corosync, formed as an
 * administrator would (create --engine corosync, add-member, join); sessions
 * written on every member; the sync network split so that a minority loses
 * quorum (its health check and status say why, it refuses writes); healed,
 * every member converges. Prints the status of a member of each side and
 * what each member holds; exits 0 when all converged and serve.
 */
import { askControl } from '../api/control-socket.js';
import { resolveBoard } from '../board/board-file.js';
import { LabCluster } from '../lab/cluster.js';
import { formGroup, groupLabOptions, groupMemberName, serving } from '../lab/group-lab.js';
import { Lab, pollUntil as until } from '../lab/lab.js';
import { formatCluster } from './status-command.js';
import { formatGroupStatus, type GroupStatus } from './group-status-format.js';

const SESSIONS = 1000;

export async function groupDemo(boardName: string, members: number): Promise<number> {
  const board = resolveBoard(boardName);
  const all = Array.from({ length: members }, (_, k) => k + 1);
  process.stdout.write(`building a ${members}-node lab (board ${board.name}) for a cluster on Corosync ...\n`);
  const lab = await Lab.up(board, { nodes: members });
  let cluster: LabCluster | undefined;
  const onSignal = () => void lab.down().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  try {
    cluster = await LabCluster.start(lab, board, groupLabOptions());
    const c = cluster;
    const status = async (i: number) => (await askControl(c.node(`n${i}`).socket, 'status')) as GroupStatus;
    const sessions = async (i: number) => (await status(i)).group.stores.sessions;
    await formGroup(c, 'lab demo password', all.slice(1));
    process.stdout.write(`formed: ${all.map(groupMemberName).join(', ')}, each with its own Corosync on the sync network\n`);
    for (let k = 0; k < SESSIONS; k += 100) {
      const entries = Array.from({ length: 100 }, (_, j): [string, unknown] => [`session-${k + j}`, { user: `user${k + j}` }]);
      await askControl(c.node(`n${((k / 100) % members) + 1}`).socket, { cmd: 'store-set', store: 'sessions', entries }, 30_000);
    }
    process.stdout.write(`${SESSIONS} sessions written, 100 at a time, on every member in turn: ${(await Promise.all(all.map(sessions))).join(', ')} held\n\n`);
    process.stdout.write(formatGroupStatus(await status(1), formatCluster) + '\n\n');

    const minority = all.slice(members - Math.floor((members - 1) / 2));
    const majority = all.filter((i) => !minority.includes(i));
    process.stdout.write(`--- the sync network split: ${majority.map(groupMemberName).join(', ')} | ${minority.map(groupMemberName).join(', ')} ---\n`);
    const cutAt = Date.now();
    await lab.partition(
      'sync',
      majority.map((i) => `n${i}`),
      minority.map((i) => `n${i}`),
    );
    const stopped = await until(async () => (await Promise.all(minority.map((i) => serving(c, i)))).every((x) => !x), 15_000);
    process.stdout.write(
      `the side of ${minority.length} ${stopped ? `stopped serving after ${Date.now() - cutAt} ms` : 'DID NOT stop serving'}; ${groupMemberName(minority[0]!)} says:\n`,
    );
    process.stdout.write(formatGroupStatus(await status(minority[0]!), formatCluster) + '\n');
    for (let k = 0; k < 100; k++)
      await askControl(c.node(`n${majority[k % majority.length]}`).socket, { cmd: 'store-set', store: 'sessions', key: `during-${k}`, value: k });
    process.stdout.write(`100 sessions written on the side of ${majority.length} meanwhile\n\n--- healed ---\n`);
    const healAt = Date.now();
    await lab.heal();
    const back = await until(async () => (await Promise.all(all.map((i) => serving(c, i)))).every(Boolean), 30_000);
    const held = await Promise.all(all.map(sessions));
    process.stdout.write(
      `${back ? `all ${members} serve again after ${Date.now() - healAt} ms` : 'NOT every member serves again'}; sessions held: ${all.map((i, k) => `${groupMemberName(i)} ${held[k]}`).join(', ')}\n`,
    );
    const ok = stopped && back && held.every((n) => n === SESSIONS + 100);
    process.stdout.write(ok ? 'the cluster converged\n' : 'THE CLUSTER DID NOT CONVERGE\n');
    return ok ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    await cluster?.stop();
    await lab.down();
    if (cluster) process.stdout.write(`logs: ${cluster.dir}\n`);
    process.stdout.write(`lab ${lab.name} removed\n`);
  }
}

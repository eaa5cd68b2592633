/**
 * A stand-in for src/sync/worker.ts with the same messages, for SyncClient's tests: it says ready and
 * in sync, answers every request, and on workerData's cue hangs on commit or ends when told to.
 */
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort!;
const cue = workerData as { hangCommit?: boolean; generation: number };
const state = (status: string) => ({
  type: 'state',
  syncStatus: status,
  syncSequence: '5',
  carried: 3,
  status: {
    enabled: true,
    role: 'sink',
    status,
    channel: 'up',
    peerUnreachable: null,
    epoch: null,
    sequence: 5,
    lag: 0,
    lastFullTransfer: null,
    sendingFull: false,
    drift: null,
    providers: {},
  },
});
port.on('message', (m: { id: number; op: string; active?: boolean }) => {
  if (m.op === 'commit' && cue.hangCommit) return;
  if (m.op === 'crash') process.exit(7);
  port.postMessage({ type: 'log', level: 'info', event: 'sync_role', fields: { op: m.op, active: m.active } });
  port.postMessage({ reply: m.id, ok: true, result: m.op });
});
port.postMessage({ type: 'ready' });
port.postMessage(state('in-sync'));

import test from 'ava';
import { formatStatus } from '../../src/cli/status-command.js';
import { statusScreen } from '../../src/console/status-screen.js';
import { firmwareText } from '../../src/api/status-page.js';
import type { Snapshot } from '../../src/runtime/pair/failover-runtime.js';

const base: Snapshot = {
  node: { name: 'fw-b', id: 2, type: 'slave' },
  role: 'inactive',
  roleSinceMsAgo: 5000,
  health: 3,
  connections: 0,
  yielding: false,
  syncLinkUp: true,
  term: 3,
  highestTerm: 4,
  standing: { leader: false, draining: false, bypass: {} },
  peer: {
    name: 'fw-a',
    id: 1,
    type: 'master',
    role: 'active',
    alive: true,
    connections: 1200,
    health: 3,
    lastHeardMsAgo: 12,
    syncStatus: 'in-sync',
    syncSequence: '1563',
    flags: 0,
    configGeneration: 0,
    softwareVersion: '0.1.0',
    term: 4,
    heartbeatFormat: 2,
  },
  disabled: false,
  links: [],
  lastChange: null,
  matrix: [],
  sharedAddresses: 'released',
  heartbeats: { leaseMs: 1000, leaseLeftMs: 987.6, ticksMissed: 0, leaseExpiries: 0, loopDelayMaxMs: 12.3, loopDelayP99Ms: 4.1 },
  sync: {
    enabled: true,
    role: 'sink',
    status: 'in-sync',
    channel: 'up',
    peerUnreachable: null,
    epoch: 'abc',
    sequence: 1563,
    lag: 0,
    lastFullTransfer: { at: '2026-11-22T03:41:14.943Z', tookMs: 577, entries: { conntrack: 100000, config: 1, sessions: 0 }, direction: 'received' },
    sendingFull: false,
    drift: { at: '2026-11-22T03:41:24.950Z', tables: { conntrack: { count: 100000, peerCount: 100000, digestMatch: true } } },
    providers: {
      conntrack: { count: 100000, sent: 0, applied: 100000, failed: 0, persistent: false },
      config: { count: 1, sent: 0, applied: 1, failed: 0, persistent: true },
    },
  },
};

test('status shows the sync role, state, sequence, lag, what the peer says, per-provider counters, the last transfer and drift', (t) => {
  const out = formatStatus(base);
  t.regex(out, /^sync: sink IN-SYNC, channel up; sequence #1563, lag 0; peer says in-sync at #1563$/m);
  t.regex(out, /^ {2}conntrack +100000 entries \(transient\); sent 0, applied 100000, failed 0$/m);
  t.regex(out, /^ {2}config +1 entries \(persistent\)/m);
  t.regex(out, /last full transfer: received 2026-11-22T03:41:14\.943Z, 577 ms, conntrack 100000, config 1, sessions 0/);
  t.regex(out, /table drift \(2026-11-22T03:41:24\.950Z\): none/);
});

test('status names why the peer is unreachable and what differs', (t) => {
  const out = formatStatus({
    ...base,
    sync: {
      ...(base.sync as Extract<Snapshot['sync'], { role: string }>),
      status: 'out-of-sync',
      channel: 'down',
      peerUnreachable: 'wrong_password',
      drift: { at: 'x', tables: { conntrack: { count: 99990, peerCount: 100000, digestMatch: false } } },
    },
  });
  t.regex(out, /sync: sink OUT-OF-SYNC, channel down \(peer unreachable: wrong_password\)/);
  t.regex(out, /table drift \(x\): conntrack here 99990 \/ peer 100000, digests differ/);
  t.regex(formatStatus({ ...base, sync: { enabled: false } }), /sync: off \(sync\.enabled is false: connections will not survive a failover\)/);
});

test('status shows the heartbeat lease left, what went wrong with it, and how late the main loop ran', (t) => {
  t.regex(formatStatus(base), /^heartbeat lease: 988 of 1000 ms left; main loop delay over the last minute: max 12\.3 ms, p99 4\.1 ms$/m);
  const bad = formatStatus({ ...base, heartbeats: { ...base.heartbeats, leaseLeftMs: 0, ticksMissed: 3, leaseExpiries: 1, loopDelayMaxMs: 1400 } });
  t.regex(bad, /^heartbeat lease: 0 of 1000 ms left \(3 ticks missed, lease ran out 1x\); main loop delay over the last minute: max 1400 ms/m);
});

test("on tandem's image, status and the console's status screen carry the firmware: version, slot, a fallback and its reason", (t) => {
  const firmware = {
    version: '0.2.0.1',
    slot: 'B',
    pending: null,
    trial: null,
    lastFallback: { from: '0.2.0.2', to: '0.2.0.1', reason: 'tandemd gave no verdict within 60 s of the boot', at: '2026-12-07T21:26:29Z' },
  };
  const line = 'firmware 0.2.0.1 in slot B; last fallback: 0.2.0.2 failed its trial boot, back on 0.2.0.1: tandemd gave no verdict within 60 s of the boot';
  t.is(
    formatStatus({ ...base, firmware })
      .split('\n')
      .at(-1),
    line,
  );
  t.false(formatStatus(base).includes('firmware'), 'not on another OS');
  const screen = statusScreen({ ...base, firmware } as unknown as Record<string, unknown>);
  t.true(screen.every((l) => l.length <= 80));
  t.is(screen.slice(2, 4).join(''), line, 'the line folded onto the 80-column screen, whole');
  t.is(
    firmwareText({ ...firmware, lastFallback: null, pending: '0.2.0.3', trial: 'waiting' }),
    'firmware 0.2.0.1 in slot B (trial boot: not yet confirmed); 0.2.0.3 installed, tried at the next boot',
  );
});

import test from 'ava';
import { emptyStore } from '../../src/cluster/store.js';
import * as M from '../../src/cluster/membership.js';
import { parseLinks, parseQuorum, type CorosyncView } from '../../src/runtime/group/corosync-runner.js';
import { leaderText } from '../../src/api/status-page.js';
import { groupHealth, groupMembers, type GroupFacts } from '../../src/runtime/group/group-status.js';

let s = M.create(emptyStore(), { name: 'labc', node: 'fw-a', address: '198.19.255.11', key: 'k', salt: 's', engine: 'corosync', mode: 'active-active' });
for (const i of [2, 3, 4, 5])
  s = M.markJoined(M.addMember(s, `fw-${String.fromCharCode(96 + i)}`, `198.19.255.${10 + i}`), `fw-${String.fromCharCode(96 + i)}`);
const c = s.cluster!;
const facts = (o: Partial<GroupFacts> = {}): GroupFacts => ({
  me: 'fw-b',
  connected: true,
  quorate: true,
  quorum: 3,
  configured: 5,
  view: [1, 2, 3, 4, 5],
  holders: [1, 2, 3, 4, 5],
  holdsState: true,
  leader: 1,
  receivingFrom: null,
  softwareVersion: 'v',
  ...o,
});

test('the health check says what the member lacks, first things first', (t) => {
  t.deepEqual(groupHealth(c, facts()), { ok: true, text: 'Cluster Enabled' });
  t.is(
    groupHealth(c, facts({ quorate: false, view: [2, 4] })).text,
    "No quorum: 2 of 5 members in this member's group, 3 needed; it serves no new sessions until the partition heals",
  );
  t.is(groupHealth(c, facts({ holdsState: false, receivingFrom: 1 })).text, 'Syncing: receiving the cluster state from fw-a');
  t.regex(groupHealth(c, facts({ connected: false })).text, /not connected to Corosync/);
  t.regex(groupHealth(M.setEnabled(s, 'fw-b', false).cluster!, facts({ connected: false })).text, /^Cluster Disabled/, 'disabled wins over everything else');
  t.regex(groupHealth(M.setDraining(s, 'fw-b', true).cluster!, facts()).text, /^Draining/);
  // Removed by another member while the health check asks (the worker restarts standalone a moment later): it threw.
  t.deepEqual(groupHealth(null, facts()), { ok: false, text: 'Not a member: this node was removed from the cluster and restarts standalone' });
});

test("the members' bits: the seed's good state (0x18004 on the leader, 0x10004 on the rest), unreachable outside the group", (t) => {
  const m = groupMembers(c, facts({ view: [1, 2, 3, 4], holders: [1, 2, 3, 4] }));
  t.deepEqual(
    m.map((x) => x.hex),
    ['0x18004', '0x10004', '0x10004', '0x10004', '0x0000c'],
  );
  t.deepEqual(
    m.map((x) => x.role),
    ['active', 'active', 'active', 'active', 'unreachable'],
  );
  t.is(m[4]!.unreachable, "not in this member's group");
  t.true(m[1]!.self);
  const syncing = groupMembers(c, facts({ holders: [1, 2, 3, 4] }))[4]!;
  t.true(syncing.words.includes('syncing state from another member'));
});

test("a member without quorum does not show the seed's good state, and the header says why nobody leads", (t) => {
  const alone = groupMembers(c, facts({ quorate: false, view: [2], holders: [2], leader: null }));
  const me = alone.find((m) => m.self)!;
  t.is(me.hex, '0x00004', 'enabled, but not "cluster service connected" (0x10004 is the seed\'s serving member)');
  t.false(me.words.includes('cluster service connected'));
  t.is(me.role, 'inactive');
  t.is(leaderText({ leader: null, quorate: false }), 'none (no quorum)');
  t.is(leaderText({ leader: null, quorate: true }), 'none (election)');
  t.is(leaderText({ leader: null }), 'none (election)', 'a pair');
  t.is(leaderText({ leader: 'fw-a', quorate: true }), 'fw-a');
});

test("Corosync's own report is read from its tools' output", (t) => {
  const v: CorosyncView = { nodeId: null, quorate: null, expectedVotes: null, totalVotes: null, quorum: null, members: [], links: [] };
  parseQuorum(
    `Quorum information
------------------
Date:             Thu Nov 26 12:52:44 2026
Quorum provider:  corosync_votequorum
Nodes:            2
Node ID:          4
Ring ID:          4.19
Quorate:          No

Votequorum information
----------------------
Expected votes:   5
Highest expected: 5
Total votes:      2
Quorum:           3 Activity blocked
Flags:

Membership information
----------------------
    Nodeid      Votes Name
         4          1 fw-d (local)
         5          1 fw-e
`,
    v,
  );
  t.deepEqual(
    { ...v, members: v.members },
    {
      nodeId: 4,
      quorate: false,
      expectedVotes: 5,
      totalVotes: 2,
      quorum: 3,
      members: [
        { nodeid: 4, name: 'fw-d' },
        { nodeid: 5, name: 'fw-e' },
      ],
      links: [],
    },
  );
  parseLinks(
    `Local node ID 4, transport knet
nodeid: 5 reachable
   LINK: 0 udp (198.19.255.14->198.19.255.15) enabled connected mtu: 1397

nodeid: 1 unreachable
   LINK: 0 udp (198.19.255.14->198.19.255.11) enabled disconnected
`,
    v,
  );
  t.deepEqual(v.links, [
    { nodeid: 5, state: 'reachable, link connected' },
    { nodeid: 1, state: 'unreachable, link disconnected' },
  ]);
});

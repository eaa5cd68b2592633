/**
 * DOC: the `takeover` event: the daemon measures its own takeover
 *
 * From the role change's evidence and the claim's report: when the peer was
 * last heard, when this node decided, committed the synchronised state,
 * brought the shared addresses up and sent the first gratuitous ARP (and, with
 * IPv6, the first neighbour advertisement), as wall
 * times for the reader and as ms from the decision (decisions themselves never
 * use wall time). The failover runtime logs it once the claim has finished.
 */
import type { Change } from '../../core/failover-types.js';
import { monotonicNs } from '../../io/native.js';
import type { ClaimReport } from '../../io/shared-address.js';

export function takeoverFields(change: Change, report: ClaimReport, committing: { from: bigint; to?: bigint } | undefined): Record<string, unknown> {
  const nowMono = monotonicNs();
  const nowWall = Date.now();
  const wall = (t: bigint) => new Date(nowWall - Number(nowMono - t) / 1e6).toISOString();
  const ms = (t: bigint) => Number(t - change.at) / 1e6;
  const lastHeardMs = change.evidence.peerLastHeardMsAgo;
  const lastHeard = lastHeardMs === null || lastHeardMs === undefined ? undefined : change.at - BigInt(Math.round(lastHeardMs * 1e6));
  return {
    reason: change.reason,
    peerLastHeardAt: lastHeard === undefined ? null : wall(lastHeard),
    decidedAt: wall(change.at),
    sharedUpAt: wall(report.upAt),
    firstGarpAt: wall(report.firstGarpAt),
    // The same steps in ms: from the last heartbeat heard to the decision, and from the decision on.
    peerLastHeardMsBeforeDecision: lastHeardMs ?? null,
    commitStartMs: committing && committing.from >= change.at ? ms(committing.from) : null,
    committedAtMs: committing?.to !== undefined && committing.from >= change.at ? ms(committing.to) : null,
    sharedUpAtMs: ms(report.upAt),
    firstGarpAtMs: ms(report.firstGarpAt),
    firstGarpMsAfterPeerLastHeard: lastHeard === undefined ? null : Number(report.firstGarpAt - lastHeard) / 1e6,
    // IPv6 comes after the first gratuitous ARPs (its address work would delay them): its own step.
    ...(report.firstNaAt ? { firstNaAtMs: ms(report.firstNaAt) } : {}),
    ifaces: report.ifaces,
  };
}

/**
 * DOC: what the administrator is told before a cluster change that overwrites or stops something
 *
 * One text for each, shown by all three front ends before the change: the CLI asks it as its question, the serial
 * console prints it under WARNING, the web console on its confirmation page. Pure.
 */

/** What a join overwrites here (the daemon's `join-preview`). */
export interface JoinPreview {
  systemKeys: number;
  sessions: number;
}

export function joinWarning(member: string, here: JoinPreview): string {
  return `Joining overwrites this node's state with that of the member at ${member}: its system state (${here.systemKeys} keys here) is replaced and its ${here.sessions} sessions end.`;
}

export const LEAVE_WARNING = 'Leaving makes this node standalone: it stops taking part in the cluster and keeps its system state.';

export function disableWarning(node: string): string {
  return `Disabling ${node} makes it stop serving (an active member hands over first) until it is enabled again.`;
}

/** Seed 000: restarting an enabled member restarts the cluster service on every enabled member. */
export const RESTART_CLUSTER_WARNING =
  'This member is enabled in its cluster: restarting it restarts the cluster service on EVERY enabled member (seed 000). To restart only this member, disable it first.';

export const RESTART_MEMBER_WARNING = 'Only this member restarts its service (it is disabled, or in no cluster): the cluster sees it leave and come back.';

/** Lines of at most `width` characters (a terminal's), words kept whole. */
export function wrap(text: string, width = 78): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

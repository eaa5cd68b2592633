/**
 * DOC: `tandem capture IFACE`: a live view of the heartbeats on an interface
 *
 * Captures with libpcap (the `cap` package) rather than our own packet
 * socket so that it sees exactly what is on the wire, independently of the
 * daemon, and works while the daemon is down. Each heartbeat is decoded with
 * its sender, sequence, connection count and, when the cluster password is
 * given, the verdict of the drop ladder (tag, replay, and with --board the
 * NN check) by the reason's name.
 */
import { Cap } from 'cap';
import { resolveBoard } from '../board/board-file.js';
import { clusterSecret, deriveClusterKey } from '../cluster/cluster-key.js';
import { loadNode } from '../cluster/config-file.js';
import {
  decodeHeartbeat,
  readPayload,
  HEARTBEAT_VERSION,
  MIN_FRAME_LENGTH,
  PAYLOAD_OFFSET,
  type HeartbeatAuth,
  type HeartbeatFields,
} from '../wire/heartbeat-frame.js';
import { ReplayMemory, type RejectionReason } from '../wire/heartbeat-verify.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { formatMac } from '../wire/mac.js';
import { hmacAuth } from '../io/heartbeat-auth.js';
import { flag, int, str, UsageError, type Parsed } from './args.js';

export const CAPTURE_USAGE = `tandem capture IFACE [--config FILE | --cluster-id N --password-file FILE [--salt HEX]] [--board NAME] [--count N] [--seconds N] [--json] [--netns NS]
  Shows every heartbeat seen on IFACE. With the cluster's key each frame gets a verdict (ok, or the reason
  it would be dropped: ttl_too_low, bad_tag, wrong_cluster, replayed, nn_mismatch ...). The key: this
  node's own with --config (static or managed), or from the password: a static cluster's password file
  as it is, a managed cluster's password with its salt (--salt: cluster.salt in the cluster store).`;

export interface CaptureLine {
  time: string;
  iface: string;
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  ttl: number;
  clusterId?: number;
  node?: string;
  nodeId?: number;
  type?: string;
  state?: string;
  sequence?: string;
  bootId?: string;
  connections?: number;
  fromSync?: boolean;
  /** The sender's takeover term (0 in the previous format). */
  term?: number;
  /** The payload format (docs/wire-format.md); the previous one is shown. */
  format?: number;
  verdict: 'ok' | RejectionReason | 'unverified';
}

export async function captureCommand(p: Parsed): Promise<number> {
  const iface = p.positionals[0];
  if (!iface) throw new UsageError('capture needs an interface name');
  const verify = captureKey(p);
  const auth = verify?.auth;
  const clusterId = verify?.clusterId;
  const boardName = str(p, 'board');
  const nic = boardName ? resolveBoard(boardName).nics.find((n) => n.name === iface) : undefined;
  if (boardName && !nic) throw new UsageError(`board ${boardName} has no NIC named ${iface}`);
  const count = int(p, 'count', 1, 1_000_000);
  const seconds = int(p, 'seconds', 1, 86_400);
  const json = flag(p, 'json');
  const replay = new ReplayMemory();

  const cap = new Cap();
  const buffer = Buffer.alloc(65_535);
  try {
    cap.open(iface, 'ether[0:4] = 0x11000000 and ip and udp dst port 999', 1 << 20, buffer);
  } catch (e) {
    process.stderr.write(`tandem capture: cannot capture on ${iface}: ${(e as Error).message} (does it exist here? capture needs root)\n`);
    return 1;
  }
  cap.setMinBytes?.(0);
  process.stderr.write(`capturing heartbeats on ${iface}${auth ? ` (verifying cluster ${clusterId})` : ' (no password: tags not verified)'}\n`);
  let seen = 0;
  return new Promise<number>((resolve) => {
    const finish = () => {
      cap.close();
      resolve(0);
    };
    const timer = seconds === undefined ? undefined : setTimeout(finish, seconds * 1000);
    process.once('SIGINT', finish);
    cap.on('packet', (nbytes) => {
      const line = describe(iface, buffer.subarray(0, nbytes), verify, replay, nic?.nn);
      process.stdout.write(json ? JSON.stringify(line) + '\n' : formatLine(line) + '\n');
      if (count !== undefined && ++seen >= count) {
        if (timer) clearTimeout(timer);
        finish();
      }
    });
  });
}

/**
 * The key frames are verified with, keyed as the daemon keys them (cluster-key.ts): a managed cluster's
 * tags come from scrypt(password, salt), so its raw password would call every valid frame bad_tag.
 */
export function captureKey(p: Parsed): { auth: HeartbeatAuth; clusterId: number } | undefined {
  const config = str(p, 'config');
  const clusterId = int(p, 'cluster-id', 0, 255);
  const passwordFile = str(p, 'password-file');
  const salt = str(p, 'salt');
  if (config !== undefined) {
    if (clusterId !== undefined || passwordFile !== undefined || salt !== undefined)
      throw new UsageError('--config gives the cluster ID and key: leave out --cluster-id, --password-file and --salt');
    const loaded = loadNode(config);
    if (loaded.kind === 'standalone') throw new UsageError(`${config}: this node is in no cluster yet: there is no key to verify with`);
    return { auth: hmacAuth(clusterSecret(loaded.config.cluster), loaded.config.cluster.id), clusterId: loaded.config.cluster.id };
  }
  if ((clusterId === undefined) !== (passwordFile === undefined)) throw new UsageError('--cluster-id and --password-file go together');
  if (clusterId === undefined || passwordFile === undefined) {
    if (salt !== undefined) throw new UsageError('--salt needs --cluster-id and --password-file');
    return undefined;
  }
  if (salt !== undefined && !/^[0-9a-f]{32}$/.test(salt))
    throw new UsageError(`--salt: "${salt}" is not a cluster salt (32 hex digits, cluster.salt in the cluster store)`);
  const password = clusterSecret({ passwordFile, key: null });
  return { auth: hmacAuth(salt === undefined ? password : deriveClusterKey(password.toString('utf8'), salt), clusterId), clusterId };
}

export function describe(
  iface: string,
  frame: Uint8Array,
  verify: { auth: HeartbeatAuth; clusterId: number } | undefined,
  replay: ReplayMemory,
  nn: number | undefined,
): CaptureLine {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const line: CaptureLine = {
    time: new Date().toISOString(),
    iface,
    dstMac: formatMac(frame, 0),
    srcMac: formatMac(frame, 6),
    srcIp: frame.length >= 34 ? formatIpv4(view.getUint32(26)) : '?',
    dstIp: frame.length >= 34 ? formatIpv4(view.getUint32(30)) : '?',
    ttl: frame[22] ?? 0,
    verdict: 'unverified',
  };
  const f: HeartbeatFields | undefined = frame.length >= MIN_FRAME_LENGTH ? readPayload(view, frame, PAYLOAD_OFFSET) : undefined;
  if (f) {
    Object.assign(line, {
      clusterId: f.clusterId,
      node: f.nodeName,
      nodeId: f.nodeId,
      type: f.nodeType,
      state: f.state,
      sequence: f.sequence.toString(),
      bootId: f.bootId.toString(),
      connections: f.connections,
      fromSync: f.fromSync,
      term: f.term,
      format: f.version,
    });
  }
  if (verify) {
    const d = decodeHeartbeat(frame, verify);
    if (!d.ok) line.verdict = d.reason;
    else if (nn !== undefined && (d.frame.macNn !== nn || d.frame.fields.nn !== nn)) line.verdict = 'nn_mismatch';
    else if (!replay.check(d.frame.fields.nodeId, d.frame.fields.bootId, d.frame.fields.sequence)) line.verdict = 'replayed';
    else line.verdict = 'ok';
  }
  return line;
}

function formatLine(l: CaptureLine): string {
  const who = l.node === undefined ? '(unreadable payload)' : `${l.node}#${l.nodeId} ${l.type} ${l.state} cluster ${l.clusterId}`;
  const format = l.format !== undefined && l.format !== HEARTBEAT_VERSION ? ` [format ${l.format}]` : '';
  const body = l.sequence === undefined ? '' : ` seq ${l.sequence} term ${l.term} conns ${l.connections}${l.fromSync ? ' [sync]' : ''}${format}`;
  return `${l.time.slice(11, 23)} ${l.iface} ${l.srcMac} ${l.srcIp} -> ${l.dstMac} ${l.dstIp} ttl ${l.ttl} ${who}${body}  ${l.verdict.toUpperCase()}`;
}

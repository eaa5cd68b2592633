/**
 * DOC: the Corosync configuration tandemd writes for clusters of three and more members
 *
 * Pure: from the cluster definition, this member's directories and the
 * cluster key, the text of corosync.conf and the bytes of its authkey.
 * knet on the sync network (each member's sync address is its ring0
 * address, its member id its node id), encrypted and authenticated with a
 * key derived from the cluster key (so the cluster password is the only
 * secret an administrator handles), votequorum with `two_node` only for a
 * pair. Quorum policy (docs/cluster.md): a member serves only while more
 * than half of the configured members are in its group.
 */
import { hkdfSync } from 'node:crypto';

export interface CorosyncMember {
  id: number;
  name: string;
  address: string;
}

export interface CorosyncPlan {
  clusterName: string;
  members: readonly CorosyncMember[];
  /** Where the authkey is (written beside the configuration, root only). */
  keyfile: string;
  /** Corosync's working directory (its state files and blackbox). */
  stateDir: string;
  logFile: string;
  /** knet's UDP port on the sync network. */
  port: number;
  /** How long without the token before a member is declared gone. */
  tokenMs: number;
}

export const COROSYNC_PORT = 5405;
export const COROSYNC_TOKEN_MS = 1000;

/** 256 bytes for Corosync's authkey, bound to this cluster's key and to nothing else. */
export function corosyncAuthkey(clusterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', clusterKey, 'tandem corosync', 'authkey v1', 256));
}

/** The group every member's tandemd joins. */
export function groupName(clusterName: string): string {
  return `tandem-${clusterName}`;
}

export function corosyncConf(p: CorosyncPlan): string {
  if (p.members.length === 0) throw new Error('a Corosync configuration needs at least one member');
  const nodes = p.members.flatMap((m) => ['\tnode {', `\t\tring0_addr: ${m.address}`, `\t\tname: ${m.name}`, `\t\tnodeid: ${m.id}`, '\t}']);
  return [
    '# Written by tandemd from the cluster definition; edits are overwritten.',
    'totem {',
    '\tversion: 2',
    `\tcluster_name: ${p.clusterName}`,
    '\ttransport: knet',
    '\tcrypto_cipher: aes256',
    '\tcrypto_hash: sha256',
    `\tkeyfile: ${p.keyfile}`,
    `\ttoken: ${p.tokenMs}`,
    // The token timeout as configured, not grown by 650 ms per member beyond two: a lost member is noticed
    // in about token + consensus (1.2 x token) whatever the cluster's size.
    '\ttoken_coefficient: 0',
    '\tinterface {',
    '\t\tlinknumber: 0',
    `\t\tmcastport: ${p.port}`,
    '\t}',
    '}',
    'nodelist {',
    ...nodes,
    '}',
    'quorum {',
    '\tprovider: corosync_votequorum',
    `\ttwo_node: ${p.members.length === 2 ? 1 : 0}`,
    '}',
    'logging {',
    '\tto_stderr: no',
    '\tto_syslog: no',
    '\tto_logfile: yes',
    `\tlogfile: ${p.logFile}`,
    '\ttimestamp: on',
    '}',
    'system {',
    `\tstate_dir: ${p.stateDir}`,
    '}',
    '',
  ].join('\n');
}

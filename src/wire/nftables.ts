/**
 * DOC: nf_tables netlink messages for the shared-address lease
 *
 * Only what the lease needs (src/io/shared-lease.ts): one batch that creates
 * a netdev table with the `owner` flag (the kernel deletes it when the
 * netlink socket that created it is closed, which a killed process's socket
 * always is), one base chain per shared NIC and direction, and in each the
 * rule "meta mark set meta mark | LEASE_MARK". The persistent guard (written
 * in nft's own language, src/io/shared-lease.ts) drops frames of the shared
 * MAC that do not carry the bit. Layouts: linux/netfilter/nf_tables.h and
 * nfnetlink.h. nf_tables attributes are big-endian; the mark travels in a
 * register in host order.
 */
import { attrBytes, attrNested, attrString, encodeMessage, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, type Attr } from './netlink.js';

export const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFT_MSG_NEWTABLE = 0;
const NFT_MSG_NEWCHAIN = 3;
const NFT_MSG_NEWRULE = 6;
const NLM_F_APPEND = 0x800;

export const NFPROTO_NETDEV = 5;
export const NF_NETDEV_INGRESS = 0;
export const NF_NETDEV_EGRESS = 1;

const NFTA_TABLE_NAME = 1;
const NFTA_TABLE_FLAGS = 2;
export const NFT_TABLE_F_OWNER = 0x2;
const NFTA_CHAIN_TABLE = 1;
const NFTA_CHAIN_NAME = 3;
const NFTA_CHAIN_HOOK = 4;
const NFTA_CHAIN_POLICY = 5;
const NFTA_CHAIN_TYPE = 7;
const NFTA_HOOK_HOOKNUM = 1;
const NFTA_HOOK_PRIORITY = 2;
const NFTA_HOOK_DEV = 3;
const NFTA_RULE_TABLE = 1;
const NFTA_RULE_CHAIN = 2;
const NFTA_RULE_EXPRESSIONS = 4;
const NFTA_LIST_ELEM = 1;
const NFTA_EXPR_NAME = 1;
const NFTA_EXPR_DATA = 2;
const NFTA_META_DREG = 1;
const NFTA_META_KEY = 2;
const NFTA_META_SREG = 3;
const NFT_META_MARK = 3;
const NFTA_BITWISE_SREG = 1;
const NFTA_BITWISE_DREG = 2;
const NFTA_BITWISE_LEN = 3;
const NFTA_BITWISE_MASK = 4;
const NFTA_BITWISE_XOR = 5;
const NFTA_DATA_VALUE = 1;
const NFT_REG_1 = 1;
const NF_ACCEPT = 1;

/** The packet-mark bit the lease sets and the guard requires (bit 28; documented in docs/failover.md). */
export const LEASE_MARK = 0x10000000;

const msgType = (msg: number) => (NFNL_SUBSYS_NFTABLES << 8) | msg;

function be32(type: number, v: number): Attr {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, false);
  return attrBytes(type, b);
}

/** A u32 as the CPU holds it (what a register compares against the packet mark). */
function hostU32(v: number): Uint8Array {
  return new Uint8Array(Uint32Array.of(v >>> 0).buffer);
}

/** struct nfgenmsg: family, version 0, res_id (big-endian). */
function nfgen(family: number, resId = 0): Uint8Array {
  return Uint8Array.of(family, 0, (resId >> 8) & 0xff, resId & 0xff);
}

function expr(name: string, data: Attr[]): Attr {
  return attrNested(NFTA_LIST_ELEM, [attrString(NFTA_EXPR_NAME, name), attrNested(NFTA_EXPR_DATA, data)]);
}

/** meta mark set meta mark | bit: load, (reg & ~bit) ^ bit, store. */
function setMarkBit(bit: number): Attr[] {
  return [
    expr('meta', [be32(NFTA_META_DREG, NFT_REG_1), be32(NFTA_META_KEY, NFT_META_MARK)]),
    expr('bitwise', [
      be32(NFTA_BITWISE_SREG, NFT_REG_1),
      be32(NFTA_BITWISE_DREG, NFT_REG_1),
      be32(NFTA_BITWISE_LEN, 4),
      attrNested(NFTA_BITWISE_MASK, [attrBytes(NFTA_DATA_VALUE, hostU32(~bit))]),
      attrNested(NFTA_BITWISE_XOR, [attrBytes(NFTA_DATA_VALUE, hostU32(bit))]),
    ]),
    expr('meta', [be32(NFTA_META_KEY, NFT_META_MARK), be32(NFTA_META_SREG, NFT_REG_1)]),
  ];
}

export interface LeaseChain {
  name: string;
  device: string;
  hook: typeof NF_NETDEV_INGRESS | typeof NF_NETDEV_EGRESS;
  priority: number;
}

/**
 * One batch: the owner table, its chains, a mark rule in each. Every message
 * carries `seq`; only the last asks for an ack, so the batch answers once
 * (or with the error of the message that failed, and then nothing is made).
 */
export function leaseBatch(seq: number, table: string, chains: readonly LeaseChain[], bit = LEASE_MARK): Uint8Array {
  const msgs: Uint8Array[] = [];
  const create = NLM_F_REQUEST | NLM_F_CREATE;
  const body: { type: number; flags: number; attrs: Attr[] }[] = [
    // EXCL: a lease held by another live tandemd is refused, never shared.
    { type: msgType(NFT_MSG_NEWTABLE), flags: create | NLM_F_EXCL, attrs: [attrString(NFTA_TABLE_NAME, table), be32(NFTA_TABLE_FLAGS, NFT_TABLE_F_OWNER)] },
  ];
  for (const c of chains) {
    body.push({
      type: msgType(NFT_MSG_NEWCHAIN),
      flags: create,
      attrs: [
        attrString(NFTA_CHAIN_TABLE, table),
        attrString(NFTA_CHAIN_NAME, c.name),
        attrNested(NFTA_CHAIN_HOOK, [be32(NFTA_HOOK_HOOKNUM, c.hook), be32(NFTA_HOOK_PRIORITY, c.priority), attrString(NFTA_HOOK_DEV, c.device)]),
        be32(NFTA_CHAIN_POLICY, NF_ACCEPT),
        attrString(NFTA_CHAIN_TYPE, 'filter'),
      ],
    });
    body.push({
      type: msgType(NFT_MSG_NEWRULE),
      flags: create | NLM_F_APPEND,
      attrs: [attrString(NFTA_RULE_TABLE, table), attrString(NFTA_RULE_CHAIN, c.name), attrNested(NFTA_RULE_EXPRESSIONS, setMarkBit(bit))],
    });
  }
  msgs.push(encodeMessage(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq, nfgen(0, NFNL_SUBSYS_NFTABLES)));
  body.forEach((m, i) => msgs.push(encodeMessage(m.type, m.flags | (i === body.length - 1 ? NLM_F_ACK : 0), seq, nfgen(NFPROTO_NETDEV), m.attrs)));
  msgs.push(encodeMessage(NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq, nfgen(0, NFNL_SUBSYS_NFTABLES)));
  const out = new Uint8Array(msgs.reduce((n, m) => n + m.length, 0));
  let at = 0;
  for (const m of msgs) (out.set(m, at), (at += m.length));
  return out;
}

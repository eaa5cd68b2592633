/**
 * DOC: ctnetlink's numbers (linux/netfilter/nfnetlink_conntrack.h, nf_conntrack_common.h, nf_conntrack_tcp.h)
 *
 * Shared by the writer (ctnetlink.ts) and the parser (ctnetlink-parse.ts).
 */
export const NETLINK_NETFILTER = 12;
export const NFNL_SUBSYS_CTNETLINK = 1;
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;
/** Event groups: new, update, destroy (NFNLGRP_CONNTRACK_*), as a bind() bitmask. */
export const CONNTRACK_EVENT_GROUPS = (1 << 0) | (1 << 1) | (1 << 2);

export const AF_INET = 2;
export const AF_INET6 = 10;
export const CTA_TUPLE_ORIG = 1;
export const CTA_TUPLE_REPLY = 2;
export const CTA_STATUS = 3;
export const CTA_PROTOINFO = 4;
export const CTA_NAT_SRC = 6;
export const CTA_TIMEOUT = 7;
export const CTA_MARK = 8;
export const CTA_NAT_DST = 13;
export const CTA_TUPLE_IP = 1;
export const CTA_TUPLE_PROTO = 2;
export const CTA_IP_V4_SRC = 1;
export const CTA_IP_V4_DST = 2;
export const CTA_IP_V6_SRC = 3;
export const CTA_IP_V6_DST = 4;
export const CTA_PROTO_NUM = 1;
export const CTA_PROTO_SRC_PORT = 2;
export const CTA_PROTO_DST_PORT = 3;
export const CTA_PROTO_ICMP_ID = 4;
export const CTA_PROTO_ICMP_TYPE = 5;
export const CTA_PROTO_ICMP_CODE = 6;
export const CTA_PROTO_ICMPV6_ID = 7;
export const CTA_PROTO_ICMPV6_TYPE = 8;
export const CTA_PROTO_ICMPV6_CODE = 9;
export const CTA_PROTOINFO_TCP = 1;
export const CTA_PROTOINFO_TCP_STATE = 1;
export const CTA_PROTOINFO_TCP_FLAGS_ORIGINAL = 4;
export const CTA_PROTOINFO_TCP_FLAGS_REPLY = 5;
export const CTA_NAT_V4_MINIP = 1;
export const CTA_NAT_V4_MAXIP = 2;
export const CTA_NAT_V6_MINIP = 4;
export const CTA_NAT_V6_MAXIP = 5;
export const CTA_NAT_PROTO = 3;
export const CTA_PROTONAT_PORT_MIN = 1;
export const CTA_PROTONAT_PORT_MAX = 2;

export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
/** An entry created through ctnetlink is confirmed at once; the kernel refuses (EBUSY) a status that says otherwise. */
export const IPS_CONFIRMED = 1 << 3;
export const IP_CT_TCP_FLAG_SACK_PERM = 0x02;
export const IP_CT_TCP_FLAG_CLOSE_INIT = 0x04;
export const IP_CT_TCP_FLAG_BE_LIBERAL = 0x08;
export const TCP_CONNTRACK_TIME_WAIT = 7;
export const TCP_CONNTRACK_MAX = 14;

/** Room one request can take in a caller's buffer. */
export const CT_REQUEST_MAX = 512;

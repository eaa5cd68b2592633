/**
 * DOC: the classic BPF program attached to heartbeat sockets
 *
 * The kernel runs it on every frame of the interface, so a packet socket
 * wakes the process for heartbeats only: destination 11-00-00-00-xx-xx
 * (optionally of one cluster), IPv4, UDP, not a fragment, destination port
 * 999. Emitted as the bytes of `struct sock_filter[]` in host byte order
 * (little-endian: every platform tandem targets).
 */
import { HEARTBEAT_PORT } from './heartbeat-frame.js';

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// linux/bpf_common.h
const LD = 0x00,
  LDX = 0x01,
  JMP = 0x05,
  RET = 0x06;
const W = 0x00,
  H = 0x08,
  B = 0x10;
const ABS = 0x20,
  IND = 0x40,
  MSH = 0xa0;
const JEQ = 0x10,
  JSET = 0x40,
  K = 0x00;

const ACCEPT_BYTES = 0xffff;

/** Builds the filter; jumps are resolved against the two final returns. */
export function heartbeatFilter(clusterId?: number): Uint8Array {
  // Each check: [load, test] where failing the test jumps to "drop".
  type Step = { load: Omit<Insn, 'jt' | 'jf'>; test: { code: number; k: number; dropWhenTrue?: boolean } };
  const steps: Step[] = [
    { load: { code: LD | W | ABS, k: 0 }, test: { code: JMP | JEQ | K, k: 0x11000000 } },
    { load: { code: LD | H | ABS, k: 12 }, test: { code: JMP | JEQ | K, k: 0x0800 } },
    { load: { code: LD | B | ABS, k: 23 }, test: { code: JMP | JEQ | K, k: 17 } },
    { load: { code: LD | H | ABS, k: 20 }, test: { code: JMP | JSET | K, k: 0x1fff, dropWhenTrue: true } },
  ];
  if (clusterId !== undefined) {
    steps.unshift({ load: { code: LD | B | ABS, k: 5 }, test: { code: JMP | JEQ | K, k: clusterId & 0xff } });
  }
  const body: Insn[] = [];
  for (const s of steps) {
    body.push({ ...s.load, jt: 0, jf: 0 });
    body.push({ code: s.test.code, k: s.test.k, jt: s.test.dropWhenTrue ? -1 : 0, jf: s.test.dropWhenTrue ? 0 : -1 });
  }
  // X = IPv4 header length; then the UDP destination port at X + 14 + 2.
  body.push({ code: LDX | B | MSH, k: 14, jt: 0, jf: 0 });
  body.push({ code: LD | H | IND, k: 16, jt: 0, jf: 0 });
  body.push({ code: JMP | JEQ | K, k: HEARTBEAT_PORT, jt: 0, jf: -1 });
  body.push({ code: RET | K, k: ACCEPT_BYTES, jt: 0, jf: 0 });
  const dropIndex = body.length;
  body.push({ code: RET | K, k: 0, jt: 0, jf: 0 });

  // -1 marks "jump to drop"; classic BPF jumps are relative to the next insn.
  const out = new Uint8Array(body.length * 8);
  const view = new DataView(out.buffer);
  body.forEach((insn, i) => {
    const rel = (target: number) => (target === -1 ? dropIndex - i - 1 : target);
    view.setUint16(i * 8, insn.code, true);
    out[i * 8 + 2] = rel(insn.jt);
    out[i * 8 + 3] = rel(insn.jf);
    view.setUint32(i * 8 + 4, insn.k >>> 0, true);
  });
  return out;
}

/**
 * ARP replies (EtherType 0x0806, operation 2) and neighbour advertisements (IPv6, next header ICMPv6 with no
 * extension header, type 136): the target monitor's socket. Instruction by instruction (jumps relative to the next):
 *   0 ldh [12]; 1 jeq 0x806 ? 2 : 4; 2 ldh [20]; 3 jeq 2 ? accept : drop;
 *   4 jeq 0x86dd ? 5 : drop; 5 ldb [20]; 6 jeq 58 ? 7 : drop; 7 ldb [54]; 8 jeq 136 ? accept : drop
 */
export function neighbourReplyFilter(): Uint8Array {
  return assemble([
    [LD | H | ABS, 0, 0, 12],
    [JMP | JEQ | K, 0, 2, 0x0806],
    [LD | H | ABS, 0, 0, 20],
    [JMP | JEQ | K, 5, 6, 2],
    [JMP | JEQ | K, 0, 5, 0x86dd],
    [LD | B | ABS, 0, 0, 20],
    [JMP | JEQ | K, 0, 3, 58],
    [LD | B | ABS, 0, 0, 54],
    [JMP | JEQ | K, 0, 1, 136],
    [RET | K, 0, 0, ACCEPT_BYTES],
    [RET | K, 0, 0, 0],
  ]);
}

function assemble(insns: [number, number, number, number][]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const view = new DataView(out.buffer);
  insns.forEach(([code, jt, jf, k], i) => {
    view.setUint16(i * 8, code, true);
    out[i * 8 + 2] = jt;
    out[i * 8 + 3] = jf;
    view.setUint32(i * 8 + 4, k, true);
  });
  return out;
}

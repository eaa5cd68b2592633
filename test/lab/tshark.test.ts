import test from 'ava';
import { createInterface } from 'node:readline';
import { heartbeatNode, labFor } from '../helpers/lab.js';
import { CLUSTER } from '../helpers/frames.js';

/**
 * An independent decoder looks at our frames: tshark in node n2's namespace
 * captures what n1 sends and reports the fields seed 001 specifies.
 */
test.serial('tshark sees 11:00:00:00:NN:MM, TTL 255, UDP 999 -> 999 and bad IPv4 header and UDP checksums', async (t) => {
  const lab = await labFor(t);
  const a = heartbeatNode(t, lab, 1);
  const fieldsWanted = ['eth.dst', 'ip.ttl', 'udp.srcport', 'udp.dstport', 'ip.checksum.status', 'udp.checksum.status', 'ip.dst', 'ip.src'];
  const tshark = lab.spawn(lab.plan.nodes[1]!.netns, [
    'tshark',
    '-i',
    'eth1',
    '-l',
    '-n',
    '-c',
    '5',
    '-a',
    'duration:20',
    '-o',
    'ip.check_checksum:TRUE',
    '-o',
    'udp.check_checksum:TRUE',
    '-f',
    'udp dst port 999',
    '-T',
    'fields',
    '-E',
    'separator=,',
    ...fieldsWanted.flatMap((f) => ['-e', f]),
  ]);
  const exited = new Promise<number | null>((resolve) => tshark.once('exit', resolve));
  t.teardown(() => void (tshark.exitCode === null && tshark.kill('SIGKILL')));
  const lines: string[] = [];
  createInterface({ input: tshark.stdout! }).on('line', (l) => lines.push(l));
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tshark did not start: ${stderr}`)), 15_000);
    tshark.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('Capturing on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  a.node.sender.start();
  const code = await exited;
  a.node.sender.stop();
  t.is(code, 0, stderr);
  t.is(lines.length, 5);
  const nn = 0b000_01_001; // sim board eth1: bus 0, slot 1, port 1
  for (const line of lines) {
    const [dst, ttl, sport, dport, ipStatus, udpStatus, ipDst, ipSrc] = line.split(',');
    t.is(dst, `11:00:00:00:${nn.toString(16).padStart(2, '0')}:${CLUSTER.toString(16).padStart(2, '0')}`);
    t.is(ttl, '255');
    t.is(sport, '999');
    t.is(dport, '999');
    t.is(ipStatus, '0', 'tshark: IPv4 header checksum status 0 = Bad');
    t.is(udpStatus, '0', 'tshark: UDP checksum status 0 = Bad');
    t.is(ipDst, '198.18.2.255');
    t.is(ipSrc, '198.18.2.11');
  }
});

/**
 * DOC: how the benches start keepalived in a lab node: in the foreground, logging to the console, with its own pid files
 */
import { join } from 'node:path';
import { tool } from '../src/lab/run.js';

/** `ip netns exec NETNS keepalived ...` for configuration `conf`, pid files `dir/PIDNAME.pid` and `dir/NAME-vrrp.pid`. */
export function keepalivedArgv(netns: string, conf: string, dir: string, name: string, pidName = name): string[] {
  return ['netns', 'exec', netns, tool('keepalived'), '-n', '-l', '-P', '-f', conf, '-p', join(dir, `${pidName}.pid`), '-r', join(dir, `${name}-vrrp.pid`)];
}

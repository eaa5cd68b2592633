/**
 * DOC: how the benches start keepalived in a lab node: in the foreground, logging to the console, with its own pid files
 */
import { join } from 'node:path';
import { tool } from '../src/lab/run.js';

/** `ip netns exec NETNS keepalived ...` for configuration `conf`, pid files `dir/PIDNAME.pid` and `dir/NAME-vrrp.pid`. */
export function keepalivedArgv(netns: string, conf: string, dir: string, name: string, pidName = name): string[] {
  return ['netns', 'exec', netns, tool('keepalived'), '-n', '-l', '-P', '-f', conf, '-p', join(dir, `${pidName}.pid`), '-r', join(dir, `${name}-vrrp.pid`)];
}

/** keepalived.conf's head as the benches with conntrackd write it: VRRPv3, one sync group of `instances` whose state changes run `notify`. */
export function keepalivedHead(routerId: string, instances: readonly string[], notify: string): string {
  return `global_defs {
  router_id ${routerId}
  vrrp_version 3
  vrrp_garp_master_delay 0
  script_user root
  enable_script_security
}
vrrp_sync_group G {
  group {
    ${instances.join('\n    ')}
  }
  notify_master "${notify} primary"
  notify_backup "${notify} backup"
  notify_fault "${notify} fault"
}
`;
}

/**
 * DOC: the nftables scripts the lab's switch runs (bridge family, in the switch namespace)
 *
 * Pure: each fault the lab injects in the switch as one nft transaction, so it
 * takes effect at one instant. src/lab/lab.ts runs them.
 */

const quoted = (ports: readonly string[]) => ports.map((p) => `"${p}"`).join(', ');

/** The table that cuts a powered-off node (one per node). */
export const powerTable = (node: string) => `tandem_power_${node.replace(/[^a-z0-9]/gi, '_')}`;

/** Every frame from and to a node's ports dropped at once: its heartbeats and its forwarding stop together. */
export function powerOffRules(node: string, ports: readonly string[]): string {
  return [
    `table bridge ${powerTable(node)} {`,
    '  chain unpowered {',
    '    type filter hook forward priority -100; policy accept;',
    `    iifname { ${quoted(ports)} } drop`,
    `    oifname { ${quoted(ports)} } drop`,
    '  }',
    '}',
  ].join('\n');
}

/** One segment split in two, both ways. */
export function partitionRules(sideA: readonly string[], sideB: readonly string[]): string {
  return [
    'table bridge tandem_partition {',
    '  chain forward {',
    '    type filter hook forward priority 0; policy accept;',
    `    iifname { ${sideA.join(', ')} } oifname { ${sideB.join(', ')} } drop`,
    `    iifname { ${sideB.join(', ')} } oifname { ${sideA.join(', ')} } drop`,
    '  }',
    '}',
  ].join('\n');
}

export const heartbeatDropTable = (bridge: string) => `tandem_lab_${bridge.replace(/[^a-z0-9]/gi, '_')}`;

/** Whose heartbeats: tandem's frames (to 11-00-00-00-xx-xx), or VRRP advertisements (IP protocol 112, keepalived's). */
export type HeartbeatKind = 'tandem' | 'vrrp';

/** `percent` % of heartbeat frames entering from `ports` dropped. */
export function heartbeatDropRules(table: string, ports: readonly string[], percent: number, kind: HeartbeatKind = 'tandem'): string {
  // nft's numgen range is 0..99: "< 100" is not valid, and dropping all needs no dice.
  const dice = percent === 100 ? '' : `numgen random mod 100 < ${percent} `;
  const matches = kind === 'vrrp' ? ['ip protocol 112', 'ip6 nexthdr 112'] : ['ether daddr & ff:ff:ff:ff:00:00 == 11:00:00:00:00:00'];
  // `meta ibrname` needs nft_meta_bridge, which this kernel lacks: match the bridge's ports instead.
  return [
    `table bridge ${table} {`,
    `  chain hbdrop {`,
    `    type filter hook forward priority 0; policy accept;`,
    ...matches.map((m) => `    iifname { ${quoted(ports)} } ${m} ${dice}counter drop`),
    `  }`,
    `}`,
  ].join('\n');
}

/** The switch stops forwarding between two of its ports, both ways. */
export function blockPathRules(portA: string, portB: string): string {
  return [
    'table bridge tandem_lab_paths {',
    '  chain block {',
    '    type filter hook forward priority 0; policy accept;',
    `    iifname "${portA}" oifname "${portB}" drop`,
    `    iifname "${portB}" oifname "${portA}" drop`,
    '  }',
    '}',
  ].join('\n');
}

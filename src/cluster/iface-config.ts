/**
 * DOC: one interface of the node configuration: its role and its addresses, IPv4 and IPv6
 *
 * Each address field has an IPv6 twin with the suffix 6 (`sharedIp6`,
 * `masterIp6`, `slaveIp6`, `address6`); an interface may have either family
 * or both. IPv6 addresses are kept in RFC 5952's canonical text, so that two
 * spellings of one address compare equal. Monitor targets may be of either
 * family (ARP probes for IPv4, neighbour solicitations for IPv6).
 */
import { Fields, ValidationError } from '../board/validate.js';
import { parseIpv4 } from '../wire/ipv4.js';
import { formatIpv6, isMulticast6, isUnspecified6, parseIpv6 } from '../wire/ipv6.js';

export interface Cidr {
  address: string;
  prefix: number;
}

export interface IfaceConfig {
  name: string;
  heartbeats: boolean;
  sync: boolean;
  /** Loss of link (or of all monitor targets) lowers this node's health. */
  monitor: boolean;
  /**
   * Whether the file said `monitor`. A managed node's file may leave it out: the interface is then monitored
   * when the cluster gives it a shared address (a factory file cannot know which ports will be cabled).
   */
  monitorSet: boolean;
  sharedIp: Cidr | null;
  masterIp: Cidr | null;
  slaveIp: Cidr | null;
  /** This node's own address here (managed clusters; static ones use masterIp/slaveIp). */
  address: Cidr | null;
  sharedIp6: Cidr | null;
  masterIp6: Cidr | null;
  slaveIp6: Cidr | null;
  address6: Cidr | null;
  /** IPv4 dotted quads and canonical IPv6 texts. */
  monitorTargets: string[];
}

/** The address fields of an interface and their IPv6 twins, in the order the checks walk them. */
export const ADDRESS_FIELDS = ['sharedIp', 'masterIp', 'slaveIp', 'address'] as const;
export type AddressField = (typeof ADDRESS_FIELDS)[number];
export const v6 = (f: AddressField) => `${f}6` as `${AddressField}6`;

/** `198.18.1.1/24` into its parts, or undefined. */
export function parseCidr4(text: string): Cidr | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) return undefined;
  return { address: m.slice(1, 5).join('.'), prefix: Number(m[5]) };
}

/** `2001:2:0:1::1/64` into its canonical parts, or a reason it is not a unicast address with a prefix. */
export function parseCidr6(text: string): Cidr | string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  const a = m ? parseIpv6(m[1]!) : undefined;
  if (!m || a === undefined || Number(m[2]) > 128) return `expected an IPv6 address with prefix length such as 2001:2:0:1::1/64, got "${text}"`;
  if (isMulticast6(a)) return `${m[1]} is a multicast address: a node or shared address must be unicast`;
  if (isUnspecified6(a)) return `:: is the unspecified address: give a unicast address`;
  return { address: formatIpv6(a), prefix: Number(m[2]) };
}

function cidr4(f: Fields, key: string): Cidr | null {
  const text = f.optionalString(key);
  if (text === undefined) return null;
  return parseCidr4(text) ?? f.fail(`${f.path}.${key}`, `expected an IPv4 address with prefix length such as 198.18.1.1/24, got "${text}"`);
}

function cidr6(f: Fields, key: string): Cidr | null {
  const text = f.optionalString(key);
  if (text === undefined) return null;
  const c = parseCidr6(text);
  return typeof c === 'string' ? f.fail(`${f.path}.${key}`, c) : c;
}

/** An IPv4 address as it is, an IPv6 one in canonical form, or undefined. */
export function monitorTarget(text: string): string | undefined {
  if (parseIpv4(text) !== undefined) return text;
  const a = parseIpv6(text);
  return a === undefined || isMulticast6(a) || isUnspecified6(a) ? undefined : formatIpv6(a);
}

function optionalBool(f: Fields, key: string, fallback: boolean): boolean {
  return f.has(key) ? f.bool(key) : fallback;
}

export function parseIface(f: Fields, file: string): IfaceConfig {
  const at = (k: string) => `${f.path}.${k}`;
  return {
    name: f.string('name', { pattern: /^[A-Za-z0-9_.-]{1,15}$/, hint: 'an interface name of the board' }),
    heartbeats: optionalBool(f, 'heartbeats', true),
    sync: optionalBool(f, 'sync', false),
    monitor: optionalBool(f, 'monitor', false),
    monitorSet: f.has('monitor'),
    sharedIp: cidr4(f, 'sharedIp'),
    masterIp: cidr4(f, 'masterIp'),
    slaveIp: cidr4(f, 'slaveIp'),
    address: cidr4(f, 'address'),
    sharedIp6: cidr6(f, 'sharedIp6'),
    masterIp6: cidr6(f, 'masterIp6'),
    slaveIp6: cidr6(f, 'slaveIp6'),
    address6: cidr6(f, 'address6'),
    monitorTargets: (f.optionalArray('monitorTargets') ?? []).map((t) => {
      const v = t.self.string();
      const target = monitorTarget(v);
      if (target === undefined)
        throw new ValidationError(
          file,
          at('monitorTargets'),
          `expected IPv4 addresses (such as 198.18.1.254) or IPv6 unicast addresses (such as 2001:2:0:1::fe), got "${v}"`,
        );
      return target;
    }),
  };
}

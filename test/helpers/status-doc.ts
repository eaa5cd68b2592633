/**
 * DOC: a member row of the status document for tests (fw-a of labc, enabled and serving, unless told otherwise).
 */
import type { StatusMember } from '../../src/api/status-page.js';

export function statusMember(over: Partial<StatusMember> = {}): StatusMember {
  return {
    name: 'fw-a',
    id: 1,
    address: '198.19.255.11',
    self: true,
    enabled: true,
    draining: false,
    role: 'active',
    leader: false,
    unreachable: null,
    hex: '0x10004',
    bits: 0x10004,
    words: ['enabled', 'cluster service connected'],
    softwareVersion: '0.1.0',
    ...over,
  };
}

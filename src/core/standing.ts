/**
 * DOC: the failover core's standing changes: leader, drain, an administrator's bypass modes
 *
 * Part of step() (failover.ts): each change is an effect the runtime logs and freezes into a flight record, with
 * the evidence of the moment, as a role change is. Pure.
 */
import { evidence } from './core-view.js';
import type { CoreState, Effect, Input, StandingChange } from './failover-types.js';

/**
 * Leader, drain and an administrator's bypass mode change here and nowhere else: each change is an effect
 * the runtime logs and freezes into a flight record (with the evidence of the moment), as a role change is.
 */
export function standing(s: CoreState, input: Extract<Input, { type: 'leader' | 'drain' | 'bypass' }>, effects: Effect[]): CoreState {
  const was = s.standing;
  const change = (what: StandingChange['what'], subject: string, from: string, to: string, reason: string, rule?: string) =>
    effects.push({ type: 'standing', change: { what, subject, from, to, at: input.now, reason, evidence: evidence(s, input.now, rule) } });
  const me = String(s.config.nodeId);
  switch (input.type) {
    case 'leader':
      if (input.holding === was.leader) return s;
      change('leader', me, was.leader ? 'leader' : 'member', input.holding ? 'leader' : 'member', input.reason, input.rule);
      return { ...s, standing: { ...was, leader: input.holding } };
    case 'drain':
      if (input.draining === was.draining) return s;
      change(
        'drain',
        me,
        was.draining ? 'draining' : 'serving',
        input.draining ? 'draining' : 'serving',
        input.draining ? 'drain_requested' : 'undrain_requested',
      );
      return { ...s, standing: { ...was, draining: input.draining } };
    case 'bypass':
      change('bypass', input.segment, was.bypass[input.segment] ?? 'as the node set it', input.mode, 'set_by_admin');
      effects.push({ type: 'set-bypass', segment: input.segment, mode: input.mode });
      return { ...s, standing: { ...was, bypass: { ...was.bypass, [input.segment]: input.mode } } };
  }
}

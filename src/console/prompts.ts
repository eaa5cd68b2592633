/**
 * DOC: the console's questions: every prompt shows its default and what a valid answer looks like
 *
 * A wrong answer is asked again with the reason; Ctrl-C returns null all the
 * way up, so a screen backs out without changing anything. Validators are
 * pure (answer -> value or the reason it is wrong).
 */
import type { ConsoleIo } from './terminal.js';
import { parseCidr6 } from '../cluster/iface-config.js';
import { formatIpv6, parseIpv6 } from '../wire/ipv6.js';

export type Check<T> = (answer: string) => { ok: true; value: T } | { ok: false; why: string };

export interface Question<T> {
  label: string;
  /** Shown as [default]; an empty answer takes it. */
  fallback?: string;
  /** What a valid answer looks like, shown after the label. */
  hint: string;
  check: Check<T>;
  secret?: boolean;
}

/** Asks until the answer is valid; null when the user pressed Ctrl-C. */
export async function ask<T>(io: ConsoleIo, q: Question<T>): Promise<T | null> {
  const prompt = `${q.label} (${q.hint})${q.fallback !== undefined && !q.secret ? ` [${q.fallback}]` : ''}: `;
  for (;;) {
    const raw = await io.ask(prompt, q.secret ? { secret: true } : {});
    if (raw === null) return null;
    const answer = raw.trim() === '' && q.fallback !== undefined ? q.fallback : raw.trim();
    const r = q.check(answer);
    if (r.ok) return r.value;
    io.say(`  ${q.secret ? 'that' : `"${answer}"`} is not valid: ${r.why}`);
  }
}

/** yes/no, default no: a change is applied only on an explicit yes. */
export async function confirm(io: ConsoleIo, question: string): Promise<boolean | null> {
  return ask(io, {
    label: question,
    hint: 'yes or no',
    fallback: 'no',
    check: (a) =>
      /^(y|yes)$/i.test(a) ? { ok: true, value: true } : /^(n|no)$/i.test(a) ? { ok: true, value: false } : { ok: false, why: 'answer yes or no' },
  });
}

export async function pause(io: ConsoleIo): Promise<void> {
  await io.ask('Press Enter to go back: ');
}

export const checks = {
  choice:
    (n: number): Check<number> =>
    (a) => {
      const v = Number(a);
      return /^\d+$/.test(a) && v >= 1 && v <= n ? { ok: true, value: v } : { ok: false, why: `type a number from 1 to ${n}` };
    },
  oneOf:
    <T extends string>(values: readonly T[]): Check<T> =>
    (a) =>
      (values as readonly string[]).includes(a) ? { ok: true, value: a as T } : { ok: false, why: `one of ${values.join(', ')}` },
  ipv4: (a: string) => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
    return m && m.slice(1).every((o) => Number(o) <= 255)
      ? { ok: true as const, value: a }
      : { ok: false as const, why: 'four numbers 0-255 with dots, such as 198.18.2.13' };
  },
  cidr: ((a: string) => {
    const m = /^(.+)\/(\d{1,2})$/.exec(a);
    if (!m || Number(m[2]) > 32 || !checks.ipv4(m[1]!).ok) return { ok: false, why: 'an address with its prefix length, such as 198.18.2.13/24' };
    if (Number(m[2]) < 8) return { ok: false, why: 'a prefix length of 8 to 32' };
    return { ok: true, value: { address: m[1]!, prefix: Number(m[2]) } };
  }) as Check<{ address: string; prefix: number }>,
  /** An address, or "none" (kept as the word: null is what Ctrl-C returns). */
  optionalIpv4: ((a: string) => (a === 'none' ? { ok: true, value: 'none' } : checks.ipv4(a))) as Check<string>,
  /** A unicast IPv6 address with its prefix length (kept canonical), or "none". */
  optionalCidr6: ((a: string) => {
    if (a === 'none') return { ok: true, value: 'none' };
    const c = parseCidr6(a);
    return typeof c === 'string' ? { ok: false, why: 'an IPv6 address with its prefix length, such as 2001:2:0:2::13/64, or none' } : { ok: true, value: c };
  }) as Check<{ address: string; prefix: number } | 'none'>,
  optionalIpv6: ((a: string) => {
    if (a === 'none') return { ok: true, value: 'none' };
    const v = parseIpv6(a);
    return v === undefined ? { ok: false, why: 'an IPv6 address, such as 2001:2:0:2::fe, or none' } : { ok: true, value: formatIpv6(v) };
  }) as Check<string>,
  name:
    (what: string, pattern: RegExp, max: number): Check<string> =>
    (a) =>
      pattern.test(a) ? { ok: true, value: a } : { ok: false, why: `${what}: 1 to ${max} letters, digits, "-", "_" or ".", starting with a letter or digit` },
  password: ((a: string) => (a.length >= 8 ? { ok: true, value: a } : { ok: false, why: 'at least 8 characters' })) as Check<string>,
};

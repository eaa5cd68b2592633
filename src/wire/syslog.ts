/**
 * DOC: syslog messages as RFC 5424 describes them, and RFC 6587 octet-counting framing
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [tandem@32473 id="400" ...] MSG
 *
 * PRI = facility * 8 + severity. Header fields are printable US-ASCII
 * without spaces, cut at the RFC's lengths, "-" when empty. The structured
 * data carries the event ID and the evidence (32473 is the private
 * enterprise number RFC 5612 reserves for documentation; an appliance
 * vendor puts its own). SD-PARAM values escape '"', '\' and ']'. Over TCP
 * each message is preceded by its length in octets and a space (RFC 6587
 * 3.4.1), so a message may contain newlines.
 */

export interface SyslogMessage {
  /** 0..23; local0 is 16. */
  facility: number;
  /** 0 emergency .. 7 debug. */
  severity: number;
  /** ISO 8601 with time zone (new Date().toISOString()). */
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  /** The event name. */
  msgId: string;
  /** SD-ID -> params; one element each. */
  data: Record<string, Record<string, string>>;
  msg: string;
}

const UTF8 = new TextEncoder();

function header(value: string, max: number): string {
  const v = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return v.length === 0 ? '-' : v;
}

function sdName(name: string): string {
  return name.replace(/[^\x21-\x7e]|[= \]"]/g, '_').slice(0, 32);
}

export function escapeParam(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

export function formatRfc5424(m: SyslogMessage): string {
  if (!Number.isInteger(m.facility) || m.facility < 0 || m.facility > 23) throw new Error(`syslog facility ${m.facility}: 0..23`);
  if (!Number.isInteger(m.severity) || m.severity < 0 || m.severity > 7) throw new Error(`syslog severity ${m.severity}: 0..7`);
  const sd = Object.entries(m.data)
    .map(
      ([id, params]) =>
        `[${sdName(id)}${Object.entries(params)
          .map(([k, v]) => ` ${sdName(k)}="${escapeParam(v)}"`)
          .join('')}]`,
    )
    .join('');
  return `<${m.facility * 8 + m.severity}>1 ${header(m.timestamp, 64)} ${header(m.hostname, 255)} ${header(m.appName, 48)} ${header(m.procId, 128)} ${header(m.msgId, 32)} ${sd || '-'}${m.msg ? ` ${m.msg}` : ''}`;
}

/** RFC 6587 octet counting: "LENGTH SP MESSAGE", the length in bytes of the UTF-8 message. */
export function octetCounted(message: string): Uint8Array {
  const body = UTF8.encode(message);
  const prefix = UTF8.encode(`${body.length} `);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}

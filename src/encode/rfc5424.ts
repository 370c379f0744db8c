/**
 * RFC 5424 messages around an encoded payload (reference/syslog.md §1).
 *
 * The message is built in two steps so the seal module can add its params to
 * the agent's own SD element without re-parsing anything: syslogParts() makes
 * the header, the agent's SD params and the payload; assembleSyslog() joins
 * them, with the seal params (session, seq, kid, chain) when given.
 *
 * Decisions
 * - PRI: facility defaults to 16 (local0) for every event, auth events too:
 *   the receiver is a SIEM that routes all agent traffic by one PRI range (as
 *   the reference examples do); the event's own facility stays in the payload.
 *   opts.facility overrides. Severity = ev.severity when it is 0..7, else 5.
 * - TIMESTAMP: @timestamp as toISOString() (UTC, milliseconds); "-" when it
 *   does not parse or falls outside years 0000..9999.
 * - PROCID: the event's process.pid (as the reference CEF example does), else "-".
 * - Header fields: PRINTUSASCII only, anything else (per code point) -> "_",
 *   cut to the field's limit, empty -> "-".
 * - Agent SD params: agent (agent id), input (ev.source.input), eid
 *   (event.id, when present). Values are neutralized ({U+XXXX} for controls,
 *   CR/LF/TAB and invisible characters) and then escaped by sdEscape.
 * - msg: the payload. A payload never contains a line break from our encoders;
 *   anything unsafe that gets here anyway becomes {U+XXXX}. No BOM.
 * - An empty msg is written without the separating space (ABNF: [SP MSG]).
 *
 * Forging: MSG is everything after the first SP that follows the SD, so a
 * payload that starts with "<134>1 …" or contains "] [x@1 a=\"b\"]" is only
 * ever MSG text; parseRfc5424 of our output yields exactly our SD elements.
 */
import type { FieldValue, LogEvent } from '../event/types.js';
import { ConfigError, LogwardError } from '../errors.js';
import { EncodeError } from './encode-error.js';
import { isCanonicalIsoMs } from './iso-time.js';
import { replaceUnsafe, token } from './unsafe-chars.js';

export interface SyslogParts {
  /** '<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID ' (trailing space included). */
  header: string;
  sdId: string;
  /** The escaped params of the agent's own SD element, each with a leading space. */
  sdParams: string;
  /** Further complete SD elements (e.g. timeQuality), or ''. */
  otherSd: string;
  /** The payload (ECS JSON or CEF line), no BOM. */
  msg: string;
}

export interface TimeQuality {
  tzKnown: boolean;
  isSynced: boolean;
  /** Microseconds; written only when isSynced. */
  syncAccuracy?: number;
}

export interface SyslogOptions {
  sdId: string;
  appName?: string;
  msgId: 'ECS' | 'CEF';
  facility?: number;
  agentId: string;
  hostname: string;
  timeQuality?: TimeQuality;
}

export interface SealParams {
  session: string;
  seq: bigint | number;
  chain: string;
  keyId?: string;
}

export const DEFAULT_FACILITY = 16;
export const DEFAULT_APP_NAME = 'logward';
export const HEADER_LIMITS = { hostname: 255, appName: 48, procId: 128, msgId: 32 } as const;

// ---------------------------------------------------------------- escaping

/** Escapes exactly '"', '\' and ']' with a backslash (RFC 5424 PARAM-VALUE). */
export function sdEscape(v: string): string {
  return /["\\\]]/.test(v) ? v.replace(/["\\\]]/g, '\\$&') : v;
}

/** Neutralizes what must not sit in an SD value or MSG (controls, CR/LF/TAB, invisibles) as {U+XXXX}. */
// Printable ASCII cannot hold anything unsafe: most payloads (ECS JSON escapes everything else)
// skip the full scan, which costs ~2 µs on a 1 KiB event.
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;

function neutralize(s: string): string {
  if (!NOT_PRINTABLE_ASCII.test(s)) return s;
  let t = replaceUnsafe(s);
  if (/[\t\n\r]/.test(t)) t = t.replace(/[\t\n\r]/g, (c) => token(c.charCodeAt(0)));
  return t;
}

function sdValue(s: string): string {
  return sdEscape(neutralize(s));
}

/** A header field: PRINTUSASCII only (else "_" per code point), at most max chars, "-" when empty. */
export function headerField(s: string | undefined, max: number): string {
  if (s === undefined || s === '') return '-';
  if (s.length <= max && /^[\x21-\x7e]+$/.test(s)) return s;
  let out = '';
  for (const ch of s) {
    if (out.length === max) break;
    const c = ch.codePointAt(0) as number;
    out += c >= 33 && c <= 126 ? ch : '_';
  }
  return out;
}

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** RFC 5424 TIMESTAMP of @timestamp: UTC with milliseconds, "-" when unknown. */
export function syslogTimestamp(ts: FieldValue | undefined): string {
  if (typeof ts !== 'string') return '-';
  // The builder writes @timestamp in exactly this form: skip the parse and re-format (~1 µs).
  if (isCanonicalIsoMs(ts)) return ts;
  const ms = Date.parse(ts);
  if (!Number.isFinite(ms)) return '-';
  const iso = new Date(ms).toISOString();
  return ISO_MS.test(iso) ? iso : '-';
}

// ---------------------------------------------------------------- building

const SD_ID_RE = /^[\x21-\x7e]{1,32}$/;
const SD_NAME_FORBIDDEN = /[= \]"]/;
let lastSdId = '';

/** Checks a custom SD-ID: name@digits, printable ASCII minus = SP ] ", at most 32 chars. */
export function checkSdId(sdId: string): void {
  if (sdId === lastSdId) return;
  if (!SD_ID_RE.test(sdId) || SD_NAME_FORBIDDEN.test(sdId) || !/^[^@]+@[0-9]+$/.test(sdId)) {
    throw new ConfigError('output.sd_id', `"${sdId}" is not an SD-ID of the form name@<enterprise number> (printable ASCII without = space ] ", at most 32 characters)`);
  }
  lastSdId = sdId;
}

let lastHostIn = '';
let lastHostOut = '-';
let lastAppIn = '';
let lastAppOut = DEFAULT_APP_NAME;
let lastAgentIn: string | undefined;
let lastInputIn: string | undefined;
let lastAgentInputOut = '';

/**
 * `vetted`: the caller's encoder guarantees that the payload holds nothing this
 * module would neutralize (ECS JSON from encodeEcs/encodeEvent: every string is
 * escaped by construction; a property test holds it to that). It saves
 * rescanning ~1 KiB per event; anything else is neutralized as always.
 */
export function syslogParts(ev: LogEvent, payload: string, opts: SyslogOptions, vetted = false): SyslogParts {
  checkSdId(opts.sdId);
  const facility = opts.facility ?? DEFAULT_FACILITY;
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) {
    throw new EncodeError('facility', `not a syslog facility (0..23): ${facility}`);
  }
  const severity = Number.isInteger(ev.severity) && ev.severity >= 0 && ev.severity <= 7 ? ev.severity : 5;
  if (opts.hostname !== lastHostIn) {
    lastHostIn = opts.hostname;
    lastHostOut = headerField(opts.hostname, HEADER_LIMITS.hostname);
  }
  const appIn = opts.appName ?? DEFAULT_APP_NAME;
  if (appIn !== lastAppIn) {
    lastAppIn = appIn;
    lastAppOut = headerField(appIn, HEADER_LIMITS.appName);
  }
  const f = ev.fields;
  const pid = f['process.pid'];
  const procId = pid === undefined ? '-' : headerField(String(pid), HEADER_LIMITS.procId);
  const header =
    `<${facility * 8 + severity}>1 ${syslogTimestamp(f['@timestamp'])} ${lastHostOut} ${lastAppOut} ` +
    `${procId} ${headerField(opts.msgId, HEADER_LIMITS.msgId)} `;

  // Agent and input repeat from one event to the next: escape them once per change.
  if (opts.agentId !== lastAgentIn || ev.source.input !== lastInputIn) {
    lastAgentIn = opts.agentId;
    lastInputIn = ev.source.input;
    lastAgentInputOut = ` agent="${sdValue(opts.agentId)}" input="${sdValue(ev.source.input)}"`;
  }
  let sdParams = lastAgentInputOut;
  const eid = f['event.id'];
  if (eid !== undefined && eid !== '') sdParams += ` eid="${sdValue(String(eid))}"`;

  let otherSd = '';
  const tq = opts.timeQuality;
  if (tq !== undefined) {
    otherSd = `[timeQuality tzKnown="${tq.tzKnown ? 1 : 0}" isSynced="${tq.isSynced ? 1 : 0}"`;
    if (tq.isSynced && tq.syncAccuracy !== undefined && Number.isInteger(tq.syncAccuracy) && tq.syncAccuracy >= 0) {
      otherSd += ` syncAccuracy="${tq.syncAccuracy}"`;
    }
    otherSd += ']';
  }
  return { header, sdId: opts.sdId, sdParams, otherSd, msg: vetted ? payload : neutralize(payload) };
}

export function assembleSyslog(parts: SyslogParts, seal?: SealParams): string {
  if (seal !== undefined) {
    const h = sealedHead(parts, seal);
    // Neutralized like every SD value: seal values are hex in practice, but the
    // "nothing unsafe leaves raw" invariant must not depend on another module.
    return h.before + sdValue(seal.chain) + h.after + parts.msg;
  }
  return parts.header + '[' + parts.sdId + parts.sdParams + ']' + parts.otherSd + (parts.msg === '' ? '' : ' ' + parts.msg);
}

/** A sealed message around its chain value: before + chain + after + msg is assembleSyslog(parts, seal). */
export interface SealedHead {
  /** Header, the SD element up to the opening quote of the chain param. */
  before: string;
  /** The closing quote and bracket, further SD elements, and the SP before MSG when there is a MSG. */
  after: string;
}

/** ' session="…" seq="' and '" kid="…" chain="' for the last session and key id seen (the same for a whole run). */
let lastSession: string | undefined;
let sessionPart = '';
let lastKeyId: string | undefined;
let keyIdPart = '" chain="';

/**
 * The sealed message minus its chain and MSG. The chain is computed over MSG
 * and then written between the two halves (it is 64 hex characters, which
 * sdValue leaves as they are), so the sealer can lay the message out as bytes
 * around an MSG it has already encoded for the MAC, instead of assembling a
 * string and encoding it again.
 */
export function sealedHead(parts: SyslogParts, seal: Omit<SealParams, 'chain'>): SealedHead {
  if (seal.session !== lastSession) {
    sessionPart = ` session="${sdValue(seal.session)}" seq="`;
    lastSession = seal.session;
  }
  if (seal.keyId !== lastKeyId) {
    keyIdPart = seal.keyId === undefined ? '" chain="' : `" kid="${sdValue(seal.keyId)}" chain="`;
    lastKeyId = seal.keyId;
  }
  return {
    before: parts.header + '[' + parts.sdId + parts.sdParams + sessionPart + String(seal.seq) + keyIdPart,
    after: '"]' + parts.otherSd + (parts.msg === '' ? '' : ' '),
  };
}

// ---------------------------------------------------------------- parsing

export interface SdElement {
  id: string;
  /** [name, unescaped value] in order; a name may repeat. */
  params: [string, string][];
}

export interface ParsedSyslog {
  pri: number;
  facility: number;
  severity: number;
  version: number;
  /** As written ("-" when nil). */
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  /** Empty for a nil ("-") STRUCTURED-DATA. */
  sd: SdElement[];
  /** Without the BOM; undefined when the message has no MSG part. */
  msg: string | undefined;
  bom: boolean;
}

export class SyslogParseError extends LogwardError {
  override readonly name = 'SyslogParseError';
  constructor(
    readonly problem: string,
    readonly offset: number,
  ) {
    super(`RFC 5424 @${offset}: ${problem}`);
  }
}

const HEAD_RE = /^<(0|[1-9][0-9]{0,2})>([1-9][0-9]{0,2}) (\S+) (\S+) (\S+) (\S+) (\S+) /;
const TS_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-](\d{2}):(\d{2}))$/;
const PRINT_RE = /^[\x21-\x7e]+$/;

function checkTimestamp(ts: string, at: number): void {
  if (ts === '-') return;
  const m = TS_RE.exec(ts);
  if (m === null) throw new SyslogParseError(`bad TIMESTAMP "${ts}"`, at);
  const [mo, d, h, mi, s] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const oh = m[9] === undefined ? 0 : Number(m[9]);
  const om = m[10] === undefined ? 0 : Number(m[10]);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) {
    throw new SyslogParseError(`TIMESTAMP out of range "${ts}"`, at);
  }
}

function checkField(v: string, max: number, what: string, at: number): void {
  if (v.length > max || !PRINT_RE.test(v)) throw new SyslogParseError(`bad ${what} "${v}"`, at);
}

function sdName(s: string, i: number, what: string): [string, number] {
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c < 33 || c > 126 || c === 61 || c === 93 || c === 34) break;
    j++;
  }
  if (j === i || j - i > 32) throw new SyslogParseError(`bad ${what}`, i);
  return [s.slice(i, j), j];
}

/** Strict RFC 5424 parser (one message, no framing). Throws SyslogParseError. */
export function parseRfc5424(message: string): ParsedSyslog {
  const m = HEAD_RE.exec(message);
  if (m === null) throw new SyslogParseError('bad header (PRI, VERSION or field separators)', 0);
  const pri = Number(m[1]);
  if (pri > 191) throw new SyslogParseError(`PRI ${pri} > 191`, 1);
  const [, , version, timestamp, hostname, appName, procId, msgId] = m as unknown as string[];
  checkTimestamp(timestamp as string, 0);
  checkField(hostname as string, HEADER_LIMITS.hostname, 'HOSTNAME', 0);
  checkField(appName as string, HEADER_LIMITS.appName, 'APP-NAME', 0);
  checkField(procId as string, HEADER_LIMITS.procId, 'PROCID', 0);
  checkField(msgId as string, HEADER_LIMITS.msgId, 'MSGID', 0);

  let i = m[0].length;
  const sd: SdElement[] = [];
  if (message[i] === '-') {
    i++;
  } else {
    if (message[i] !== '[') throw new SyslogParseError('STRUCTURED-DATA must be "-" or start with "["', i);
    while (message[i] === '[') {
      const [id, afterId] = sdName(message, i + 1, 'SD-ID');
      if (sd.some((e) => e.id === id)) throw new SyslogParseError(`duplicate SD-ID "${id}"`, i);
      i = afterId;
      const params: [string, string][] = [];
      while (message[i] === ' ') {
        const [name, afterName] = sdName(message, i + 1, 'PARAM-NAME');
        i = afterName;
        if (message[i] !== '=' || message[i + 1] !== '"') throw new SyslogParseError('expected =" after PARAM-NAME', i);
        i += 2;
        let value = '';
        for (;;) {
          if (i >= message.length) throw new SyslogParseError('unterminated PARAM-VALUE', i);
          const c = message[i] as string;
          if (c === '"') break;
          if (c === ']') throw new SyslogParseError('unescaped "]" in PARAM-VALUE', i);
          if (c === '\\') {
            const d = message[i + 1];
            if (d === '"' || d === '\\' || d === ']') {
              value += d;
              i += 2;
              continue;
            }
          }
          value += c;
          i++;
        }
        i++;
        params.push([name, value]);
      }
      if (message[i] !== ']') throw new SyslogParseError('expected "]" or " PARAM"', i);
      i++;
      sd.push({ id, params });
    }
  }
  let msg: string | undefined;
  let bom = false;
  if (i < message.length) {
    if (message[i] !== ' ') throw new SyslogParseError('expected SP before MSG', i);
    msg = message.slice(i + 1);
    if (msg.startsWith('\ufeff')) {
      bom = true;
      msg = msg.slice(1);
    }
  }
  return {
    pri,
    facility: pri >> 3,
    severity: pri & 7,
    version: Number(version),
    timestamp: timestamp as string,
    hostname: hostname as string,
    appName: appName as string,
    procId: procId as string,
    msgId: msgId as string,
    sd,
    msg,
    bom,
  };
}

/** The inverse of parseRfc5424 (for tests and tools): formatRfc5424(parseRfc5424(s)) === s for canonical input. */
export function formatRfc5424(p: ParsedSyslog): string {
  const sd =
    p.sd.length === 0
      ? '-'
      : p.sd.map((e) => `[${e.id}${e.params.map(([n, v]) => ` ${n}="${sdEscape(v)}"`).join('')}]`).join('');
  const head = `<${p.pri}>${p.version} ${p.timestamp} ${p.hostname} ${p.appName} ${p.procId} ${p.msgId} ${sd}`;
  return p.msg === undefined ? head : `${head} ${p.bom ? '\ufeff' : ''}${p.msg}`;
}

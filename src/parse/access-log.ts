/**
 * NCSA common/combined access-log lines, shared by the nginx and apache
 * parsers (nginx's default `combined`, apache's `common`, `combined` and
 * `vhost_combined`):
 *
 *   addr ident user [22/Nov/2026:10:01:02 +0100] "request" status bytes ["referer" "user-agent"] …
 *
 * Design notes:
 * - The fixed part is read by hand, by the rules of the sticky regex it
 *   replaced (kept in the tests as the reference):
 *     (\S+) (\S+) (\S+) \[(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\] "request" (\d{3}) (\d{1,18}|-)
 *   followed by the optional ` "referer" "user-agent"` pair. A regex match
 *   builds an array of 15 strings and every number is then re-read from a
 *   string; this runs on every access line. Quoted fields are
 *   `"([^"\\]*(?:\\[^][^"\\]*)*)"`: linear, a backslash escapes any one character.
 * - The request line is split by hand afterwards and validated loosely: a
 *   scanner's raw TLS bytes ("\x16\x03\x01…") or a bare "-" leave method/url
 *   out but the rest of the line still parses.
 * - Escapes are decoded only for `\"`, `\\`, `\x22`, `\x5C` (apache and nginx
 *   quote escapes). Other `\xHH` stay as text: decoding them would put raw
 *   control bytes back into an already neutralized line.
 * - Outcome policy: status >= 400 is failure, else success. 401/403 stay
 *   category web; rules look at http.response.status_code.
 * - A value the encoders cannot write does not fail the event, nor is it
 *   guessed (field-ranges.ts has the bounds, as for the regex and json
 *   parsers): a status outside 100..599 (nginx's 000 for a client that left
 *   before any response, a site's own 999) is kept as the line's text under
 *   json.http.response.status_code, tag field_type_mismatch, and the outcome
 *   is "unknown" (ECS: an attempt whose result is not known), never success
 *   or failure read from a non-status. A time that is no event time (before
 *   1970: CEF rt is epoch milliseconds >= 0; past 9999-12-31) or no date at
 *   all is kept as text under json.timestamp, tag timestamp_invalid, and the
 *   event time is the read time.
 */
import type { EcsFields, ParseResult } from '../event/types.js';
import { digitsAt, isRegexSpace } from './chars.js';
import { eventTimeFits, isPort, numberBounds } from './field-ranges.js';
import { ipOfAddress } from './ip.js';
import { fromWallWithOffset, monthFromCodes } from './time.js';

const RE_ESCAPE = /\\(["\\])|\\x(?:22|5[cC])/g;

/**
 * The statuses http.response.status_code may hold, looked up once: every
 * access line asks, so two compares against plain numbers, not a call that
 * reads them out of the bounds pair.
 */
const [STATUS_MIN, STATUS_MAX] = numberBounds('http.response.status_code');

function unescapeQuoted(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(RE_ESCAPE, (whole: string, ch: string | undefined) => {
    if (ch !== undefined) return ch;
    return whole === '\\x22' ? '"' : '\\';
  });
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** request[0, end) is a method: ^[A-Za-z][A-Za-z_-]{0,31}$ */
function isMethod(request: string, end: number): boolean {
  if (end > 32 || !isLetter(request.charCodeAt(0))) return false;
  for (let i = 1; i < end; i++) {
    const c = request.charCodeAt(i);
    if (!isLetter(c) && c !== 95 && c !== 45) return false;
  }
  return true;
}

/** The version of a protocol token request[at, end) of the form ^HTTP\/(\d(?:\.\d)?)$, or undefined. */
function httpVersion(request: string, at: number): string | undefined {
  const len = request.length - at;
  if ((len !== 6 && len !== 8) || !request.startsWith('HTTP/', at)) return undefined;
  const major = request.charCodeAt(at + 5);
  if (!(major >= 48 && major <= 57)) return undefined;
  if (len === 8) {
    const minor = request.charCodeAt(at + 7);
    if (request.charCodeAt(at + 6) !== 46 || !(minor >= 48 && minor <= 57)) return undefined;
  }
  return request.slice(at + 5);
}

function addRequest(f: EcsFields, request: string): void {
  const s1 = request.indexOf(' ');
  if (s1 <= 0) return;
  if (!isMethod(request, s1)) return;
  const method = request.slice(0, s1);
  const s2 = request.lastIndexOf(' ');
  let target: string;
  if (s2 > s1) {
    const version = httpVersion(request, s2 + 1);
    if (version !== undefined) {
      target = request.slice(s1 + 1, s2);
      f['http.version'] = version;
    } else {
      target = request.slice(s1 + 1);
    }
  } else {
    target = request.slice(s1 + 1);
  }
  if (target === '') return;
  f['http.request.method'] = method;
  f['url.original'] = target;
  if (target.charCodeAt(0) === 47) {
    const q = target.indexOf('?');
    if (q === -1) f['url.path'] = target;
    else {
      f['url.path'] = target.slice(0, q);
      if (q + 1 < target.length) f['url.query'] = target.slice(q + 1);
    }
  }
}

/** Adds vhost `host[:port]` (apache %v:%p) as url.domain / url.port. */
function addVhost(f: EcsFields, vhost: string): void {
  const colon = vhost.lastIndexOf(':');
  let host = vhost;
  if (colon > 0 && !vhost.endsWith(']') && /^\d{1,5}$/.test(vhost.slice(colon + 1))) {
    const port = Number(vhost.slice(colon + 1));
    host = vhost.slice(0, colon);
    if (isPort(port)) f['url.port'] = port;
  }
  if (host !== '' && host !== '-') f['url.domain'] = host;
}

/** End of `(\S+) ` at p: the index of the space, or -1. */
function fieldEnd(line: string, p: number): number {
  let i = p;
  const n = line.length;
  while (i < n && !isRegexSpace(line.charCodeAt(i))) i++;
  return i > p && line.charCodeAt(i) === 32 ? i : -1;
}

/** End of a quoted field whose opening quote is at p: the index of the closing quote, or -1. */
function quotedEnd(line: string, p: number): number {
  // Jumps between quotes and backslashes with indexOf (native) instead of a
  // character loop: user agents and URLs make these the longest fields.
  // Each search resumes where the last one stopped, so a hostile line full of
  // backslashes still costs one pass.
  let from = p + 1;
  let quote = line.indexOf('"', from);
  let backslash = line.indexOf('\\', from);
  for (;;) {
    if (quote === -1) return -1;
    if (backslash === -1 || backslash > quote) return quote;
    // A backslash takes the next character, whatever it is (a quote too).
    from = backslash + 2;
    if (quote < from) quote = line.indexOf('"', from);
    backslash = line.indexOf('\\', from);
  }
}

/**
 * Parses an access-log line whose client address starts at `start`
 * (0, or after an apache vhost prefix given as `vhost`). Null when it is not one.
 */
export function parseAccessLine(line: string, start: number, parser: string, vhost?: string): ParseResult | null {
  const e1 = fieldEnd(line, start);
  if (e1 === -1) return null;
  const e2 = fieldEnd(line, e1 + 1);
  if (e2 === -1) return null;
  const e3 = fieldEnd(line, e2 + 1);
  if (e3 === -1) return null;
  // [dd/Mmm/yyyy:hh:mm:ss +hhmm] "
  const q = e3 + 1;
  const day = digitsAt(line, q + 1, 2);
  const m0 = line.charCodeAt(q + 4);
  const m1 = line.charCodeAt(q + 5);
  const m2 = line.charCodeAt(q + 6);
  const year = digitsAt(line, q + 8, 4);
  const h = digitsAt(line, q + 13, 2);
  const mi = digitsAt(line, q + 16, 2);
  const sec = digitsAt(line, q + 19, 2);
  const signChar = line.charCodeAt(q + 22);
  const oh = digitsAt(line, q + 23, 2);
  const om = digitsAt(line, q + 25, 2);
  if (
    line.charCodeAt(q) !== 91 || day < 0 || line.charCodeAt(q + 3) !== 47 ||
    !(m0 >= 65 && m0 <= 90) || !(m1 >= 97 && m1 <= 122) || !(m2 >= 97 && m2 <= 122) ||
    line.charCodeAt(q + 7) !== 47 || year < 0 || line.charCodeAt(q + 12) !== 58 ||
    h < 0 || line.charCodeAt(q + 15) !== 58 || mi < 0 || line.charCodeAt(q + 18) !== 58 || sec < 0 ||
    line.charCodeAt(q + 21) !== 32 || (signChar !== 43 && signChar !== 45) || oh < 0 || om < 0 ||
    line.charCodeAt(q + 27) !== 93 || line.charCodeAt(q + 28) !== 32 || line.charCodeAt(q + 29) !== 34
  ) {
    return null;
  }
  const reqEnd = quotedEnd(line, q + 29);
  if (reqEnd === -1) return null;
  // "request" (\d{3}) (\d{1,18}|-)
  const status = digitsAt(line, reqEnd + 2, 3);
  if (line.charCodeAt(reqEnd + 1) !== 32 || status < 0 || line.charCodeAt(reqEnd + 5) !== 32) return null;
  const bytesStart = reqEnd + 6;
  let bytesEnd = bytesStart;
  while (bytesEnd < bytesStart + 18 && isAsciiDigit(line.charCodeAt(bytesEnd))) bytesEnd++;
  if (bytesEnd === bytesStart) {
    if (line.charCodeAt(bytesStart) !== 45) return null;
    bytesEnd = bytesStart + 1;
  }

  const month0 = monthFromCodes(m0, m1, m2);
  const offsetMinutes = (signChar === 45 ? -1 : 1) * (oh * 60 + om);
  const date = month0 === -1 || om > 59 ? undefined : fromWallWithOffset(year, month0, day, h, mi, sec, offsetMinutes);
  // The event time must be one both encoders can write (1970..9999), as in the regex and json parsers.
  const timestamp = date !== undefined && eventTimeFits(date.getTime()) ? date : undefined;
  // status is three digits (0..999), never NaN.
  const isStatus = status >= STATUS_MIN && status <= STATUS_MAX;
  const f: EcsFields = {
    'event.kind': 'event',
    'event.category': ['web'],
    'event.type': ['access'],
    'event.outcome': !isStatus ? 'unknown' : status >= 400 ? 'failure' : 'success',
  };
  const addr = line.slice(start, e1);
  if (addr !== '-') {
    f['source.address'] = addr;
    const ip = ipOfAddress(addr);
    if (ip !== undefined) {
      f['source.ip'] = ip;
      f['related.ip'] = [ip];
    } else {
      f['source.domain'] = addr;
    }
  }
  const user = line.slice(e2 + 1, e3);
  if (user !== '-' && user !== '') {
    f['user.name'] = user;
    f['related.user'] = [user];
  }
  const request = unescapeQuoted(line.slice(q + 30, reqEnd));
  addRequest(f, request);
  if (isStatus) f['http.response.status_code'] = status;
  else f['json.http.response.status_code'] = line.slice(reqEnd + 2, reqEnd + 5);
  if (line.charCodeAt(bytesStart) !== 45) {
    const n = Number(line.slice(bytesStart, bytesEnd));
    if (Number.isSafeInteger(n)) f['http.response.body.bytes'] = n;
  }
  // Optional ` "referer" "user-agent"` right after the bytes (combined format).
  const refEnd = line.charCodeAt(bytesEnd) === 32 && line.charCodeAt(bytesEnd + 1) === 34 ? quotedEnd(line, bytesEnd + 1) : -1;
  const uaEnd = refEnd !== -1 && line.charCodeAt(refEnd + 1) === 32 && line.charCodeAt(refEnd + 2) === 34 ? quotedEnd(line, refEnd + 2) : -1;
  if (uaEnd !== -1) {
    const referrer = unescapeQuoted(line.slice(bytesEnd + 2, refEnd));
    if (referrer !== '-' && referrer !== '') f['http.request.referrer'] = referrer;
    const ua = unescapeQuoted(line.slice(refEnd + 3, uaEnd));
    if (ua !== '-' && ua !== '') f['user_agent.original'] = ua;
  }
  if (vhost !== undefined) addVhost(f, vhost);
  let tags: string[] | undefined;
  if (!isStatus) tags = ['field_type_mismatch'];
  if (timestamp === undefined) {
    // The stamp as the line wrote it, between the brackets.
    f['json.timestamp'] = line.slice(q + 1, q + 27);
    (tags ??= []).push('timestamp_invalid');
  }
  return { parser, timestamp, message: `${request} ${line.slice(reqEnd + 2, reqEnd + 5)}`, fields: f, tags };
}

function isAsciiDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Also accepts apache `vhost_combined` (`%v:%p` before the client address). */
export function parseAccessLineWithVhost(line: string, parser: string): ParseResult | null {
  const direct = parseAccessLine(line, 0, parser);
  if (direct !== null) return direct;
  const sp = line.indexOf(' ');
  if (sp <= 0 || sp > 300) return null;
  return parseAccessLine(line, sp + 1, parser, line.slice(0, sp));
}

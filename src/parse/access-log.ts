/**
 * NCSA common/combined access-log lines, shared by the nginx and apache
 * parsers (nginx's default `combined`, apache's `common`, `combined` and
 * `vhost_combined`):
 *
 *   addr ident user [22/Nov/2026:10:01:02 +0100] "request" status bytes ["referer" "user-agent"] …
 *
 * Design notes:
 * - One sticky regex for the fixed part, one for the optional referer/UA pair;
 *   quoted fields use the unrolled `[^"\\]*(?:\\.[^"\\]*)*` form, which is
 *   linear (no nested alternation for the engine to retry).
 * - The request line is split by hand afterwards and validated loosely: a
 *   scanner's raw TLS bytes ("\x16\x03\x01…") or a bare "-" leave method/url
 *   out but the rest of the line still parses.
 * - Escapes are decoded only for `\"`, `\\`, `\x22`, `\x5C` (apache and nginx
 *   quote escapes). Other `\xHH` stay as text: decoding them would put raw
 *   control bytes back into an already neutralized line.
 * - Outcome policy: status >= 400 is failure, else success. 401/403 stay
 *   category web; rules look at http.response.status_code.
 */
import { isIP } from 'node:net';
import type { EcsFields, ParseResult } from '../event/types.js';
import { fromWallWithOffset, monthIndex } from './time.js';

const QUOTED = String.raw`"([^"\\]*(?:\\[^][^"\\]*)*)"`;
const RE_CORE = new RegExp(
  String.raw`(\S+) (\S+) (\S+) \[(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\] ` +
    QUOTED +
    String.raw` (\d{3}) (\d{1,18}|-)`,
  'y',
);
const RE_REFERER_UA = new RegExp(` ${QUOTED} ${QUOTED}`, 'y');
const RE_METHOD = /^[A-Za-z][A-Za-z_-]{0,31}$/;
const RE_PROTOCOL = /^HTTP\/(\d(?:\.\d)?)$/;
const RE_ESCAPE = /\\(["\\])|\\x(?:22|5[cC])/g;

function unescapeQuoted(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(RE_ESCAPE, (whole: string, ch: string | undefined) => {
    if (ch !== undefined) return ch;
    return whole === '\\x22' ? '"' : '\\';
  });
}

function addRequest(f: EcsFields, request: string): void {
  const s1 = request.indexOf(' ');
  if (s1 <= 0) return;
  const method = request.slice(0, s1);
  if (!RE_METHOD.test(method)) return;
  const s2 = request.lastIndexOf(' ');
  let target: string;
  if (s2 > s1) {
    const proto = RE_PROTOCOL.exec(request.slice(s2 + 1));
    if (proto !== null) {
      target = request.slice(s1 + 1, s2);
      f['http.version'] = proto[1];
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
    if (port <= 65535) f['url.port'] = port;
  }
  if (host !== '' && host !== '-') f['url.domain'] = host;
}

/**
 * Parses an access-log line whose client address starts at `start`
 * (0, or after an apache vhost prefix given as `vhost`). Null when it is not one.
 */
export function parseAccessLine(line: string, start: number, parser: string, vhost?: string): ParseResult | null {
  RE_CORE.lastIndex = start;
  const m = RE_CORE.exec(line);
  if (m === null) return null;
  const month0 = monthIndex(m[5] as string);
  const sign = m[10] === '-' ? -1 : 1;
  const offsetMinutes = sign * (Number(m[11]) * 60 + Number(m[12]));
  const timestamp =
    month0 === -1 || Number(m[12]) > 59
      ? undefined
      : fromWallWithOffset(Number(m[6]), month0, Number(m[4]), Number(m[7]), Number(m[8]), Number(m[9]), offsetMinutes);
  const status = Number(m[14]);
  const f: EcsFields = {
    'event.kind': 'event',
    'event.category': ['web'],
    'event.type': ['access'],
    'event.outcome': status >= 400 ? 'failure' : 'success',
  };
  const addr = m[1] as string;
  if (addr !== '-') {
    f['source.address'] = addr;
    if (isIP(addr) !== 0) {
      f['source.ip'] = addr;
      f['related.ip'] = [addr];
    } else {
      f['source.domain'] = addr;
    }
  }
  const user = m[3] as string;
  if (user !== '-' && user !== '') {
    f['user.name'] = user;
    f['related.user'] = [user];
  }
  const request = unescapeQuoted(m[13] as string);
  addRequest(f, request);
  f['http.response.status_code'] = status;
  const bytes = m[15] as string;
  if (bytes !== '-') {
    const n = Number(bytes);
    if (Number.isSafeInteger(n)) f['http.response.body.bytes'] = n;
  }
  RE_REFERER_UA.lastIndex = RE_CORE.lastIndex;
  const extra = RE_REFERER_UA.exec(line);
  if (extra !== null) {
    const referrer = unescapeQuoted(extra[1] as string);
    if (referrer !== '-' && referrer !== '') f['http.request.referrer'] = referrer;
    const ua = unescapeQuoted(extra[2] as string);
    if (ua !== '-' && ua !== '') f['user_agent.original'] = ua;
  }
  if (vhost !== undefined) addVhost(f, vhost);
  const tags = timestamp === undefined ? ['timestamp_invalid'] : undefined;
  return { parser, timestamp, message: `${request} ${m[14] as string}`, fields: f, tags };
}

/** Also accepts apache `vhost_combined` (`%v:%p` before the client address). */
export function parseAccessLineWithVhost(line: string, parser: string): ParseResult | null {
  const direct = parseAccessLine(line, 0, parser);
  if (direct !== null) return direct;
  const sp = line.indexOf(' ');
  if (sp <= 0 || sp > 300) return null;
  return parseAccessLine(line, sp + 1, parser, line.slice(0, sp));
}

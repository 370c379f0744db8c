/**
 * Syslog lines: RFC 3164 as written to /var/log/syslog, auth.log, secure
 * (`Mmm dd hh:mm:ss host tag[pid]: msg`, PRI optional, day space-padded),
 * its RFC 3339 high-precision variant (`2024-05-20T10:13:20.412345+00:00 host
 * tag[pid]: msg`), and RFC 5424 (`<PRI>1 TS HOST APP PROCID MSGID SD MSG`).
 *
 * Design notes:
 * - The format is decided per line by the first characters: `<PRI>` then a
 *   version digit and a space is 5424; a capital letter is a 3164 month; a
 *   digit is the high-precision variant. Each header is read once, left to
 *   right (no `.*` captures: the message is a slice), so a hostile 1 MB line
 *   costs one linear scan: 5424 and the high-precision form by a sticky,
 *   anchored regex, the common 3164 form by hand (read3164).
 * - Year-less 3164 stamps are read in ctx.timeZone with that date's DST rules
 *   (see time.ts); event.timezone says which zone was used.
 * - RFC 5424 structured data goes to ECS `log.syslog.structured_data`, a
 *   `flattened` field, as flat names `log.syslog.structured_data.<SD-ID>.<PARAM>`
 *   (dots inside SD-IDs/names become `_` so nesting stays unambiguous; a
 *   repeated PARAM becomes an array). Escapes `\"` `\\` `\]` are decoded; a
 *   backslash before anything else is kept, as RFC 5424 says.
 * - The header parse is exported (parseSyslogHeader + syslogResult) so the
 *   auth parser and auto-detection read a line's header exactly once.
 * - A stamp that is no event time both encoders can write (before 1970: CEF
 *   rt is epoch milliseconds >= 0; the year 0000; past 9999-12-31; a year-less
 *   stamp read in 1969 by a box whose clock says 1970) or no date at all
 *   (Feb 31) does not fail the event: the header stays parsed, the stamp is
 *   kept as the line wrote it under json.timestamp, tag timestamp_invalid,
 *   and the event time is the read time, as in the regex and json parsers.
 */
import type { EcsFields, ParseContext, ParseResult, Parser } from '../event/types.js';
import { digitsAt, isRegexSpace } from './chars.js';
import { eventTimeFits, isPid } from './field-ranges.js';
import { inferYearlessTime, monthFromCodes, parseTimestampText } from './time.js';

export const FACILITY_NAMES: readonly string[] = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'ntp', 'audit', 'alert', 'clock', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
];

export const SEVERITY_NAMES: readonly string[] = [
  'Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice', 'Informational', 'Debug',
];

/** A syslog line split into header and message, with the header already mapped to ECS. */
export interface SyslogRecord {
  readonly format: 'rfc3164' | 'rfc5424';
  readonly timestamp?: Date;
  /** Zone a zone-less stamp was read in (event.timezone). */
  readonly timezone?: string;
  /** Program (3164 TAG, 5424 APP-NAME), when the line names one. */
  readonly program?: string;
  readonly message: string;
  /** Syslog severity from PRI, when the line has one. */
  readonly severity?: number;
  /** host.hostname, process.*, log.syslog.* (and SD for 5424). Parsers may add to it. */
  readonly fields: EcsFields;
  readonly tags: string[];
}

const RE_HIGH_PRECISION = /(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})) (\S+) /y;
const RE_5424 = /([1-9]\d?) (\S+) (\S+) (\S+) (\S+) (\S+) /y;
const MAX_TAG = 128;
const MAX_PROCID = 128;
const MAX_SD_PARAMS = 100;

function addPri(fields: EcsFields, pri: number): number {
  const facility = pri >> 3;
  const severity = pri & 7;
  fields['log.syslog.priority'] = pri;
  fields['log.syslog.facility.code'] = facility;
  fields['log.syslog.facility.name'] = FACILITY_NAMES[facility];
  fields['log.syslog.severity.code'] = severity;
  fields['log.syslog.severity.name'] = SEVERITY_NAMES[severity];
  return severity;
}

function addProcess(fields: EcsFields, program: string | undefined, procid: string | undefined): void {
  if (program !== undefined) {
    fields['process.name'] = program;
    fields['log.syslog.appname'] = program;
  }
  if (procid !== undefined) {
    fields['log.syslog.procid'] = procid;
    // A numeric PROCID (^\d{1,10}$) that is a pid (fits in an int: CEF dvcpid) is also process.pid; digitsAt says -1 for no digits.
    const pid = procid.length >= 1 && procid.length <= 10 ? digitsAt(procid, 0, procid.length) : -1;
    if (isPid(pid)) fields['process.pid'] = pid;
  }
}

/** A stamp that is no event time: kept as text where the regex and json parsers keep theirs (json.*), and tagged. */
function invalidStamp(fields: EcsFields, tags: string[], text: string): void {
  fields['json.timestamp'] = text;
  tags.push('timestamp_invalid');
}

function addHost(fields: EcsFields, host: string): void {
  fields['host.hostname'] = host;
  fields['log.syslog.hostname'] = host;
}

/** Index after leading spaces. */
function skipSpaces(line: string, p: number): number {
  while (line.charCodeAt(p) === 32) p++;
  return p;
}

interface Tag {
  readonly program: string;
  readonly procid: string | undefined;
  readonly msgStart: number;
}

/** 3164 TAG `prog[pid]:` or `prog:` at p; null when the text there is not a tag. */
function readTag(line: string, p: number): Tag | null {
  const limit = Math.min(line.length, p + MAX_TAG);
  let i = p;
  while (i < limit) {
    const c = line.charCodeAt(i);
    if (c === 58 || c === 91 || c === 32) break;
    i++;
  }
  if (i === p || i >= line.length) return null;
  const program = line.slice(p, i);
  let c = line.charCodeAt(i);
  let procid: string | undefined;
  if (c === 91) {
    const close = line.indexOf(']', i + 1);
    if (close === -1 || close - i - 1 > MAX_PROCID || close === i + 1) return null;
    procid = line.slice(i + 1, close);
    if (procid.includes(' ')) return null;
    i = close + 1;
    c = line.charCodeAt(i);
  }
  if (c !== 58) return null;
  return { program, procid, msgStart: skipSpaces(line, i + 1) };
}

function readPri(line: string): { pri: number; end: number } | null {
  if (line.charCodeAt(0) !== 60) return null;
  const close = line.indexOf('>', 1);
  if (close < 2 || close > 4) return null;
  let pri = 0;
  for (let i = 1; i < close; i++) {
    const d = line.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    pri = pri * 10 + d;
  }
  return pri > 191 ? null : { pri, end: close + 1 };
}

function sdName(s: string): string {
  return s.includes('.') ? s.replaceAll('.', '_') : s;
}

/**
 * Parses RFC 5424 STRUCTURED-DATA at p into fields. Returns the index after it,
 * or -1 when it is malformed.
 */
function readStructuredData(line: string, p: number, fields: EcsFields, tags: string[]): number {
  const n = line.length;
  if (line.charCodeAt(p) === 45) return p + 1;
  if (line.charCodeAt(p) !== 91) return -1;
  let params = 0;
  const pending: [string, string][] = [];
  while (line.charCodeAt(p) === 91) {
    p++;
    const idStart = p;
    while (p < n) {
      const c = line.charCodeAt(p);
      if (c === 32 || c === 93 || c === 61 || c === 34) break;
      p++;
    }
    if (p === idStart || p >= n) return -1;
    const sdid = sdName(line.slice(idStart, p));
    while (line.charCodeAt(p) === 32) {
      p++;
      const nameStart = p;
      while (p < n) {
        const c = line.charCodeAt(p);
        if (c === 32 || c === 93 || c === 61 || c === 34) break;
        p++;
      }
      if (p === nameStart || line.charCodeAt(p) !== 61 || line.charCodeAt(p + 1) !== 34) return -1;
      const name = sdName(line.slice(nameStart, p));
      p += 2;
      let value = '';
      let seg = p;
      for (;;) {
        if (p >= n) return -1;
        const c = line.charCodeAt(p);
        if (c === 92) {
          const next = line.charCodeAt(p + 1);
          if (next === 34 || next === 92 || next === 93) {
            value += line.slice(seg, p);
            seg = p + 1;
            p += 2;
            continue;
          }
          p++;
          continue;
        }
        if (c === 34) {
          value += line.slice(seg, p);
          p++;
          break;
        }
        p++;
      }
      if (params < MAX_SD_PARAMS) pending.push([`log.syslog.structured_data.${sdid}.${name}`, value]);
      else if (params === MAX_SD_PARAMS) tags.push('syslog_sd_capped');
      params++;
    }
    if (line.charCodeAt(p) !== 93) return -1;
    p++;
  }
  // Only a well-formed SD block is kept: half of a malformed one would misrepresent it.
  for (const [key, value] of pending) {
    const prev = fields[key];
    if (prev === undefined) fields[key] = value;
    else if (Array.isArray(prev)) (prev as string[]).push(value);
    else fields[key] = [prev as string, value];
  }
  return p;
}

function stripBom(msg: string): string {
  if (msg.startsWith('\uFEFF')) return msg.slice(1);
  if (msg.startsWith('{U+FEFF}')) return msg.slice(8);
  return msg;
}

function parse5424(line: string, start: number, pri: number, ctx: ParseContext): SyslogRecord | null {
  RE_5424.lastIndex = start;
  const m = RE_5424.exec(line);
  if (m === null) return null;
  const [, version, ts, host, app, procid, msgid] = m as unknown as [string, string, string, string, string, string, string];
  const fields: EcsFields = {};
  const tags: string[] = [];
  const severity = addPri(fields, pri);
  fields['log.syslog.version'] = version;
  if (host !== '-') addHost(fields, host);
  const program = app === '-' ? undefined : app;
  addProcess(fields, program, procid === '-' ? undefined : procid);
  if (msgid !== '-') fields['log.syslog.msgid'] = msgid;
  let timestamp: Date | undefined;
  let timezone: string | undefined;
  if (ts !== '-') {
    const t = parseTimestampText(ts, ctx.timeZone);
    if (t === undefined || !eventTimeFits(t.date.getTime())) invalidStamp(fields, tags, ts);
    else {
      timestamp = t.date;
      timezone = t.zone;
      if (t.tags) tags.push(...t.tags);
    }
  }
  const sdStart = RE_5424.lastIndex;
  const after = readStructuredData(line, sdStart, fields, tags);
  let message: string;
  if (after === -1) {
    tags.push('syslog_sd_malformed');
    message = line.slice(sdStart);
  } else if (after >= line.length) {
    message = '';
  } else if (line.charCodeAt(after) === 32) {
    message = stripBom(line.slice(after + 1));
  } else {
    tags.push('syslog_sd_malformed');
    message = line.slice(sdStart);
  }
  return { format: 'rfc5424', timestamp, timezone, program, message, severity, fields, tags };
}

function finish3164(
  line: string,
  p: number,
  host: string,
  fields: EcsFields,
  tags: string[],
  timestamp: Date | undefined,
  timezone: string | undefined,
  severity: number | undefined,
): SyslogRecord {
  addHost(fields, host);
  const tag = readTag(line, p);
  let program: string | undefined;
  let message: string;
  if (tag !== null) {
    program = tag.program;
    addProcess(fields, program, tag.procid);
    message = line.slice(tag.msgStart);
  } else {
    message = line.slice(p);
  }
  return { format: 'rfc3164', timestamp, timezone, program, message, severity, fields, tags };
}

/** The stamp read by read3164 (one per module: the parse is synchronous, and an object per line costs). */
const stamp = { day: 0, h: 0, mi: 0, s: 0, end: 0 };

/**
 * Reads `([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\S+) ` at p, by
 * hand: the regex's match array and five Number() calls were most of the
 * header's cost. Fills `stamp` (end = index of the space after the host) and
 * returns where the host starts, or -1 when the text is not such a header.
 * The regex backtracks nowhere that matters: each run is maximal and must be
 * followed by a fixed character, so reading greedily gives the same answer.
 */
function read3164(line: string, p: number): number {
  const c1 = line.charCodeAt(p + 1);
  const c2 = line.charCodeAt(p + 2);
  if (!(c1 >= 97 && c1 <= 122) || !(c2 >= 97 && c2 <= 122) || line.charCodeAt(p + 3) !== 32) return -1;
  let i = p + 4;
  if (line.charCodeAt(i) === 32) i++;
  let day = line.charCodeAt(i) - 48;
  if (!(day >= 0 && day <= 9)) return -1;
  i++;
  const d2 = line.charCodeAt(i) - 48;
  if (d2 >= 0 && d2 <= 9) {
    day = day * 10 + d2;
    i++;
  }
  const h = digitsAt(line, i + 1, 2);
  const mi = digitsAt(line, i + 4, 2);
  const s = digitsAt(line, i + 7, 2);
  if (
    line.charCodeAt(i) !== 32 || h < 0 || line.charCodeAt(i + 3) !== 58 || mi < 0 ||
    line.charCodeAt(i + 6) !== 58 || s < 0 || line.charCodeAt(i + 9) !== 32
  ) {
    return -1;
  }
  const hostStart = i + 10;
  let e = hostStart;
  const n = line.length;
  while (e < n && !isRegexSpace(line.charCodeAt(e))) e++;
  if (e === hostStart || line.charCodeAt(e) !== 32) return -1;
  stamp.day = day;
  stamp.h = h;
  stamp.mi = mi;
  stamp.s = s;
  stamp.end = e;
  return hostStart;
}

/** Splits a syslog line (3164, high-precision 3164 or 5424) into header fields and message; null when it is none. */
export function parseSyslogHeader(line: string, ctx: ParseContext): SyslogRecord | null {
  let p = 0;
  let pri: number | undefined;
  if (line.charCodeAt(0) === 60) {
    const r = readPri(line);
    if (r === null) return null;
    pri = r.pri;
    p = r.end;
    const c = line.charCodeAt(p);
    // "<PRI>1 " is 5424; "<PRI>2024-…" is a high-precision 3164 stamp.
    if (c >= 49 && c <= 57 && (line.charCodeAt(p + 1) === 32 || line.charCodeAt(p + 2) === 32)) {
      return parse5424(line, p, pri, ctx);
    }
  }
  const c = line.charCodeAt(p);
  const fields: EcsFields = {};
  const tags: string[] = [];
  const severity = pri === undefined ? undefined : addPri(fields, pri);
  if (c >= 65 && c <= 90) {
    const hostStart = read3164(line, p);
    if (hostStart === -1) return null;
    const month0 = monthFromCodes(c, line.charCodeAt(p + 1), line.charCodeAt(p + 2));
    if (month0 === -1) return null;
    const t = inferYearlessTime(ctx.timeZone, ctx.now, ctx.yearHint, month0, stamp.day, stamp.h, stamp.mi, stamp.s);
    let timestamp: Date | undefined;
    let timezone: string | undefined;
    // "Mmm dd hh:mm:ss" as written (a padded day keeps its two spaces), up to the space before the host.
    if (t === undefined || !eventTimeFits(t.date.getTime())) invalidStamp(fields, tags, line.slice(p, hostStart - 1));
    else {
      timestamp = t.date;
      timezone = t.zone;
      if (t.tags.length > 0) tags.push(...t.tags);
    }
    return finish3164(line, stamp.end + 1, line.slice(hostStart, stamp.end), fields, tags, timestamp, timezone, severity);
  }
  if (c >= 48 && c <= 57) {
    RE_HIGH_PRECISION.lastIndex = p;
    const m = RE_HIGH_PRECISION.exec(line);
    if (m === null) return null;
    const text = m[1] as string;
    const t = parseTimestampText(text, ctx.timeZone);
    let timestamp: Date | undefined;
    if (t === undefined || !eventTimeFits(t.date.getTime())) invalidStamp(fields, tags, text);
    else timestamp = t.date;
    return finish3164(line, RE_HIGH_PRECISION.lastIndex, m[2] as string, fields, tags, timestamp, undefined, severity);
  }
  return null;
}

/** The ParseResult of a syslog record, with `extra` fields (auth mapping) merged over the header's. */
export function syslogResult(rec: SyslogRecord, parser: string, extra?: EcsFields): ParseResult {
  const fields = extra === undefined ? rec.fields : Object.assign(rec.fields, extra);
  return {
    parser,
    timestamp: rec.timestamp,
    timezone: rec.timezone,
    message: rec.message === '' ? undefined : rec.message,
    severity: rec.severity,
    fields,
    tags: rec.tags.length > 0 ? rec.tags : undefined,
  };
}

/** The `syslog` parser. */
export const parseSyslog: Parser = (line, ctx) => {
  const rec = parseSyslogHeader(line, ctx);
  return rec === null ? null : syslogResult(rec, 'syslog');
};

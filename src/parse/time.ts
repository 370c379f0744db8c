/**
 * Time for parsers: wall-clock times read in an IANA zone, year inference for
 * year-less syslog stamps, and RFC 3339 / epoch parsing.
 *
 * Design notes:
 * - Zone offsets come from Intl.DateTimeFormat (one formatter per zone, built
 *   once) and are cached per (zone, 15-minute UTC bucket). Real transitions
 *   happen on quarter-hour UTC instants (Newfoundland and Lord Howe switch at
 *   hh:30 UTC, hence not per hour), so a bucket never straddles a change.
 *   The hot path is then two Map lookups per offset, no formatter per line.
 * - Wall time -> instant: the true instant lies within [local-14h, local+12h]
 *   (offsets span -12h..+14h). The offsets just before and after that window
 *   are the two candidates. Both valid = the repeated hour at DST end: take
 *   the first occurrence (the earlier instant) and say "ambiguous". Neither
 *   valid = the skipped hour at DST start: read it with the offset in force
 *   before the change (02:30 becomes 03:30 summer time) and say "nonexistent".
 * - An unknown zone never throws here: the caller gets undefined and falls
 *   back to UTC with a tag (config check is where a bad zone is reported).
 */

import { digitsAt } from './chars.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const BUCKET = 15 * MINUTE;
const MAX_BUCKETS_PER_ZONE = 8192;

const formatters = new Map<string, Intl.DateTimeFormat | null>();
const offsets = new Map<string, Map<number, number>>();

function formatterFor(zone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(zone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        era: 'short',
      });
    } catch (err) {
      // RangeError for an unknown zone: remember it so we do not retry per line.
      if (!(err instanceof RangeError)) throw err;
      f = null;
    }
    formatters.set(zone, f);
  }
  return f;
}

/** True when the runtime knows the IANA zone (config check uses this). */
export function isValidTimeZone(zone: string): boolean {
  return formatterFor(zone) !== null;
}

function computeOffset(f: Intl.DateTimeFormat, utcMs: number): number {
  let y = 0;
  let mo = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  let s = 0;
  let bc = false;
  for (const p of f.formatToParts(utcMs)) {
    switch (p.type) {
      case 'year':
        y = Number(p.value);
        break;
      case 'month':
        mo = Number(p.value);
        break;
      case 'day':
        d = Number(p.value);
        break;
      case 'hour':
        h = Number(p.value);
        break;
      case 'minute':
        mi = Number(p.value);
        break;
      case 'second':
        s = Number(p.value);
        break;
      case 'era':
        bc = p.value === 'BC' || p.value === 'B';
        break;
      default:
        break;
    }
  }
  if (bc) y = 1 - y;
  const wall = new Date(0);
  wall.setUTCFullYear(y, mo - 1, d);
  wall.setUTCHours(h, mi, s, 0);
  return wall.getTime() - Math.floor(utcMs / 1000) * 1000;
}

/** Offset (ms, east positive) of `zone` at the instant `utcMs`; undefined for an unknown zone. */
export function zoneOffset(zone: string, utcMs: number): number | undefined {
  if (zone === 'UTC' || zone === 'Etc/UTC') return 0;
  let cache = offsets.get(zone);
  const bucket = Math.floor(utcMs / BUCKET);
  if (cache !== undefined) {
    const hit = cache.get(bucket);
    if (hit !== undefined) return hit;
  }
  const f = formatterFor(zone);
  if (f === null || !Number.isFinite(utcMs)) return undefined;
  if (cache === undefined) {
    cache = new Map();
    offsets.set(zone, cache);
  } else if (cache.size >= MAX_BUCKETS_PER_ZONE) {
    cache.clear();
  }
  const off = computeOffset(f, bucket * BUCKET);
  cache.set(bucket, off);
  return off;
}

export interface LocalResolution {
  readonly ms: number;
  /** The wall time happened twice (DST end); ms is the first occurrence. */
  readonly ambiguous?: boolean;
  /** The wall time never happened (DST start); read with the offset before the change. */
  readonly nonexistent?: boolean;
}

/** The instant of wall time `localAsUtcMs` (the wall fields encoded as if UTC) in `zone`. */
export function localToUtc(zone: string, localAsUtcMs: number): LocalResolution | undefined {
  const before = zoneOffset(zone, localAsUtcMs - 15 * HOUR);
  const after = zoneOffset(zone, localAsUtcMs + 13 * HOUR);
  if (before === undefined || after === undefined) return undefined;
  const c1 = localAsUtcMs - before;
  if (before === after) return { ms: c1 };
  const c2 = localAsUtcMs - after;
  const v1 = zoneOffset(zone, c1) === before;
  const v2 = zoneOffset(zone, c2) === after;
  if (v1 && v2) return { ms: Math.min(c1, c2), ambiguous: true };
  if (v1) return { ms: c1 };
  if (v2) return { ms: c2 };
  return { ms: c1, nonexistent: true };
}

/** 0-based month of an English three-letter abbreviation ("Nov" -> 10), or -1. Case-sensitive. */
export function monthIndex(abbr: string): number {
  return abbr.length === 3 ? monthFromCodes(abbr.charCodeAt(0), abbr.charCodeAt(1), abbr.charCodeAt(2)) : -1;
}

/**
 * monthIndex of the three characters with these codes, for parsers that read
 * the header by hand (no substring, no property lookup: every syslog and
 * access line asks).
 */
export function monthFromCodes(c0: number, c1: number, c2: number): number {
  switch (c0) {
    case 74: // J
      if (c1 === 97 && c2 === 110) return 0; // Jan
      if (c1 === 117 && c2 === 110) return 5; // Jun
      if (c1 === 117 && c2 === 108) return 6; // Jul
      return -1;
    case 70: // F
      return c1 === 101 && c2 === 98 ? 1 : -1; // Feb
    case 77: // M
      if (c1 === 97 && c2 === 114) return 2; // Mar
      if (c1 === 97 && c2 === 121) return 4; // May
      return -1;
    case 65: // A
      if (c1 === 112 && c2 === 114) return 3; // Apr
      if (c1 === 117 && c2 === 103) return 7; // Aug
      return -1;
    case 83: // S
      return c1 === 101 && c2 === 112 ? 8 : -1; // Sep
    case 79: // O
      return c1 === 99 && c2 === 116 ? 9 : -1; // Oct
    case 78: // N
      return c1 === 111 && c2 === 118 ? 10 : -1; // Nov
    case 68: // D
      return c1 === 101 && c2 === 99 ? 11 : -1; // Dec
    default:
      return -1;
  }
}

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** True when the calendar date exists (month 0-based). */
export function validDate(y: number, month0: number, day: number): boolean {
  if (month0 < 0 || month0 > 11 || day < 1) return false;
  const dim = month0 === 1 && isLeapYear(y) ? 29 : (DAYS_IN_MONTH[month0] as number);
  return day <= dim;
}

function wallAsUtc(y: number, month0: number, day: number, h: number, mi: number, s: number): number {
  if (y >= 100) return Date.UTC(y, month0, day, h, mi, s);
  // Date.UTC maps years 0..99 to 1900+; setUTCFullYear does not.
  const d = new Date(0);
  d.setUTCFullYear(y, month0, day);
  d.setUTCHours(h, mi, s, 0);
  return d.getTime();
}

export interface InferredTime {
  readonly date: Date;
  /** The zone the wall time was read in (event.timezone). */
  readonly zone: string;
  readonly tags: readonly string[];
}

const FUTURE_TOLERANCE = 7 * DAY;

/** Feb 29 needs a leap year: step back to one, and say the year was guessed. */
function leapYearAtOrBefore(y: number, tags: string[]): number {
  let k = 0;
  while (!isLeapYear(y) && k < 8) {
    y -= 1;
    k += 1;
  }
  if (k > 0 && !tags.includes('timestamp_inferred')) tags.push('timestamp_inferred');
  return y;
}
let lastYearZone = '';
let lastYearBucket = NaN;
let lastYear = 0;

function yearIn(zone: string, nowMs: number): number {
  const bucket = Math.floor(nowMs / BUCKET);
  if (zone === lastYearZone && bucket === lastYearBucket) return lastYear;
  const off = zoneOffset(zone, nowMs) ?? 0;
  const y = new Date(nowMs + off).getUTCFullYear();
  lastYearZone = zone;
  lastYearBucket = bucket;
  lastYear = y;
  return y;
}

// The last wall minute wallToUtc resolved to one offset, and the UTC instant of its start.
let minuteZone = '';
let minuteKey = NaN;
let minuteMs = 0;

/**
 * localToUtc of a wall time given by fields, remembering the last minute:
 * syslog lines come in time order, many to a minute, and this runs per line.
 * The memo is exact: localToUtc samples offsets at wall-15h and wall+13h,
 * and for every second of one wall minute those instants fall in the same
 * 15-minute bucket (a minute start is a multiple of 60 s, bucket edges are
 * multiples of 15 min). When both samples agree, every second of the minute
 * reads with that offset, unflagged; only then is the minute remembered.
 */
function wallToUtc(
  zone: string,
  year: number,
  month0: number,
  day: number,
  h: number,
  mi: number,
  sec: number,
): LocalResolution | undefined {
  // A distinct number per minute for years 0..9999 (mixed radix); other years skip the memo.
  const key = Number.isInteger(year) && year >= 0 && year <= 9999 ? (((year * 12 + month0) * 32 + day) * 24 + h) * 60 + mi : NaN;
  if (key === minuteKey && zone === minuteZone) return { ms: minuteMs + sec * 1000 };
  const wall = wallAsUtc(year, month0, day, h, mi, sec);
  const before = zoneOffset(zone, wall - 15 * HOUR);
  if (before !== undefined && before === zoneOffset(zone, wall + 13 * HOUR)) {
    if (!Number.isNaN(key)) {
      minuteZone = zone;
      minuteKey = key;
      minuteMs = wall - sec * 1000 - before;
    }
    return { ms: wall - before };
  }
  return localToUtc(zone, wall);
}

/**
 * The instant of a year-less wall time (syslog "Mmm dd hh:mm:ss") read in `zone`.
 * Year: yearHint when given, else the year of `now` in that zone, minus one when
 * that would put the line more than 7 days in the future (December read in January).
 * Feb 29 in a non-leap year steps back to the previous leap year (tag timestamp_inferred).
 */
export function inferYearlessTime(
  zone: string,
  now: Date,
  yearHint: number | undefined,
  month0: number,
  day: number,
  h: number,
  mi: number,
  s: number,
): InferredTime | undefined {
  if (month0 < 0 || month0 > 11 || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const tags: string[] = [];
  let usedZone = zone;
  const nowMs = now.getTime();
  if (zone !== 'UTC' && zone !== 'Etc/UTC' && formatterFor(zone) === null) {
    usedZone = 'UTC';
    tags.push('timezone_invalid');
  }
  const sec = s === 60 ? 59 : s;
  if (!validDate(2000, month0, day)) return undefined;
  const feb29 = month0 === 1 && day === 29;
  let year = yearHint ?? yearIn(usedZone, Number.isFinite(nowMs) ? nowMs : 0);
  if (feb29) year = leapYearAtOrBefore(year, tags);
  let res = wallToUtc(usedZone, year, month0, day, h, mi, sec);
  if (res === undefined) return undefined;
  if (yearHint === undefined && res.ms > nowMs + FUTURE_TOLERANCE) {
    year -= 1;
    if (feb29) year = leapYearAtOrBefore(year, tags);
    res = wallToUtc(usedZone, year, month0, day, h, mi, sec);
    if (res === undefined) return undefined;
  }
  if (res.ambiguous) tags.push('timestamp_ambiguous');
  if (res.nonexistent) tags.push('timestamp_nonexistent');
  return { date: new Date(res.ms), zone: usedZone, tags };
}

/** A parsed timestamp; zone is set when the text had no offset and was read in ctx's zone. */
export interface ParsedTime {
  readonly date: Date;
  readonly zone?: string;
  readonly tags?: readonly string[];
}

const EPOCH = /^\d{9,13}(?:\.\d{1,9})?$/;

/** Epoch seconds or milliseconds (numbers below 1e11 are seconds: 1e11 s is year 5138). */
export function fromEpoch(n: number): Date | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined;
  const ms = n < 1e11 ? n * 1000 : n;
  if (ms > 8.64e15) return undefined;
  return new Date(Math.trunc(ms));
}

/**
 * ISO 8601 / RFC 3339 date-time (T or space, optional fraction, Z or ±hh:mm or ±hhmm),
 * or epoch seconds/ms as digits. Zone-less text is read in `zone` at that date.
 */
export function parseTimestampText(text: string, zone: string): ParsedTime | undefined {
  if (text.length > 40) return undefined;
  const n = text.length;
  // Hand-rolled: this runs per JSON/regex line, and a regex with eleven groups
  // costs more than the rest of the parse.
  const y = digitsAt(text, 0, 4);
  const mo = digitsAt(text, 5, 2) - 1;
  const d = digitsAt(text, 8, 2);
  const h = digitsAt(text, 11, 2);
  const mi = digitsAt(text, 14, 2);
  const sep = text.charCodeAt(10);
  if (
    y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 ||
    text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 ||
    (sep !== 84 && sep !== 116 && sep !== 32)
  ) {
    if (EPOCH.test(text)) {
      const e = fromEpoch(Number(text));
      return e ? { date: e } : undefined;
    }
    return undefined;
  }
  let p = 16;
  let sec = 0;
  let ms = 0;
  if (text.charCodeAt(p) === 58) {
    sec = digitsAt(text, p + 1, 2);
    if (sec < 0) return undefined;
    p += 3;
    const c = text.charCodeAt(p);
    if (c === 46 || c === 44) {
      p++;
      const fracStart = p;
      while (p < n && p - fracStart < 9) {
        const dc = text.charCodeAt(p) - 48;
        if (!(dc >= 0 && dc <= 9)) break;
        if (p - fracStart < 3) ms = ms * 10 + dc;
        p++;
      }
      const len = p - fracStart;
      if (len === 0) return undefined;
      if (len === 1) ms *= 100;
      else if (len === 2) ms *= 10;
    }
  }
  if (!validDate(y, mo, d) || h > 23 || mi > 59 || sec > 60) return undefined;
  const wall = wallAsUtc(y, mo, d, h, mi, sec === 60 ? 59 : sec) + ms;
  if (p === n) {
    const res = localToUtc(zone, wall);
    if (res === undefined) return { date: new Date(wall), zone: 'UTC', tags: ['timezone_invalid'] };
    const tags = res.ambiguous ? ['timestamp_ambiguous'] : res.nonexistent ? ['timestamp_nonexistent'] : undefined;
    return tags ? { date: new Date(res.ms), zone, tags } : { date: new Date(res.ms), zone };
  }
  const z = text.charCodeAt(p);
  if ((z === 90 || z === 122) && p + 1 === n) return { date: new Date(wall) };
  if (z !== 43 && z !== 45) return undefined;
  const oh = digitsAt(text, p + 1, 2);
  const colon = text.charCodeAt(p + 3) === 58 ? 1 : 0;
  const om = digitsAt(text, p + 3 + colon, 2);
  if (oh < 0 || om < 0 || oh > 23 || om > 59 || p + 5 + colon !== n) return undefined;
  const off = (oh * 60 + om) * MINUTE * (z === 45 ? -1 : 1);
  return { date: new Date(wall - off) };
}

/**
 * Wall time with an explicit numeric offset ("+0100" style minutes), as in access logs.
 * Returns undefined for impossible dates.
 */
export function fromWallWithOffset(
  y: number,
  month0: number,
  day: number,
  h: number,
  mi: number,
  s: number,
  offsetMinutes: number,
): Date | undefined {
  if (!validDate(y, month0, day) || h > 23 || mi > 59 || s > 60) return undefined;
  return new Date(wallAsUtc(y, month0, day, h, mi, s === 60 ? 59 : s) - offsetMinutes * MINUTE);
}

/**
 * The one timestamp form the agent writes: Date#toISOString's
 * "YYYY-MM-DDTHH:MM:SS.mmmZ". Recognising it by character codes lets the hot
 * paths skip work a general parser would do (ajv-formats' date-time check,
 * Date.parse + toISOString in the RFC 5424 header) for the strings the agent
 * made itself; anything else takes the general path.
 */

import { digitsAt } from '../parse/chars.js';

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * True when `s` is the toISOString form of a real instant, i.e. when
 * Date.parse + toISOString would give `s` back unchanged (and so when
 * ajv-formats' full date-time check accepts it). False for everything else —
 * 24:00, a leap second, day 31 of a 30-day month, an offset, no milliseconds —
 * which then takes the caller's full path. Tests hold it to both.
 */
export function isCanonicalIsoMs(s: string): boolean {
  if (
    s.length !== 24 ||
    s.charCodeAt(4) !== 45 || // -
    s.charCodeAt(7) !== 45 ||
    s.charCodeAt(10) !== 84 || // T
    s.charCodeAt(13) !== 58 || // :
    s.charCodeAt(16) !== 58 ||
    s.charCodeAt(19) !== 46 || // .
    s.charCodeAt(23) !== 90 || // Z
    digitsAt(s, 20, 3) < 0
  ) {
    return false;
  }
  const year = digitsAt(s, 0, 4);
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const dim = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  const h = digitsAt(s, 11, 2);
  const m = digitsAt(s, 14, 2);
  const sec = digitsAt(s, 17, 2);
  return day <= dim && h >= 0 && h <= 23 && m >= 0 && m <= 59 && sec >= 0 && sec <= 59;
}

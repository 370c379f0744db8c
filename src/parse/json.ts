/**
 * The `json` parser: one JSON object per line (application logs, pino,
 * bunyan, ECS loggers).
 *
 * Design notes:
 * - JSON.parse decodes escapes, so `"\u001b[2J"`, `"\u202e"` or a secret
 *   spelled with escapes come out raw even though the line was neutralized and
 *   redacted. Every key and string value that leaves JSON.parse therefore
 *   goes through the injected `sanitizeValue` (the lead wires neutralize +
 *   redact). Numbers and booleans cannot carry text and are only stringified.
 * - Mapping: @timestamp/timestamp/time/ts -> timestamp (RFC 3339 text or
 *   epoch s/ms); message/msg -> message; level/severity -> log.level and
 *   syslog severity. Nested objects and dotted keys are flattened; a flat name
 *   that ECS defines, with a value of a compatible type (and, for
 *   kind/category/type/outcome, an allowed value), becomes that field.
 *   `labels.<key>` scalars stay labels (keyword strings). Everything else goes
 *   to the custom namespace `json.<flattened.key>` as strings (arrays of
 *   scalars as string[]), at most 100 fields; objects nested deeper than 4
 *   levels (8 along ECS paths) are kept JSON-encoded.
 * - A field name has at most 8 segments (MAX_PATH_SEGMENTS: ECS's deepest
 *   field has 7), counting nested objects AND the dots inside keys: a key of
 *   6,000 dots must not become a 6,000-deep object that overflows the stack
 *   of whoever nests or serializes it. The segments past the cap are folded
 *   into the last one with '_' (a.b.….h.i.j -> a.b.….h_i_j); the value is kept.
 * - Fields that state facts of the agent, of the host it runs on, or of how
 *   the agent handled the line (reserved-fields.ts) are never taken from the line:
 *   an app must not be able to forge the agent's dedup id or sequence, pose as
 *   the agent's own alerts (event.kind), name another host (host.*) or plant
 *   the pivots the agent computes (related.*). Their values go to json.*.
 * - Numbers outside the range the ECS schema and CEF's typed keys accept
 *   (negative pids, ports past 65535, status codes outside 100..599) and
 *   dates outside years 0..9999 (field-ranges.ts, shared with the regex
 *   parser and the encoders) go to json.* as text rather than failing the
 *   whole event; the event time itself must lie in 1970..9999 (CEF rt is
 *   non-negative epoch milliseconds), else the line's stamp is kept as data.
 *   Either way the event is tagged (field_type_mismatch, timestamp_invalid).
 * - event.category/event.type that ECS does not pair together move to json.*
 *   as a whole (tag ecs_category_type_mismatch): half a categorization lies.
 */
import type { EcsFields, FieldValue, ParseContext, ParseResult, Parser } from '../event/types.js';
import { allowedValues, ecsField, isArrayField, isEcsPrefix, moveUnpairedCategorization, valueKind } from './ecs-catalog.js';
import { dateFits, eventTimeFits, numberFits } from './field-ranges.js';
import { isIpAddress } from './ip.js';
import { severityFromLevel } from './level.js';
import { isReservedField } from './reserved-fields.js';
import { fromEpoch, parseTimestampText, type ParsedTime } from './time.js';

/** Neutralize + redact one string taken out of JSON.parse (keys and values). */
export type SanitizeValue = (s: string) => string;

const TIME_KEYS = ['@timestamp', 'timestamp', 'time', 'ts'] as const;
const MESSAGE_KEYS = ['message', 'msg'] as const;
const LEVEL_KEYS = ['level', 'severity'] as const;
const MAX_CUSTOM_FIELDS = 100;
const MAX_DEPTH = 4;
const MAX_ECS_DEPTH = 8;
/** Segments of a flat field name (objects plus dots in keys); ECS's deepest field has 7. */
const MAX_PATH_SEGMENTS = 8;
const INTEGER_TEXT = /^-?\d{1,15}$/;
const FLOAT_TEXT = /^-?\d{1,20}(?:\.\d{1,20})?(?:[eE][+-]?\d{1,3})?$/;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: Json): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseTime(v: Json, zone: string): ParsedTime | undefined {
  if (typeof v === 'number') {
    // "time" also names durations (0.532) and counters: a number is an epoch only from 1e8 on
    // (1973 in seconds), as digit strings are from nine digits on; below that it stays data.
    if (!looksLikeTime(v)) return undefined;
    const d = fromEpoch(v);
    return d ? { date: d } : undefined;
  }
  if (typeof v === 'string') return parseTimestampText(v, zone);
  return undefined;
}

/** The line's event time, when it is one both encoders can write (ECS: years 0..9999; CEF rt: epoch ms >= 0). */
function eventTime(v: Json, zone: string): ParsedTime | undefined {
  const t = parseTime(v, zone);
  if (t === undefined) return undefined;
  return eventTimeFits(t.date.getTime()) ? t : undefined;
}

/**
 * `seg` with at most `allowed` (>= 1) dot-separated segments: the dots past
 * the first allowed - 1 become '_', so the rest of the key stays one segment.
 */
function foldSegments(seg: string, allowed: number): string {
  let at = -1;
  for (let n = 1; n < allowed; n++) {
    at = seg.indexOf('.', at + 1);
    if (at === -1) return seg;
  }
  return seg.slice(0, at + 1) + seg.slice(at + 1).replaceAll('.', '_');
}

/** The number of dots in `s`, or `limit` when there are at least that many (a 12 KB key of dots is not counted to the end). */
function dotsUpTo(s: string, limit: number): number {
  let n = 0;
  for (let at = s.indexOf('.'); at !== -1 && n < limit; at = s.indexOf('.', at + 1)) n++;
  return n;
}

/** A date ("1969-12-31…", "31/Dec/1969:…", "Dec 31 23:59:59") or an epoch in seconds or milliseconds. */
function looksLikeTime(v: Json): boolean {
  if (typeof v === 'number') return Math.abs(v) >= 1e8;
  return typeof v === 'string' && /\d{4}-\d{1,2}-\d{1,2}|\d{1,2}:\d{2}:\d{2}|^-?\d{9,}(?:\.\d+)?$/.test(v);
}

/** One parse of one line: collects fields and knows the sanitizer and the caps. */
class JsonMapper {
  readonly fields: EcsFields = {};
  readonly tags: string[] = [];
  private custom = 0;

  constructor(
    private readonly sanitize: SanitizeValue,
    private readonly zone: string,
  ) {}

  private tag(t: string): void {
    if (!this.tags.includes(t)) this.tags.push(t);
  }

  /** `segments`: how many segments `prefix` has (0 for the top level). */
  walk(obj: JsonObject, prefix: string, depth: number, segments: number, skip: ReadonlySet<string> | null): void {
    for (const k of Object.keys(obj)) {
      if (skip !== null && skip.has(k)) continue;
      let seg = this.sanitize(k) || '_';
      let segs = segments + 1;
      // Most keys have no dot: one indexOf. A dotted key counts each of its segments.
      if (seg.indexOf('.') !== -1) {
        const allowed = MAX_PATH_SEGMENTS - segments;
        const dots = dotsUpTo(seg, allowed);
        if (dots >= allowed) {
          seg = foldSegments(seg, allowed);
          segs = MAX_PATH_SEGMENTS;
        } else {
          segs += dots;
        }
      }
      this.place(prefix === '' ? seg : `${prefix}.${seg}`, obj[k] as Json, depth + 1, segs);
    }
  }

  private place(path: string, v: Json, depth: number, segments: number): void {
    if (v === null) return;
    if (isObject(v)) {
      if (segments < MAX_PATH_SEGMENTS && depth < (isEcsPrefix(path) ? MAX_ECS_DEPTH : MAX_DEPTH)) this.walk(v, path, depth, segments, null);
      else this.addCustom(path, v);
      return;
    }
    if (!isReservedField(path)) {
      const def = ecsField(path);
      if (def !== undefined) {
        const value = this.convert(path, def, v);
        if (value !== undefined) {
          this.fields[path] = value;
          return;
        }
        // An ECS name with a value of the wrong type, out of range or not an allowed value: kept as
        // text under json.*, and said so, as the regex and hand-written parsers do.
        // An empty value ("" or []) is no value, and an ECS field ECS types as an object is no scalar to mismatch.
        if (valueKind(def) !== 'other' && v !== '' && !(Array.isArray(v) && v.length === 0)) this.tag('field_type_mismatch');
      } else if (path.startsWith('labels.') && path.indexOf('.', 7) === -1 && !Array.isArray(v)) {
        const s = this.scalarText(v);
        if (s !== undefined) this.fields[path] = s;
        return;
      }
    }
    this.addCustom(path, v);
  }

  private scalarText(v: Json): string | undefined {
    if (typeof v === 'string') return this.sanitize(v) || undefined;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return undefined;
  }

  private convert(path: string, def: NonNullable<ReturnType<typeof ecsField>>, v: Json): FieldValue | undefined {
    const kind = valueKind(def);
    if (kind === 'other') return undefined;
    const allowed = allowedValues(path);
    if (isArrayField(def)) {
      const items = Array.isArray(v) ? v : [v];
      if (items.length === 0) return undefined;
      const out: (string | number)[] = [];
      for (const item of items) {
        const c = this.convertScalar(kind, item);
        if (c === undefined || typeof c === 'boolean') return undefined;
        if (typeof c === 'number' && !numberFits(path, c)) return undefined;
        if (allowed !== null && !allowed.has(String(c))) return undefined;
        out.push(c);
      }
      const allNumbers = out.every((x) => typeof x === 'number');
      const allStrings = out.every((x) => typeof x === 'string');
      if (allNumbers) return out as number[];
      if (allStrings) return out as string[];
      return undefined;
    }
    if (Array.isArray(v)) return undefined;
    const c = this.convertScalar(kind, v);
    if (c === undefined) return undefined;
    if (typeof c === 'number' && !numberFits(path, c)) return undefined;
    if (allowed !== null && !allowed.has(String(c))) return undefined;
    return c;
  }

  private convertScalar(kind: ReturnType<typeof valueKind>, v: Json): string | number | boolean | undefined {
    switch (kind) {
      case 'string':
        return this.scalarText(v);
      case 'integer':
        if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
        if (typeof v === 'string' && INTEGER_TEXT.test(v)) return Number(v);
        return undefined;
      case 'float':
        if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
        if (typeof v === 'string' && FLOAT_TEXT.test(v)) return Number(v);
        return undefined;
      case 'boolean':
        if (typeof v === 'boolean') return v;
        if (v === 'true' || v === 'false') return v === 'true';
        return undefined;
      case 'ip':
        if (typeof v === 'string' && v.length <= 64 && isIpAddress(v)) return v;
        return undefined;
      case 'date': {
        const t = parseTime(v, this.zone);
        if (t === undefined) return undefined;
        return dateFits(t.date.getTime()) ? t.date.toISOString() : undefined;
      }
      default:
        return undefined;
    }
  }

  private addCustom(path: string, v: Json): void {
    if (this.custom >= MAX_CUSTOM_FIELDS) {
      this.tag('json_fields_capped');
      return;
    }
    let value: FieldValue | undefined;
    if (Array.isArray(v)) {
      if (v.length === 0) return;
      if (v.every((x) => x !== null && typeof x !== 'object')) {
        value = v.map((x) => (typeof x === 'string' ? this.sanitize(x) : String(x)));
      } else {
        value = this.encoded(v);
      }
    } else if (isObject(v)) {
      value = this.encoded(v);
    } else {
      value = this.scalarText(v);
    }
    if (value === undefined) return;
    this.fields[`json.${path}`] = value;
    this.custom++;
  }

  private encoded(v: Json): string | undefined {
    let text: string;
    try {
      text = JSON.stringify(v);
    } catch (err) {
      // JSON.stringify recurses: absurdly deep nesting overflows the stack. Keep a marker, not the line.
      if (!(err instanceof RangeError)) throw err;
      this.tag('json_too_deep');
      return '[too deep]';
    }
    // JSON.stringify leaves U+2028, bidi controls and secrets as they are.
    return this.sanitize(text);
  }

  /** Moves an ECS-invalid category/type pair to json.* so no half-categorization is sent. */
  checkCategorization(): void {
    if (moveUnpairedCategorization(this.fields)) this.tag('ecs_category_type_mismatch');
  }
}

/** A json parser whose strings all pass through `sanitizeValue`. */
export function createJsonParser(sanitizeValue: SanitizeValue): Parser {
  return (line: string, ctx: ParseContext): ParseResult | null => {
    let i = 0;
    while (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9) i++;
    if (line.charCodeAt(i) !== 123) return null;
    let j = line.length - 1;
    while (j > i && (line.charCodeAt(j) === 32 || line.charCodeAt(j) === 9)) j--;
    if (line.charCodeAt(j) !== 125) return null;
    let doc: Json;
    try {
      doc = JSON.parse(line) as Json;
    } catch {
      // Starts with "{" but is not JSON: not ours, the fallback parser takes it.
      return null;
    }
    if (!isObject(doc)) return null;

    const mapper = new JsonMapper(sanitizeValue, ctx.timeZone);
    const consumed = new Set<string>();
    let timestamp: Date | undefined;
    let timezone: string | undefined;
    let message: string | undefined;
    let severity: number | undefined;

    for (const k of TIME_KEYS) {
      if (!Object.hasOwn(doc, k)) continue;
      const t = eventTime(doc[k] as Json, ctx.timeZone);
      if (t === undefined) continue;
      timestamp = t.date;
      timezone = t.zone;
      if (t.tags) mapper.tags.push(...t.tags);
      consumed.add(k);
      break;
    }
    for (const k of MESSAGE_KEYS) {
      const v = Object.hasOwn(doc, k) ? doc[k] : undefined;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
        message = typeof v === 'string' ? sanitizeValue(v) : String(v);
        consumed.add(k);
        break;
      }
    }
    for (const k of LEVEL_KEYS) {
      const v = Object.hasOwn(doc, k) ? doc[k] : undefined;
      if (typeof v === 'string' || typeof v === 'number') {
        const text = typeof v === 'string' ? sanitizeValue(v) : String(v);
        if (text !== '') mapper.fields['log.level'] = text;
        severity = severityFromLevel(v);
        consumed.add(k);
        break;
      }
    }

    // A time key none of which gave a usable event time (unreadable, or outside 1970..9999): the
    // read time stands in, the stamp stays under json.*, and the event says so.
    // Only a value that reads as a date or an epoch: "time" also names durations ("12ms", 0.5).
    if (timestamp === undefined && TIME_KEYS.some((k) => Object.hasOwn(doc, k) && looksLikeTime(doc[k] as Json))) mapper.tags.push('timestamp_invalid');
    mapper.walk(doc, '', 0, 0, consumed.size > 0 ? consumed : null);
    mapper.checkCategorization();
    const level = mapper.fields['log.level'];
    if (severity === undefined && typeof level === 'string') severity = severityFromLevel(level);

    return {
      parser: 'json',
      timestamp,
      timezone,
      message,
      severity,
      fields: mapper.fields,
      tags: mapper.tags.length > 0 ? mapper.tags : undefined,
    };
  };
}

/**
 * The `regex` parser: a user pattern whose named groups name ECS fields.
 * Group names cannot hold dots, so `__` stands for the dot:
 * `(?<source__ip>\S+)` -> source.ip. Special groups: `timestamp` (RFC 3339 /
 * ISO / epoch, zone-less text read in ctx.timeZone) and `message`.
 * `labels__<key>` sets a label.
 *
 * Design notes:
 * - Everything that can be wrong with the pattern is found at creation and
 *   thrown as RegexPatternError; `logward check` reports the same problems
 *   with their config path (groupProblem is shared with config/semantic.ts):
 *   syntax, no named group, a group that is not an ECS field or has a type
 *   a regex capture cannot fill (object, nested, geo_point…), and a group that
 *   names a field the agent sets itself (reserved-fields.ts, the list the json
 *   parser keeps from lines): `(?<host__name>…)` or `(?<event__kind>…)` would
 *   let every line the pattern matches forge the agent's facts.
 * - Per line, values are converted by the field's ECS type (long/integer ->
 *   number, ip checked, array fields wrapped, allowed values enforced) and
 *   must lie in the field's range (field-ranges.ts: ports, pids, status
 *   codes, dates in years 0..9999). A capture that does not fit is not
 *   guessed and does not fail the event either: like the json parser, the
 *   parser keeps its text under json.<field> (the custom namespace for values
 *   out of their ECS type or range) and tags the event `field_type_mismatch`.
 *   A timestamp that cannot be read, or lies outside 1970..9999 (CEF rt is
 *   non-negative epoch milliseconds), is not the event time: its text goes
 *   to json.timestamp and the event is tagged `timestamp_invalid`.
 *   event.category/event.type that ECS does not pair move to json.* as a
 *   whole (tag ecs_category_type_mismatch), as in the json parser.
 * - The pattern is the user's: catastrophic backtracking in it is theirs to
 *   avoid; the parser adds no flags beyond what they wrote (none).
 */
import { LogwardError } from '../errors.js';
import type { EcsFields, FieldValue, Parser } from '../event/types.js';
import { allowedValues, ecsField, isArrayField, moveUnpairedCategorization, valueKind, type EcsValueKind } from './ecs-catalog.js';
import { dateFits, eventTimeFits, numberBounds, withinBounds, type NumberBounds } from './field-ranges.js';
import { isIpAddress } from './ip.js';
import { severityFromLevel } from './level.js';
import { isReservedField } from './reserved-fields.js';
import { parseTimestampText } from './time.js';

/** A regex parser pattern that cannot be used, and why. */
export class RegexPatternError extends LogwardError {
  override readonly name = 'RegexPatternError';
  constructor(
    readonly pattern: string,
    readonly problem: string,
  ) {
    super(`regex parser pattern ${JSON.stringify(pattern.length > 200 ? pattern.slice(0, 200) + '…' : pattern)}: ${problem}`);
  }
}

interface GroupPlan {
  readonly group: string;
  readonly field: string;
  readonly kind: EcsValueKind;
  readonly array: boolean;
  readonly allowed: ReadonlySet<string> | null;
  /** The numbers the field may hold (field-ranges.ts), looked up once. */
  readonly bounds: NumberBounds;
}

const INTEGER_TEXT = /^-?\d{1,15}$/;
const FLOAT_TEXT = /^-?\d{1,20}(?:\.\d{1,20})?(?:[eE][+-]?\d{1,3})?$/;
const LABEL_KEY = /^[A-Za-z0-9_]+$/;

/** The field a group name stands for: `__` is the dot. */
function fieldOf(group: string): string {
  return group.replaceAll('__', '.');
}

/**
 * Why the named group `group` cannot be used, or undefined when it can. The
 * one rule for the parser (which throws) and for `logward check` (which
 * reports it at the pattern's config path).
 */
export function groupProblem(group: string): string | undefined {
  if (group === 'timestamp' || group === 'message') return undefined;
  const field = fieldOf(group);
  if (field.startsWith('labels.')) {
    return LABEL_KEY.test(field.slice(7)) ? undefined : `group "${group}": a label key has no dots`;
  }
  if (isReservedField(field)) return `group "${group}" names ${field}, a field the agent sets itself (a log line must not set it)`;
  const def = ecsField(field);
  if (def === undefined) return `group "${group}": "${field}" is not an ECS field`;
  const kind = valueKind(def);
  if (kind === 'other') return `group "${group}": ECS field "${field}" has type ${def.type}, not settable from text`;
  return undefined;
}

function plan(pattern: string, group: string): GroupPlan {
  const problem = groupProblem(group);
  if (problem !== undefined) throw new RegexPatternError(pattern, problem);
  const field = fieldOf(group);
  if (field.startsWith('labels.')) return { group, field, kind: 'string', array: false, allowed: null, bounds: numberBounds(field) };
  const def = ecsField(field);
  if (def === undefined) throw new RegexPatternError(pattern, `group "${group}": "${field}" is not an ECS field`); // groupProblem said so
  return { group, field, kind: valueKind(def), array: isArrayField(def), allowed: allowedValues(field), bounds: numberBounds(field) };
}

function convert(p: GroupPlan, text: string, zone: string): string | number | boolean | undefined {
  switch (p.kind) {
    case 'string':
      return text;
    case 'integer':
      return INTEGER_TEXT.test(text) ? Number(text) : undefined;
    case 'float':
      return FLOAT_TEXT.test(text) ? Number(text) : undefined;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : undefined;
    case 'ip':
      return text.length <= 64 && isIpAddress(text) ? text : undefined;
    case 'date': {
      const t = parseTimestampText(text, zone);
      return t !== undefined && dateFits(t.date.getTime()) ? t.date.toISOString() : undefined;
    }
    default:
      return undefined;
  }
}

/** A parser for `pattern`; throws RegexPatternError when the pattern cannot be used. */
export function createRegexParser(pattern: string): Parser {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (err) {
    if (err instanceof SyntaxError) throw new RegexPatternError(pattern, err.message);
    throw err;
  }
  // An empty alternative matches "", and the match lists every named group of the pattern.
  const names = Object.keys(new RegExp(`(?:${pattern})|`).exec('')?.groups ?? {});
  if (names.length === 0) throw new RegexPatternError(pattern, 'no named group: name groups after ECS fields, e.g. (?<source__ip>\\S+)');
  const plans: GroupPlan[] = [];
  let hasTimestamp = false;
  let hasMessage = false;
  for (const name of names) {
    if (name === 'timestamp') hasTimestamp = true;
    else if (name === 'message') hasMessage = true;
    else plans.push(plan(pattern, name));
  }

  return (line, ctx) => {
    const m = re.exec(line);
    if (m === null) return null;
    const groups = m.groups ?? {};
    const fields: EcsFields = {};
    let tags: string[] | undefined;
    for (const p of plans) {
      const text = groups[p.group];
      if (text === undefined || text === '') continue;
      const v = convert(p, text, ctx.timeZone);
      if (
        v === undefined ||
        (typeof v === 'boolean' && p.array) ||
        (typeof v === 'number' && !withinBounds(p.bounds, v)) ||
        (p.allowed !== null && !p.allowed.has(String(v)))
      ) {
        // Kept as the text the line had, where the json parser keeps what it cannot place.
        fields[`json.${p.field}`] = text;
        tags ??= [];
        if (!tags.includes('field_type_mismatch')) tags.push('field_type_mismatch');
        continue;
      }
      fields[p.field] = (p.array ? [v] : v) as FieldValue;
    }
    if (moveUnpairedCategorization(fields)) (tags ??= []).push('ecs_category_type_mismatch');
    let timestamp: Date | undefined;
    let timezone: string | undefined;
    if (hasTimestamp) {
      const text = groups['timestamp'];
      if (text !== undefined && text !== '') {
        const t = parseTimestampText(text, ctx.timeZone);
        if (t === undefined || !eventTimeFits(t.date.getTime())) {
          fields['json.timestamp'] = text;
          tags ??= [];
          tags.push('timestamp_invalid');
        } else {
          timestamp = t.date;
          timezone = t.zone;
          if (t.tags) (tags ??= []).push(...t.tags);
        }
      }
    }
    const msg = hasMessage ? groups['message'] : undefined;
    const level = fields['log.level'];
    return {
      parser: 'regex',
      timestamp,
      timezone,
      message: msg === undefined || msg === '' ? line : msg,
      severity: typeof level === 'string' ? severityFromLevel(level) : undefined,
      fields,
      tags,
    };
  };
}

/**
 * The values an ECS field may hold beyond its ECS type: the numbers and
 * instants both encoders can write (the ECS JSON schema in
 * schemas/ecs-event.schema.json, and CEF's typed keys rt and dvcpid). One
 * table for the parsers that map fields named by someone else (json keys,
 * regex groups), for the hand-written ones (their pids, ports, HTTP
 * statuses and event times), and for the encoders that must leave out what
 * they cannot write: a bound kept in two places drifts, and a value one side
 * accepts and the other refuses fails the whole event.
 *
 * A test walks the ECS schema (test/parse/field-ranges.test.ts) so that this
 * table cannot fall behind it.
 */

/** 0000-01-01T00:00:00.000Z: the first instant an RFC 3339 date-time (an ECS date) can write. */
export const MIN_DATE_MS = -62_167_219_200_000;
/** 9999-12-31T23:59:59.999Z: the last instant an RFC 3339 date-time, and so an ECS date or CEF's rt, can write. */
export const MAX_DATE_MS = 253_402_300_799_999;
/** 2^31 - 1: the largest CEF Integer (dvcpid). */
export const INT32_MAX = 2_147_483_647;
/** Process ids are counts, and CEF's dvcpid is a 32-bit Integer. */
const PID: NumberBounds = [0, INT32_MAX];
/** Ports (`*.port`): ECS types them long and indexes reject nothing, but a port of 99999 is a parse error, not data. */
const PORT: NumberBounds = [0, 65_535];
/** Byte and packet counts. */
const COUNT: NumberBounds = [0, Infinity];
const ANY: NumberBounds = [-Infinity, Infinity];

/** The smallest and the largest number a field may hold (both included). */
export type NumberBounds = readonly [min: number, max: number];

/** Bounds the ECS schema or a CEF Integer key puts on one named numeric field. */
const NUMBER_RANGES: ReadonlyMap<string, NumberBounds> = new Map<string, NumberBounds>([
  ['http.response.status_code', [100, 599]],
  ['log.syslog.priority', [0, 191]],
  ['log.syslog.facility.code', [0, 23]],
  ['log.syslog.severity.code', [0, 7]],
]);

/**
 * The bounds of the ECS field `field`, for a parser that checks many values
 * of one field (a regex group) and looks them up once; numberFits is the
 * same answer for one value.
 */
export function numberBounds(field: string): NumberBounds {
  const range = NUMBER_RANGES.get(field);
  if (range !== undefined) return range;
  if (field.endsWith('.port')) return PORT;
  if (field.endsWith('.pid')) return PID;
  if (field.endsWith('.bytes') || field.endsWith('.packets')) return COUNT;
  return ANY;
}

/**
 * True when `n` lies within `bounds`. Infinity and NaN are no field's value
 * (JSON has no spelling for them).
 */
export function withinBounds(bounds: NumberBounds, n: number): boolean {
  return Number.isFinite(n) && n >= bounds[0] && n <= bounds[1];
}

/**
 * True when the ECS field `field` may hold the number `n` (already of the
 * field's ECS type: an integer for long/integer fields). The one answer for
 * every parser and encoder.
 */
export function numberFits(field: string, n: number): boolean {
  return withinBounds(numberBounds(field), n);
}

/** True when `n` can be a process id (any `*.pid` field, CEF dvcpid). For parsers that already hold a number. */
export function isPid(n: number): boolean {
  return withinBounds(PID, n);
}

/** True when `n` can be a port (any `*.port` field, CEF spt/dpt). */
export function isPort(n: number): boolean {
  return withinBounds(PORT, n);
}

/** True when an ECS date field can hold the instant `ms` (epoch milliseconds): the years 0..9999. */
export function dateFits(ms: number): boolean {
  return ms >= MIN_DATE_MS && ms <= MAX_DATE_MS;
}

/**
 * True when `ms` can be an event's time (@timestamp): an ECS date that CEF's
 * rt (epoch milliseconds, never negative) can carry too, 1970..9999.
 */
export function eventTimeFits(ms: number): boolean {
  return ms >= 0 && ms <= MAX_DATE_MS;
}

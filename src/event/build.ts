/**
 * Builds the ECS event from a sanitized line and what a parser made of it.
 *
 * Everything here is agent-side fact (where, when read, which agent, which
 * identity), plus the parser's fields. The only text taken from the line is
 * already neutralized and redacted; fields the agent adds come from the config
 * (sanitized when it was loaded) or from the host itself. The exception is
 * log.file.path: a file name is chosen by whoever can write the log directory,
 * so it is neutralized here like any field (tokens, and the tag
 * log_injection_neutralized when anything was replaced). The SourceRef keeps
 * the real name; event.id never depended on it (identity and offset).
 *
 * Hot path (once per line): the fields object is made by one generated
 * object literal per shape (mergeFields), a fast object allocated once at
 * its final size; timestamps go through IsoCache, which returns exactly what
 * toISOString would.
 */
import { hash } from 'node:crypto';

import { classify } from './classify.js';
import { EventIdDeriver } from './id.js';
import type { EcsFields, FieldValue, LogEvent, ParseResult, RawRecord } from './types.js';
import { neutralizeText } from '../sanitize/neutralize.js';

/** The processor's TAG_NEUTRALIZED (src/processor.ts imports this module, so it cannot be imported from there). */
const TAG_NEUTRALIZED = 'log_injection_neutralized';

export interface AgentInfo {
  id: string;
  version: string;
  hostName: string;
  hostIps?: readonly string[];
  ecsVersion: string;
}

export interface BuildInput {
  raw: RawRecord;
  /** The neutralized, redacted line: becomes event.original. */
  original: string;
  parsed: ParseResult;
  /** Tags the sanitizer and the reader added (log_injection_neutralized, truncated, …). */
  tags: readonly string[];
  /** Static fields from the input's config. */
  extraFields?: Readonly<EcsFields>;
  now: Date;
}

const RELATED_IP_FIELDS = ['source.ip', 'destination.ip', 'client.ip', 'server.ip'] as const;
const RELATED_USER_FIELDS = ['user.name', 'user.effective.name', 'user.target.name', 'source.user.name'] as const;

export class EventBuilder {
  private readonly ids: EventIdDeriver;
  // toISOString costs about half a microsecond; consecutive records are read in
  // the same millisecond and stamped (syslog) in the same second far more often than not.
  private readonly createdIso = new IsoCache();
  private readonly stampIso = new IsoCache();

  /** One frozen array for every event: nothing downstream may change it, and encoders can remember it. */
  private readonly hostIps: string[] | undefined;

  /**
   * The last file name seen and its neutralized form: a source sends line after line of
   * the same file, so the name is neutralized once per change, not once per line.
   */
  private pathSeen: string | undefined;
  private pathShown = '';
  private pathChanged = false;
  private readonly values: AgentValues;

  constructor(agent: AgentInfo) {
    this.ids = new EventIdDeriver(agent.id);
    this.hostIps = agent.hostIps && agent.hostIps.length > 0 ? (Object.freeze([...agent.hostIps]) as string[]) : undefined;
    this.values = new AgentValues(agent, this.hostIps);
  }

  build(input: BuildInput): LogEvent {
    const { raw, parsed } = input;
    const nowIso = this.createdIso.of(input.now);
    const ts = parsed.timestamp && !Number.isNaN(parsed.timestamp.getTime()) ? this.stampIso.of(parsed.timestamp) : undefined;
    const sourceTs = raw.fields?.['@timestamp'];
    const path = raw.source.path;
    if (path !== undefined && path !== this.pathSeen) {
      const n = neutralizeText(path);
      this.pathSeen = path;
      this.pathShown = n.text;
      this.pathChanged = n.changed;
    }

    const v = this.values;
    v.message = parsed.message;
    v.timestamp = ts ?? (typeof sourceTs === 'string' ? sourceTs : nowIso);
    v.created = nowIso;
    v.original = input.original;
    v.hash = hash('sha256', input.original, 'hex');
    v.id = this.ids.derive(raw.source);
    v.module = parsed.parser;
    v.timezone = parsed.timezone;
    v.severity = parsed.severity;
    v.path = path === undefined ? undefined : this.pathShown;
    v.offset = raw.source.cursor === undefined ? raw.source.offset : undefined;
    v.input = raw.source.input;
    const f = mergeFields(raw.fields, parsed.fields, input.extraFields, v);

    // related.* are pivots computed from the event's own fields, always here: a value a parser
    // or a line put there that no field backs (a planted related.user) does not survive.
    // (Deletes only in that rare case: a delete costs a runtime call even for an absent key.)
    const relatedIp = related(f, RELATED_IP_FIELDS);
    if (relatedIp !== undefined) f['related.ip'] = relatedIp;
    else if (f['related.ip'] !== undefined) delete f['related.ip'];
    const relatedUser = related(f, RELATED_USER_FIELDS);
    if (relatedUser !== undefined) f['related.user'] = relatedUser;
    else if (f['related.user'] !== undefined) delete f['related.user'];

    const tags = mergeTags(f['tags'], parsed.tags, input.tags);
    if (path !== undefined && this.pathChanged) pushTag(tags, TAG_NEUTRALIZED);
    if (tags.length > 0) f['tags'] = tags;
    else if (f['tags'] !== undefined) delete f['tags']; // delete of an absent key still costs a runtime call

    const cls = classify(f, parsed.parser, parsed.severity);
    return { fields: f, source: raw.source, severity: cls.severity, classId: cls.classId, name: cls.name };
  }
}

/**
 * The agent-side values of one event, set by build() and read by mergeFields.
 * One per EventBuilder, reused: its shape never changes, so the compiled
 * mergers read it with monomorphic loads. undefined means "not set by the
 * agent for this event" (the sources' value, if any, stays).
 */
export class AgentValues {
  ecsVersion: string;
  agentId: string;
  agentVersion: string;
  hostName: string;
  /** Frozen; undefined: host.ip is left out, whatever a source said. */
  hostIps: readonly string[] | undefined;
  /** The parser's message, placed before the sources (which may override it). */
  message: string | undefined = undefined;
  timestamp = '';
  created = '';
  original = '';
  hash = '';
  id = '';
  module = '';
  timezone: string | undefined = undefined;
  severity: number | undefined = undefined;
  path: string | undefined = undefined;
  offset: number | undefined = undefined;
  input = '';

  constructor(agent: AgentInfo, hostIps: readonly string[] | undefined) {
    this.ecsVersion = agent.ecsVersion;
    this.agentId = agent.id;
    this.agentVersion = agent.version;
    this.hostName = agent.hostName;
    this.hostIps = hostIps;
  }
}

// ---------------------------------------------------------------- merging the fields

/**
 * The fields object of one event before related.* and tags: the parser's
 * message, the sources' fields (source-provided first (journald), then the
 * parser's, then the input's config: later wins, an undefined value never
 * overrides), then the agent's own facts, which win. The reference
 * semantics, run for shapes seen once (and by tests against the compiled path).
 */
export function mergeFieldsGeneric(
  r: Readonly<EcsFields> | undefined,
  p: Readonly<EcsFields>,
  x: Readonly<EcsFields> | undefined,
  v: AgentValues,
): EcsFields {
  const f: EcsFields =
    v.message !== undefined
      ? { 'ecs.version': v.ecsVersion, message: v.message, ...defined(r), ...defined(p), ...defined(x) }
      : { 'ecs.version': v.ecsVersion, ...defined(r), ...defined(p), ...defined(x) };
  f['@timestamp'] = v.timestamp;
  if (f['event.kind'] === undefined) f['event.kind'] = 'event';
  f['event.created'] = v.created;
  f['event.original'] = v.original;
  f['event.hash'] = v.hash;
  f['event.id'] = v.id;
  f['event.module'] = v.module;
  if (v.timezone !== undefined) f['event.timezone'] = v.timezone;
  if (v.severity !== undefined) f['event.severity'] = v.severity;
  if (f['message'] === undefined) f['message'] = v.original;
  if (v.path !== undefined) f['log.file.path'] = v.path;
  if (v.offset !== undefined) f['log.offset'] = v.offset;
  f['agent.type'] = AGENT_TYPE;
  f['agent.name'] = v.agentId;
  f['agent.id'] = v.agentId;
  f['agent.version'] = v.agentVersion;
  f['host.name'] = v.hostName;
  // host.ip is the addresses of the host the agent runs on, or nothing: never what a parser or line named.
  if (v.hostIps !== undefined) f['host.ip'] = v.hostIps as string[];
  else if (f['host.ip'] !== undefined) delete f['host.ip'];
  f['logward.input'] = v.input;
  return f;
}

const AGENT_TYPE = 'logward';

/** Which agent-side values are set: part of a merge shape (each bit adds or keeps a key). */
const MESSAGE = 1;
const TIMEZONE = 2;
const SEVERITY = 4;
const PATH = 8;
const OFFSET = 16;
const HOST_IPS = 32;

type Merger = (r: Readonly<EcsFields>, p: Readonly<EcsFields>, x: Readonly<EcsFields>, v: AgentValues) => EcsFields;

interface MergeShape {
  /** The defined keys of r, then p, then x, in their own order. */
  readonly names: readonly string[];
  readonly rLength: number;
  readonly pLength: number;
  readonly bits: number;
  /** null: seen once (not compiled yet) or not compilable (the generic path, always). */
  readonly merge: Merger | null;
}

/**
 * Compiled mergers by shape, as in ecs.ts's plans: source keys become field
 * names, and a JSON line chooses its keys, so a shape is compiled on its
 * second sighting only, at most MAX_PER_HASH per hash and MAX_SHAPES in all;
 * the rest take the generic path, which costs them, not everyone.
 */
const MAX_SHAPES = 2048;
const MAX_PER_HASH = 8;
/** Bounds the generated code (and stays far below V8's 1020 properties of a fast literal): bigger events take the generic path. */
const MAX_LITERAL_KEYS = 250;
const shapes = new Map<number, MergeShape[]>();
let shapeCount = 0;
const seenOnce = new Map<number, MergeShape[]>();
let seenOnceCount = 0;
const EMPTY: Readonly<EcsFields> = Object.freeze({});

/** The defined keys of the sources, in order, for the event being merged: reused, never handed out. */
const seen: string[] = [];
let seenLength = 0;
let seenR = 0;
let seenP = 0;

function collect(from: Readonly<EcsFields> | undefined, h: number): number {
  if (from === undefined) return h;
  for (const k in from) {
    // Own keys only, as a spread copies them.
    if (from[k] === undefined || !Object.prototype.hasOwnProperty.call(from, k)) continue;
    seen[seenLength++] = k;
    h = Math.imul(h ^ k.length, 0x01000193);
    h = Math.imul(h ^ k.charCodeAt(0), 0x01000193);
    h = Math.imul(h ^ k.charCodeAt(k.length - 1), 0x01000193);
  }
  return h;
}

function matches(s: MergeShape, bits: number): boolean {
  if (s.bits !== bits || s.rLength !== seenR || s.pLength !== seenP || s.names.length !== seenLength) return false;
  const names = s.names;
  for (let i = 0; i < seenLength; i++) if (names[i] !== seen[i]) return false;
  return true;
}

/**
 * mergeFieldsGeneric's result, built by one generated object literal per
 * shape (which keys each source defines, in order, and which agent values
 * are set). The generic path spreads the sources into a literal, then adds
 * some twenty properties one by one: V8 copies a spread into a non-empty
 * object property by property in its runtime, and every later add is a map
 * transition and, every third, a larger copy of the property backing store
 * (~1.5 KB allocated per event). One literal is one allocation of the final
 * size. Equality with the generic path (values and key order) is a property test.
 */
export function mergeFields(
  r: Readonly<EcsFields> | undefined,
  p: Readonly<EcsFields>,
  x: Readonly<EcsFields> | undefined,
  v: AgentValues,
): EcsFields {
  const bits =
    (v.message !== undefined ? MESSAGE : 0) |
    (v.timezone !== undefined ? TIMEZONE : 0) |
    (v.severity !== undefined ? SEVERITY : 0) |
    (v.path !== undefined ? PATH : 0) |
    (v.offset !== undefined ? OFFSET : 0) |
    (v.hostIps !== undefined ? HOST_IPS : 0);
  seenLength = 0;
  let h = collect(r, Math.imul(0x811c9dc5 ^ bits, 0x01000193));
  seenR = seenLength;
  h = collect(p, h);
  seenP = seenLength - seenR;
  h = collect(x, h);
  // A freak event with thousands of fields must not keep them alive here.
  if (seen.length > 1024 && seenLength <= 1024) seen.length = 1024;
  const candidates = shapes.get(h);
  if (candidates !== undefined) {
    for (let i = 0; i < candidates.length; i++) {
      const s = candidates[i] as MergeShape;
      if (!matches(s, bits)) continue;
      return s.merge === null ? mergeFieldsGeneric(r, p, x, v) : s.merge(r ?? EMPTY, p, x ?? EMPTY, v);
    }
  }
  const firsts = seenOnce.get(h);
  const second = firsts !== undefined && firsts.some((s) => matches(s, bits));
  if (!second || (candidates !== undefined && candidates.length >= MAX_PER_HASH)) {
    if (!second) {
      if (seenOnceCount >= MAX_SHAPES) {
        seenOnce.clear();
        seenOnceCount = 0;
      }
      const shape = seenShape(bits, null);
      const bucket = seenOnce.get(h);
      if (bucket === undefined) seenOnce.set(h, [shape]);
      else if (bucket.length < MAX_PER_HASH) bucket.push(shape);
      seenOnceCount++;
    }
    return mergeFieldsGeneric(r, p, x, v);
  }
  if (shapeCount >= MAX_SHAPES) {
    shapes.clear();
    shapeCount = 0;
  }
  const shape = seenShape(bits, compileMerger(seen.slice(0, seenLength), seenR, seenP, bits));
  if (candidates === undefined) shapes.set(h, [shape]);
  else candidates.push(shape);
  shapeCount++;
  return shape.merge === null ? mergeFieldsGeneric(r, p, x, v) : shape.merge(r ?? EMPTY, p, x ?? EMPTY, v);
}

function seenShape(bits: number, merge: Merger | null): MergeShape {
  return { names: seen.slice(0, seenLength), rLength: seenR, pLength: seenP, bits, merge };
}

/**
 * The merger of one shape, or null when the shape keeps the generic path.
 * The key order is worked out here by running mergeFieldsGeneric's steps on
 * a Map, which orders, overwrites in place and deletes keys as an object
 * does (array-index keys aside, which the literal, an object, then puts
 * first as the generic path's object does). Field names are
 * embedded as JSON string literals, never as code; "__proto__" as a computed
 * key, which defines a property instead of setting the prototype.
 */
function compileMerger(names: readonly string[], rLength: number, pLength: number, bits: number): Merger | null {
  if (names.length > MAX_LITERAL_KEYS) return null;
  const q = (k: string): string => JSON.stringify(k);
  const order = new Map<string, string>();
  order.set('ecs.version', 'v.ecsVersion');
  if (bits & MESSAGE) order.set('message', 'v.message');
  names.forEach((k, i) => order.set(k, `${i < rLength ? 'r' : i < rLength + pLength ? 'p' : 'x'}[${q(k)}]`));
  order.set('@timestamp', 'v.timestamp');
  if (!order.has('event.kind')) order.set('event.kind', q('event'));
  order.set('event.created', 'v.created');
  order.set('event.original', 'v.original');
  order.set('event.hash', 'v.hash');
  order.set('event.id', 'v.id');
  order.set('event.module', 'v.module');
  if (bits & TIMEZONE) order.set('event.timezone', 'v.timezone');
  if (bits & SEVERITY) order.set('event.severity', 'v.severity');
  if (!order.has('message')) order.set('message', 'v.original');
  if (bits & PATH) order.set('log.file.path', 'v.path');
  if (bits & OFFSET) order.set('log.offset', 'v.offset');
  order.set('agent.type', q(AGENT_TYPE));
  order.set('agent.name', 'v.agentId');
  order.set('agent.id', 'v.agentId');
  order.set('agent.version', 'v.agentVersion');
  order.set('host.name', 'v.hostName');
  if (bits & HOST_IPS) order.set('host.ip', 'v.hostIps');
  else order.delete('host.ip');
  order.set('logward.input', 'v.input');
  if (order.size > MAX_LITERAL_KEYS) return null;
  const props: string[] = [];
  for (const [k, e] of order) props.push(`${k === '__proto__' ? '["__proto__"]' : q(k)}: ${e}`);
  return new Function('"use strict"; return function mergeShape(r, p, x, v) { return {' + props.join(', ') + '}; };')() as Merger;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const HOURS_MINUTES: readonly string[] = Array.from(
  { length: 1440 },
  (_, n) => `${String(Math.floor(n / 60)).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}:`,
);
const SECONDS: readonly string[] = Array.from({ length: 60 }, (_, n) => `${String(n).padStart(2, '0')}.`);
const MILLIS: readonly string[] = Array.from({ length: 1000 }, (_, n) => `${String(n).padStart(3, '0')}Z`);

/**
 * Date -> toISOString(), exactly, at a fraction of its cost: the same instant
 * returns the last string; another instant of the same UTC minute reuses the
 * minute's "YYYY-MM-DDTHH:MM:" and appends "SS.mmmZ" from table lookups: one
 * short flat string and one concatenation, where a template of nine pieces
 * made nine. A new minute of the same day takes the day's "YYYY-MM-DDT" (from
 * toISOString itself, so every year form is right) and "HH:MM:" from a table.
 * An invalid date throws toISOString's RangeError, as before.
 */
export class IsoCache {
  private ms = Number.NaN;
  private iso = '';
  private minute = Number.NaN;
  private minutePrefix = '';
  private day = Number.NaN;
  private dayPrefix = '';

  of(d: Date): string {
    const ms = d.getTime();
    if (ms === this.ms) return this.iso;
    const minute = Math.floor(ms / MINUTE_MS);
    if (minute !== this.minute) {
      const day = Math.floor(ms / DAY_MS);
      if (day !== this.day) {
        this.dayPrefix = d.toISOString().slice(0, -13);
        this.day = day;
      }
      const prefix = this.dayPrefix + (HOURS_MINUTES[minute - day * 1440] as string);
      // Reading a character flattens the concatenation (V8): every string of this minute then has two pieces.
      prefix.charCodeAt(0);
      this.minutePrefix = prefix;
      this.minute = minute;
    }
    const t = ms - minute * MINUTE_MS;
    const milli = t % 1000;
    this.iso = this.minutePrefix + ((SECONDS[(t - milli) / 1000] as string) + (MILLIS[milli] as string));
    this.ms = ms;
    return this.iso;
  }
}

/**
 * The fields whose value is not undefined: an undefined value never overrides an earlier source's.
 * The copy keeps what a spread of the source would (own keys; "__proto__" as a key, defined, not
 * assigned: an assignment would set the copy's prototype and lose the field).
 */
function defined(from: Readonly<EcsFields> | undefined): Readonly<EcsFields> | undefined {
  if (from === undefined) return undefined;
  for (const key in from) {
    if (from[key] === undefined) {
      const out: EcsFields = {};
      for (const k in from) {
        if (from[k] === undefined || !Object.prototype.hasOwnProperty.call(from, k)) continue;
        if (k === '__proto__') Object.defineProperty(out, k, { value: from[k], enumerable: true, writable: true, configurable: true });
        else out[k] = from[k];
      }
      return out;
    }
  }
  return from;
}

/** The distinct non-empty string values of `fields`, or undefined when there are none. */
function related(f: EcsFields, fields: readonly string[]): string[] | undefined {
  let values: string[] | undefined;
  // Indexed loops here and below: an array iterator the optimizer leaves in place allocates per element.
  for (let i = 0; i < fields.length; i++) {
    const v = f[fields[i] as string];
    if (typeof v === 'string' && v.length > 0) {
      values ??= [];
      if (!values.includes(v)) values.push(v);
    }
  }
  return values;
}

function mergeTags(existing: FieldValue | undefined, parsed: readonly string[] | undefined, added: readonly string[]): string[] {
  const out: string[] = [];
  if (Array.isArray(existing)) for (let i = 0; i < existing.length; i++) pushTag(out, existing[i]);
  else pushTag(out, existing);
  if (parsed !== undefined) for (let i = 0; i < parsed.length; i++) pushTag(out, parsed[i]);
  for (let i = 0; i < added.length; i++) pushTag(out, added[i]);
  return out;
}

function pushTag(out: string[], t: unknown): void {
  if (typeof t === 'string' && !out.includes(t)) out.push(t);
}

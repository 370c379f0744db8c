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
 * Hot path (once per line): the fields object is made by one literal with
 * spreads so that V8 keeps it a fast object (see build()); timestamps go
 * through IsoCache, which returns exactly what toISOString would.
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

  constructor(private readonly agent: AgentInfo) {
    this.ids = new EventIdDeriver(agent.id);
    this.hostIps = agent.hostIps && agent.hostIps.length > 0 ? (Object.freeze([...agent.hostIps]) as string[]) : undefined;
  }

  build(input: BuildInput): LogEvent {
    const { raw, parsed } = input;
    const nowIso = this.createdIso.of(input.now);
    const ts = parsed.timestamp && !Number.isNaN(parsed.timestamp.getTime()) ? this.stampIso.of(parsed.timestamp) : undefined;
    const sourceTs = raw.fields?.['@timestamp'];

    // Source-provided fields first (journald), then the parser's, then config: later wins.
    // One object literal with spreads, not a loop of f[key] = v: V8 turns an object that
    // grows by computed-key stores past a dozen properties into a hash table, and every
    // later stage (nesting, validation, serialisation) then pays for slow lookups.
    const f: EcsFields =
      parsed.message !== undefined
        ? { 'ecs.version': this.agent.ecsVersion, message: parsed.message, ...defined(raw.fields), ...defined(parsed.fields), ...defined(input.extraFields) }
        : { 'ecs.version': this.agent.ecsVersion, ...defined(raw.fields), ...defined(parsed.fields), ...defined(input.extraFields) };

    f['@timestamp'] = ts ?? (typeof sourceTs === 'string' ? sourceTs : nowIso);
    if (f['event.kind'] === undefined) f['event.kind'] = 'event';
    f['event.created'] = nowIso;
    f['event.original'] = input.original;
    f['event.hash'] = hash('sha256', input.original, 'hex');
    f['event.id'] = this.ids.derive(raw.source);
    f['event.module'] = parsed.parser;
    if (parsed.timezone !== undefined) f['event.timezone'] = parsed.timezone;
    if (parsed.severity !== undefined) f['event.severity'] = parsed.severity;
    if (f['message'] === undefined) f['message'] = input.original;

    const path = raw.source.path;
    if (path !== undefined) {
      if (path !== this.pathSeen) {
        const n = neutralizeText(path);
        this.pathSeen = path;
        this.pathShown = n.text;
        this.pathChanged = n.changed;
      }
      f['log.file.path'] = this.pathShown;
    }
    if (raw.source.offset !== undefined && raw.source.cursor === undefined) f['log.offset'] = raw.source.offset;

    f['agent.type'] = 'logward';
    f['agent.name'] = this.agent.id;
    f['agent.id'] = this.agent.id;
    f['agent.version'] = this.agent.version;
    f['host.name'] = this.agent.hostName;
    // host.ip is the addresses of the host the agent runs on, or nothing: never what a parser or line named.
    if (this.hostIps !== undefined) f['host.ip'] = this.hostIps;
    else if (f['host.ip'] !== undefined) delete f['host.ip'];
    f['logward.input'] = raw.source.input;

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

const DAY_MS = 86_400_000;
const TWO_DIGITS: readonly string[] = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));

/**
 * Date -> toISOString(), exactly, at a fraction of its cost: the same instant
 * returns the last string; another instant of the same UTC day reuses the
 * day's "YYYY-MM-DDT" (from toISOString itself, so every year form is right)
 * and appends "HH:MM:SS.mmmZ" from table lookups. An invalid date throws
 * toISOString's RangeError, as before.
 */
export class IsoCache {
  private ms = Number.NaN;
  private iso = '';
  private day = Number.NaN;
  private dayPrefix = '';

  of(d: Date): string {
    const ms = d.getTime();
    if (ms === this.ms) return this.iso;
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.day) {
      const iso = d.toISOString();
      this.dayPrefix = iso.slice(0, -13);
      this.day = day;
    }
    let t = ms - day * DAY_MS;
    const milli = t % 1000;
    t = (t - milli) / 1000;
    const sec = t % 60;
    t = (t - sec) / 60;
    const min = t % 60;
    const hour = (t - min) / 60;
    this.iso = `${this.dayPrefix}${TWO_DIGITS[hour]}:${TWO_DIGITS[min]}:${TWO_DIGITS[sec]}.${THREE_DIGITS[milli]}Z`;
    this.ms = ms;
    return this.iso;
  }
}

/** The fields whose value is not undefined: an undefined value never overrides an earlier source's. */
function defined(from: Readonly<EcsFields> | undefined): Readonly<EcsFields> | undefined {
  if (from === undefined) return undefined;
  for (const key in from) {
    if (from[key] === undefined) {
      const out: EcsFields = {};
      for (const k in from) if (from[k] !== undefined) out[k] = from[k];
      return out;
    }
  }
  return from;
}

/** The distinct non-empty string values of `fields`, or undefined when there are none. */
function related(f: EcsFields, fields: readonly string[]): string[] | undefined {
  let values: string[] | undefined;
  for (const name of fields) {
    const v = f[name];
    if (typeof v === 'string' && v.length > 0) {
      values ??= [];
      if (!values.includes(v)) values.push(v);
    }
  }
  return values;
}

function mergeTags(existing: FieldValue | undefined, parsed: readonly string[] | undefined, added: readonly string[]): string[] {
  const out: string[] = [];
  if (Array.isArray(existing)) for (const t of existing as unknown[]) pushTag(out, t);
  else pushTag(out, existing);
  if (parsed !== undefined) for (const t of parsed) pushTag(out, t);
  for (const t of added) pushTag(out, t);
  return out;
}

function pushTag(out: string[], t: unknown): void {
  if (typeof t === 'string' && !out.includes(t)) out.push(t);
}

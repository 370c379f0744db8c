/**
 * One record through the conversion stages: cut → neutralize → redact → parse
 * → build → encode+validate. Used by `logward convert` and by the daemon's
 * pipeline, so both produce byte-identical events for the same input.
 *
 * Order matters: neutralize first, so that no later stage (parser regexes,
 * redaction patterns, encoders) ever sees a raw control character; redact
 * before parsing, so that no parsed field can carry a secret the line carried.
 * JSON is the exception: JSON.parse decodes escapes back into raw characters,
 * so the JSON parser runs every decoded string through the same two steps.
 */
import { hostname, networkInterfaces } from 'node:os';

import { ECS_VERSION as EcsVersion } from './ecs/generated.js';

import { encodeEvent, type EncodeContext } from './encode/validate.js';
import { EventBuilder, type AgentInfo } from './event/build.js';
import type { EcsFields, LogEvent, ParseContext, ParseResult, Parser, RawRecord } from './event/types.js';
import type { Counters } from './monitor/counters.js';
import { parseAuthMessage } from './parse/auth.js';
import { getParser, type ParserName } from './parse/index.js';
import { cutLength, neutralizeBytes, neutralizeMultiline, neutralizeText } from './sanitize/neutralize.js';
import { createRedactor, type RedactKind, type Redactor } from './sanitize/redact.js';
import { VERSION } from './version.js';

export type OutputFormat = 'ecs' | 'cef';

export interface ProcessorOptions {
  agentId: string;
  parser: ParserName;
  regex?: string;
  format: OutputFormat;
  cef: { vendor: string; product: string };
  redact: { builtin: readonly RedactKind[]; custom: readonly { name: string; pattern: string }[] };
  maxLineBytes: number;
  /** Static fields from the input's config (`inputs[].fields`). */
  fields?: Readonly<EcsFields>;
  timeZone?: string;
  counters: Counters;
  now?: () => Date;
  /** Host facts; looked up once when absent. */
  host?: { name: string; ips: readonly string[] };
}

export interface EncodedRecord {
  event: LogEvent;
  /** The encoded event: ECS JSON or a CEF line, never containing a raw line break. */
  payload: string;
  /** False when the event failed validation and was replaced by a minimal valid one. */
  valid: boolean;
}

export const TAG_NEUTRALIZED = 'log_injection_neutralized';
export const TAG_REDACTED = 'secrets_redacted';
export const TAG_TRUNCATED = 'truncated';
export const TAG_PARSE_FAILURE = 'parse_failure';
export const TAG_NORMALIZED = 'original_normalized';
export const TAG_PROCESSING_ERROR = 'processing_error';

/** The error's class and a message cut short: its kind, never a value from the line. */
function errorKind(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message.slice(0, 80)}`;
  return 'non-error thrown';
}

export class RecordProcessor {
  private readonly parser: Parser;
  private readonly fallback: Parser;
  private readonly redactor: Redactor;
  private readonly builder: EventBuilder;
  private readonly now: () => Date;
  private readonly timeZone: string;
  private readonly extraFields: Readonly<EcsFields> | undefined;
  /** Set while a record is processed, so that JSON values neutralized inside the parser tag the event. */
  private valueNeutralized = false;
  private valueRedactions = 0;
  /** Set by redactLine for the line it just returned. */
  private lineRedactions = 0;
  private lineNormalized = false;
  private readonly jsonInput: boolean;
  private readonly encodeContext: EncodeContext;
  private clockMs = Number.NaN;
  private clockDate = new Date(Number.NaN);
  private contextNow: Date | undefined;
  private context: ParseContext = { now: new Date(Number.NaN), timeZone: 'UTC' };

  constructor(private readonly opts: ProcessorOptions) {
    this.redactor = createRedactor({ builtin: [...opts.redact.builtin], custom: [...opts.redact.custom] });
    const sanitizeValue = (s: string): string => this.sanitizeValue(s);
    this.parser = getParser(opts.parser, { sanitizeValue, ...(opts.regex !== undefined ? { regex: opts.regex } : {}) });
    this.fallback = getParser('plain', { sanitizeValue });
    const host = opts.host ?? hostFacts();
    const agent: AgentInfo = {
      id: opts.agentId,
      version: VERSION,
      hostName: host.name,
      hostIps: host.ips,
      ecsVersion: EcsVersion,
    };
    this.builder = new EventBuilder(agent);
    this.now = opts.now ?? (() => this.clock());
    this.timeZone = opts.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    this.extraFields = opts.fields;
    this.jsonInput = opts.parser === 'json' || opts.parser === 'auto';
    this.encodeContext = { counters: opts.counters, cef: { ...opts.cef, version: VERSION } };
  }

  /**
   * The default clock: the same Date for every line read within one
   * millisecond (nothing downstream changes a Date it is given), and with it
   * the same ParseContext (see parseContext): two objects fewer per line.
   */
  private clock(): Date {
    const ms = Date.now();
    if (ms !== this.clockMs) {
      this.clockMs = ms;
      this.clockDate = new Date(ms);
    }
    return this.clockDate;
  }

  /** The parsers' context for this line's "now": made again only when now is another Date. */
  private parseContext(now: Date): ParseContext {
    if (now !== this.contextNow) {
      this.contextNow = now;
      this.context = { now, timeZone: this.timeZone };
    }
    return this.context;
  }

  /** neutralize + redact one decoded string; notes what it changed for the current record's tags. */
  private sanitizeValue(s: string): string {
    const n = neutralizeText(s);
    if (n.changed) this.valueNeutralized = true;
    const r = this.redactor.redact(n.text);
    this.valueRedactions += r.redactions;
    return r.text;
  }

  process(raw: RawRecord): EncodedRecord {
    let event: LogEvent;
    try {
      event = this.toEvent(raw);
      const encoded = encodeEvent(event, this.opts.format, this.encodeContext);
      return { event, payload: encoded.payload, valid: encoded.valid };
    } catch (err) {
      // A line that makes any stage throw (a stack overflow on a crafted nesting, a bug) must
      // neither stop its input nor be dropped: the source would re-read the same batch forever,
      // shipping its earlier lines again each time. It is shipped as a minimal tagged event.
      this.opts.counters.add('events_processing_failed');
      event = this.failsafeEvent(raw, err);
      const encoded = encodeEvent(event, this.opts.format, this.encodeContext);
      return { event, payload: encoded.payload, valid: encoded.valid };
    }
  }

  /**
   * The stand-in for a record a stage threw on: the line neutralized and redacted as usual when
   * those steps themselves work, else only its length; no parsed field (the parser may be what
   * failed), the agent-side facts, and the tag processing_error with the error's kind.
   */
  private failsafeEvent(raw: RawRecord, err: unknown): LogEvent {
    const bytes = raw.bytes.length > this.opts.maxLineBytes ? raw.bytes.subarray(0, cutLength(raw.bytes, this.opts.maxLineBytes)) : raw.bytes;
    const tags = [TAG_PROCESSING_ERROR];
    let line: string;
    try {
      const neutral = neutralizeBytes(bytes);
      // As in toEvent: this stand-in carries the line, so it gets the same redaction.
      line = this.redactLine(neutral.text);
      if (this.lineNormalized) tags.push(TAG_NORMALIZED);
      if (neutral.changed) tags.push(TAG_NEUTRALIZED);
      if (this.lineRedactions > 0) tags.push(TAG_REDACTED);
    } catch (inner) {
      // The sanitizer itself failed: nothing of the line may go out unsanitized.
      this.opts.counters.add('events_sanitize_failed');
      line = `[line of ${raw.bytes.length} bytes withheld: ${errorKind(inner)} while sanitizing]`;
    }
    if (bytes !== raw.bytes) tags.push(TAG_TRUNCATED);
    const now = this.now();
    const reason = `${errorKind(err)} while processing this line`;
    // Fields a source attached (journald) are left out: sanitizing them may be what failed.
    const { fields: _sourceFields, ...bare } = raw;
    const parsed: ParseResult = { parser: 'plain', message: line, fields: { 'error.message': reason } };
    try {
      return this.builder.build({ raw: bare, original: line, parsed, tags, now, extraFields: this.extraFields });
    } catch (inner) {
      this.opts.counters.add('events_build_failed');
      const at = Number.isNaN(now.getTime()) ? new Date() : now;
      return {
        fields: {
          '@timestamp': at.toISOString(),
          'ecs.version': EcsVersion,
          'event.kind': 'event',
          message: line,
          'event.original': line,
          'error.message': `${reason}; ${errorKind(inner)} while building its stand-in`,
          tags,
        },
        source: raw.source,
        severity: 3,
        classId: 'logward:processing_error',
        name: 'Line could not be processed',
      };
    }
  }

  toEvent(raw: RawRecord): LogEvent {
    const counters = this.opts.counters;
    const tags: string[] = [];
    let bytes = raw.bytes;
    if (bytes.length > this.opts.maxLineBytes) {
      bytes = bytes.subarray(0, cutLength(bytes, this.opts.maxLineBytes));
      tags.push(TAG_TRUNCATED);
      counters.add('events_truncated');
    } else if (raw.truncated) {
      tags.push(TAG_TRUNCATED);
      counters.add('events_truncated');
    }

    const neutral = raw.multiline ? neutralizeMultiline(bytes) : neutralizeBytes(bytes);
    const line = this.redactLine(neutral.text);
    const lineRedactions = this.lineRedactions;
    if (this.lineNormalized) tags.push(TAG_NORMALIZED);

    this.valueNeutralized = false;
    this.valueRedactions = 0;
    const now = this.now();
    const ctx = this.parseContext(now);
    let parsed: ParseResult | null = this.parseFromSource(raw, line) ?? this.parser(line, ctx);
    if (parsed === null) {
      parsed = this.fallback(line, ctx) as ParseResult;
      tags.push(TAG_PARSE_FAILURE);
      counters.add('events_unparsed');
    }

    // Sources may attach fields of their own (journald: host name, process name, unit):
    // those strings come from the logging client and get the same treatment as the line.
    const source = raw.fields ? { ...raw, fields: this.sanitizeFields(raw.fields) } : raw;

    const neutralized = neutral.changed || this.valueNeutralized;
    if (neutralized) {
      tags.push(TAG_NEUTRALIZED);
      counters.add('events_neutralized');
    }
    const redactions = lineRedactions + this.valueRedactions;
    if (redactions > 0) {
      tags.push(TAG_REDACTED);
      counters.add('events_redacted');
      counters.add('redactions', redactions);
    }

    counters.add('events_built');
    const event = this.builder.build({ raw: source, original: line, parsed, tags, now, extraFields: this.extraFields });
    // The builder neutralizes log.file.path itself, and tags the event when the name needed it.
    if (!neutralized && (event.fields['tags'] as string[] | undefined)?.includes(TAG_NEUTRALIZED)) counters.add('events_neutralized');
    return event;
  }

  /**
   * Line-level redaction of the neutralized text and, for JSON input, the escape re-check
   * (canonicalJson). Returns the line; its redaction count and whether the canonical form
   * replaced it are left in lineRedactions / lineNormalized (no object per line).
   */
  private redactLine(text: string): string {
    const redacted = this.redactor.redact(text);
    this.lineRedactions = redacted.redactions;
    this.lineNormalized = false;
    if (!this.jsonInput || !redacted.text.includes('\\u')) return redacted.text;
    const canonical = this.canonicalJson(redacted.text);
    if (canonical === undefined) return redacted.text;
    this.lineRedactions += canonical.redactions;
    this.lineNormalized = true;
    return canonical.text;
  }

  /**
   * A JSON line with \\u escapes can spell a key ("pass\\u0077ord") that line-level
   * redaction cannot see, and JSON.parse would then hand the secret to the parser
   * without its key. Such a line is re-serialised (escapes decoded, keys plain),
   * neutralized and redacted again; when that finds a secret the line-level pass
   * missed, the canonical form is what gets parsed and shipped as event.original
   * (tagged original_normalized): a secret matters more than the spelling of its key.
   */
  private canonicalJson(line: string): { text: string; redactions: number } | undefined {
    const start = line.trimStart();
    if (!start.startsWith('{')) return undefined;
    let canonical: string;
    try {
      canonical = JSON.stringify(JSON.parse(start));
    } catch (err) {
      // Not JSON after all (the parser will say so too); nothing was hidden by JSON escapes then.
      if (err instanceof SyntaxError) return undefined;
      // Too deep to re-serialise (a stack overflow): the escapes may still spell a key. Decode them
      // as text instead (an escaped backslash may decode too much: that can only mask more).
      if (!(err instanceof RangeError)) throw err;
      canonical = line.replace(/\\u([0-9a-fA-F]{4})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    }
    if (canonical === line) return undefined;
    const r = this.redactor.redact(neutralizeText(canonical).text);
    // Nothing hidden by the escapes: keep the line as written (evidence in its own spelling).
    if (r.redactions === 0) return undefined;
    return { text: r.text, redactions: r.redactions };
  }

  /**
   * The journal hands over program and message separately (no syslog header to
   * parse), so auth messages are mapped from those: a failed sshd login from the
   * journal becomes the same event, and fires the same rules, as one from auth.log.
   */
  private parseFromSource(raw: RawRecord, line: string): ParseResult | null {
    if (raw.source.cursor === undefined || (this.opts.parser !== 'auto' && this.opts.parser !== 'auth')) return null;
    const program = raw.fields?.['process.name'];
    if (typeof program !== 'string') return null;
    const fields = parseAuthMessage(program, line);
    return fields === null ? null : { parser: 'auth', message: line, fields };
  }

  private sanitizeFields(fields: Readonly<EcsFields>): EcsFields {
    const out: EcsFields = {};
    for (const key in fields) {
      const v = fields[key];
      if (typeof v === 'string') out[key] = this.sanitizeValue(v);
      else if (Array.isArray(v)) out[key] = v.map((x) => (typeof x === 'string' ? this.sanitizeValue(x) : x)) as string[] | number[];
      else if (v !== undefined) out[key] = v;
    }
    return out;
  }
}

function hostFacts(): { name: string; ips: string[] } {
  const ips: string[] = [];
  try {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (!a.internal) ips.push(a.address);
    }
  } catch (err) {
    // Under a systemd unit without AF_NETLINK this throws; host.ip is enrichment, not evidence.
    process.emitWarning(`host.ip enrichment unavailable: ${(err as Error).message}`);
  }
  return { name: hostname(), ips };
}

export function sanitizeConfigText(s: string): string {
  return neutralizeText(s).text;
}

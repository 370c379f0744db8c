/**
 * The one event type that travels from source to encoder, and the records and
 * parse results it is built from. Fields are kept flat, with dotted ECS names
 * ("source.ip", "event.category"), because rules, CEF mapping and schema
 * validation all address fields by those names; only the ECS JSON encoder
 * nests them.
 */

/** Where a record came from: enough to resume reading and to derive event.id. */
export interface SourceRef {
  /** inputs[].id from the config ("stdin" for convert). */
  readonly input: string;
  /** Stable identity of the stream: a file fingerprint, a journal id, "stdin". */
  readonly identity: string;
  /** Path the record was read from (log.file.path); absent for the journal. */
  readonly path?: string;
  /** Byte offset of the record's first byte in the file (log.offset). */
  readonly offset?: number;
  /** Byte offset just past the record, its LF included: what a checkpoint commits. */
  readonly end?: number;
  /** Journal cursor of the record (journald inputs). */
  readonly cursor?: string;
}

/** One record as a source hands it on: the bytes of one line (no LF), or of a multiline group. */
export interface RawRecord {
  readonly bytes: Buffer;
  readonly source: SourceRef;
  /** True when the source joined several physical lines with LF (the only line breaks allowed through). */
  readonly multiline?: boolean;
  /** True when the source cut the record at processing.max_line_bytes or multiline.max_bytes. */
  readonly truncated?: boolean;
  /** Extra fields from the source itself (journald: process.pid, host.name, …), already ECS-named. */
  readonly fields?: Readonly<EcsFields>;
}

/** A value an ECS field can hold after flattening. */
export type FieldValue = string | number | boolean | string[] | number[];

/** Flat ECS fields by dotted name. Every string in here has been neutralized and redacted. */
export type EcsFields = { [field: string]: FieldValue | undefined };

/** Context a parser may need; passed in so tests can fix the clock and the zone. */
export interface ParseContext {
  /** "Now" for year inference of year-less timestamps. */
  readonly now: Date;
  /** IANA zone that year-less, zone-less timestamps are read in (host zone by default). */
  readonly timeZone: string;
  /** Year hint for rotated archives (from the file's mtime), when known. */
  readonly yearHint?: number;
}

/** What a parser makes of one line. */
export interface ParseResult {
  /** Name of the parser that understood the line ("syslog", "auth", …). */
  readonly parser: string;
  /** When the record says it happened, if it says so. */
  readonly timestamp?: Date;
  /** The zone the timestamp was interpreted in, when the line had none (event.timezone). */
  readonly timezone?: string;
  /** The record's message part (becomes `message`). */
  readonly message?: string;
  /** Syslog severity 0..7 when the record carries or implies one. */
  readonly severity?: number;
  /** Parsed ECS fields, flat and dotted (event.category is string[]). */
  readonly fields: EcsFields;
  /** Tags such as "timestamp_inferred". */
  readonly tags?: readonly string[];
}

/** A parser: a pure function of the (already neutralized, redacted) line. null means "not mine". */
export type Parser = (line: string, ctx: ParseContext) => ParseResult | null;

/** The event that travels to the encoders. */
export interface LogEvent {
  /** Flat ECS fields, including @timestamp, event.*, tags, message. */
  readonly fields: EcsFields;
  /** Where it came from. */
  readonly source: SourceRef;
  /** Syslog severity 0..7 used for the PRI and the CEF severity. */
  readonly severity: number;
  /** Stable id of the event class (CEF Device Event Class ID), e.g. "auth:ssh_login_failure". */
  readonly classId: string;
  /** Short human name of the event class (CEF Name). */
  readonly name: string;
}

/**
 * Multiline joining: a line matching `start` opens a group, other lines are
 * appended to the open group (a non-matching line with no open group opens
 * one). A group is emitted when the next start line arrives, or when it
 * reaches maxLines, or when no line joined it for timeoutMs (the source calls
 * flushIfDue). Bytes beyond maxBytes are dropped from the group and counted;
 * the record is flagged truncated.
 *
 * Invariant the commit protocol relies on: records leave in file order, and a
 * pending group is only ever after the last emitted record's end, so the
 * committed offset never passes the start of a pending group: after a crash
 * the whole group is read again.
 */
import type { Counters } from '../monitor/counters.js';
import type { LineSink } from './reader.js';
import { cutLength } from '../sanitize/neutralize.js';

export interface MultilineOptions {
  readonly start: RegExp;
  readonly maxLines: number;
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

export interface RecordSink {
  record(bytes: Buffer, offset: number, end: number, multiline: boolean, truncated: boolean): void;
}

const LF_BUF = Buffer.from('\n');

export class MultilineJoiner implements LineSink {
  private parts: Buffer[] = [];
  private bytes = 0;
  private lines = 0;
  private groupStart = -1;
  private groupEnd = 0;
  private truncated = false;
  /** Cut at maxBytes: a later short line must not follow a cut one as if nothing was missing between them. */
  private full = false;
  private lastLineAt = 0;
  /** Clock time of the line being pushed; the source sets it before splitting. */
  now = 0;

  constructor(
    private readonly opts: MultilineOptions,
    private sink: RecordSink,
    private readonly counters: Counters,
  ) {}

  setSink(sink: RecordSink): void {
    this.sink = sink;
  }

  get pendingStart(): number | undefined {
    return this.groupStart < 0 ? undefined : this.groupStart;
  }

  line(bytes: Buffer, offset: number, end: number, truncated: boolean): void {
    const isStart = this.opts.start.test(bytes.toString('utf8'));
    if (this.groupStart >= 0 && (isStart || this.lines >= this.opts.maxLines)) this.flush();
    if (this.groupStart < 0) {
      this.groupStart = offset;
      this.truncated = false;
    }
    const sep = this.lines > 0 ? 1 : 0;
    const room = this.full ? -1 : this.opts.maxBytes - this.bytes - sep;
    if (room >= bytes.length) {
      if (sep) this.parts.push(LF_BUF);
      this.parts.push(bytes);
      this.bytes += sep + bytes.length;
    } else {
      // Cut as the reader cuts a long line: never inside a character, never parting a joiner from its emoji.
      const cut = room > 0 ? cutLength(bytes, room) : 0;
      if (cut > 0) {
        if (sep) this.parts.push(LF_BUF);
        this.parts.push(bytes.subarray(0, cut));
        this.bytes += sep + cut;
      }
      this.full = true;
      this.counters.add('source_bytes_skipped', bytes.length - cut);
      this.truncated = true;
    }
    if (truncated) this.truncated = true;
    this.lines++;
    this.groupEnd = end;
    this.lastLineAt = this.now;
  }

  /** Emits the open group when it has waited timeoutMs without a new line. */
  flushIfDue(now: number): void {
    if (this.groupStart >= 0 && now - this.lastLineAt >= this.opts.timeoutMs) this.flush();
  }

  flush(): void {
    if (this.groupStart < 0) return;
    const bytes = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.bytes);
    const multiline = this.lines > 1;
    if (this.truncated) this.counters.add('source_groups_truncated');
    const start = this.groupStart;
    const truncated = this.truncated;
    this.parts = [];
    this.bytes = 0;
    this.lines = 0;
    this.groupStart = -1;
    this.truncated = false;
    this.full = false;
    this.sink.record(bytes, start, this.groupEnd, multiline, truncated);
  }
}

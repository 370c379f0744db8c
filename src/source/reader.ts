/**
 * Line splitting for the reader: chunks read by byte offset from a held file
 * descriptor go in, lines with their exact offsets come out.
 *
 * Invariants:
 *  - every line carries `offset` (its first byte) and `end` (the byte after
 *    its LF); the LF and one trailing CR are not part of the bytes;
 *  - a line longer than maxLineBytes is cut (truncated: true); the rest of the
 *    physical line is skipped and counted (source_bytes_skipped), never
 *    buffered: memory per file is bounded by maxLineBytes (+ CUT_LOOKAHEAD);
 *  - the cut (cutLength, src/sanitize/neutralize.ts) never splits a UTF-8
 *    character and never leaves a ZWJ or selector parted from its emoji, so
 *    a benign line is never tagged log_injection_neutralized for its cut;
 *    it may fall up to a few bytes before maxLineBytes, and
 *    source_bytes_skipped counts every byte of the line not in the record;
 *  - a last line without LF stays pending until flushPartial(), which the
 *    source calls after partial_line_timeout: it is emitted with `end` at the
 *    read position, and if the rest of that line arrives later it becomes a
 *    separate record (documented trade-off: a line is never held forever).
 * Lines inside one chunk are sub-arrays of that chunk (no copy); the caller
 * allocates a fresh chunk per read. A carried partial line is copied so that
 * it does not pin a whole chunk.
 */
import type { Counters } from '../monitor/counters.js';
import { CUT_LOOKAHEAD, cutLength } from '../sanitize/neutralize.js';

export interface LineSink {
  line(bytes: Buffer, offset: number, end: number, truncated: boolean): void;
}

const LF = 10;
const CR = 13;

export class LineSplitter {
  private carry: Buffer[] = [];
  private carryLen = 0;
  private carryStart = -1;
  private skipping = false;
  /**
   * Skipping, the last byte skipped was a CR and nothing has followed it yet: it is not counted
   * until we know whether it ends the line (an LF or the flush follows: not content, as in a line
   * read whole) or is content (any other byte follows). Counted at once, a CR that a chunk
   * boundary parted from its LF made source_bytes_skipped depend on how the line was read.
   */
  private heldCR = false;
  /** Clock time the pending partial line started waiting. */
  partialSince = 0;

  constructor(
    private readonly maxLineBytes: number,
    private sink: LineSink,
    private readonly counters: Counters,
  ) {}

  /** Re-points the output (a stream handed over to a copytruncate copy keeps its state). */
  setSink(sink: LineSink): void {
    this.sink = sink;
  }

  /** Offset of the first byte of a pending partial line, if any. */
  get pendingStart(): number | undefined {
    return this.carryStart < 0 ? undefined : this.carryStart;
  }

  /** Splits `chunk`, whose first byte is at file offset `offset`. Returns the number of complete lines. */
  push(chunk: Buffer, offset: number, now: number): number {
    const max = this.maxLineBytes;
    let pos = 0;
    let lines = 0;
    const n = chunk.length;
    while (pos < n) {
      const lf = chunk.indexOf(LF, pos);
      if (lf === -1) {
        this.addCarry(chunk, pos, n, offset + pos, now);
        break;
      }
      lines++;
      if (this.carryStart < 0) {
        const contentEnd = lf > pos && chunk[lf - 1] === CR ? lf - 1 : lf;
        const len = contentEnd - pos;
        if (len > max) {
          const cut = cutLength(chunk.subarray(pos, contentEnd), max);
          this.counters.add('source_bytes_skipped', len - cut);
          this.counters.add('source_lines_truncated');
          this.sink.line(chunk.subarray(pos, pos + cut), offset + pos, offset + lf + 1, true);
        } else {
          this.sink.line(chunk.subarray(pos, contentEnd), offset + pos, offset + lf + 1, false);
        }
      } else {
        this.addCarry(chunk, pos, lf, offset + pos, now);
        this.emitCarry(offset + lf + 1);
      }
      pos = lf + 1;
    }
    return lines;
  }

  /** Emits a pending partial line as a record ending at `end` (the read position). */
  flushPartial(end: number): void {
    if (this.carryStart < 0) return;
    this.counters.add('source_partial_lines_flushed');
    this.emitCarry(end);
  }

  private addCarry(chunk: Buffer, from: number, to: number, startOffset: number, now: number): void {
    if (this.carryStart < 0) {
      this.carryStart = startOffset;
      this.partialSince = now;
    }
    if (to <= from) return;
    if (this.skipping) {
      this.skip(chunk, from, to);
      return;
    }
    const room = this.maxLineBytes - this.carryLen;
    // CUT_LOOKAHEAD bytes past the limit: what the cut reads to judge an emoji it might part
    // (so that it cuts as on the whole line), and room for a CR before the LF, not content.
    const take = Math.min(to - from, room + CUT_LOOKAHEAD);
    this.carry.push(Buffer.from(chunk.subarray(from, from + take)));
    this.carryLen += take;
    if (to - from > take) {
      this.skipping = true;
      this.skip(chunk, from + take, to);
    }
  }

  /** Counts chunk[from, to) as skipped, holding back a trailing CR (heldCR); never holds an LF. */
  private skip(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    const cr = chunk[to - 1] === CR;
    // A CR held from before is followed by chunk[from], which is no LF (addCarry never gets one): content.
    this.counters.add('source_bytes_skipped', to - from - (cr ? 1 : 0) + (this.heldCR ? 1 : 0));
    this.heldCR = cr;
  }

  private emitCarry(end: number): void {
    let bytes = this.carry.length === 1 ? (this.carry[0] as Buffer) : Buffer.concat(this.carry, this.carryLen);
    // A CR ends the line only when the carry holds all of it; else it is a byte past the cut.
    if (!this.skipping && bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    let truncated = this.skipping;
    if (bytes.length > this.maxLineBytes) {
      const cut = cutLength(bytes, this.maxLineBytes);
      this.counters.add('source_bytes_skipped', bytes.length - cut);
      bytes = bytes.subarray(0, cut);
      truncated = true;
    }
    if (truncated) this.counters.add('source_lines_truncated');
    const start = this.carryStart;
    this.carry = [];
    this.carryLen = 0;
    this.carryStart = -1;
    this.skipping = false;
    // The line ends right after a held CR (its LF, or the flush, which also drops a trailing CR
    // above): the CR was the line's end, not a skipped byte of it.
    this.heldCR = false;
    this.sink.line(bytes, start, end, truncated);
  }
}

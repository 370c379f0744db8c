/**
 * Splits a byte stream (a file or stdin for `logward convert`) into records
 * with exact byte offsets. The daemon's file reader does the same over a held
 * descriptor; this one works on any Readable because stdin may be a pipe.
 *
 * A line longer than maxLineBytes is cut there and the rest of that physical
 * line is skipped (and counted by the caller through `truncated`): memory stays
 * bounded whatever the input, and the record is still shipped.
 */
import type { Readable } from 'node:stream';

import type { RawRecord, SourceRef } from '../event/types.js';

export interface LineSplitOptions {
  input: string;
  identity: string;
  path?: string;
  maxLineBytes: number;
}

export async function* splitLines(stream: Readable, opts: LineSplitOptions): AsyncGenerator<RawRecord> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineStart = 0; // offset of the first byte of the current line
  let position = 0; // offset of the first byte of the current chunk
  let skipping = false; // inside the unkept rest of an over-long line
  let cut = false;

  const make = (bytes: Buffer, end: number, truncated: boolean): RawRecord => {
    const source: SourceRef = {
      input: opts.input,
      identity: opts.identity,
      offset: lineStart,
      end,
      ...(opts.path !== undefined ? { path: opts.path } : {}),
    };
    let b = bytes;
    if (b.length > 0 && b[b.length - 1] === 0x0d) b = b.subarray(0, b.length - 1); // CRLF tolerated
    return { bytes: b, source, ...(truncated ? { truncated: true } : {}) };
  };

  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let from = 0;
    while (from < buf.length) {
      const nl = buf.indexOf(0x0a, from);
      const stop = nl === -1 ? buf.length : nl;
      if (!skipping) {
        const room = opts.maxLineBytes - pendingBytes;
        const take = Math.min(room, stop - from);
        if (take > 0) {
          pending.push(buf.subarray(from, from + take));
          pendingBytes += take;
        }
        if (stop - from > take) {
          skipping = true;
          cut = true;
        }
      }
      if (nl === -1) break;
      const end = position + nl + 1;
      const line = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      yield make(line, end, cut);
      pending = [];
      pendingBytes = 0;
      skipping = false;
      cut = false;
      lineStart = end;
      from = nl + 1;
    }
    position += buf.length;
  }
  if (pendingBytes > 0 || cut) {
    yield make(Buffer.concat(pending, pendingBytes), position, cut);
  }
}

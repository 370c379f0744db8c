/**
 * Splits a byte stream (a file or stdin for `logward convert`) into records
 * with exact byte offsets, with the file source's own LineSplitter: LF ends a
 * line (CRLF tolerated), a line over maxLineBytes is cut there and flagged, and
 * a last line without LF is flushed at the end of the input. The daemon reads
 * files through a held descriptor instead; stdin may be a pipe, hence a stream.
 */
import type { Readable } from 'node:stream';

import type { RawRecord, SourceRef } from '../event/types.js';
import { Counters } from '../monitor/counters.js';
import { LineSplitter } from '../source/reader.js';

export interface LineSplitOptions {
  input: string;
  identity: string;
  path?: string;
  maxLineBytes: number;
  counters?: Counters;
}

export async function* splitLines(stream: Readable, opts: LineSplitOptions): AsyncGenerator<RawRecord> {
  let ready: RawRecord[] = [];
  const splitter = new LineSplitter(
    opts.maxLineBytes,
    {
      line(bytes: Buffer, offset: number, end: number, truncated: boolean): void {
        const source: SourceRef = { input: opts.input, identity: opts.identity, offset, end, ...(opts.path !== undefined ? { path: opts.path } : {}) };
        ready.push({ bytes, source, ...(truncated ? { truncated: true } : {}) });
      },
    },
    opts.counters ?? new Counters(),
  );
  let position = 0;
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    splitter.push(buf, position, Date.now());
    position += buf.length;
    if (ready.length > 0) {
      const out = ready;
      ready = [];
      yield* out;
    }
  }
  splitter.flushPartial(position);
  yield* ready;
}

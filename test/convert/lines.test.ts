import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';

import fc from 'fast-check';

import { splitLines } from '../../src/convert/lines.js';
import type { RawRecord } from '../../src/event/types.js';

async function collect(chunks: Buffer[], maxLineBytes = 1024): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  for await (const r of splitLines(Readable.from(chunks), { input: 't', identity: 'id', maxLineBytes })) out.push(r);
  return out;
}

test('every record knows the exact byte offset of its first byte and of the byte after its LF', async () => {
  const recs = await collect([Buffer.from('ab\ncdé\n\nx')]);
  assert.deepEqual(
    recs.map((r) => [r.bytes.toString(), r.source.offset, r.source.end]),
    [
      ['ab', 0, 3],
      ['cdé', 3, 8],
      ['', 8, 9],
      ['x', 9, 10],
    ],
  );
});

test('CRLF line ends are tolerated and the CR is not part of the record', async () => {
  const recs = await collect([Buffer.from('one\r\ntwo\r\n')]);
  assert.deepEqual(recs.map((r) => r.bytes.toString()), ['one', 'two']);
  assert.equal(recs[1]!.source.offset, 5);
});

test('a CR inside a line is kept for the neutralizer, not treated as a line end', async () => {
  const recs = await collect([Buffer.from('forged\rsecond\n')]);
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!.bytes.toString(), 'forged\rsecond');
});

test('an over-long line is cut at max bytes, flagged truncated, and the next line is intact', async () => {
  const long = 'x'.repeat(5000);
  const recs = await collect([Buffer.from(`${long}\nnext\n`)], 100);
  assert.equal(recs.length, 2);
  assert.equal(recs[0]!.bytes.length, 100);
  assert.equal(recs[0]!.truncated, true);
  assert.equal(recs[0]!.source.end, 5001);
  assert.equal(recs[1]!.bytes.toString(), 'next');
  assert.equal(recs[1]!.truncated, undefined);
});

test('how the input is chunked never changes the records (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.stringMatching(/^[a-z\r\né]{0,30}$/), { maxLength: 10 }),
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
      async (parts, sizes) => {
        const data = Buffer.from(parts.join('\n'));
        const whole = await collect([data], 16);
        const chunks: Buffer[] = [];
        for (let i = 0, k = 0; i < data.length; k++) {
          const n = sizes[k % sizes.length]!;
          chunks.push(data.subarray(i, i + n));
          i += n;
        }
        const pieces = await collect(chunks, 16);
        assert.deepEqual(
          pieces.map((r) => [r.bytes.toString('hex'), r.source.offset, r.source.end, r.truncated]),
          whole.map((r) => [r.bytes.toString('hex'), r.source.offset, r.source.end, r.truncated]),
        );
      },
    ),
  );
});

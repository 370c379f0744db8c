/**
 * `logward convert` end to end on lines longer than max_line_bytes: a benign
 * line cut inside an emoji sequence or a multi-byte character is tagged
 * truncated, never log_injection_neutralized, and ships no {0xNN} or {U+200D}
 * of the cut's making. A line that does carry an invisible character is still
 * tagged, cut or not.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';

import fc from 'fast-check';

import { splitLines } from '../../src/convert/lines.js';
import type { RawRecord } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';
import { RecordProcessor } from '../../src/processor.js';
import { neutralizeBytes } from '../../src/sanitize/neutralize.js';

async function collect(data: Buffer, maxLineBytes: number, counters = new Counters()): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  for await (const r of splitLines(Readable.from([data]), { input: 'stdin', identity: 'stdin', maxLineBytes, counters })) out.push(r);
  return out;
}

function processor(maxLineBytes: number): RecordProcessor {
  return new RecordProcessor({
    agentId: 'web-01',
    parser: 'plain',
    format: 'ecs',
    cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: [], custom: [] },
    maxLineBytes,
    counters: new Counters(),
    timeZone: 'UTC',
    host: { name: 'web-01', ips: [] },
    now: () => new Date('2026-11-22T12:00:00Z'),
  });
}

test('a chat line cut inside "👩‍💻" is tagged truncated only, and ships the woman without her joiner', async () => {
  const max = 20;
  // 13 + 4 (woman) + 3 (ZWJ) = 20: the cut falls right after the joiner.
  const line = 'deploy by me \u{1F469}\u200D\u{1F4BB} at 10:02';
  const counters = new Counters();
  const recs = await collect(Buffer.from(`${line}\nnext\n`), max, counters);
  const p = processor(max);
  const doc = JSON.parse(p.process(recs[0]!).payload) as { event: { original: string }; tags: string[] };
  assert.equal(doc.event.original, 'deploy by me \u{1F469}');
  assert.deepEqual(doc.tags, ['truncated']);
  assert.equal(counters.get('source_bytes_skipped'), Buffer.byteLength(line) - 17);
  assert.equal(recs[1]!.bytes.toString(), 'next');
});

test('a line cut inside "é" or "€" ships no {0xNN} and is not tagged as an injection', async () => {
  for (const [line, max, want] of [
    ['caf\u00e9 au lait', 4, 'caf'],
    ['price 10\u20ac', 9, 'price 10'],
    ['price 10\u20ac', 10, 'price 10'],
  ] as const) {
    const recs = await collect(Buffer.from(`${line}\n`), max);
    const doc = JSON.parse(processor(max).process(recs[0]!).payload) as { event: { original: string }; tags: string[] };
    assert.equal(doc.event.original, want, line);
    assert.deepEqual(doc.tags, ['truncated'], line);
  }
});

test('an invisible character before the cut is still shown and tagged', async () => {
  const recs = await collect(Buffer.from('ro\u200Dot and more text\n'), 5);
  const doc = JSON.parse(processor(5).process(recs[0]!).payload) as { event: { original: string }; tags: string[] };
  assert.equal(doc.event.original, 'ro{U+200D}');
  assert.deepEqual(doc.tags.sort(), ['log_injection_neutralized', 'truncated']);
});

test('property: a cut never makes a line look neutralized that was not, and never grows a token', async () => {
  const piece = fc.constantFrom('a', ' ', '1', '\u00e9', '\u20ac', '\u2764', '\uFE0F', '\u20E3', '\u200D', '\u{1F469}', '\u{1F4BB}', '\u{1F3FD}', '\u{1F3F3}', '\u{1F308}');
  await fc.assert(
    fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 16 }), fc.integer({ min: 1, max: 30 }), async (pieces, max) => {
      const line = Buffer.from(pieces.join(''));
      const recs = await collect(Buffer.concat([line, Buffer.from('\n')]), max);
      const cut = recs[0]!.bytes;
      assert.ok(cut.length <= max && line.subarray(0, cut.length).equals(cut), 'a prefix within the limit');
      assert.ok(cut.length >= Math.min(line.length, max) - 3 - 6, 'at most a split character and two joiners are dropped');
      if (neutralizeBytes(cut).changed) assert.ok(neutralizeBytes(line).changed, `${JSON.stringify(pieces.join(''))} at ${max}`);
      assert.ok(!neutralizeBytes(cut).text.includes('{0x'));
    }),
    { numRuns: 3000 },
  );
});

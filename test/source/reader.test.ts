import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Counters } from '../../src/monitor/counters.js';
import { LineSplitter } from '../../src/source/reader.js';
import { MultilineJoiner } from '../../src/source/multiline.js';

type Line = [string, number, number, boolean];

function splitter(max: number) {
  const out: Line[] = [];
  const counters = new Counters();
  const s = new LineSplitter(max, { line: (b, o, e, t) => out.push([b.toString(), o, e, t]) }, counters);
  return { s, out, counters };
}

test('a line split across chunks keeps its first offset and its end after the LF', () => {
  const { s, out } = splitter(100);
  s.push(Buffer.from('ab'), 0, 0);
  s.push(Buffer.from('c\r'), 2, 0);
  s.push(Buffer.from('\nde\n'), 4, 0);
  assert.deepEqual(out, [['abc', 0, 5, false], ['de', 5, 8, false]]);
});

test('lines longer than max_line_bytes are cut, flagged, and the rest skipped and counted', () => {
  const { s, out, counters } = splitter(4);
  s.push(Buffer.from('abcdefgh\nxy'), 0, 0);
  s.push(Buffer.from('zzzzzzz'), 11, 0);
  s.push(Buffer.from('zz\nok\n'), 18, 0);
  assert.deepEqual(out, [['abcd', 0, 9, true], ['xyzz', 9, 21, true], ['ok', 21, 24, false]]);
  assert.equal(counters.get('source_bytes_skipped'), 4 + 7);
  assert.equal(counters.get('source_lines_truncated'), 2);
});

test('a partial line is held until flushed, then emitted ending at the read position', () => {
  const { s, out } = splitter(100);
  s.push(Buffer.from('done\npart'), 0, 0);
  assert.equal(s.pendingStart, 5);
  s.flushPartial(9);
  assert.deepEqual(out, [['done', 0, 5, false], ['part', 5, 9, false]]);
  assert.equal(s.pendingStart, undefined);
});

test('multiline groups join continuation lines and never commit past a pending group', () => {
  const recs: [string, number, number, boolean, boolean][] = [];
  const j = new MultilineJoiner(
    { start: /^\d{4}-/, maxLines: 3, maxBytes: 1000, timeoutMs: 100 },
    { record: (b, o, e, m, t) => recs.push([b.toString(), o, e, m, t]) },
    new Counters(),
  );
  const s = new LineSplitter(1000, j, new Counters());
  s.push(Buffer.from('2024-01 a\n  at x\n  at y\n2024-01 b\n'), 0, 0);
  assert.deepEqual(recs, [['2024-01 a\n  at x\n  at y', 0, 24, true, false]]);
  assert.equal(j.pendingStart, 24, 'the open group starts after the last emitted end');
  j.now = 50;
  s.push(Buffer.from('c1\nc2\nc3\n'), 34, 50);
  assert.equal(recs.length, 2, 'max_lines reached');
  assert.deepEqual(recs[1], ['2024-01 b\nc1\nc2', 24, 40, true, false]);
  j.flushIfDue(100);
  assert.equal(recs.length, 2);
  j.flushIfDue(200);
  assert.deepEqual(recs[2], ['c3', 40, 43, false, false]);
});

test('multiline max_bytes cuts the group and flags it truncated', () => {
  const recs: [string, boolean][] = [];
  const counters = new Counters();
  const j = new MultilineJoiner(
    { start: /^S/, maxLines: 100, maxBytes: 8, timeoutMs: 100 },
    { record: (b, _o, _e, _m, t) => recs.push([b.toString(), t]) },
    counters,
  );
  const s = new LineSplitter(1000, j, counters);
  s.push(Buffer.from('S1234\nabcdef\nS\n'), 0, 0);
  assert.deepEqual(recs, [['S1234\nab', true]]);
  assert.equal(counters.get('source_bytes_skipped'), 4);
});

// ---- the cut at max_line_bytes never invents characters --------------------------------------
// A cut inside a UTF-8 sequence made {0xNN} tokens of a benign line's last bytes, and a cut inside
// an emoji ZWJ sequence left a raw U+200D (or a keycap's U+FE0F) that the neutralizer then
// tokenized: both tagged a benign line log_injection_neutralized.

/** The records of `text` with its bytes handed over in chunks of `size` (Infinity: one chunk). */
function cutLines(data: Buffer, max: number, size = Infinity) {
  const out: [string, number, number, boolean][] = [];
  const counters = new Counters();
  const s = new LineSplitter(max, { line: (b, o, e, t) => out.push([b.toString('hex'), o, e, t]) }, counters);
  for (let i = 0; i < data.length; i += size === Infinity ? data.length : size) {
    const part = data.subarray(i, size === Infinity ? data.length : i + size);
    s.push(part, i, 0);
  }
  s.flushPartial(data.length);
  return { out, counters };
}

const WOMAN_TECH = '\u{1F469}\u200D\u{1F4BB}'; // F0 9F 91 A9 | E2 80 8D | F0 9F 92 BB

test('a cut inside an emoji ZWJ sequence drops the joiner the cut parted, in one chunk, in many, and when flushed', () => {
  // 'aaa' (3) + woman (4) + ZWJ (3) + laptop (4): at 10 the cut falls right after the ZWJ,
  // at 9 inside it, at 12 inside the laptop (which backs off to after the ZWJ).
  for (const max of [9, 10, 11, 12, 13]) {
    for (const [suffix, size] of [['\ntail\n', Infinity], ['\ntail\n', 3], ['', Infinity], ['', 1]] as const) {
      const data = Buffer.from(`aaa${WOMAN_TECH}bb${suffix}`);
      const line = Buffer.from(`aaa${WOMAN_TECH}bb`);
      const { out, counters } = cutLines(data, max, size);
      assert.equal(Buffer.from(out[0]![0], 'hex').toString(), 'aaa\u{1F469}', `max ${max}, chunks of ${size}`);
      assert.equal(out[0]![3], true);
      assert.equal(out[0]![2], line.length + (suffix === '' ? 0 : 1), 'end is still past the real LF');
      assert.equal(counters.get('source_bytes_skipped'), line.length - 7, 'every byte of the line not shipped is counted');
      assert.equal(counters.get('source_lines_truncated'), 1);
    }
  }
});

test('a cut never splits a UTF-8 sequence, and keeps what an uncut line would keep', () => {
  const cases: [string, number, string][] = [
    ['abcdefghi\u00e9z', 10, 'abcdefghi'], // inside é
    ['abcdefgh\u20ac', 10, 'abcdefgh'], // inside €
    ['ab1\uFE0F\u20E3 rest', 6, 'ab1'], // a keycap cut before U+20E3 loses its selector too
    ['ab1\uFE0F\u20E3 rest', 5, 'ab1'], // inside the selector
    ['\u{1F3F3}\uFE0F\u200D\u{1F308} flag', 10, '\u{1F3F3}\uFE0F'], // the flag keeps its own selector
    ['I \u2764\uFE0F it', 8, 'I \u2764\uFE0F'], // cut after a kept selector: nothing dangles
    ['\u{1F469}\u{1F3FD}\u200D\u{1F4BB}', 11, '\u{1F469}\u{1F3FD}'], // after a skin tone
  ];
  for (const [text, max, want] of cases) {
    for (const size of [Infinity, 2]) {
      const { out, counters } = cutLines(Buffer.from(`${text}\n`), max, size);
      assert.equal(Buffer.from(out[0]![0], 'hex').toString(), want, `${JSON.stringify(text)} at ${max}`);
      assert.equal(counters.get('source_bytes_skipped'), Buffer.byteLength(text) - Buffer.byteLength(want));
    }
  }
});

test('a joiner or selector that was no emoji form in the whole line stays, for the neutralizer to show and tag', () => {
  // "ro\u200Dot" is an invisible character between letters, cut or not: a true positive.
  const { out } = cutLines(Buffer.from('abcdefg\u200Dxyz\n'), 10);
  assert.equal(Buffer.from(out[0]![0], 'hex').toString(), 'abcdefg\u200D');
  const sel = cutLines(Buffer.from('abcdefg\uFE0Fxyz\n'), 10);
  assert.equal(Buffer.from(sel.out[0]![0], 'hex').toString(), 'abcdefg\uFE0F');
});

test('bytes that are no UTF-8 are cut where they were: each still reaches the neutralizer as evidence', () => {
  // Stray continuation bytes: no sequence to keep whole, nothing to back off to.
  const stray = Buffer.concat([Buffer.from('abcdefgh'), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80]), Buffer.from('\n')]);
  assert.equal(cutLines(stray, 10).out[0]![0], Buffer.concat([Buffer.from('abcdefgh'), Buffer.from([0x80, 0x80])]).toString('hex'));
  // A complete é followed by a stray continuation byte at the cut: the é fits, the stray is the cut.
  const after = Buffer.concat([Buffer.from('abcdefgh\u00e9'), Buffer.from([0x80, 0x41, 0x0a])]);
  assert.equal(Buffer.from(cutLines(after, 10).out[0]![0], 'hex').toString(), 'abcdefgh\u00e9');
  // A line of nothing but continuation bytes is cut at max, not emptied.
  const junk = Buffer.concat([Buffer.alloc(40, 0xbf), Buffer.from('\n')]);
  assert.equal(cutLines(junk, 16).out[0]![0].length, 32);
});

test('property: the cut is the same whether the line came in one chunk or in many (records and skipped bytes)', () => {
  const piece = fc.constantFrom('a', '1', '\u00e9', '\u20ac', '\u2764', '\uFE0F', '\u20E3', '\u200D', '\u{1F469}', '\u{1F4BB}', '\u{1F3F3}', '\u{1F308}', '\n', '\xff', '\x80');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 24 }), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 9 }), (pieces, max, size) => {
      // '\xff' and '\x80' stand for single raw bytes that are no UTF-8.
      const data = Buffer.concat(pieces.map((p) => (p === '\xff' || p === '\x80' ? Buffer.from([p.charCodeAt(0)]) : Buffer.from(p))));
      const whole = cutLines(data, max);
      const chunked = cutLines(data, max, size);
      assert.deepEqual(chunked.out, whole.out);
      assert.equal(chunked.counters.get('source_bytes_skipped'), whole.counters.get('source_bytes_skipped'));
      for (const [hex] of whole.out) assert.ok(hex.length / 2 <= max);
    }),
    { numRuns: 3000 },
  );
});

// ---- a CR a chunk boundary parts from its LF ---------------------------------------------------
// Skipping the rest of an over-long line, a CR that ended one chunk was counted as skipped before
// the next chunk showed it was the line's end (its LF): source_bytes_skipped was one higher than
// for the same line read whole.

/** The records and counters of `data` handed over in chunks of the sizes in `sizes`, cycled. */
function splitInChunks(data: Buffer, max: number, sizes: number[]) {
  const out: [string, number, number, boolean][] = [];
  const counters = new Counters();
  const s = new LineSplitter(max, { line: (b, o, e, t) => out.push([b.toString('hex'), o, e, t]) }, counters);
  for (let i = 0, k = 0; i < data.length; k++) {
    const size = sizes[k % sizes.length] ?? data.length;
    s.push(data.subarray(i, i + size), i, 0);
    i += size;
  }
  s.flushPartial(data.length);
  return { out, skipped: counters.get('source_bytes_skipped'), truncated: counters.get('source_lines_truncated') };
}

test('an over-long line ending in CRLF counts the same skipped bytes in one chunk and in one-byte chunks', () => {
  // rainbow (4) + U+FE0E (3) + NUL + CR LF at max 1: nothing fits, the 8 content bytes are skipped, not the CR.
  const data = Buffer.from('f09f8c88efb88e000d0a', 'hex');
  const whole = splitInChunks(data, 1, [data.length]);
  assert.deepEqual(whole, { out: [['', 0, 10, true]], skipped: 8, truncated: 1 });
  assert.deepEqual(splitInChunks(data, 1, [1]), whole);
  // A CR that is content (no LF after it) is skipped and counted, in any chunking.
  const inner = Buffer.from('abcdefghij\rklmnop\r\rq\n');
  const one = splitInChunks(inner, 2, [inner.length]);
  assert.equal(one.skipped, inner.length - 1 - 2);
  for (const size of [1, 2, 3, 5]) assert.deepEqual(splitInChunks(inner, 2, [size]), one, `chunks of ${size}`);
});

test('property: records, skipped bytes and truncated lines are the same in one chunk and in chunks of any sizes', () => {
  const piece = fc.constantFrom(
    'a',
    '1',
    ' ',
    '\r',
    '\n',
    '\r\n',
    '\r\r\n',
    '\u00e9',
    '\u20ac',
    '\u2764\uFE0F',
    '\u{1F308}\uFE0E',
    '\u{1F469}\u200D\u{1F4BB}',
    '\u{1F3F3}\uFE0F\u200D\u{1F308}',
    '1\uFE0F\u20E3',
    '\u200D',
    '\uFE0F',
    '\0',
    '\xff',
    '\x80',
  );
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 40 }),
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }),
      (pieces, max, sizes) => {
        // '\xff' and '\x80' stand for single raw bytes that are no UTF-8.
        const data = Buffer.concat(pieces.map((p) => (p === '\xff' || p === '\x80' ? Buffer.from([p.charCodeAt(0)]) : Buffer.from(p))));
        assert.deepEqual(splitInChunks(data, max, sizes), splitInChunks(data, max, [data.length || 1]));
      },
    ),
    { numRuns: 5000 },
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
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

/**
 * Every place that cuts a record at a byte limit cuts as the file reader does (cutLength): never
 * inside a UTF-8 character, never parting a ZWJ or selector from its emoji. Before, the journal's
 * MESSAGE cut, multiline max_bytes and the processor's own cut left "👩{U+200D}" or "caf{0xC3}",
 * and a benign line was tagged log_injection_neutralized for its cut alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counters } from '../../src/monitor/counters.js';
import { RecordProcessor } from '../../src/processor.js';
import { journalRecordToRaw } from '../../src/source/journald.js';
import { MultilineJoiner } from '../../src/source/multiline.js';
import { LineSplitter } from '../../src/source/reader.js';

const DEPLOY = 'deploy by me \u{1F469}\u200D\u{1F4BB} ok'; // "👩‍💻": the ZWJ sits at bytes 17..19

function journalObject(message: string): Record<string, unknown> {
  return { __CURSOR: 's=1;i=1', __REALTIME_TIMESTAMP: '1700000000123456', MESSAGE: message };
}

test('journal MESSAGE cut inside an emoji ZWJ sequence drops the dangling joiner', () => {
  const r = journalRecordToRaw(journalObject(DEPLOY), 's', { maxMessageBytes: 20 });
  assert.ok(!('error' in r));
  assert.equal(r.bytes.toString('utf8'), 'deploy by me \u{1F469}');
  assert.equal(r.truncated, true);
});

test('journal MESSAGE cut inside a character backs off to its start', () => {
  const r = journalRecordToRaw(journalObject('café au lait'), 's', { maxMessageBytes: 4 });
  assert.ok(!('error' in r));
  assert.equal(r.bytes.toString('utf8'), 'caf');
});

function joiner(maxBytes: number) {
  const recs: [string, boolean][] = [];
  const counters = new Counters();
  const j = new MultilineJoiner(
    { start: /^S/, maxLines: 100, maxBytes, timeoutMs: 100 },
    { record: (b, _o, _e, _m, t) => recs.push([b.toString('utf8'), t]) },
    counters,
  );
  const s = new LineSplitter(1000, j, counters);
  return { recs, counters, s, j };
}

test('multiline max_bytes never cuts inside a character, and counts what it left out', () => {
  const { recs, counters, s } = joiner(8);
  const text = 'S12\ncafé\nS\n';
  s.push(Buffer.from(text), 0, 0);
  // "S12\ncaf" is 7 bytes; the é (2 bytes) would end at 9.
  assert.deepEqual(recs, [['S12\ncaf', true]]);
  assert.equal(counters.get('source_bytes_skipped'), 2);
});

test('multiline max_bytes never parts a ZWJ from its emoji', () => {
  const { recs, s } = joiner(4 + 20);
  s.push(Buffer.from(`S12\n${DEPLOY}\nS\n`), 0, 0);
  assert.deepEqual(recs, [['S12\ndeploy by me \u{1F469}', true]]);
});

test('after a cut, a later short line does not join the group as if nothing were missing', () => {
  const { recs, counters, s } = joiner(8);
  // Room for 4 bytes of "c😀z": the cut backs off to "c", 3 bytes short of the limit, where "x" would fit.
  s.push(Buffer.from('S12\nc\u{1F600}z\nx\nS\n'), 0, 0);
  assert.deepEqual(recs, [['S12\nc', true]]);
  assert.equal(counters.get('source_bytes_skipped'), 5 + 1);
});

test('the processor cuts an over-long record (from a source that did not) without a false injection tag', () => {
  const counters = new Counters();
  const p = new RecordProcessor({
    agentId: 'a1', parser: 'plain', format: 'ecs', cef: { vendor: 'v', product: 'p' },
    redact: { builtin: [], custom: [] }, maxLineBytes: 20, counters, timeZone: 'UTC',
    host: { name: 'h', ips: [] },
  });
  const r = p.process({ bytes: Buffer.from(DEPLOY), source: { input: 'i', identity: 'x', path: '/var/log/a.log', offset: 0, end: 30 } });
  assert.equal(r.event.fields['event.original'], 'deploy by me \u{1F469}');
  const tags = r.event.fields['tags'] as string[];
  assert.ok(tags.includes('truncated'));
  assert.ok(!tags.includes('log_injection_neutralized'), `tags: ${tags.join(',')}`);
});

test('an event whose only unsafe text is its file name is counted as neutralized', () => {
  const counters = new Counters();
  const p = new RecordProcessor({
    agentId: 'a1', parser: 'plain', format: 'ecs', cef: { vendor: 'v', product: 'p' },
    redact: { builtin: [], custom: [] }, maxLineBytes: 1024, counters, timeZone: 'UTC',
    host: { name: 'h', ips: [] },
  });
  const r = p.process({ bytes: Buffer.from('plain line'), source: { input: 'i', identity: 'x', path: '/var/log/a\u202Egol.txt', offset: 0, end: 11 } });
  assert.equal(r.event.fields['log.file.path'], '/var/log/a{U+202E}gol.txt');
  assert.ok((r.event.fields['tags'] as string[]).includes('log_injection_neutralized'));
  assert.equal(counters.get('events_neutralized'), 1);
});

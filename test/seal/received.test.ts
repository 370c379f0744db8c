import assert from 'node:assert/strict';
import { test } from 'node:test';

import { encodeFrames } from '../../src/sink/framing.js';
import { detectForm, looksUnsealedLogward, parseReceivedLine, parseSealedRecord, RecordSplitter, type StoredRecord } from '../../src/seal/received.js';
import { after, agentRun, KEY_A, SD_ID } from './sealed-stream.js';

/** The pieces of a raw RFC 5424 record as a receiver sees them. */
function pieces(raw: Buffer): { pri: string; ts: string; host: string; app: string; procId: string; msgId: string; sd: string; msg: Buffer } {
  const s = raw.toString('latin1');
  const m = /^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(s);
  assert.ok(m);
  // Our SD elements end with "] " before MSG; the MSG of these records never contains "] {".
  const sdEnd = s.indexOf('] {', m[0].length) + 1;
  return { pri: m[1]!, ts: m[2]!, host: m[3]!, app: m[4]!, procId: m[5]!, msgId: m[6]!, sd: s.slice(m[0].length, sdEnd), msg: raw.subarray(sdEnd + 1) };
}

const cat = (...p: (string | Buffer)[]): Buffer => Buffer.concat(p.map((x) => (typeof x === 'string' ? Buffer.from(x, 'latin1') : x)));

/**
 * Each receiver template as it writes one record (rsyslog 8.2302 output checked
 * against a real rsyslogd; syslog-ng per its documented macros).
 */
function templated(raw: Buffer): Record<string, Buffer> {
  const p = pieces(raw);
  const tag = p.procId === '-' ? p.app : `${p.app}[${p.procId}]`;
  const iso = p.ts.replace(/\.\d+Z$/, '+00:00');
  // syslog-ng re-renders SDATA from its name-value pairs: element order may differ.
  const elements = p.sd.match(/\[[^\]]*(?:\\\][^\]]*)*\]/g) ?? [];
  return {
    'raw (%rawmsg%, logward receive)': raw,
    RSYSLOG_SyslogProtocol23Format: cat(`<${p.pri}>1 ${p.ts} ${p.host} ${p.app} ${p.procId} ${p.msgId} ${p.sd} `, p.msg),
    'rsyslog "%TIMESTAMP:::date-rfc3339% %HOSTNAME% %syslogtag% %STRUCTURED-DATA% %msg%"': cat(`${p.ts} ${p.host} ${tag} ${p.sd} `, p.msg),
    'syslog-ng flags(syslog-protocol)': cat(`<${p.pri}>1 ${iso} ${p.host} ${p.app} ${p.procId} ${p.msgId} ${[...elements].reverse().join('')} `, p.msg),
    'syslog-ng "$ISODATE $HOST $MSGHDR$SDATA $MSG"': cat(`${iso} ${p.host} ${tag}: ${[...elements].reverse().join('')} `, p.msg),
    'CRLF line ending': cat(raw, '\r'),
  };
}

test('a raw RFC 5424 record yields its seal and its MSG as the exact bytes sent', () => {
  const run = agentRun(KEY_A, 3);
  const raw = run.records[2]!;
  const r = parseSealedRecord(raw, SD_ID);
  assert.ok(r.ok, !r.ok ? r.reason : '');
  assert.equal(r.entry.session, run.sealer.session);
  assert.equal(r.entry.seq, 2n);
  assert.match(r.entry.kid, /^[0-9a-f]{8}$/);
  assert.match(r.entry.chain, /^[0-9a-f]{64}$/);
  assert.ok(Buffer.isBuffer(r.entry.msg));
  assert.deepEqual(r.entry.msg, pieces(raw).msg);
  assert.ok((r.entry.msg as Buffer).includes(Buffer.from('naïve ünïcode')), 'non-ASCII bytes kept as sent');
  assert.equal(r.entry.declares, undefined, 'an ordinary event declares nothing');
});

test('every supported receiver template yields the same entry as the raw record', () => {
  const run = agentRun(KEY_A, 2);
  for (const raw of run.records) {
    const want = parseSealedRecord(raw, SD_ID);
    assert.ok(want.ok);
    for (const [name, line] of Object.entries(templated(raw))) {
      const splitter = new RecordSplitter('lines');
      const recs = [...splitter.push(cat(line, '\n')), ...splitter.end()];
      assert.equal(recs.length, 1);
      const got = parseSealedRecord(recs[0]!.bytes, SD_ID);
      assert.ok(got.ok, `${name}: ${!got.ok ? got.reason : ''}`);
      assert.deepEqual(got.entry, want.entry, name);
    }
  }
});

test('templates that drop the structured data leave a foreign line, recognised as an unsealed logward event', () => {
  const raw = agentRun(KEY_A, 1).records[1]!;
  const p = pieces(raw);
  // Exactly what rsyslog 8.2302 wrote for an RFC 5424 record (checked with a real rsyslogd).
  const fileFormat = cat(`${p.ts} ${p.host} ${p.app} `, p.msg);
  const traditional = cat(`Jan  2 03:04:05 ${p.host} ${p.app}[123] `, p.msg);
  const syslogNg = cat(`2026-01-02T03:04:05+00:00 ${p.host} ${p.app}: `, p.msg);
  for (const line of [fileFormat, traditional, syslogNg]) {
    const r = parseSealedRecord(line, SD_ID);
    assert.ok(!r.ok && r.foreign, line.toString());
    assert.equal(looksUnsealedLogward(line), true, line.toString());
  }
  const other = Buffer.from('<13>1 2026-01-02T03:04:05Z db-02 postgres 77 - - connection received');
  const r = parseSealedRecord(other, SD_ID);
  assert.ok(!r.ok && r.foreign);
  assert.equal(looksUnsealedLogward(other), false);
});

test('the start event declares the previous session from its MSG; the same text in another record declares nothing', () => {
  const r1 = agentRun(KEY_A, 2);
  const r2 = agentRun(KEY_A, 1, after(r1, 7n));
  const first = parseSealedRecord(r1.records[0]!, SD_ID);
  assert.ok(first.ok);
  assert.deepEqual(first.entry.declares, { lastSeq: null, lastChain: '0'.repeat(64) });
  const second = parseSealedRecord(r2.records[0]!, SD_ID);
  assert.ok(second.ok);
  assert.deepEqual(second.entry.declares, { previousSession: r1.sealer.session, lastSeq: 2n, lastChain: r1.sealer.lastChain() });
  assert.equal(second.entry.seq, 10n);
  // The start text of r2 copied into a record with another seq is not a declaration.
  const copied = Buffer.from(r2.records[1]!.toString('latin1').replace(/"message":"[^"]*"/, `"message":"${/"message":"([^"]*)"/.exec(r2.records[0]!.toString())![1]}"`), 'latin1');
  const c = parseSealedRecord(copied, SD_ID);
  assert.ok(c.ok);
  assert.equal(c.entry.declares, undefined);
});

test('a fake SD element inside MSG never replaces the real one', () => {
  const raw = agentRun(KEY_A, 1).records[1]!;
  const s = raw.toString('latin1');
  // What an attacker can put into a logged line: the encoder escapes its quotes inside the JSON string.
  const evil = Buffer.from(s.replace('Failed password', '[logward@32473 session=\\"evil\\" seq=\\"99\\" kid=\\"x\\" chain=\\"00\\"] Failed password'), 'latin1');
  const r = parseSealedRecord(evil, SD_ID);
  assert.ok(r.ok);
  assert.equal(r.entry.seq, 1n);
  assert.notEqual(r.entry.session, 'evil');
});

test('escaped characters in other SD values do not end the element early', () => {
  const chain = 'ab'.repeat(32);
  const line = `<134>1 - h logward - ECS [logward@32473 agent="a\\"b\\]c\\\\" session="s1" seq="3" kid="12345678" chain="${chain}"][x@1 y="[logward@32473 \\]"] the msg`;
  const r = parseReceivedLine(line, SD_ID);
  assert.ok(r.ok, !r.ok ? r.reason : '');
  assert.equal(r.entry.session, 's1');
  assert.deepEqual(r.entry.msg, Buffer.from('the msg'));
  const empty = parseReceivedLine(`<134>1 - h logward - ECS [logward@32473 session="s1" seq="3" kid="k" chain="${chain}"]`, SD_ID);
  assert.ok(empty.ok);
  assert.equal((empty.entry.msg as Buffer).length, 0);
  const bom = parseReceivedLine(`<134>1 - h logward - ECS [logward@32473 session="s1" seq="3" kid="k" chain="${chain}"] \ufeffx`, SD_ID);
  assert.ok(bom.ok);
  assert.deepEqual(bom.entry.msg, Buffer.from('x'));
});

test('a record of ours that does not parse is malformed (not foreign), with what could be read of it', () => {
  const chain = 'ab'.repeat(32);
  const cases: [string, RegExp][] = [
    [`<134>1 - h a - - [logward@32473 session="s1" seq="3" kid="k" chain="${chain}] msg`, /unescaped "\]"|unterminated/],
    [`<134>1 - h a - - [logward@32473 session="s1" seq="3" kid="k"] msg`, /chain missing/],
    [`<134>1 - h a - - [logward@32473 session="s1" seq="3x" kid="k" chain="${chain}"] msg`, /seq "3x" is not a number/],
    [`<134>1 - h a - - [logward@32473 session="s1" seq="3" kid="k" chain="${chain.toUpperCase()}"] msg`, /chain is not 64 lowercase hex/],
    [`<134>1 - h a - - [logward@32473 session="s1" seq="3" kid="k" chain="${chain}"]msg`, /expected a space/],
    [`<134>1 - h a - - [logward@32473 session="s1" seq="3" seq="4" kid="k" chain="${chain}"] msg`, /seq given twice/],
    [`<134>1 - h a - - [logward@32473] msg`, /carries no seal/],
  ];
  for (const [line, why] of cases) {
    const r = parseSealedRecord(Buffer.from(line), SD_ID);
    assert.ok(!r.ok && !r.foreign, line);
    assert.match(r.reason, why, line);
  }
  const r = parseSealedRecord(Buffer.from(cases[2]![0]), SD_ID);
  assert.ok(!r.ok && r.session === 's1' && r.seq === '3x');
  const other = parseSealedRecord(Buffer.from(cases[0]![0]), 'other@1');
  assert.ok(!other.ok && other.foreign, 'another SD-ID: not ours at all');
});

test('raw frames are told apart from lines by their first bytes', () => {
  const recs = agentRun(KEY_A, 2).records;
  assert.equal(detectForm(encodeFrames(recs)), 'frames');
  assert.equal(detectForm(Buffer.concat([recs[0]!, Buffer.from('\n')])), 'lines');
  assert.equal(detectForm(Buffer.from('2026-01-02T03:04:05Z web-01 logward [logward@32473 ...')), 'lines');
  assert.equal(detectForm(Buffer.from('Jan  2 03:04:05 web-01 logward x')), 'lines');
  assert.equal(detectForm(Buffer.from('123 hello')), 'lines');
  assert.equal(detectForm(Buffer.alloc(0)), 'lines');
});

function splitAll(splitter: RecordSplitter, data: Buffer, step: number): StoredRecord[] {
  const out: StoredRecord[] = [];
  for (let i = 0; i < data.length; i += step) out.push(...splitter.push(data.subarray(i, i + step)));
  out.push(...splitter.end());
  return out;
}

test('records split across read chunks come out whole, in lines and in frames', () => {
  const recs = agentRun(KEY_A, 5).records;
  const lines = Buffer.concat(recs.flatMap((r) => [r, Buffer.from('\n')]));
  for (const step of [1, 7, 100, lines.length]) {
    const got = splitAll(new RecordSplitter('auto'), lines, step);
    assert.deepEqual(got.map((r) => r.bytes), recs, `lines, chunks of ${step}`);
    assert.deepEqual(got.map((r) => r.at), recs.map((_r, i) => ({ form: 'lines', n: i + 1 })));
    const splitter = new RecordSplitter('auto');
    const frames = splitAll(splitter, encodeFrames(recs), step);
    assert.equal(splitter.detected, 'frames');
    assert.deepEqual(frames.map((r) => r.bytes), recs, `frames, chunks of ${step}`);
    assert.deepEqual(splitter.problems, []);
  }
  const noFinalLf = splitAll(new RecordSplitter('lines'), lines.subarray(0, lines.length - 1), 50);
  assert.deepEqual(noFinalLf.map((r) => r.bytes), recs, 'a last line without LF is still a record');
});

test('a truncated or broken frame stream is reported, never resynchronised', () => {
  const recs = agentRun(KEY_A, 3).records;
  const frames = encodeFrames(recs);
  const cut = new RecordSplitter('frames');
  const got = splitAll(cut, frames.subarray(0, frames.length - 10), 64);
  assert.equal(got.length, 3);
  assert.deepEqual(cut.problems, [{ at: { form: 'frames', n: 4 }, reason: 'the data ends inside this frame (truncated capture)' }]);
  const broken = Buffer.from(frames);
  const second = frameLen(recs[0]!);
  broken[second + 1] = 0x78; // a letter inside the second frame's length
  const b = new RecordSplitter('frames');
  const got2 = splitAll(b, broken, 1000);
  assert.equal(got2.length, 1);
  assert.equal(b.problems.length, 1);
  assert.match(b.problems[0]!.reason, /framing error at stream byte \d+.*nothing after it can be read/);
  assert.deepEqual(b.problems[0]!.at, { form: 'frames', n: 2 });
});

function frameLen(payload: Buffer): number {
  return String(payload.length).length + 1 + payload.length;
}

/**
 * The verifier core and the reader on lost-range declarations: seqs the queue
 * sealed and never wrote, declared by the next record (src/seal/declaration.ts).
 * Streams are built with the real Sealer, encoder and RFC 5424 assembler.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { lossText, readLossText } from '../../src/seal/declaration.js';
import { parseSealedRecord } from '../../src/seal/received.js';
import { Sealer, SequenceError } from '../../src/seal/session.js';
import { verifyStream, type Finding, type SealedEntry, type VerifyReport } from '../../src/seal/verify.js';
import { keyIdOf } from '../../src/seal/chain.js';
import { FRESH, KEY_A, SD_ID, agentRun, after, loseAndDeclare, more, sealLine } from './sealed-stream.js';

const KEYS = new Map([[keyIdOf(KEY_A), KEY_A]]);

/** RFC 5424 parts for a sealer used on its own. */
const parts = (message: string) => ({
  header: '<134>1 2026-01-02T03:04:05.000Z web-01 logward - ECS ',
  sdId: SD_ID,
  sdParams: ' eid="x"',
  otherSd: '',
  msg: JSON.stringify({ message }),
});

function entries(records: readonly Buffer[]): SealedEntry[] {
  return records.map((r) => {
    const p = parseSealedRecord(r, SD_ID);
    assert.ok(p.ok, p.ok ? '' : p.reason);
    return p.entry;
  });
}

const verify = (records: readonly Buffer[]): VerifyReport => verifyStream(entries(records), KEYS);
const show = (r: VerifyReport) => JSON.stringify(r.findings, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
const failures = (r: VerifyReport) => r.findings.filter((f) => !['restart', 'lost', 'replay', 'unanchored'].includes(f.kind));
const of = <K extends Finding['kind']>(r: VerifyReport, kind: K) => r.findings.filter((f): f is Extract<Finding, { kind: K }> => f.kind === kind);

test('a declared lost range is information: the stream verifies and the loss is counted', () => {
  const run = agentRun(KEY_A, 5); // seqs 0..5
  loseAndDeclare(run, 3); // 6..8 lost, 9 declares
  more(run, 4);
  const r = verify(run.records);
  assert.equal(r.ok, true, show(r));
  assert.deepEqual(failures(r), []);
  assert.deepEqual(of(r, 'lost').map((f) => [f.session, f.from, f.to, f.seq, f.cause]), [[run.sealer.session, 6n, 8n, 9n, 'EIO']]);
  assert.equal(r.losses, 1);
  assert.equal(r.lostSeqs, 3n);
});

test('two losses in one session, and a restart after one, all verify', () => {
  const r1 = agentRun(KEY_A, 3);
  loseAndDeclare(r1, 1);
  more(r1, 2);
  loseAndDeclare(r1, 5);
  const r2 = agentRun(KEY_A, 2, after(r1));
  loseAndDeclare(r2, 2);
  const r = verify([...r1.records, ...r2.records]);
  assert.equal(r.ok, true, show(r));
  assert.equal(r.losses, 3);
  assert.equal(r.lostSeqs, 8n);
  assert.equal(r.restarts, 2);
});

test('records deleted right before a declared range are still a gap; the declaration covers only its own range', () => {
  const run = agentRun(KEY_A, 5);
  loseAndDeclare(run, 2); // 6..7 lost, 8 declares
  more(run, 2);
  const recs = [...run.records];
  recs.splice(4, 2); // seqs 4 and 5 deleted at the receiver
  const r = verify(recs);
  assert.equal(r.ok, false);
  assert.deepEqual(of(r, 'gap').map((f) => [f.from, f.to]), [[4n, 5n]]);
  assert.deepEqual(of(r, 'lost').map((f) => [f.from, f.to]), [[6n, 7n]]);
});

test('a gap with no declaration stays a gap, even in a stream that has a declared one', () => {
  const run = agentRun(KEY_A, 4);
  loseAndDeclare(run, 2);
  more(run, 5);
  const recs = [...run.records];
  recs.splice(9, 1); // a record after the declaration
  const r = verify(recs);
  assert.equal(r.ok, false);
  assert.equal(of(r, 'gap').length, 1);
  assert.equal(r.losses, 1);
});

test('a declaration with a wrong chain excuses nothing: the gap stays and the declaring record is altered', () => {
  const run = agentRun(KEY_A, 4);
  loseAndDeclare(run, 3, (d) => ({ ...d, lastChain: 'ab'.repeat(32) }));
  more(run, 2);
  const r = verify(run.records);
  assert.equal(r.ok, false);
  assert.deepEqual(of(r, 'gap').map((f) => [f.from, f.to]), [[5n, 7n]]);
  assert.deepEqual(of(r, 'altered').map((f) => f.seq), [8n]);
  assert.equal(r.losses, 0);
});

test('a declaration edited at the receiver (a wider range) breaks its own MAC', () => {
  const run = agentRun(KEY_A, 4);
  loseAndDeclare(run, 2); // 5..6 lost, 7 declares
  const recs = run.records.map((b) => Buffer.from(b));
  const i = recs.length - 1;
  recs[i] = Buffer.from((recs[i] as Buffer).toString('utf8').replaceAll('declares seq 5..6', 'declares seq 3..6'));
  const r = verify(recs);
  assert.equal(r.ok, false);
  assert.deepEqual(of(r, 'altered').map((f) => f.seq), [7n]);
  assert.deepEqual(of(r, 'gap').map((f) => [f.from, f.to]), [[5n, 6n]]);
});

test('records received inside a declared range contradict it', () => {
  const run = agentRun(KEY_A, 4);
  const gone = loseAndDeclare(run, 3); // 5..7 lost, 8 declares
  const recs = [...run.records];
  recs.splice(5, 0, gone[0] as Buffer, gone[1] as Buffer); // 5 and 6 show up after all
  const r = verify(recs);
  assert.equal(r.ok, false, show(r));
  assert.deepEqual(of(r, 'lost_mismatch').map((f) => [f.seq, f.from, f.to, f.problem]), [[8n, 5n, 7n, 'seq 6, inside it, was received']]);
  assert.equal(r.losses, 0);
});

test('a declared range that does not end right before its declaring record is a mismatch', () => {
  const run = agentRun(KEY_A, 4);
  const s = run.sealer;
  // Sealed with the key, chained correctly, but declaring 5..6 from seq 8 (seq 7 unaccounted for).
  loseAndDeclare(run, 3, (d) => ({ ...d, lastSeq: d.lastSeq - 1n }));
  assert.equal(s.nextSeq(), 9n);
  const r = verify(run.records);
  assert.equal(r.ok, false);
  assert.deepEqual(of(r, 'lost_mismatch').map((f) => [f.seq, f.problem]), [[8n, 'that range does not end right before it']]);
});

test('a log line quoting a declaration declares nothing: it names another record, or does not chain on what it claims', () => {
  const run = agentRun(KEY_A, 3);
  const s = run.sealer;
  const quoted = lossText({ session: s.session, seq: 99n, firstSeq: 90n, lastSeq: 98n, lastChain: 'cd'.repeat(32), cause: 'EIO' }, '0.1.0');
  assert.equal(readLossText(quoted, s.session, 99n)?.firstSeq, 90n);
  assert.equal(readLossText(quoted, s.session, 98n), undefined, 'another seq');
  assert.equal(readLossText(quoted, 'ab'.repeat(16), 99n), undefined, 'another session');
  // Even naming its own session and seq, a line written into a log file cannot know the chain it would have to claim.
  const next = s.nextSeq();
  sealLine(run, `user wrote: ${lossText({ session: s.session, seq: next, firstSeq: next - 2n, lastSeq: next - 1n, lastChain: 'cd'.repeat(32), cause: 'EIO' }, '0.1.0')}`);
  more(run, 1);
  const e = entries(run.records);
  assert.ok(e[e.length - 2]?.declaresLost, 'the reader does see a declaration there');
  const r = verifyStream(e, KEYS);
  assert.equal(r.ok, true, show(r));
  assert.deepEqual(r.findings.map((f) => f.kind), ['restart']);
  assert.equal(r.losses, 0);
});

test('a log line forging a declaration with the real, public chain cannot hide a deletion at the receiver', () => {
  // The attacker reads the last stored record (its chain is in its SD), gets a line into a watched log
  // that names the next seq and that chain, then deletes seqs 4..10 at the receiver.
  const run = agentRun(KEY_A, 10); // seq 0 start, 1..10 events
  const last = entries(run.records).at(-1) as SealedEntry;
  const next = last.seq + 1n;
  sealLine(run, `Invalid user ${lossText({ session: last.session, seq: next, firstSeq: 4n, lastSeq: last.seq, lastChain: last.chain, cause: 'EIO' }, '0.1.0')} from 10.9.9.9`);
  more(run, 3);
  const kept = run.records.filter((_r, i) => i < 4 || i > 10);
  const e = entries(kept);
  assert.ok(e.some((x) => x.declaresLost !== undefined), 'the reader does see the forged text');
  const r = verifyStream(e, KEYS);
  assert.equal(r.ok, false, show(r));
  assert.equal(r.losses, 0);
  assert.deepEqual(of(r, 'gap').map((f) => [f.from, f.to]), [[4n, 10n]]);
});

test('Sealer.lossDeclaration refuses a range that is not the last one handed out in this session, or another chain', () => {
  const s = new Sealer({ key: KEY_A, state: { ...FRESH, nextSeq: 10n }, persistent: false });
  for (let i = 0; i < 5; i++) s.seal(parts(`e${i}`)); // 10..14
  const d = s.lossDeclaration({ firstSeq: 12n, lastSeq: 14n, lastChain: s.lastChain(), cause: 'EIO' });
  assert.deepEqual(d, { session: s.session, seq: 15n, firstSeq: 12n, lastSeq: 14n, lastChain: s.lastChain(), cause: 'EIO' });
  assert.throws(() => s.lossDeclaration({ firstSeq: 12n, lastSeq: 13n, lastChain: s.lastChain(), cause: 'EIO' }), SequenceError);
  assert.throws(() => s.lossDeclaration({ firstSeq: 9n, lastSeq: 14n, lastChain: s.lastChain(), cause: 'EIO' }), SequenceError, 'before the session');
  assert.throws(() => s.lossDeclaration({ firstSeq: 12n, lastSeq: 14n, lastChain: '0'.repeat(64), cause: 'EIO' }), SequenceError);
});

test('a second, edited copy of a lost-range declaration is reported, not passed over as a replay', () => {
  const run = agentRun(KEY_A, 4);
  loseAndDeclare(run, 2); // 5..6 lost, 7 declares
  more(run, 2);
  const recs = [...run.records];
  const decl = recs[5] as Buffer;
  recs.push(Buffer.from(decl.toString('utf8').replace('lost records', 'lost records; rm -rf was here')));
  const e = recs.map((r) => {
    const p = parseSealedRecord(r, SD_ID);
    assert.ok(p.ok);
    return p.entry;
  });
  const r = verifyStream(e, new Map([[keyIdOf(KEY_A), KEY_A]]));
  assert.ok(r.findings.some((f) => f.kind === 'altered'));
  assert.equal(r.ok, false, JSON.stringify(r.findings, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
});

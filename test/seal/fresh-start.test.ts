/**
 * A start event that declares no previous session is the first start of a
 * stream ever. A second one in the same agent's stream means the stream
 * started over (the state directory was lost or reset, or a second sender
 * uses this agent id and key): nothing declares where the stream before it
 * ended, so records deleted at that end cannot be told from an end. It was
 * checked against nothing (a START line like the first one, exit 0); it is
 * now `fresh_start`, a failure unless the operator accepts it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { keyIdOf } from '../../src/seal/chain.js';
import { parseSealedRecord } from '../../src/seal/received.js';
import { verifyStream, type Finding, type SealedEntry, type VerifyContext } from '../../src/seal/verify.js';
import { after, agentRun, KEY_A, SD_ID, type Run } from './sealed-stream.js';

const keys = new Map([[keyIdOf(KEY_A), KEY_A]]);

function entries(records: readonly Buffer[]): SealedEntry[] {
  return records.map((b) => {
    const p = parseSealedRecord(b, SD_ID);
    assert.ok(p.ok, p.ok ? '' : p.reason);
    return p.entry;
  });
}

function check(records: readonly Buffer[], context: VerifyContext = {}): { ok: boolean; findings: Finding[] } {
  return verifyStream(entries(records), keys, context);
}

const failures = (f: readonly Finding[]): string[] => f.map((x) => x.kind).filter((k) => !['restart', 'unanchored', 'accepted_fresh_start'].includes(k));
const session = (r: Run): string => r.sealer.session;

/** One state directory's runs: first start, a declared restart; then the state lost, and a new first start (seqs from 0 again). */
function startedOver(): { r1: Run; r2: Run; r3: Run } {
  const r1 = agentRun(KEY_A, 5);
  const r2 = agentRun(KEY_A, 5, after(r1));
  const r3 = agentRun(KEY_A, 5);
  return { r1, r2, r3 };
}

test('a second first start after the state directory was lost is a failure, naming where and whose seqs it shares', () => {
  const { r1, r2, r3 } = startedOver();
  const r = check([...r1.records, ...r2.records, ...r3.records]);
  assert.equal(r.ok, false);
  assert.deepEqual(failures(r.findings), ['fresh_start']);
  const f = r.findings.find((x) => x.kind === 'fresh_start');
  assert.deepEqual(f, { kind: 'fresh_start', session: session(r3), seq: 0n, index: r1.records.length + r2.records.length, after: session(r1), overlaps: session(r1) });
  // The first start of the stream alone, or followed by its own declared restarts, is no finding.
  assert.equal(check([...r1.records, ...r2.records]).ok, true);
  assert.deepEqual(failures(check(r3.records).findings), []);
});

test('a fresh start at seqs no session used (a second sender, a forger with the key) is reported after the session before it', () => {
  const { r1, r2 } = startedOver();
  const late = agentRun(KEY_A, 3, { lastSeq: -1n, lastChain: '0'.repeat(64), nextSeq: 1000n });
  const r = check([...r1.records, ...r2.records, ...late.records]);
  assert.equal(r.ok, false);
  const f = r.findings.find((x) => x.kind === 'fresh_start');
  assert.deepEqual(f, { kind: 'fresh_start', session: session(late), seq: 1000n, index: r1.records.length + r2.records.length, after: session(r2) });
});

test("records deleted at the end of the run before a fresh start cannot be proven missing: the fresh start is what fails", () => {
  const { r1, r2, r3 } = startedOver();
  // Had the next run declared r2 (its state kept), deleting r2's last two records would be a gap.
  const declared = agentRun(KEY_A, 2, after(r2));
  assert.deepEqual(failures(check([...r1.records, ...r2.records.slice(0, -2), ...declared.records]).findings), ['gap']);
  // After a fresh start nothing declares r2's end: the stream is not intact, and says why.
  const r = check([...r1.records, ...r2.records.slice(0, -2), ...r3.records]);
  assert.equal(r.ok, false);
  assert.deepEqual(failures(r.findings), ['fresh_start']);
});

test('stored with the new stream first, the fresh start reported is still one of the two, once', () => {
  const { r1, r2, r3 } = startedOver();
  const r = check([...r3.records, ...r1.records, ...r2.records]);
  assert.equal(r.ok, false);
  const fresh = r.findings.filter((x) => x.kind === 'fresh_start');
  assert.equal(fresh.length, 1, JSON.stringify(failures(r.findings)));
  assert.ok(fresh[0]?.kind === 'fresh_start' && [session(r1), session(r3)].includes(fresh[0].session));
});

test('at the head of the stream by seq, a fresh start that shares seqs with a run that is not a first start is reported too', () => {
  const { r1, r2 } = startedOver();
  const r3 = agentRun(KEY_A, 8);
  // r1 (the old first start) is in an earlier file: r3 sorts first (seq 0), r2 (seq 6..11) shares its seqs 6..8.
  assert.equal(r1.records.length, 6);
  const r = check([...r2.records, ...r3.records]);
  assert.equal(r.ok, false);
  const f = r.findings.find((x) => x.kind === 'fresh_start');
  assert.ok(f && f.kind === 'fresh_start', JSON.stringify(failures(r.findings)));
  assert.equal(f.session, session(r3));
  assert.equal(f.after, session(r2));
  assert.equal(f.overlaps, session(r2));
  // Seqs restarted, so r2's declaration of r1 is held against r3, the session before it by seq: also a failure
  // (undeclared records), which accepting the fresh start does not excuse. Such a file is checked in two parts,
  // split at the FRESH START line.
  assert.deepEqual(failures(check([...r2.records, ...r3.records], { acceptFreshStarts: true }).findings), ['undeclared_records']);
});

test('the operator can accept fresh starts, all or by session: information, not a failure', () => {
  const { r1, r2, r3 } = startedOver();
  const records = [...r1.records, ...r2.records, ...r3.records];
  for (const accept of [true, new Set([session(r3)])] as const) {
    const r = check(records, { acceptFreshStarts: accept });
    assert.equal(r.ok, true, JSON.stringify(failures(r.findings)));
    assert.equal(r.findings.filter((x) => x.kind === 'accepted_fresh_start').length, 1);
  }
  // Accepting another session accepts nothing here.
  assert.equal(check(records, { acceptFreshStarts: new Set([session(r1)]) }).ok, false);
});

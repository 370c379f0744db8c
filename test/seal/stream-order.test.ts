/**
 * The order the verifier puts sessions in when a stream started over (a fresh
 * start: a start declaring no previous session, seqs from 0 again). Seqs order
 * nothing across two streams; declared previous sessions and the agent's
 * sealed clock do (verify.ts streamOrder):
 * - a run without its start event in the data (the data begins inside it) is
 *   the old stream, before the fresh start, only when the last record of each
 *   of its sessions, MAC checked, is dated before the fresh start;
 * - the fresh starts' streams follow the start events' sealed times, so the
 *   fresh start reported is the later one wherever the file stores it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { keyIdOf } from '../../src/seal/chain.js';
import { parseSealedRecord } from '../../src/seal/received.js';
import { verifyStream, type Finding, type SealedEntry, type VerifyContext } from '../../src/seal/verify.js';
import { after, KEY_A, SD_ID, timedRun, type Run } from './sealed-stream.js';

const keys = new Map([[keyIdOf(KEY_A), KEY_A]]);

function check(records: readonly Buffer[], context: VerifyContext = {}): { ok: boolean; findings: Finding[] } {
  const entries: SealedEntry[] = records.map((b) => {
    const p = parseSealedRecord(b, SD_ID);
    assert.ok(p.ok, p.ok ? '' : p.reason);
    return p.entry;
  });
  return verifyStream(entries, keys, context);
}

const INFO = ['restart', 'unanchored', 'accepted_fresh_start'];
const failures = (f: readonly Finding[]): string[] => f.map((x) => x.kind).filter((k) => !INFO.includes(k));
const session = (r: Run): string => r.sealer.session;
const at = (d: number, h = 0): Date => new Date(Date.UTC(2026, 4, d, h));
const web = (d: number, h = 0): { agent: string; format: 'ecs'; at: Date } => ({ agent: 'web-01', format: 'ecs', at: at(d, h) });

test('a file that begins at a declared start of the old stream (its previous session in an earlier file), then a fresh start', () => {
  const o1 = timedRun(KEY_A, 3, web(1));
  const o2 = timedRun(KEY_A, 6, web(2), after(o1));
  const o3 = timedRun(KEY_A, 6, web(3), after(o2));
  const f1 = timedRun(KEY_A, 4, web(4));
  const records = [...o2.records, ...o3.records, ...f1.records];
  const plain = check(records);
  assert.deepEqual(failures(plain.findings), ['fresh_start']);
  const f = plain.findings.find((x) => x.kind === 'fresh_start');
  assert.ok(f?.kind === 'fresh_start');
  assert.equal(f.session, session(f1));
  assert.equal(f.after, session(o3), 'the last session of the old stream: the new stream\'s seqs are below its');
  assert.equal(check(records, { acceptFreshStarts: new Set([session(f1)]) }).ok, true);
  // A run of the old stream deleted in the middle is still a gap.
  assert.deepEqual(failures(check([...o1.records, ...o3.records, ...f1.records], { acceptFreshStarts: true }).findings), ['gap']);
});

test('an old session whose only record in the data cannot be checked, or whose last record was edited, is not dated: it stays after the fresh start', () => {
  const o1 = timedRun(KEY_A, 8, web(1));
  const f1 = timedRun(KEY_A, 4, web(2));
  const lone = check([o1.records[8] as Buffer, ...f1.records], { acceptFreshStarts: true });
  assert.deepEqual(failures(lone.findings), ['undeclared_restart']);
  assert.deepEqual(
    lone.findings.find((x) => x.kind === 'undeclared_restart'),
    { kind: 'undeclared_restart', session: session(o1), previousSession: session(f1), undatedBefore: session(f1) },
  );
  const last = (o1.records[8] as Buffer).toString().replace('10.0.0.8 port', '10.0.0.9 port');
  const edited = check([...o1.records.slice(5, 8), Buffer.from(last), ...f1.records], { acceptFreshStarts: true });
  assert.deepEqual(failures(edited.findings).sort(), ['altered', 'undeclared_restart']);
});

test('an old stream whose records run on after the fresh start (a second sender with this id and key) is not the old stream', () => {
  const o1 = timedRun(KEY_A, 8, web(1, 10));
  // A start an hour into o1's eight seconds of records would be inside them: start it 4 seconds in.
  const f1 = timedRun(KEY_A, 4, { ...web(1, 10), at: new Date(at(1, 10).getTime() + 4000) });
  const r = check([...o1.records.slice(2), ...f1.records], { acceptFreshStarts: true });
  assert.deepEqual(failures(r.findings), ['undeclared_restart']);
  // Dated, so no "nothing sealed dates it" advice.
  assert.equal(r.findings.find((x) => x.kind === 'undeclared_restart' && x.undatedBefore !== undefined), undefined);
});

test('three fresh starts stored newest first: the two later ones are reported, each after the stream before it', () => {
  const a1 = timedRun(KEY_A, 3, web(1));
  const a2 = timedRun(KEY_A, 3, web(1, 1), after(a1));
  const b1 = timedRun(KEY_A, 3, web(2));
  const c1 = timedRun(KEY_A, 3, web(3));
  const c2 = timedRun(KEY_A, 3, web(3, 1), after(c1));
  for (const records of [
    [...c1.records, ...c2.records, ...b1.records, ...a1.records, ...a2.records],
    [...b1.records, ...a1.records, ...c1.records, ...a2.records, ...c2.records],
  ]) {
    const r = check(records);
    assert.deepEqual(failures(r.findings), ['fresh_start', 'fresh_start']);
    const fresh = r.findings.flatMap((x) => (x.kind === 'fresh_start' ? [[x.session, x.after]] : []));
    assert.deepEqual(
      fresh,
      [
        [session(b1), session(a1)],
        [session(c1), session(b1)],
      ],
    );
    assert.equal(check(records, { acceptFreshStarts: new Set([session(b1), session(c1)]) }).ok, true);
    assert.equal(check(records, { acceptFreshStarts: new Set([session(a1), session(c1)]) }).ok, false);
  }
});

/**
 * Review (false alarm): the new ordering puts sessions across a fresh start in
 * the order the seal proves, "never by seq" — but the check of a renamed start
 * whose old-name session has no start event in the data (the daily file begins
 * inside it) still looks for "a session of this stream before it" by seq
 * (renamedPredecessor -> sessionBefore(p.minSeq, ownSessions, …) with all of
 * the stream's sessions). After the state directory was wiped, the new
 * stream's seqs start at 0 again, so the sessions after the fresh start have
 * lower seqs than the old name's session and are taken for sessions before it:
 * UNDECLARED RESTART of the OLD agent's session "after" a session sealed days
 * later, in an intact file, with the fresh start accepted.
 *
 * Intact daily file: it begins inside agent "old"'s last session (o1); the
 * agent is renamed "new" (n1 declares the rename and o1), restarts (n2); then
 * its state directory is wiped: a fresh start f1 (accepted) and a restart f2.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { type VerifyOptions } from '../../src/commands/verify.js';
import { verifyKeyAWith, type Verified } from './verify-lines.js';
import { after, KEY_A, tempDir, timedRun, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-review-rename-fresh-');
afterAll(root.cleanup);

const verify = (lines: readonly string[], opts: Partial<VerifyOptions> = {}): Promise<Verified> => verifyKeyAWith(root.dir, lines, opts);

const text = (r: Run): string[] => r.records.map((b) => b.toString());
const day = (d: number, h = 0): Date => new Date(Date.UTC(2026, 4, d, h));

function renamedThenWiped(): { o1: Run; n1: Run; n2: Run; f1: Run; f2: Run } {
  const o1 = timedRun(KEY_A, 20, { agent: 'old', format: 'ecs', at: day(3, 1) });
  const n1 = timedRun(KEY_A, 5, { agent: 'new', format: 'ecs', at: day(3, 6), renamedFrom: 'old' }, after(o1));
  const n2 = timedRun(KEY_A, 5, { agent: 'new', format: 'ecs', at: day(3, 8) }, after(n1));
  const f1 = timedRun(KEY_A, 5, { agent: 'new', format: 'ecs', at: day(3, 10) });
  const f2 = timedRun(KEY_A, 5, { agent: 'new', format: 'ecs', at: day(3, 12) }, after(f1));
  return { o1, n1, n2, f1, f2 };
}

for (const agent of [undefined, 'new']) {
  test(`${agent === undefined ? 'per agent' : '--agent new'}: a daily file that begins inside the old name's session, a rename, then a fresh start (accepted) is intact`, async () => {
    const { o1, n1, n2, f1, f2 } = renamedThenWiped();
    const lines = [...text(o1).slice(10), ...text(n1), ...text(n2), ...text(f1), ...text(f2)];
    const r = await verify(lines, { acceptFreshStarts: [f1.sealer.session], ...(agent !== undefined ? { agent } : {}) });
    assert.doesNotMatch(r.out, new RegExp(`^UNDECLARED RESTART session=${o1.sealer.session} `, 'm'), r.out);
    assert.equal(r.code, 0, r.out);
  });
}

test('the same file with the renamed run n2 deleted still fails (the fix must not hide it)', async () => {
  const { o1, n1, f1, f2 } = renamedThenWiped();
  const n2 = timedRun(KEY_A, 5, { agent: 'new', format: 'ecs', at: day(3, 8) }, after(n1));
  const n3 = timedRun(KEY_A, 5, { agent: 'new', format: 'ecs', at: day(3, 9) }, after(n2));
  const r = await verify([...text(o1).slice(10), ...text(n1), ...text(n3), ...text(f1), ...text(f2)], { acceptFreshStarts: [f1.sealer.session] });
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^GAP session=${n2.sealer.session} `, 'm'), r.out);
});

/**
 * Review (hostile): "deleting the whole first run under a new name (the run
 * whose start declares the rename) passes, in every mode, with or without a
 * wipe. Seen as two agents, this is the start of new's stream and the end of
 * old's."
 *
 * Without a wipe it does not pass: every later start of the new name declares
 * the rename too (src/seal/agent-name.ts keeps it), and the next run's start
 * names the deleted run as its previous session. Not received, the
 * declaration is held against the old name's session right before it by seq
 * (the one the deleted run's own start declared): a GAP, in --agent NEW and
 * per agent (--agent OLD sees its own stream end, as one verify run checks one
 * agent's stream). Pinned here in ECS and CEF, with another agent's records
 * between and with the data beginning inside the old name's last run.
 *
 * With a wipe right after it (the state directory lost: agent-name.json with
 * it), the new name's next start is a fresh start: it declares no previous
 * session and no rename. Nothing left in the file names the deleted run or
 * ties the two names: the file is, record for record of what is sealed, the
 * one an agent that stopped for good and another agent installed after it
 * (its own state directory, the same key) leave, which is intact. So that
 * deletion cannot be proven; it is the end of a stream before a fresh start
 * (src/seal/README.md: unprovable), and the fresh start, being the first of
 * the new name's stream, needs no --accept-fresh-start. The last test pins
 * that the two files get the same verdict.
 *
 * Found on the way (CEF): a run whose start is in the data but whose previous
 * session is not (the renamed run n1; a daily file that begins at a restart)
 * was put after the fresh starts, because CEF log events date nothing; its
 * start event dates it (rt, sealed, of a start event whose MAC holds). After
 * the fresh starts, the fresh start after a renamed run went unreported (the
 * end of that run unchecked without --accept-fresh-start, as ECS asks), and a
 * daily file beginning at a restart had its start held against a session of
 * the new stream: ALTERED, an intact file failing.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { after, KEY_A, pipelineRun, tempDir, timedRun, type Run } from '../seal/sealed-stream.js';
import { type VerifyOptions } from '../../src/commands/verify.js';
import { verifyKeyA, verifyKeyAWith, type Verified } from './verify-lines.js';

const root = tempDir('lw-review-rename-first-run-');
afterAll(root.cleanup);

const text = (r: Run): string[] => r.records.map((b) => b.toString());

const verify = (lines: readonly string[], opts: Partial<VerifyOptions> = {}): Promise<Verified> => verifyKeyAWith(root.dir, lines, opts);
const day = (d: number, h = 0): Date => new Date(Date.UTC(2026, 4, d, h));

/** db-01's records before and after `lines`, numbered from 0 as every agent's are (a SIEM's file). */
function withOther(format: 'ecs' | 'cef', lines: readonly string[]): string[] {
  const db = text(pipelineRun(KEY_A, 6, { agent: 'db-01', format }));
  return [...db.slice(0, 3), ...lines, ...db.slice(3)];
}

/** old runs twice, then renamed: n1 (declares the rename), n2 and n3 (declare it too); then, when `wiped`, a fresh start f1 and f2. */
function history(format: 'ecs' | 'cef'): { o1: Run; o2: Run; n1: Run; n2: Run; n3: Run } {
  const o1 = timedRun(KEY_A, 3, { agent: 'old', format, at: day(3, 1) });
  const o2 = timedRun(KEY_A, 5, { agent: 'old', format, at: day(3, 2) }, after(o1));
  const n1 = timedRun(KEY_A, 3, { agent: 'new', format, at: day(3, 3), renamedFrom: 'old' }, after(o2));
  const n2 = timedRun(KEY_A, 3, { agent: 'new', format, at: day(3, 4), renamedFrom: 'old' }, after(n1));
  const n3 = timedRun(KEY_A, 3, { agent: 'new', format, at: day(3, 5), renamedFrom: 'old' }, after(n2));
  return { o1, o2, n1, n2, n3 };
}

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: without a wipe, the first run under the new name deleted whole is a GAP of the new name's stream, --agent new and per agent`, async () => {
    const { o1, o2, n1, n2, n3 } = history(format);
    const failed: string[] = [];
    for (const [name, olds] of [
      ['whole', [...text(o1), ...text(o2)]],
      ['the data beginning inside the old name\'s last run', text(o2).slice(2)],
    ] as const) {
      for (const lines of [[...olds, ...text(n2), ...text(n3)], withOther(format, [...olds, ...text(n2), ...text(n3)])]) {
        for (const agent of ['new', undefined]) {
          const r = await verifyKeyA(root.dir, lines, agent);
          const gap = new RegExp(`^GAP session=${n1.sealer.session} seq ${o2.sealer.nextSeq()}\\.\\.${n1.sealer.nextSeq() - 1n} \\(4 missing\\)$`, 'm');
          if (r.code !== 1 || !gap.test(r.out)) failed.push(`${name}, ${agent ?? 'per agent'}:\n${r.out}`);
        }
      }
    }
    assert.deepEqual(failed, []);
  });

  test(`${format}: a rename, then a wipe: the new name's runs before it deleted leave what an agent stopped for good and another installed leave: intact either way (unprovable)`, async () => {
    const { o1, o2, n1 } = history(format);
    const f1 = timedRun(KEY_A, 3, { agent: 'new', format, at: day(3, 6) });
    const f2 = timedRun(KEY_A, 3, { agent: 'new', format, at: day(3, 7) }, after(f1));
    const kept = [...text(o1), ...text(o2), ...text(f1), ...text(f2)];
    // The whole file: n1 is held against o2 (RENAMED), and f1 is a fresh start of the new name's stream.
    const whole = await verifyKeyA(root.dir, [...text(o1), ...text(o2), ...text(n1), ...text(f1), ...text(f2)], 'new');
    assert.equal(whole.code, 1, whole.out);
    assert.match(whole.out, new RegExp(`^FRESH START session=${f1.sealer.session} `, 'm'));
    // Another agent "new", its own state directory, started after "old" stopped: the same records, as far as anything sealed says.
    for (const agent of ['new', 'old', undefined]) {
      const r = await verifyKeyA(root.dir, withOther(format, kept), agent);
      assert.equal(r.code, 0, r.out);
      assert.doesNotMatch(r.out, /RENAMED|GAP|FRESH START/, r.out);
    }
  });
}

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: a rename, then a wipe: the fresh start after the renamed run is a FRESH START (as ECS always said), --agent new and per agent; accepted, intact`, async () => {
    const { o1, o2, n1 } = history(format);
    const f1 = timedRun(KEY_A, 3, { agent: 'new', format, at: day(3, 6) });
    const f2 = timedRun(KEY_A, 3, { agent: 'new', format, at: day(3, 7) }, after(f1));
    const failed: string[] = [];
    // Whole, and with the renamed run's last records deleted (the end before a fresh start: unprovable once accepted).
    for (const renamed of [text(n1), text(n1).slice(0, -2)]) {
      const lines = withOther(format, [...text(o1), ...text(o2), ...renamed, ...text(f1), ...text(f2)]);
      for (const agent of ['new', undefined]) {
        const base = agent !== undefined ? { agent } : {};
        const plain = await verify(lines, base);
        const fresh = new RegExp(`^FRESH START session=${f1.sealer.session} seq=0 \\(line \\d+\\): its start event declares no previous session, but this stream holds session ${n1.sealer.session} before it`, 'm');
        if (plain.code !== 1 || !fresh.test(plain.out)) failed.push(`${renamed.length} of n1, ${agent ?? 'per agent'}:\n${plain.out}`);
        const accepted = await verify(lines, { ...base, acceptFreshStarts: [f1.sealer.session] });
        const held = new RegExp(`^RENAMED declared: session ${n1.sealer.session} continues the stream of agent "old" \\(session ${o2.sealer.session} ended at seq ${o2.sealer.nextSeq() - 1n}\\)$`, 'm');
        if (accepted.code !== 0 || !held.test(accepted.out)) failed.push(`${renamed.length} of n1, ${agent ?? 'per agent'}, accepted:\n${accepted.out}`);
      }
    }
    assert.deepEqual(failed, []);
  });

  test(`${format}: a daily file that begins at a restart's start event, then a wipe: intact once the fresh start is accepted`, async () => {
    const a = { agent: 'web-01', format };
    const r1 = timedRun(KEY_A, 3, { ...a, at: day(3, 1) });
    const r2 = timedRun(KEY_A, 3, { ...a, at: day(3, 2) }, after(r1));
    const r3 = timedRun(KEY_A, 3, { ...a, at: day(3, 3) }, after(r2));
    const f1 = timedRun(KEY_A, 3, { ...a, at: day(3, 5) });
    const f2 = timedRun(KEY_A, 3, { ...a, at: day(3, 6) }, after(f1));
    const lines = [...text(r2), ...text(r3), ...text(f1), ...text(f2)];
    const plain = await verify(lines);
    assert.equal(plain.code, 1, plain.out);
    assert.match(plain.out, new RegExp(`^FRESH START session=${f1.sealer.session} seq=0 \\(line 9\\): .* holds session ${r3.sealer.session} before it`, 'm'));
    assert.doesNotMatch(plain.out, /ALTERED|UNDECLARED|GAP/, plain.out);
    const accepted = await verify(lines, { acceptFreshStarts: [f1.sealer.session] });
    assert.equal(accepted.code, 0, accepted.out);
    // A run deleted before the fresh start, in the old stream, is still a gap.
    const r4 = timedRun(KEY_A, 3, { ...a, at: day(3, 4) }, after(r3));
    const deleted = await verify([...text(r2), ...text(r4), ...text(f1), ...text(f2)], { acceptFreshStarts: [f1.sealer.session] });
    assert.equal(deleted.code, 1, deleted.out);
    assert.match(deleted.out, new RegExp(`^GAP session=${r3.sealer.session} seq 8\\.\\.11 \\(4 missing\\)$`, 'm'), deleted.out);
  });
}

test('cef: a daily file that begins inside the old name\'s session, a rename, then a fresh start (accepted) is intact, as in ECS (verify-rename-then-fresh-start)', async () => {
  const o1 = timedRun(KEY_A, 20, { agent: 'old', format: 'cef', at: day(3, 1) });
  const n1 = timedRun(KEY_A, 5, { agent: 'new', format: 'cef', at: day(3, 6), renamedFrom: 'old' }, after(o1));
  const n2 = timedRun(KEY_A, 5, { agent: 'new', format: 'cef', at: day(3, 8), renamedFrom: 'old' }, after(n1));
  const f1 = timedRun(KEY_A, 5, { agent: 'new', format: 'cef', at: day(3, 10) });
  const f2 = timedRun(KEY_A, 5, { agent: 'new', format: 'cef', at: day(3, 12) }, after(f1));
  const lines = [...text(o1).slice(10), ...text(n1), ...text(n2), ...text(f1), ...text(f2)];
  const failed: string[] = [];
  for (const agent of ['new', undefined]) {
    const r = await verify(lines, { acceptFreshStarts: [f1.sealer.session], ...(agent !== undefined ? { agent } : {}) });
    if (r.code !== 0 || /UNDECLARED|ALTERED|GAP/.test(r.out)) failed.push(`${agent ?? 'per agent'}:\n${r.out}`);
  }
  assert.deepEqual(failed, []);
  // n1 deleted: still a gap.
  const r = await verify([...text(o1).slice(10), ...text(n2), ...text(f1), ...text(f2)], { acceptFreshStarts: [f1.sealer.session], agent: 'new' });
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^GAP session=${n1.sealer.session} `, 'm'), r.out);
});

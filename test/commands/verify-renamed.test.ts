/**
 * `logward verify --agent` across a rename: agent.id changed in the config
 * between runs, the state dir (seqs, chain) kept. The new name's start events
 * declare "renamed from agent OLD" (src/seal/agent-name.ts), so the stream
 * checked under the new name is held against the old name's records in the
 * same file: a whole run deleted at the rename is a gap, not the end of one
 * name's stream and the start of another's.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { after, KEY_A, pipelineRun, tempDir, type Run } from '../seal/sealed-stream.js';
import { verifyKeyA, type Verified } from './verify-lines.js';

const root = tempDir('lw-verify-renamed-');
afterAll(root.cleanup);

function verify(runs: readonly Run[], agent?: string): Promise<Verified> {
  // Another agent's records between them, numbered from 0 as every agent's are.
  const other = pipelineRun(KEY_A, 6, { agent: 'db-01', format: 'cef' }).records;
  return verifyKeyA(root.dir, [...other.slice(0, 3), ...runs.flatMap((r) => r.records), ...other.slice(3)].map((b) => b.toString()), agent);
}

/** Runs of one state dir: each [agent id, renamed from] in order, `count` events each. */
function history(format: 'ecs' | 'cef', names: readonly (readonly [string, string?])[], count = 3): Run[] {
  const runs: Run[] = [];
  for (const [agent, renamedFrom] of names) {
    const prev = runs[runs.length - 1];
    runs.push(pipelineRun(KEY_A, count, { agent, format, ...(renamedFrom !== undefined ? { renamedFrom } : {}) }, prev ? after(prev) : undefined));
  }
  return runs;
}

const session = (r: Run | undefined): string => (r as Run).sealer.session;

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: an intact rename: each name's stream is intact, and the new one says which stream it continues`, async () => {
    const runs = history(format, [['old'], ['old'], ['new', 'old'], ['new', 'old']]);
    const fresh = await verify(runs, 'new');
    assert.equal(fresh.code, 0, fresh.out);
    assert.match(fresh.out, new RegExp(`^RENAMED declared: session ${session(runs[2])} continues the stream of agent "old" \\(session ${session(runs[1])} ended at seq 7\\)$`, 'm'));
    assert.equal(fresh.out.match(/^RENAMED/gm)?.length, 1, 'only where the names meet');
    const old = await verify(runs, 'old');
    assert.equal(old.code, 0, old.out);
    assert.doesNotMatch(old.out, /RENAMED/);
  });

  test(`${format}: the old name's last run deleted right before the rename is a gap of the new name's stream`, async () => {
    const runs = history(format, [['old'], ['old'], ['new', 'old'], ['new', 'old']]);
    const r = await verify([runs[0]!, runs[2]!, runs[3]!], 'new');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`^GAP session=${session(runs[1])} seq 4\\.\\.7 \\(4 missing\\)$`, 'm'));
    assert.match(r.out, /^RENAMED declared: /m);
  });

  test(`${format}: the new name's first run deleted is a gap too (later starts still declare the rename)`, async () => {
    const runs = history(format, [['old'], ['old'], ['new', 'old'], ['new', 'old']]);
    const r = await verify([runs[0]!, runs[1]!, runs[3]!], 'new');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`^GAP session=${session(runs[2])} seq 8\\.\\.11 \\(4 missing\\)$`, 'm'));
  });

  test(`${format}: a middle run of the new name deleted is held against the new name's own run before it`, async () => {
    const runs = history(format, [['old'], ['new', 'old'], ['new', 'old'], ['new', 'old']]);
    const r = await verify([runs[0]!, runs[1]!, runs[3]!], 'new');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`^GAP session=${session(runs[2])} seq 8\\.\\.11 \\(4 missing\\)$`, 'm'));
    assert.equal(r.out.match(/^RENAMED/gm)?.length, 1, r.out);
  });

  test(`${format}: renamed and back: the old name's stream continues across the other name's run, no false gap`, async () => {
    const runs = history(format, [['old'], ['new', 'old'], ['old', 'new']]);
    const r = await verify(runs, 'old');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`^RENAMED declared: session ${session(runs[2])} continues the stream of agent "new" \\(session ${session(runs[1])} ended at seq 7\\)$`, 'm'));
    const deleted = await verify([runs[0]!, runs[2]!], 'old');
    assert.equal(deleted.code, 1, deleted.out);
    assert.match(deleted.out, new RegExp(`^GAP session=${session(runs[1])} seq 4\\.\\.7 \\(4 missing\\)$`, 'm'));
  });

  test(`${format}: a file that starts after the rename (the old name's records elsewhere) is intact, and says what it cannot check`, async () => {
    const runs = history(format, [['old'], ['new', 'old'], ['new', 'old']]);
    const r = await verify(runs.slice(1), 'new');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`^RENAMED declared: session ${session(runs[1])} continues the stream of agent "old" \\(session ${session(runs[0])} ended at seq 3\\); no record of agent "old" before it in this file to hold that against$`, 'm'));
  });

  test(`${format}: the old name reused by another host: the session the declaration names is the one held against it`, async () => {
    const runs = history(format, [['old'], ['old'], ['new', 'old']]);
    // Another host took the name "old" after the rename; its second run's seqs fall between the renamed stream's.
    const reuse = history(format, [['old'], ['old']], 4);
    assert.ok(reuse[1]!.sealer.startDeclaration().firstSeq > 4n && reuse[1]!.sealer.startDeclaration().firstSeq < 8n);
    const r = await verify([...runs, ...reuse], 'new');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`^RENAMED declared: session ${session(runs[2])} continues the stream of agent "old" \\(session ${session(runs[1])} ended at seq 7\\)$`, 'm'));
  });

  test(`${format}: the old name's run held against the declaration: records past its end, or another chain, fail`, async () => {
    const old = history(format, [['old']])[0]!;
    const chainOf = (b: Buffer): string => /chain="([0-9a-f]{64})"/.exec(b.toString())![1]!;
    // The new name's start declares the old run ended at seq 2, but seq 3 was received: undeclared.
    const short = pipelineRun(KEY_A, 2, { agent: 'new', format, renamedFrom: 'old' }, { previousSession: session(old), lastSeq: 2n, lastChain: chainOf(old.records[2]!), nextSeq: 4n });
    const r = await verify([old, short], 'new');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`^UNDECLARED RECORDS session=${session(old)} seq=3: `, 'm'));
    // It declares the right end with another chain than the one received there.
    const other = pipelineRun(KEY_A, 2, { agent: 'new', format, renamedFrom: 'old' }, { ...after(old), lastChain: 'f'.repeat(64) });
    const a = await verify([old, other], 'new');
    assert.equal(a.code, 1, a.out);
    assert.match(a.out, new RegExp(`^ALTERED session=${session(old)} seq=3 \\(the next session's start event declares a different chain for it\\)$`, 'm'));
  });
}

/**
 * A renamed agent's start is held against the old name's session it declares. That session must
 * be anchored (its first record a start event whose own MAC holds), or there must be nothing before
 * it: else an editor who deletes a whole run at (or after) a rename keeps, or forges from the
 * public chain the next start declares, one record at its last seq, and the declaration holds.
 * (Found by review: every --agent check passed such a file.)
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { after, KEY_A, pipelineRun, tempDir, type Run } from '../seal/sealed-stream.js';
import { verifyKeyA, type Verified } from './verify-lines.js';

const root = tempDir('lw-review-rename-');
afterAll(root.cleanup);

function verify(lines: readonly string[], agent?: string): Promise<Verified> {
  return verifyKeyA(root.dir, lines, agent);
}

function history(format: 'ecs' | 'cef', names: readonly (readonly [string, string?])[], count = 3): Run[] {
  const runs: Run[] = [];
  for (const [agent, renamedFrom] of names) {
    const prev = runs[runs.length - 1];
    runs.push(pipelineRun(KEY_A, count, { agent, format, ...(renamedFrom !== undefined ? { renamedFrom } : {}) }, prev ? after(prev) : undefined));
  }
  return runs;
}

const text = (r: Run): string[] => r.records.map((b) => b.toString());
const chainOf = (l: string): string => /chain="([0-9a-f]{64})"/.exec(l)![1]!;

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: old -> new -> old, the new name's run deleted but its last record: every --agent check must not be intact`, async () => {
    const [o1, n1, o2] = history(format, [['old'], ['new', 'old'], ['old', 'new']]) as [Run, Run, Run];
    const kept = text(n1).slice(-1); // only the record the next start's declaration names
    const lines = [...text(o1), ...kept, ...text(o2)];
    const old = await verify(lines, 'old');
    const renamed = await verify(lines, 'new');
    // The honest deletion of the whole run is a GAP for --agent old (verify-renamed.test.ts): 3 records more deleted
    // must not make it intact.
    assert.ok(old.code !== 0 || renamed.code !== 0, `both intact:\n--agent old:\n${old.out}\n--agent new:\n${renamed.out}`);
    assert.equal(old.code, 1, old.out);
  });

  test(`${format}: old -> new -> old, the new name's run deleted and one forged line in its place (no key needed)`, async () => {
    const [o1, n1, o2] = history(format, [['old'], ['new', 'old'], ['old', 'new']]) as [Run, Run, Run];
    const last = text(n1).at(-1)!;
    // Forged: any MSG, the session, seq and chain copied from o2's start declaration (public).
    const forged = last.replace(/ \{.*$| CEF:0\|.*$/, ' {"message":"nothing to see"}');
    assert.equal(chainOf(forged), chainOf(last));
    const lines = [...text(o1), forged, ...text(o2)];
    const old = await verify(lines, 'old');
    assert.equal(old.code, 1, old.out);
  });

  test(`${format}: old, old -> new: the old name's last run deleted, one forged line in its place: --agent new must not be intact`, async () => {
    const [o1, o2, n1] = history(format, [['old'], ['old'], ['new', 'old']]) as [Run, Run, Run];
    const last = text(o2).at(-1)!;
    const forged = last.replace(/ \{.*$| CEF:0\|.*$/, ' {"message":"nothing to see"}');
    const lines = [...text(o1), forged, ...text(n1)];
    const r = await verify(lines, 'new');
    assert.equal(r.code, 1, r.out);
  });
}

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: any later run of a renamed agent: deleted but its last record, relabelled to the old name: not intact`, async () => {
    // The rename happened long ago (the old name's records are in earlier files); every start of "new" still
    // declares it (agent-name.json keeps renamedFrom), so every run boundary of "new" is open to this.
    const runs = history(format, [['old'], ['new', 'old'], ['new', 'old'], ['new', 'old']]);
    const [, n1, n2, n3] = runs as [Run, Run, Run, Run];
    const kept = text(n2).at(-1)!.replace('agent="new"', 'agent="old"');
    const lines = [...text(n1), kept, ...text(n3)];
    const fresh = await verify(lines, 'new');
    const old = await verify(lines, 'old');
    assert.ok(fresh.code !== 0 || old.code !== 0, `both intact:\n--agent new:\n${fresh.out}\n--agent old:\n${old.out}`);
    assert.equal(fresh.code, 1, fresh.out);
  });
}

/**
 * A rename the start event does not declare: agent.id changed in the config
 * while the state directory did not know the old name (agent-name.json lost,
 * or not saved: a stop right after the start event; the first rename after an
 * upgrade). The new name's start still declares its previous session, the old
 * name's last one: found in the file by its id, it is held against the
 * declaration as a declared rename is (a tail deleted there is a GAP), and
 * the line says the rename was undeclared (it said "RENAMED declared"). A
 * whole old run deleted at such a rename is the limit src/seal/README.md
 * states: nothing names the old agent, so nothing is there to hold the
 * declaration against.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { after, KEY_A, pipelineRun, tempDir, type Run } from '../seal/sealed-stream.js';
import { verifyKeyA } from './verify-lines.js';

const root = tempDir('lw-verify-undeclared-rename-');
afterAll(root.cleanup);

const text = (runs: readonly Run[]): string[] => runs.flatMap((r) => r.records.map((b) => b.toString()));
const session = (r: Run | undefined): string => (r as Run).sealer.session;

/** old, old, then new and new again, no run declaring the rename; another agent's records around them. */
function undeclared(format: 'ecs' | 'cef'): { runs: Run[]; other: Run } {
  const runs: Run[] = [];
  for (const agent of ['old', 'old', 'new', 'new']) {
    const prev = runs[runs.length - 1];
    runs.push(pipelineRun(KEY_A, 3, { agent, format }, prev ? after(prev) : undefined));
  }
  return { runs, other: pipelineRun(KEY_A, 4, { agent: 'db-01', format: 'cef' }) };
}

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: an undeclared rename with both names in the file is intact, and says it was undeclared`, async () => {
    const { runs, other } = undeclared(format);
    const lines = [...text([other]).slice(0, 2), ...text(runs), ...text([other]).slice(2)];
    const line = new RegExp(
      `^RENAMED undeclared: session ${session(runs[2])} continues the stream of agent "old" \\(session ${session(runs[1])} ended at seq 7\\); ` +
        `its start event names that session but not the rename \\(agent-name.json in the state directory lost, or not saved before the agent stopped\\), ` +
        `so a whole run deleted at such a rename would not be seen$`,
      'm',
    );
    for (const agent of ['new', undefined]) {
      const r = await verifyKeyA(root.dir, lines, agent);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, line);
      assert.doesNotMatch(r.out, /RENAMED declared/);
    }
    const old = await verifyKeyA(root.dir, lines, 'old');
    assert.equal(old.code, 0, old.out);
    assert.doesNotMatch(old.out, /RENAMED/);
  });

  test(`${format}: the old name's last records deleted at an undeclared rename are a GAP of the new name's stream`, async () => {
    const { runs } = undeclared(format);
    const lines = text(runs);
    // Seqs 6 and 7, the old name's last two records.
    const cut = [...lines.slice(0, 6), ...lines.slice(8)];
    for (const agent of ['new', undefined]) {
      const r = await verifyKeyA(root.dir, cut, agent);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, new RegExp(`^GAP session=${session(runs[1])} seq 6\\.\\.7 \\(2 missing\\)$`, 'm'));
    }
  });

  test(`${format}: the old name's last run relabelled to the new name (to hide the rename) fails`, async () => {
    const { runs } = undeclared(format);
    const lines = text(runs).map((l, i) => (i >= 4 && i < 8 ? l.replace('agent="old"', 'agent="new"') : l));
    const r = await verifyKeyA(root.dir, lines, 'new');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`^RELABELLED line 5 \\(session=${session(runs[1])}\\): a start event sealed by agent "old" labelled "new"$`, 'm'));
  });
}

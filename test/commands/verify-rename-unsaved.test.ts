/**
 * agent-name.json is saved only after the start event. A run
 * renamed (old -> new) whose save did not happen (a crash or SIGTERM right after
 * the start event: checkNotStopping() throws before save(); or the save failing,
 * e.g. ENOSPC on a disk the queue filled) and then renamed back to old: the next
 * start of old declares no rename, and `verify --agent old` of the honest stream
 * reports a GAP for the new name's run.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after as afterAll, test } from 'node:test';

import { runVerify } from '../../src/commands/verify.js';
import { AgentNames } from '../../src/seal/agent-name.js';
import { Collect } from '../helpers/collect.js';
import { after, KEY_A, pipelineRun, tempDir, writeKeyFile, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-review-unsaved-');
afterAll(root.cleanup);

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: old -> new (start sealed, name not saved) -> old: honest, so --agent old is intact`, async () => {
    const state = join(root.dir, `state-${format}`);
    mkdirSync(state);
    const runs: Run[] = [];
    // Each start as src/pipeline.ts does it: load, declare, seal the start event, then save (unless it dies first).
    for (const [id, dies] of [['old', false], ['new', true], ['old', false]] as const) {
      const names = await AgentNames.load(state);
      const prev = runs.at(-1);
      const renamedFrom = prev ? names.renamedFrom(id) : undefined;
      runs.push(pipelineRun(KEY_A, 3, { agent: id, format, ...(renamedFrom !== undefined ? { renamedFrom } : {}) }, prev ? after(prev) : undefined));
      if (!dies) await names.save(id, renamedFrom);
    }
    const keyFile = writeKeyFile(root.dir, `hmac-${format}.key`, KEY_A.toString('hex') + '\n');
    const file = join(root.dir, `received-${format}.log`);
    writeFileSync(file, runs.flatMap((r) => r.records).map((b) => b.toString() + '\n').join(''));
    const out = new Collect();
    const code = await runVerify({ keyFile, file, agent: 'old' }, { stdout: out, stderr: out });
    assert.equal(code, 0, out.text);
  });
}

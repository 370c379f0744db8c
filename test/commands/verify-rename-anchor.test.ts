/**
 * `verify --agent NEW` keeps a summary of the old name's sessions, among them
 * whether each one's first record is a start event whose MAC holds
 * ("anchored"). The other agents' records are not verified, so that must
 * follow the lowest seq seen: a record forged below the start event, stored
 * after it, makes the session's head a record that is not its start, and a
 * rename held against that session is then an undeclared restart, as when the
 * start event is missing. (A summary that stayed anchored passed every test.)
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { after, KEY_A, pipelineRun, tempDir, type Run } from '../seal/sealed-stream.js';
import { verifyKeyA } from './verify-lines.js';

const root = tempDir('lw-verify-rename-anchor-');
afterAll(root.cleanup);

const text = (r: Run): string[] => r.records.map((b) => b.toString());
const session = (r: Run): string => r.sealer.session;

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: a record forged below the old name's start event, stored after it, unanchors that session: an undeclared restart`, async () => {
    const o1 = pipelineRun(KEY_A, 3, { agent: 'old', format });
    const o2 = pipelineRun(KEY_A, 3, { agent: 'old', format }, after(o1));
    const n1 = pipelineRun(KEY_A, 3, { agent: 'new', format, renamedFrom: 'old' }, after(o2));
    const intact = await verifyKeyA(root.dir, [...text(o1), ...text(o2), ...text(n1)], 'new');
    assert.equal(intact.code, 0, intact.out);
    // o1's record at seq 2, moved into session o2 (the SD is outside the MAC): below o2's start event at seq 4.
    const forged = text(o1)[2]!.replace(`session="${session(o1)}"`, `session="${session(o2)}"`);
    assert.match(forged, /\bseq="2"/);
    const r = await verifyKeyA(root.dir, [...text(o1), ...text(o2), forged, ...text(n1)], 'new');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`^UNDECLARED RESTART session=${session(o2)} .*after session=${session(o1)} `, 'm'));
    // Stored before the start event, the same record unanchors it too.
    const first = await verifyKeyA(root.dir, [...text(o1), forged, ...text(o2), ...text(n1)], 'new');
    assert.equal(first.code, 1, first.out);
  });
}

/**
 * a live log rewritten in place (O_TRUNC, same inode) with some lines removed and its first
 * 256 bytes kept: `grep -v intruder app.log > x; cat x > app.log`. The truncation is seen, the
 * stream orphaned, and the same inode, whose head still equals the orphan's, adopts its own orphan
 * as if it were the copytruncate copy: the truncated alert is cancelled, and reading goes on at the
 * old offset, so the lines the file now holds between its head and that offset are never read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { body, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL } = options('/');

test('a live file rewritten in place without some lines, head kept: truncated alert, new content read', async () => {
  const a = lines('a', 0, 500);
  const w = lines('w', 0, 20);
  const { c } = await runSource({ harness: { frozen: true }, prepare: ({ live }) => writeFileSync(live, body(a)) }, async ({ c, h, live }) => {
    await waitFor(() => c.records.length === 500, 'the live file');
    // Tampering: 10 lines removed from the middle, the file rewritten in place (same inode).
    writeFileSync(live, body([...a.slice(0, 100), ...a.slice(110)]));
    h.advance((POLL ?? 0) + 1);
    await waitFor(() => c.counters.get('source_truncations') >= 1, 'the truncation seen');
    appendFileSync(live, body(w)); // the writer goes on
    h.advance((POLL ?? 0) + 1);
    await h.graceRound();
    await h.graceRound();
  });
  const lost = w.filter((l) => !c.has(l));
  assert.deepEqual({ lost: lost.length, alerts: c.alerts.map((x) => x.kind) }, { lost: 0, alerts: ['truncated'] });
});

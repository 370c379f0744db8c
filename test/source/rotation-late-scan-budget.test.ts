/**
 * the late scan fix (131ec7a) assumes the turn after the scan decides every file it listed.
 * With the fd budget full of files that cannot be closed (a pending partial line or multiline group,
 * or not at EOF), the copy the late scan lists gets no descriptor in that turn, and the orphan
 * expires before it: a false truncation alert for a plain copytruncate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, copytruncateAfterWalk, last, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { rescanIntervalMs: R } = options('/');

test('a copy first listed by a late scan while the fd budget is busy still takes the orphaned stream: no alert', async () => {
  let phase: 'idle' | 'rotate' | 'late' | 'done' = 'idle';
  const { c } = await runSource({
    source: { maxOpenFiles: 2, partialLineTimeoutMs: 3_600_000 },
    harness: ({ c, live, logs }) => ({
      frozen: true,
      afterScan: (h) => {
        if (phase === 'rotate') {
          phase = 'late';
          appendFileSync(join(logs, 'other.log'), 'o a line still being written'); // no LF yet: other.log cannot be closed
          copytruncateAfterWalk(h, live, logs); // right after this scan's walk; the truncation is seen in its turn
        } else if (phase === 'late' && c.counters.get('source_truncations') === 1) {
          phase = 'done';
          h.advance(R);
        }
      },
    }),
    prepare: ({ live, logs }) => {
      writeFileSync(live, body(lines('a', 0, 500)));
      writeFileSync(join(logs, 'other.log'), body(lines('o', 0, 1)));
    },
  }, async ({ c, h, hook, logs }) => {
    let copyRead = false;
    const restore = await hook('read', (path) => {
      if (path === join(logs, 'app.log.1')) copyRead = true;
    });
    await waitFor(() => c.records.length === 501, 'the files');
    phase = 'rotate';
    await waitFor(() => phase === 'done', 'the rotation and the late scan');
    await waitFor(() => c.has(last('c', 20)) && copyRead, 'the new lines, the copy decided');
    restore();
    await h.graceRound();
    await h.graceRound();
  });
  assert.equal(c.counters.get('source_truncations'), 1);
  assert.deepEqual(c.duplicates(), []);
  assert.deepEqual(c.alerts, []);
});

/**
 * stop() between a late scan and the turn that follows it. The deferred expiry still runs
 * (on a stopping source, after a round that served nothing): the copy the late scan listed never
 * had its turn, and the orphan expires with a false truncation alert, the case 131ec7a fixed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { body, copytruncateAfterWalk, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { rescanIntervalMs: R } = options('/');

test('stop() right after a late scan that lists a copytruncate copy: no truncation alert', async () => {
  let phase: 'idle' | 'rotate' | 'late' | 'done' = 'idle';
  let stopped: Promise<void> | undefined;
  const { c } = await runSource({
    harness: ({ c, live, logs }) => ({
      frozen: true,
      afterScan: (h) => {
        if (phase === 'rotate') {
          phase = 'late';
          copytruncateAfterWalk(h, live, logs); // right after this scan's walk; the truncation is seen in its turn
        } else if (phase === 'late' && c.counters.get('source_truncations') === 1) {
          // The scan that lists the copy comes a full interval late; the agent is told to stop now.
          phase = 'done';
          h.advance(R);
          stopped = h.src.stop();
        }
      },
    }),
    prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 500))),
  }, async ({ c }) => {
    await waitFor(() => c.records.length === 500, 'the live file');
    phase = 'rotate';
    await waitFor(() => phase === 'done', 'the rotation and the late scan');
    await stopped;
  });
  assert.equal(c.counters.get('source_truncations'), 1);
  assert.deepEqual(c.alerts, []);
});

/**
 * A copytruncate whose copy is first listed by a scan that comes a full rescan interval after the
 * truncation was seen (the loop was held up: emit backpressure, a long turn). The orphaned stream
 * and the truncation alert must wait for that scan's files to be served: the copy is in the
 * listing, it only has not had its turn yet. Frozen clock: the scan is late by construction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { body, copytruncateAfterWalk, last, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { rescanIntervalMs: R } = options('/');

for (const [what, n] of [['', 500], ['short (provisional identity) ', 3]] as const) {
  test(`a ${what}copy first listed by a late scan still takes the orphaned stream: nothing twice, no alert`, async () => {
    let phase: 'idle' | 'rotate' | 'late' | 'done' = 'idle';
    let seenBeforeLate = -1;
    const { c } = await runSource({
      harness: ({ c, live, logs }) => ({
        frozen: true,
        afterScan: (h) => {
          if (phase === 'rotate') {
            phase = 'late';
            copytruncateAfterWalk(h, live, logs); // right after this scan's walk; the truncation is seen in its turn
          } else if (phase === 'late') {
            // The next scan lists the copy, a full interval after the truncation was seen.
            phase = 'done';
            seenBeforeLate = c.counters.get('source_truncations');
            h.advance(R);
          }
        },
      }),
      // A last line without LF yet: the orphan holds it pending, the copy holds its bytes.
      prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, n)) + 'a partial line'),
    }, async ({ c, h }) => {
      await waitFor(() => c.records.length === n, 'the live file');
      phase = 'rotate';
      await waitFor(() => phase === 'done', 'the rotation and the late scan');
      await waitFor(() => c.has(last('c', 20)), 'the lines after the truncation');
      await h.graceRound();
      await h.graceRound();
    });
    assert.equal(seenBeforeLate, 1, 'the truncation was not seen before the late scan');
    assert.equal(c.counters.get('source_truncations'), 1);
    assert.equal(c.counters.get('source_copies_adopted'), 1, 'the copy never took the stream');
    assert.ok(c.has('a partial line'), 'the partial line never flushed');
    assert.deepEqual(c.duplicates(), []);
    assert.deepEqual(c.alerts, []);
  });
}

/**
 * the deferred expiry flushes an expired orphan's pending partial line onto the flush queue
 * after the loop's flush of that iteration. When stop() came during that iteration the loop ends
 * there, and the line (held only in memory: the file was truncated, no copy) is never emitted.
 * Before 131ec7a the expiry ran in the scan, and the same iteration's flush emitted it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import { body, last, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { rescanIntervalMs: R, pollIntervalMs: POLL } = options('/');

test('stop() right after the scan that expires an orphan: its pending partial line is still emitted', async () => {
  let phase: 'idle' | 'armed' | 'done' = 'idle';
  let stopped: Promise<void> | undefined;
  const { c } = await runSource({
    source: { partialLineTimeoutMs: 3_600_000 },
    harness: {
      frozen: true,
      afterScan: (h) => {
        if (phase === 'armed') {
          phase = 'done';
          stopped = h.src.stop(); // this scan is past the orphan's deadline
        }
      },
    },
    prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 500)) + 'a partial line'),
  }, async ({ c, h, live }) => {
    await waitFor(() => c.records.length === 500, 'the live file');
    truncateSync(live, 0); // truncated for good: no copy anywhere
    appendFileSync(live, body(lines('c', 0, 20)));
    h.advance((POLL ?? 0) + 1);
    await waitFor(() => c.has(last('c', 20)), 'the truncation seen and the new lines read');
    h.advance(R);
    phase = 'armed';
    await waitFor(() => phase === 'done', 'the scan past the deadline');
    await stopped;
  });
  assert.equal(c.counters.get('source_truncations'), 1);
  assert.ok(c.has('a partial line'), 'the orphan\'s pending partial line was never emitted');
});

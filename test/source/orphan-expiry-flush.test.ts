/**
 * An orphan (a truncated file's stream) that no copy adopted expires after the turn that follows
 * the scan past its deadline; what it held pending (a partial line, a multiline group) exists in
 * no file any more, only in memory. It is handed downstream in that same loop iteration, not left
 * for the next one, which may start with a scan (a kill meanwhile would lose it for good).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { rescanIntervalMs: R, pollIntervalMs: POLL = 0 } = options('/');

test("an expired orphan's pending partial line is handed downstream before the next scan", async () => {
  let phase: 'idle' | 'armed' | 'listed' | 'expiring' | 'done' = 'idle';
  let atNextScan: boolean | undefined;
  let emitted = (): boolean => false;
  const { c } = await runSource(
    {
      source: { partialLineTimeoutMs: 3_600_000 },
      harness: ({ logs }) => {
        const late = join(logs, 'app.log.9');
        return {
          frozen: true,
          afterScan: () => {
            if (phase === 'armed') {
              // This scan is past the orphan's deadline. It lists a file gone before its turn: the
              // failed open asks for a scan, so the next iteration starts with one.
              writeFileSync(late, 'x\n');
              phase = 'listed';
              return true;
            }
            if (phase === 'expiring') {
              atNextScan = emitted();
              phase = 'done';
            }
            return false;
          },
          order: (f) => {
            if (phase === 'listed') {
              unlinkSync(late);
              phase = 'expiring';
            }
            return f;
          },
        };
      },
      prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 500)) + 'a partial line'),
    },
    async ({ c, h, live }) => {
      emitted = () => c.has('a partial line');
      await waitFor(() => c.records.length === 500, 'the live file');
      truncateSync(live, 0); // truncated for good: no copy anywhere
      appendFileSync(live, body(lines('c', 0, 20)));
      h.advance(POLL + 1);
      await waitFor(() => c.has(last('c', 20)), 'the truncation seen and the new lines read');
      h.advance(R);
      phase = 'armed';
      await waitFor(() => phase === 'done', 'the scan after the expiry');
    },
  );
  assert.equal(c.counters.get('source_truncations'), 1);
  assert.equal(atNextScan, true, 'the partial line still waited in memory when the next scan began');
  assert.equal(c.counts.get('a partial line'), 1);
});

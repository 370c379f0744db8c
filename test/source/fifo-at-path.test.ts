/**
 * a live path replaced by a FIFO between the scan that saw its file change and the reopen
 * of its evicted descriptor. open() of a FIFO without O_NONBLOCK waits for a writer, forever: the
 * source's loop stops (no file read, no scan, no tamper alert: the deletion of app.log is never
 * reported) and stop() never returns. The comparison's borrow opens by path the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, closeSync, constants, copyFileSync, openSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL } = options('/');

/** A writer lets a blocked open() of the FIFO at path return (test cleanup only). */
const unblock = (path: string): void => {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    /* no reader waiting */
  }
};

test('a live path swapped for a FIFO does not stop the source', async () => {
  let phase: 'idle' | 'grow' | 'swap' | 'done' = 'idle';
  let readOn = false;
  await runSource({
    source: { maxOpenFiles: 1 },
    harness: ({ live }) => ({
      frozen: true,
      afterScan: () => {
        if (phase === 'grow') {
          phase = 'swap';
          appendFileSync(live, body(lines('a', 10, 5))); // the next scan's walk sees app.log changed
        } else if (phase === 'swap') {
          phase = 'done';
          unlinkSync(live); // after that walk: app.log is deleted, a FIFO put at its path
          execFileSync('mkfifo', [live]);
        }
      },
    }),
    prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 10))),
  }, async ({ c, h, live, logs }) => {
    const other = join(logs, 'other.log');
    try {
      await waitFor(() => c.records.length === 10, 'app.log');
      writeFileSync(other, body(lines('o', 0, 10))); // its open evicts app.log (idle at EOF)
      await waitFor(() => c.records.length === 20, 'other.log');
      phase = 'grow';
      await waitFor(() => phase === 'done', 'the swap');
      appendFileSync(other, body(lines('o', 10, 1)));
      h.advance((POLL ?? 0) + 1);
      try {
        await waitFor(() => c.has(last('o', 11)), 'other.log read on', 5_000);
        readOn = true;
      } catch {
        /* asserted below */
      }
    } finally {
      unblock(live);
    }
  });
  assert.ok(readOn, 'the source stopped reading once a FIFO sat at a path it reopens');
});

test('a holder swapped for a FIFO right before its borrow does not stop the source', async () => {
  let readOn = false;
  await runSource({
    source: { maxOpenFiles: 2 },
    harness: { frozen: true },
    prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 50))),
  }, async ({ c, h, hook, live, logs }) => {
    const copy = join(logs, 'app.log.1');
    let restore = (): void => undefined;
    try {
      await waitFor(() => c.records.length === 50, 'the holder');
      writeFileSync(join(logs, 'other.log'), body(lines('o', 0, 10)));
      await waitFor(() => c.records.length === 60, 'other.log');
      copyFileSync(live, copy);
      await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
      let fired = false;
      restore = await hook('read', (path) => {
        if (fired || path !== copy) return;
        fired = true; // the copy's head is read; its comparison borrows app.log next
        unlinkSync(live);
        execFileSync('mkfifo', [live]);
      });
      h.advance(60_000);
      await waitFor(() => fired, 'the copy decided');
      restore();
      appendFileSync(join(logs, 'other.log'), body(lines('o', 10, 1)));
      h.advance((POLL ?? 0) + 1);
      try {
        await waitFor(() => c.has(last('o', 11)), 'other.log read on', 5_000);
        readOn = true;
      } catch {
        /* asserted below */
      }
    } finally {
      restore();
      unblock(live);
    }
  });
  assert.ok(readOn, 'the source stopped reading once a FIFO sat at the path of a holder it borrows');
});

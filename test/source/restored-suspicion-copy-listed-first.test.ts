/**
 * A truncation a stop left undecided is saved and decided by the next start "after one more grace",
 * which was counted from load(). At start-up a copy at a rotated name waits for the live files to be
 * classified first (its first turn is a `wait`), so the copy that cancels the truncation resumes its
 * checkpoint one turn after the live file at the earliest. When the scan lists the copy before the
 * live file (readdir order: tmpfs lists the newest first, ext4 in hash order) and the first scan
 * comes a grace or more after load() (a slow watcher start, other inputs started first; here the
 * clock moved on before it), the first turn decided the restored suspicion before the copy's turn:
 * a `truncated` alert for an ordinary copytruncate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiscoveredFile } from '../../src/source/discovery.js';
import { body, harness, last, setup, type HarnessOptions } from './copy-fixture.js';
import { Collector, lines, options, waitFor } from './file-fixture.js';

const { rescanIntervalMs: R, pollIntervalMs: POLL = 0 } = options('/');

/** The copy before the live file, as readdir may list them. */
const copyFirst = (f: DiscoveredFile[]): DiscoveredFile[] => [...f].sort((a, b) => b.path.localeCompare(a.path));

test('a truncation saved by a stop, its copy listed before the live file by the next start: no alert, nothing read again', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    const a = lines('a', 0, 500);
    writeFileSync(live, body(a));
    // The first run: copytruncate whose copy no scan lists before the stop (the stop cuts the scan's turn short).
    {
      const c = new Collector();
      let phase: 'idle' | 'armed' | 'done' = 'idle';
      let stopped: Promise<void> | undefined;
      const ho: HarnessOptions = {
        frozen: true,
        afterScan: (h) => {
          if (phase !== 'armed') return;
          phase = 'done';
          writeFileSync(join(logs, 'app.log.1'), body(a));
          stopped = h.src.stop();
          return true;
        },
      };
      const h = harness(dir, logs, c, {}, ho);
      await h.src.start();
      try {
        await waitFor(() => c.records.length === 500, 'the live file');
        truncateSync(live, 0);
        appendFileSync(live, body(lines('c', 0, 20)));
        h.advance(POLL + 1);
        await waitFor(() => c.has(last('c', 20)), 'the truncation seen');
        h.advance(R);
        phase = 'armed';
        await waitFor(() => phase === 'done', 'the scan that stops');
        await stopped;
      } finally {
        await h.src.stop();
      }
      assert.deepEqual(c.alerts, []);
    }
    const c = new Collector();
    const h = harness(dir, logs, c, {}, { frozen: true, order: copyFirst });
    await h.src.load();
    h.advance(2 * R); // the first scan comes later than a grace after load()
    await h.src.start();
    try {
      await h.graceRound();
      await h.graceRound();
    } finally {
      await h.src.stop();
    }
    assert.deepEqual({ alerts: c.alerts.map((x) => `${x.kind} ${x.path}`), read: c.records.length }, { alerts: [], read: 0 });
  } finally {
    cleanup();
  }
});

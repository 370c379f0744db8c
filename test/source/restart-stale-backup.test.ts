/**
 * Review of 931158a/223490b. A day-old backup (unchanged for long) is "a backup or snapshot, whatever
 * it holds, not the truncation's copy" (docs/source.md, Rotation): a real truncation of the live file
 * raises `truncated` even with it there (short-backup-stale.test.ts, while the agent runs). A stop or
 * a crash within the grace saves the suspicion, and the next start decides it: "a copy that resumes
 * the checkpoint cancels a truncation". At a restart every file is new to the source (changedAt: the
 * first scan), so the same day-old backup is no longer known as one: it resumes the truncated
 * stream's checkpoint (it holds its first bytes, and ends before the tail) and cancels the alert.
 * An attacker who truncates the log and then gets the agent restarted (kill -9, systemd restarts it)
 * within the grace has the truncation go unreported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runOnce, setup } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL = 0 } = options('/');

for (const withBackup of [true, false]) {
  test(`a truncation saved by a stop within the grace is raised by the next start (${withBackup ? 'a day-old backup there' : 'no backup'})`, async () => {
    const { dir, cleanup, logs, live } = setup();
    try {
      writeFileSync(live, body(lines('a', 0, 100)));
      // A backup taken a day ago (the first 50 lines), untouched since.
      const bak = join(logs, 'app.log.bak');
      const dayAgo = new Date(Date.now() - 24 * 3600_000);
      if (withBackup) {
        writeFileSync(bak, body(lines('a', 0, 50)));
        utimesSync(bak, dayAgo, dayAgo);
      }
      const first = await runOnce(dir, logs, async (c, h) => {
        await waitFor(() => c.records.length === 100, 'the live file');
        await h.graceRound();
        await h.graceRound(); // the backup compared: a copy of the start of app.log, parked
        await h.graceRound(24 * 3600_000); // a day on: the backup is long unchanged
        // A real truncation (no copy made): the lines read are gone from the live file.
        truncateSync(live, 0);
        appendFileSync(live, body(lines('c', 0, 10)));
        h.advance(POLL + 1);
        await waitFor(() => c.has(last('c', 10)), 'the truncation seen and the new lines read');
      });
      // A stop within the grace (frozen clock: the grace never ran out): the suspicion is saved.
      assert.deepEqual(first.alerts, []);
      const second = await runOnce(dir, logs, async (_c, h) => {
        await h.graceRound();
        await h.graceRound();
        await h.graceRound();
      });
      assert.deepEqual(
        second.alerts.map((a) => [a.kind, a.path]),
        [['truncated', live]],
        'the truncation had no copy: the day-old backup must not cancel the restored suspicion',
      );
    } finally {
      cleanup();
    }
  });
}

/**
 * The fd budget full of files that cannot be closed (each holds a partial line), and a new file the
 * scans list that never gets a descriptor: expiry waits for it "at most one more rescan_interval"
 * (docs/source.md). That wait was measured from the latest scan, which every scan moves: with scans
 * every rescan interval (the timer), expiry, and every tamper alert with it, never ran (found by
 * review). The clock moves one rescan interval per scan, as the scan timer does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { rescanIntervalMs: R, pollIntervalMs: POLL } = options('/');

test('a budget kept full with a file the scans list undecided: a deleted live log is still alerted', async () => {
  let ticking = false;
  let scans = 0;
  let victim = '';
  const { c } = await runSource(
    {
      source: { maxOpenFiles: 2, partialLineTimeoutMs: 3_600_000 },
      harness: {
        frozen: true,
        afterScan: (h) => {
          scans++;
          if (ticking) h.advance(R); // one rescan interval per scan, as the timer
        },
      },
      prepare: ({ live, logs }) => {
        victim = join(logs, 'app-x.log');
        writeFileSync(victim, body(lines('v', 0, 5)));
        writeFileSync(live, body(lines('a', 0, 5)));
        writeFileSync(join(logs, 'other.log'), body(lines('o', 0, 5)));
      },
    },
    async ({ c, h, live, logs }) => {
      await waitFor(() => c.records.length === 15, 'the files');
      // app.log and other.log each get a line still being written: neither can be closed.
      appendFileSync(live, 'a partial');
      appendFileSync(join(logs, 'other.log'), 'o partial');
      h.advance((POLL ?? 0) + 1);
      await waitFor(() => h.src.openFiles === 2 && c.counters.get('source_fd_evictions') >= 1, 'the partials held');
      let s = scans;
      await waitFor(() => scans >= s + 2, 'two scans');
      // A new file no descriptor is left for, then a live log deleted (tampering).
      writeFileSync(join(logs, 'app.log.1'), body(lines('n', 0, 5)));
      unlinkSync(victim);
      ticking = true;
      s = scans;
      await waitFor(() => scans >= s + 12, 'twelve scans, twelve rescan intervals');
    },
  );
  assert.deepEqual(c.alerts.map((a) => `${a.kind} ${a.path}`), [`deleted ${victim}`]);
});

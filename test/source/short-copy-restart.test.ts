/**
 * A copytruncate copy made while the log was shorter than what was read of it, and shorter than a
 * fingerprint, is adopted once (1566e8b). After a restart it is no longer recognised: its head is
 * too short for the fingerprint's entry and matches no short file's recorded head (the entry
 * recorded the longer head read from the original), so the copy was read again from 0. The entry
 * now moves to the copy at the adoption and records the copy's own first bytes (copyHeadLen,
 * copyHeadHash), by which the next start finds it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Harness, runOnce, setup } from './copy-fixture.js';
import { Collector, waitFor } from './file-fixture.js';

const runThawed = (dir: string, logs: string, during: (c: Collector, h: Harness) => Promise<void>): Promise<Collector> => runOnce(dir, logs, during, false);

test('a short copytruncate copy adopted before a restart is not read again after it', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    writeFileSync(live, 'one short line\n');
    const first = await runThawed(dir, logs, async (c, h) => {
      await waitFor(() => c.records.length === 1, 'the live file');
      copyFileSync(live, join(logs, 'app.log.1'));
      await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
      appendFileSync(live, 'second line\n'); // read before logrotate truncates: the copy lacks it
      await waitFor(() => c.records.length === 2, 'the second line');
      truncateSync(live, 0);
      await waitFor(() => c.counters.get('source_copies_adopted') >= 1, 'the copy adopted');
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual(first.alerts, []);
    const c = await runThawed(dir, logs, async (_c, h) => {
      await h.graceRound();
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual({ read: c.records.map((r) => r.bytes.toString()), alerts: c.alerts }, { read: [], alerts: [] });
  } finally {
    cleanup();
  }
});

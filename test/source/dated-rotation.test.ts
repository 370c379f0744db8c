/**
 * logrotate's `dateext` with `dateformat -%Y-%m-%d` names its copies app.log-2026-11-23. Names
 * alone cannot tell that from a live file with the date in its name (rotatelogs
 * access_log-%Y-%m-%d), so those copies looked live: deleted by the next rotation they raised a
 * `deleted` alert, and a late copytruncate copy was read again with a `replaced` alert. A dashed
 * date is now a rotated copy when the scan also lists the undated name as another file (logrotate
 * keeps the live file next to its copies); alone, it stays live and keeps its alerts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLivePath } from '../../src/source/tamper.js';
import { body, last, runSource, type SourceEnv } from './copy-fixture.js';
import { lines, waitFor } from './file-fixture.js';

test('a dashed date names a rotated copy next to its undated file, and a live file alone', () => {
  const dir = '/var/log';
  const listed = (...names: [string, string][]): Map<string, string> => new Map(names.map(([n, ino]) => [`${dir}/${n}`, ino]));
  const withLive = listed(['app.log', '1'], ['app.log-2026-11-23', '2'], ['app.log_2026-11-23-14', '3'], ['app.log.2026-11', '4'], ['app.log-2026-11-23T14-30-00', '5']);
  for (const n of ['app.log-2026-11-23', 'app.log_2026-11-23-14', 'app.log.2026-11', 'app.log-2026-11-23T14-30-00']) {
    assert.equal(isLivePath(`${dir}/${n}`, withLive), false, n);
  }
  // Already rotated by their form alone, listed or not.
  for (const n of ['app.log-20261123', 'app.log.1', 'app.log-2026-11-23.gz', 'app.log-2026-11-23.1', 'app.log.old']) {
    assert.equal(isLivePath(`${dir}/${n}`), false, n);
  }
  assert.equal(isLivePath(`${dir}/app.log`, withLive), true);
  // rotatelogs access_log-%Y-%m-%d: no undated file, or the undated name a link to this very file.
  assert.equal(isLivePath(`${dir}/access_log-2026-11-23`, listed(['access_log-2026-11-23', '7'])), true);
  assert.equal(isLivePath(`${dir}/access_log-2026-11-23`, listed(['access_log-2026-11-23', '7'], ['access_log', '7'])), true);
  assert.equal(isLivePath(`${dir}/access_log-2026-11-22`, listed(['access_log-2026-11-22', '6'], ['access_log', '7'])), false);
  // Not a date at the end, or nothing before it.
  assert.equal(isLivePath(`${dir}/app-2026-11-23.log`, listed(['app.log', '1'], ['app-2026-11-23.log', '2'])), true);
  assert.equal(isLivePath(`${dir}/2026-11-23`, listed(['2026-11-23', '2'])), true);
});

test("logrotate deleting an old dateformat -%Y-%m-%d copy raises no deleted alert", async () => {
  const prepare = ({ live, logs }: SourceEnv): void => {
    writeFileSync(live, body(lines('a', 0, 50)));
    writeFileSync(join(logs, 'app.log-2026-11-22'), body(lines('y', 0, 50)));
  };
  const { c } = await runSource({ harness: { frozen: true }, prepare }, async ({ c, h, logs }) => {
    await waitFor(() => c.records.length === 100, 'both files');
    unlinkSync(join(logs, 'app.log-2026-11-22')); // rotate N: the oldest copy goes
    await h.graceRound();
    await h.graceRound();
  });
  assert.deepEqual(c.alerts, []);
});

test('a copytruncate copy named with dateformat -%Y-%m-%d, truncated long after the copy: nothing read twice, no alert', async () => {
  const a = lines('a', 0, 50);
  const b = lines('b', 0, 30);
  const { c } = await runSource({ prepare: ({ live }) => writeFileSync(live, body(a)) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 50, 'the live file');
    copyFileSync(live, join(logs, 'app.log-2026-11-23'));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
    await h.graceRound(); // the copy's grace runs out before the truncation (a slow fsync of the copy)
    truncateSync(live, 0);
    appendFileSync(live, body(b));
    await waitFor(() => c.has(last('b', 30)), 'the new lines');
    await h.graceRound();
    await h.graceRound();
  });
  assert.deepEqual(c.duplicates(), []);
  assert.deepEqual(c.alerts, []);
  assert.equal(c.counters.get('source_copies_adopted'), 1);
});

/**
 * Copies at rotated names that share a head with the file being read (copytruncate copies, backups,
 * snapshots): read nothing twice, lose nothing, and keep the tamper alert a real truncation earns.
 * Found by a hostile review of the late-copytruncate change; each test failed on that change or on
 * the code before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runSource } from './copy-fixture.js';
import { Collector, lines, sleep, waitFor } from './file-fixture.js';

const texts = (c: Collector): string[] => c.records.map((r) => r.bytes.toString()).sort();

test('start_at end: the lines written after a truncation are read (not skipped as if at start-up)', async () => {
  const { c } = await runSource({ source: { startAt: 'end' }, prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 50))) }, async ({ c, live, logs }) => {
    await sleep(300);
    appendFileSync(live, body(lines('b', 0, 5)));
    await waitFor(() => c.has(last('b', 5)), 'the new lines');
    copyFileSync(live, join(logs, 'app.log.1'));
    truncateSync(live, 0);
    appendFileSync(live, body(lines('c', 0, 5)));
    await waitFor(() => c.has(last('c', 5)), 'the lines after the truncation');
    await sleep(300);
  });
  assert.deepEqual(texts(c), [...lines('b', 0, 5), ...lines('c', 0, 5)].sort());
  assert.deepEqual(c.alerts, []);
});

test('a day-old backup at a rotated name does not silence a real truncation of the live file', async () => {
  const { c, live } = await runSource({ prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 50))) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 50, 'the live file');
    copyFileSync(live, join(logs, 'app.log.bak'));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the backup parked');
    await h.graceRound(24 * 3600_000);
    appendFileSync(live, body(lines('b', 0, 500)));
    await waitFor(() => c.has(last('b', 500)), 'the new lines');
    truncateSync(live, 0);
    await waitFor(() => c.alerts.some((a) => a.kind === 'truncated'), 'the truncation alert');
  });
  assert.deepEqual(c.alerts.map((a) => [a.kind, a.path]), [['truncated', live]]);
  assert.deepEqual(c.duplicates(), []);
});

test('a rotated-name file that matches the live file only at its head and its end is read, not taken for a copy', async () => {
  const a = lines('a', 0, 60_000);
  const other = [...a];
  const x = lines('x', 50_000, 10); // the same length; past the comparison's first 1 MiB step
  other.splice(50_000, 10, ...x);
  const { c } = await runSource({ prepare: ({ live }) => writeFileSync(live, body(a)) }, async ({ c, h, logs }) => {
    await waitFor(() => c.records.length === 60_000, 'the live file', 60_000);
    writeFileSync(join(logs, 'app.log.1'), body(other));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'parked');
    await h.graceRound();
    await h.graceRound();
    await waitFor(() => x.every((l) => c.has(l)), 'the lines only app.log.1 holds');
  });
  assert.deepEqual(x.filter((l) => !c.has(l)), [], 'lines lost');
});

test("a late copytruncate copy whose holder's descriptor was closed by the fd budget is still recognised", async () => {
  const { c } = await runSource({ source: { maxOpenFiles: 2 }, prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 50))) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 50, 'the live file');
    writeFileSync(join(logs, 'other.log'), body(lines('o', 0, 10)));
    await waitFor(() => c.records.length === 60, 'other.log');
    copyFileSync(live, join(logs, 'app.log.1'));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
    await h.graceRound();
    truncateSync(live, 0);
    appendFileSync(live, body(lines('b', 0, 30)));
    await waitFor(() => c.has(last('b', 30)), 'the new lines');
    await sleep(900);
  });
  assert.deepEqual(c.duplicates(), []);
  assert.deepEqual(c.alerts, []);
});

test('two same-head copies (an old backup, a late copytruncate copy): the truncation hands the stream to the one holding it all', async () => {
  const { c } = await runSource({ prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 50))) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 50, 'the live file');
    copyFileSync(live, join(logs, 'app.log.bak'));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the backup parked');
    appendFileSync(live, body(lines('b', 0, 50)));
    await waitFor(() => c.has(last('b', 50)), 'more lines');
    copyFileSync(live, join(logs, 'app.log.1'));
    await h.graceRound();
    await h.graceRound();
    truncateSync(live, 0);
    appendFileSync(live, body(lines('c', 0, 30)));
    await waitFor(() => c.has(last('c', 30)), 'the new lines');
    await h.graceRound();
    await sleep(600);
  });
  assert.deepEqual(c.duplicates(), []);
  assert.deepEqual(c.alerts, []);
});

test('a file written live under a dashed date (rotatelogs access_log-%Y-%m-%d) is live: truncating it raises the alert', async () => {
  // Names alone cannot tell this from logrotate's dateformat -%Y-%m-%d copy: without an undated
  // file next to it (logrotate keeps one) it is live (dated-rotation.test.ts has the copies).
  const day = (logs: string): string => join(logs, 'app_access_log-2026-11-22');
  const { c } = await runSource({ prepare: ({ logs }) => writeFileSync(day(logs), body(lines('a', 0, 50))) }, async ({ c, h, logs }) => {
    await waitFor(() => c.records.length === 50, 'the live file');
    truncateSync(day(logs), 0);
    await waitFor(() => c.counters.get('source_truncations') >= 1, 'the truncation');
    await h.graceRound();
    await h.graceRound();
  });
  assert.deepEqual(c.alerts.map((x) => x.kind), ['truncated']);
});

test('a complete backup taken while the file was idle does not silence a real truncation a day later', async () => {
  const { c, live } = await runSource({ prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 50))) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 50, 'the live file');
    copyFileSync(live, join(logs, 'app.log.1'));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the backup parked');
    await h.graceRound();
    await h.graceRound(); // compared: byte for byte what app.log holds
    await h.graceRound(24 * 3600_000);
    truncateSync(live, 0);
    appendFileSync(live, body(lines('b', 0, 5)));
    await waitFor(() => c.alerts.some((a) => a.kind === 'truncated'), 'the truncation alert');
  });
  assert.deepEqual(c.alerts.map((a) => [a.kind, a.path]), [['truncated', live]]);
});

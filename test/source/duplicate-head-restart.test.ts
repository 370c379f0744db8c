/**
 * A live log read under its own identity because another log being read starts with the same bytes
 * (a fixed banner: docs/source.md, known limit) has its checkpoint record its head "so that a
 * restart resumes them instead of the fingerprint's entry" (1566e8b). But classify() asks "does a
 * file being read start like this one?" before it looks for this inode's own entry: whichever of
 * the two logs the restart classifies second is parked, then read again from 0 under a new
 * identity, with a second `replaced` alert, at every restart. A log that so far held only the
 * first line of another (read under its own identity with a short head, which its checkpoint did
 * not record at all) was read again whole at every restart too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runOnce, setup } from './copy-fixture.js';
import { lines, waitFor } from './file-fixture.js';

const BANNER = '# banner: this log is produced by the payments service; fields: ts host level msg '.repeat(4) + '\n';

test('two live logs with the same banner: a restart reads only the lines appended while away, and raises nothing', async () => {
  const { dir, cleanup, logs, live } = setup();
  const other = join(logs, 'other.log');
  try {
    assert.ok(BANNER.length > 256);
    writeFileSync(live, BANNER + body(lines('a', 0, 50)));
    writeFileSync(other, BANNER + body(lines('o', 0, 50)));
    await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.has(last('a', 50)), 'app.log');
      await h.graceRound();
      await h.graceRound();
      await waitFor(() => c.has(last('o', 50)), 'other.log (read under its own identity after a grace)');
    });
    appendFileSync(live, body(lines('b', 0, 5)));
    appendFileSync(other, body(lines('p', 0, 5)));
    const c = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.has(last('b', 5)), 'the lines appended to app.log while away');
      await h.graceRound();
      await h.graceRound();
      await waitFor(() => c.has(last('p', 5)), 'the lines appended to other.log while away');
      await h.graceRound();
    });
    assert.deepEqual(
      { read: c.records.map((r) => r.bytes.toString()).sort(), alerts: c.alerts.map((a) => `${a.kind} ${a.path}`) },
      { read: [...lines('b', 0, 5), ...lines('p', 0, 5)].sort(), alerts: [] },
    );
  } finally {
    cleanup();
  }
});

test('a log that first held only the first line of another: a restart reads only the lines appended while away', async () => {
  const { dir, cleanup, logs, live } = setup();
  const other = join(logs, 'other.log');
  try {
    writeFileSync(live, 'service started\n' + body(lines('a', 0, 20)));
    await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.has(last('a', 20)), 'app.log');
      writeFileSync(other, 'service started\n'); // another service, quiet after its first line
      await h.graceRound();
      await h.graceRound();
      await h.graceRound();
      await waitFor(() => (c.counts.get('service started') ?? 0) === 2, 'other.log');
      appendFileSync(other, body(lines('o', 0, 20)));
      await h.graceRound();
      await waitFor(() => c.has(last('o', 20)), 'the lines other.log went on with');
    });
    appendFileSync(other, body(lines('p', 0, 2)));
    const c = await runOnce(dir, logs, async (c, h) => {
      await h.graceRound();
      await h.graceRound();
      await h.graceRound();
      await waitFor(() => c.has(last('p', 2)), 'the lines appended while away');
    });
    assert.deepEqual({ read: c.records.map((r) => r.bytes.toString()), alerts: c.alerts }, { read: lines('p', 0, 2), alerts: [] });
  } finally {
    cleanup();
  }
});

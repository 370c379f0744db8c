/**
 * At a restart, a live path may name another inode than the one its checkpoint was read from, yet
 * start with the same 256 bytes (the identity): `sed -i` or an editor (a new inode renamed over the
 * log), or a log with a fixed banner rotated by rename while the agent was away. 1566e8b checks the
 * bytes before the checkpoint's offset, but for another inode it took a file shorter than that
 * offset for a copytruncate copy and resumed it at the old offset (every line below the offset in
 * the new file skipped), and a mismatch was read from 0 without the `replaced` alert the same
 * change raises when it happens while the agent runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, runOnce, setup } from './copy-fixture.js';
import { Collector, lines, waitFor } from './file-fixture.js';

const alerts = (c: Collector): string[] => c.alerts.map((a) => `${a.kind} ${a.path}`);

test('a live log edited with sed -i while the agent was away (a new inode, head kept): replaced, as when it happens live', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    writeFileSync(live, body(lines('a', 0, 500)));
    await runOnce(dir, logs, async (c) => waitFor(() => c.records.length === 500, 'the live file'));
    const ino = statSync(live).ino;
    execFileSync('sed', ['-i', '/^a 0000100 /d', live]); // the intruder's line removed
    assert.notEqual(statSync(live).ino, ino, 'sed -i writes a new inode');
    appendFileSync(live, body(lines('w', 0, 5)));
    const c = await runOnce(dir, logs, async (c, h) => {
      await waitFor(() => c.has(last('w', 5)), 'the lines written after the edit');
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual(alerts(c), [`replaced ${live}`]);
  } finally {
    cleanup();
  }
});

test('a live log cut short with sed -i while the agent was away, then written on: no line lost, replaced', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    writeFileSync(live, body(lines('a', 0, 500)));
    await runOnce(dir, logs, async (c) => waitFor(() => c.records.length === 500, 'the live file'));
    execFileSync('sed', ['-i', '/^a 00001/d', live]); // 100 lines removed: shorter than the checkpoint's offset
    const w = lines('w', 0, 50);
    appendFileSync(live, body(w));
    const c = await runOnce(dir, logs, async (c, h) => {
      await h.graceRound();
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual({ lost: w.filter((l) => !c.has(l)), alerts: alerts(c) }, { lost: [], alerts: [`replaced ${live}`] });
  } finally {
    cleanup();
  }
});

test('a log with a fixed banner rotated by rename while the agent was away: the new file is read from its start', async () => {
  const banner = '#Fields: ' + 'date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip sc-status time-taken '.repeat(3) + '\n';
  const { dir, cleanup, logs, live } = setup();
  try {
    assert.ok(banner.length > 256);
    writeFileSync(live, banner + body(lines('a', 0, 100)));
    await runOnce(dir, logs, async (c) => waitFor(() => c.has(last('a', 100)), 'the live file'));
    const b = lines('b', 0, 5);
    const n = lines('n', 0, 20);
    appendFileSync(live, body(b));
    renameSync(live, join(logs, 'app.log.1')); // logrotate (create) while the agent is away
    writeFileSync(live, banner + body(n));
    const c = await runOnce(dir, logs, async (c, h) => {
      for (let i = 0; i < 5; i++) await h.graceRound();
      await waitFor(() => c.has(last('b', 5)), 'the rest of the rotated file');
    });
    assert.deepEqual(
      { lost: [...b, ...n].filter((l) => !c.has(l)), readTwice: c.duplicates().filter((l) => !l.startsWith('#')) },
      { lost: [], readTwice: [] },
    );
  } finally {
    cleanup();
  }
});

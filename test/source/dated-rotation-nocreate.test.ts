/**
 * logrotate `dateext` + `dateformat -%Y-%m-%d` + `nocreate`: app.log is renamed to
 * app.log-2026-11-23 and no new app.log is made; the application makes it when it next opens its log
 * (after its postrotate signal, or its next write). In the same run logrotate deletes the oldest
 * dated copy (`rotate N`) or compresses it. A dashed date is a rotated copy only when the scan also
 * lists the undated name, and from the rename until the application makes app.log again no scan
 * does: every dated copy looked live in that window, and the copy deleted by logrotate raised a
 * `deleted` alert (kept even once app.log was back: the decision did not ask again). An undated name
 * listed by a recent scan (within max(5 min, 10 rescan intervals)) now still makes its dated
 * names rotated copies, and a deletion is asked again whether its path is live when it is decided.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLivePath } from '../../src/source/tamper.js';
import { body, last, runOnce, runSource, setup, type SourceEnv } from './copy-fixture.js';
import { Collector, lines, waitFor } from './file-fixture.js';

const prepare = ({ live, logs }: SourceEnv): void => {
  writeFileSync(live, body(lines('a', 0, 50)));
  writeFileSync(join(logs, 'app.log-2026-11-22'), body(lines('y', 0, 50)));
};

test('nocreate: the oldest dated copy deleted while the live file is not made again yet raises no alert', async () => {
  const { c, live } = await runSource({ harness: { frozen: true }, prepare }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 100, 'both files');
    renameSync(live, join(logs, 'app.log-2026-11-23')); // nocreate: no app.log now
    unlinkSync(join(logs, 'app.log-2026-11-22')); // rotate 1: the oldest copy goes
    await h.graceRound(0); // scans that list no app.log, within the grace
    writeFileSync(live, body(lines('b', 0, 10))); // the application opens its log again
    await waitFor(() => c.has(last('b', 10)), 'the new live file');
    await h.graceRound();
    await h.graceRound();
  });
  assert.deepEqual(
    c.alerts.map((a) => `${a.kind} ${a.path}`),
    [],
    `no alert (app.log back within the grace: ${live})`,
  );
  assert.deepEqual(c.duplicates(), []);
});

test('nocreate: the live file made again only after the grace: its own absence is alerted, the deleted dated copy is not', async () => {
  const { c, live } = await runSource({ harness: { frozen: true }, prepare }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 100, 'both files');
    renameSync(live, join(logs, 'app.log-2026-11-23'));
    unlinkSync(join(logs, 'app.log-2026-11-22'));
    await h.graceRound();
    await h.graceRound(); // decided with app.log still missing
    writeFileSync(live, body(lines('b', 0, 10)));
    await waitFor(() => c.has(last('b', 10)), 'the new live file');
  });
  // A live path missing for a whole grace is what `deleted` says (nocreate or not): that one stands.
  assert.deepEqual(
    c.alerts.map((a) => `${a.kind} ${a.path}`),
    [`deleted ${live}`],
  );
  assert.deepEqual(c.duplicates(), []);
});

test('nocreate, the agent started in the window: a dated copy deleted then is not alerted once the live file is back', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    prepare({ dir, logs, live, c: new Collector() });
    await runOnce(dir, logs, async (c) => {
      await waitFor(() => c.records.length === 100, 'both files');
    });
    renameSync(live, join(logs, 'app.log-2026-11-23')); // while the agent is stopped
    const c = await runOnce(dir, logs, async (_c, h) => {
      await h.graceRound(0); // scans that list the dated names alone: taken for live files (no memory of app.log)
      unlinkSync(join(logs, 'app.log-2026-11-22'));
      await h.graceRound(0); // its absence noticed
      writeFileSync(live, body(lines('b', 0, 10))); // back within the grace
      // Listed before the clock moves: a scan that listed the directory before the write could
      // otherwise decide with the clock a grace later (a loaded machine), which real time never does.
      await h.graceRound(0);
      await h.graceRound();
      await h.graceRound();
    });
    assert.deepEqual(c.alerts.map((a) => `${a.kind} ${a.path}`), []);
  } finally {
    cleanup();
  }
});

test('a dashed date next to an undated name listed recently is a rotated copy, and a live file without one stays live', () => {
  const dir = '/var/log';
  const listed = new Map([[`${dir}/app.log-2026-11-23`, '2']]);
  const recent = (p: string): boolean => p === `${dir}/app.log`;
  assert.equal(isLivePath(`${dir}/app.log-2026-11-23`, listed), true, 'nothing says a live file sits next to it');
  assert.equal(isLivePath(`${dir}/app.log-2026-11-23`, listed, recent), false, 'app.log listed a moment ago');
  assert.equal(isLivePath(`${dir}/access_log-2026-11-23`, new Map([[`${dir}/access_log-2026-11-23`, '7']]), recent), true);
});

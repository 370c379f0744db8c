/**
 * Parked copies, second review: a truncation in the middle of the byte comparison, a big copy
 * compared over many turns while the other files are read, a rewrite that keeps size and mtime,
 * an old backup that must not take a fresh copy's stream, a slow copy whose age counts from its
 * last change, and three start-up and short-file cases that read lines twice before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, copyFileSync, mkdirSync, openSync, truncateSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DiscoveredFile } from '../../src/source/discovery.js';
import { body, harness, last, runSource, setup, type SourceEnv } from './copy-fixture.js';
import { Collector, lines, sleep, waitFor } from './file-fixture.js';

const copyFirst = (f: DiscoveredFile[]): DiscoveredFile[] => [...f].sort((x, y) => (x.path.includes('/old/') ? -1 : 0) - (y.path.includes('/old/') ? -1 : 0));

const COMPARE = 64 * 1024;

test('the live file truncated (copytruncate) while its late copy is being compared: nothing twice, no alert', async () => {
  const a = lines('a', 0, 60_000);
  const { c } = await runSource({ prepare: ({ live }) => writeFileSync(live, body(a)) }, async ({ c, h, hook, live, logs }) => {
    await waitFor(() => c.records.length === a.length, 'the live file');
    copyFileSync(live, join(logs, 'app.log.1'));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
    let fired = false;
    const restore = await hook('read', (_path, [, , len, pos]) => {
      if (!fired && len === COMPARE && pos === 8 * COMPARE) {
        fired = true; // logrotate's fsync of the copy returned: it truncates now
        truncateSync(live, 0);
        appendFileSync(live, body(lines('b', 0, 30)));
      }
    });
    await h.graceRound();
    await waitFor(() => fired, 'the comparison reached the middle');
    restore();
    await waitFor(() => c.has(last('b', 30)), 'the new lines');
    await h.graceRound();
    await sleep(600);
  });
  assert.equal(c.duplicates().length, 0, `${c.duplicates().length} lines read twice`);
  assert.deepEqual(c.alerts, []);
});

test('the comparison of a big parked copy does not stop the other files from being read', async () => {
  const a = lines('a', 0, 400_000); // ~16 MiB
  const prepare = ({ live, logs }: SourceEnv): void => {
    writeFileSync(live, body(a));
    writeFileSync(join(logs, 'other.log'), body(lines('o', 0, 1)));
  };
  await runSource({ prepare }, async ({ c, h, hook, live, logs }) => {
    await waitFor(() => c.records.length === a.length + 1, 'the files');
    copyFileSync(live, join(logs, 'app.log.1'));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
    let compareReads = 0;
    let readsWhenOtherSeen = -1;
    const other = 'o 0000001 the quick brown fox';
    const restore = await hook('read', (_path, [, , len, pos]) => {
      if (len !== COMPARE || typeof pos !== 'number') return;
      compareReads++;
      if (compareReads === 2) {
        appendFileSync(join(logs, 'other.log'), other + '\n');
        h.advance(1000); // other.log's poll is due at once
      }
      if (readsWhenOtherSeen < 0 && c.has(other)) readsWhenOtherSeen = compareReads;
    });
    await h.graceRound();
    await waitFor(() => c.has(other), 'the other file');
    await waitFor(() => compareReads > 200, 'the comparison going on');
    restore();
    const total = compareReads;
    assert.ok(readsWhenOtherSeen > 0 && readsWhenOtherSeen < total / 2, `other.log waited for ${readsWhenOtherSeen < 0 ? 'all' : readsWhenOtherSeen} of ${total} comparison reads`);
  });
});

test('a parked copy rewritten in place with its size and mtime kept: its new lines are read', async () => {
  const a = lines('a', 0, 400);
  const x = lines('x', 100, 10);
  const { c } = await runSource({ prepare: ({ live }) => writeFileSync(live, body(a)) }, async ({ c, h, live, logs }) => {
    const copy = join(logs, 'app.log.1');
    await waitFor(() => c.records.length === 400, 'the live file');
    copyFileSync(live, copy);
    utimesSync(copy, 1_700_000_000, 1_700_000_000); // cp -p keeps the source's mtime
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'parked');
    await h.graceRound();
    await h.graceRound(); // compared, found a copy, remembered
    const fd = openSync(copy, 'r+');
    writeSync(fd, body(x), a.slice(0, 100).join('\n').length + 1);
    closeSync(fd);
    utimesSync(copy, 1_700_000_000, 1_700_000_000); // same size, same mtime
    await h.graceRound();
    await h.graceRound();
    await waitFor(() => x.every((l) => c.has(l)), 'the rewritten lines');
  });
  assert.deepEqual(x.filter((l) => !c.has(l)), [], 'lines never read');
});

test('an old same-head backup does not take the stream of a copytruncate whose copy is listed but not classified yet', async () => {
  let rotate = false;
  const { c } = await runSource({
    harness: ({ live, logs }) => ({ afterScan: () => {
      if (!rotate) return;
      rotate = false;
      copyFileSync(live, join(logs, 'app.log.1'));
      truncateSync(live, 0);
      appendFileSync(live, body(lines('c', 0, 30)));
      return true; // this scan lists app.log.1 (new); who is served first decides
    } }),
    prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 50))),
  }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 50, 'the live file');
    copyFileSync(live, join(logs, 'app.log.bak')); // an admin's backup, a day ago
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the backup parked');
    await h.graceRound(24 * 3600_000);
    appendFileSync(live, body(lines('b', 0, 500)));
    await waitFor(() => c.has(last('b', 500)), 'more lines');
    rotate = true;
    await waitFor(() => c.has(last('c', 30)), 'the new lines');
    await h.graceRound();
    await h.graceRound();
    await sleep(600);
  });
  assert.equal(c.duplicates().length, 0, `${c.duplicates().length} lines read twice`);
  assert.deepEqual(c.alerts, []);
});

test('a copytruncate copy that takes minutes to write (the writer appending meanwhile) is no stale backup: no alert', async () => {
  const a = body(lines('a', 0, 2000));
  const { c } = await runSource({ prepare: ({ live }) => writeFileSync(live, a) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 2000, 'the live file');
    const copy = join(logs, 'app.log.1');
    writeFileSync(copy, a.slice(0, 4096));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
    for (let m = 0; m < 6; m++) {
      await h.graceRound(60_000); // a minute passes, the copy grows
      appendFileSync(copy, a.slice(4096 + m * 10_000, 4096 + (m + 1) * 10_000));
    }
    appendFileSync(copy, a.slice(4096 + 60_000));
    appendFileSync(live, body(lines('b', 0, 20))); // only in the live file
    await waitFor(() => c.has(last('b', 20)), 'the writer');
    truncateSync(live, 0);
    appendFileSync(live, body(lines('c', 0, 20)));
    await waitFor(() => c.has(last('c', 20)), 'the new lines');
    await h.graceRound();
    await h.graceRound();
  });
  assert.deepEqual(c.duplicates(), []);
  assert.deepEqual(c.alerts, []);
});

test('restart with a same-head copy in an olddir listed before the live file: nothing twice, no alert', async () => {
  const { dir, cleanup, live, logs } = setup();
  try {
    mkdirSync(join(logs, 'old'));
    const c = new Collector();
    writeFileSync(live, body(lines('a', 0, 50)));
    let h = harness(dir, logs, c);
    await h.src.start();
    try {
      await waitFor(() => c.records.length === 50, 'the live file');
      await sleep(300);
    } finally {
      await h.src.stop();
    }
    copyFileSync(live, join(logs, 'old', 'app.log.1')); // a copy made while the agent was down
    appendFileSync(live, body(lines('b', 0, 10)));
    h = harness(dir, logs, c, {}, { order: copyFirst });
    await h.src.start();
    try {
      await waitFor(() => c.has(last('b', 10)), 'the lines written while down');
      await h.graceRound();
      await h.graceRound();
      truncateSync(live, 0);
      appendFileSync(live, body(lines('c', 0, 10)));
      await waitFor(() => c.has(last('c', 10)), 'after the truncation');
      await h.graceRound();
      await sleep(300);
    } finally {
      await h.src.stop();
    }
    assert.equal(c.duplicates().length, 0, `${c.duplicates().length} lines read twice`);
    assert.deepEqual(c.alerts.map((x) => x.kind), []);
  } finally {
    cleanup();
  }
});

test('a short file (< 256 B) copied, then grown past 256 B and truncated: the copy is handed the stream', async () => {
  const { c } = await runSource({ prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 3))) }, async ({ c, h, live, logs }) => {
    await waitFor(() => c.records.length === 3, 'the live file');
    copyFileSync(live, join(logs, 'app.log.1'));
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'parked');
    appendFileSync(live, body(lines('b', 0, 20)));
    await waitFor(() => c.has(last('b', 20)), 'grown past 256 B');
    truncateSync(live, 0);
    appendFileSync(live, body(lines('c', 0, 5)));
    await waitFor(() => c.has(last('c', 5)), 'after the truncation');
    await h.graceRound();
    await h.graceRound();
    await sleep(300);
  });
  assert.equal(c.duplicates().length, 0, `${c.duplicates().length} lines read twice`);
  assert.deepEqual(c.alerts.map((x) => x.kind), []);
});

test('start_at end, first run, a same-head copy listed before the live file: nothing from before start-up, no alert', async () => {
  const prepare = ({ live, logs }: SourceEnv): void => {
    mkdirSync(join(logs, 'old'));
    writeFileSync(live, body(lines('a', 0, 50)));
    copyFileSync(live, join(logs, 'old', 'app.log.1'));
  };
  const { c } = await runSource({ source: { startAt: 'end' }, harness: { order: copyFirst }, prepare }, async ({ c, h, live }) => {
    await h.graceRound();
    await h.graceRound();
    appendFileSync(live, body(lines('b', 0, 5)));
    await waitFor(() => c.has(last('b', 5)), 'the new lines');
    await h.graceRound();
    await sleep(300);
  });
  assert.equal(c.records.map((r) => r.bytes.toString()).filter((l) => l.startsWith('a ')).length, 0, 'lines from before start-up');
  assert.equal(c.duplicates().length, 0);
  assert.deepEqual(c.alerts.map((x) => x.kind), []);
});

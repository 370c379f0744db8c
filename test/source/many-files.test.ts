import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { Collector, options, sleep, tempDir, waitFor } from './file-fixture.js';

const FILES = 2000;
const MAX_FDS = 100;

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

test(`${FILES} files in one glob are all read while open descriptors stay under max_open_files`, async () => {
  const { dir, cleanup } = tempDir('logward-many-');
  try {
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    for (let i = 0; i < FILES; i++) writeFileSync(join(logs, `svc-${i}.log`), `file ${i} line 0\nfile ${i} line 1\n`);
    const c = new Collector();
    const baseline = fdCount();
    const src = c.source(options(dir, { paths: [join(logs, '*.log')], maxOpenFiles: MAX_FDS, rescanIntervalMs: 500 }));
    let maxSeen = 0;
    let maxOwn = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxSeen = Math.max(maxSeen, fdCount());
        maxOwn = Math.max(maxOwn, src.openFiles);
        await sleep(5);
      }
    })();
    await src.start();
    await waitFor(() => c.records.length >= FILES * 2, 'first lines of every file', 60_000);
    // Files closed at EOF must be reopened when they grow.
    for (let i = 0; i < FILES; i += 97) appendFileSync(join(logs, `svc-${i}.log`), `file ${i} line 2\n`);
    const grown = Math.ceil(FILES / 97);
    await waitFor(() => c.records.length >= FILES * 2 + grown, 'appended lines', 60_000);
    await sleep(300);
    sampling = false;
    await sampler;
    await src.stop();
    assert.equal(c.records.length, FILES * 2 + grown);
    assert.deepEqual(c.duplicates(), []);
    assert.ok(maxOwn <= MAX_FDS, `source held ${maxOwn} descriptors`);
    // The process also holds the watcher's inotify fd, the test runner's pipes and transient ones.
    assert.ok(maxSeen <= baseline + MAX_FDS + 10, `process had ${maxSeen} fds open (baseline ${baseline})`);
  } finally {
    cleanup();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync, copyFileSync, renameSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Discovery, type PathsProvider } from '../../src/source/discovery.js';
import { FileSource } from '../../src/source/file-source.js';
import { harness, setup } from './copy-fixture.js';
import { Collector, lines, options, sleep, waitFor } from './file-fixture.js';


test('reads every line once with exact byte offsets, CRLF tolerated', async () => {
  const { dir, cleanup, live } = setup();
  try {
    writeFileSync(live, 'first line\r\nsecond\n\nthird\n');
    const c = new Collector();
    const src = c.source(options(dir));
    await src.start();
    await waitFor(() => c.records.length === 4, '4 records');
    await src.stop();
    assert.deepEqual(
      c.records.map((r) => [r.bytes.toString(), r.source.offset, r.source.end]),
      [['first line', 0, 12], ['second', 12, 19], ['', 19, 20], ['third', 20, 26]],
    );
    assert.equal(c.records[0]?.source.path, live);
  } finally {
    cleanup();
  }
});

test('rename+create rotation: old file finished through the held descriptor, new one read from 0, no alert', async () => {
  const { dir, cleanup, live, logs } = setup();
  try {
    const c = new Collector();
    const src = c.source(options(dir));
    writeFileSync(live, lines('a', 0, 50).join('\n') + '\n');
    await src.start();
    await waitFor(() => c.has(lines('a', 49, 1)[0] as string), 'first file');
    appendFileSync(live, lines('a', 50, 50).join('\n') + '\n');
    renameSync(live, join(logs, 'app.log.1'));
    writeFileSync(live, lines('b', 0, 30).join('\n') + '\n');
    await waitFor(() => c.records.length >= 130, 'all lines');
    await sleep(700);
    await src.stop();
    assert.equal(c.records.length, 130);
    assert.deepEqual(c.duplicates(), []);
    assert.deepEqual(c.alerts, []);
  } finally {
    cleanup();
  }
});

test('rename+create between a scan and the first open: the file is read under its rotated name', async () => {
  // logrotate ran after the scan listed the live file and before the source opened it: the open
  // finds the new file at the path, and the listed inode, now app.log.1, never changes again
  // (same size, same mtime). It must still be read (a real logrotate run lost a whole app.log.1 so).
  const { dir, cleanup, live, logs } = setup();
  try {
    writeFileSync(live, lines('a', 0, 50).join('\n') + '\n');
    const c = new Collector();
    const real = new Discovery(
      { paths: [join(logs, 'app.log*')], exclude: [], followSymlinks: false },
      { rescan: () => undefined, changed: () => undefined },
      c.counters,
    );
    // No watcher: only scans and reads can notice the file, as when inotify says nothing useful.
    let scans = 0;
    const paths: PathsProvider = {
      scan: async () => {
        const files = await real.scan();
        if (++scans === 1) {
          renameSync(live, join(logs, 'app.log.1'));
          writeFileSync(live, lines('b', 0, 30).join('\n') + '\n');
        }
        return files;
      },
    };
    const src = new FileSource(options(dir), { emit: c.emit, alert: c.alert, counters: c.counters, paths });
    await src.start();
    try {
      await waitFor(() => c.records.length >= 80, 'the rotated file and the new one');
      await sleep(700);
    } finally {
      await src.stop();
    }
    assert.ok(scans >= 2, 'the rotation happened after the first scan');
    assert.deepEqual(c.records.map((r) => r.bytes.toString()).sort(), [...lines('a', 0, 50), ...lines('b', 0, 30)].sort());
    assert.ok(c.records.filter((r) => r.bytes.toString().startsWith('a ')).every((r) => r.source.path === join(logs, 'app.log.1')));
    assert.deepEqual(c.alerts, []);
  } finally {
    cleanup();
  }
});

test('copytruncate while behind loses nothing and re-reads nothing, no alert', async () => {
  const { dir, cleanup, live, logs } = setup();
  try {
    const c = new Collector();
    let gate: (() => void) | undefined;
    let blocked = true;
    const src = new (await import('../../src/source/file-source.js')).FileSource(options(dir, { readChunkBytes: 4096 }), {
      emit: async (b) => {
        if (blocked) await new Promise<void>((r) => (gate = r));
        await c.emit(b);
      },
      alert: c.alert,
      counters: c.counters,
    });
    writeFileSync(live, lines('c', 0, 2000).join('\n') + '\n');
    await src.start();
    await waitFor(() => gate !== undefined, 'first emit blocked');
    // Downstream is stuck; rotate the file under the reader.
    copyFileSync(live, join(logs, 'app.log.1'));
    truncateSync(live, 0);
    appendFileSync(live, lines('d', 0, 100).join('\n') + '\n');
    blocked = false;
    gate?.();
    await waitFor(() => c.records.length >= 2100, 'all lines');
    await sleep(800);
    await src.stop();
    assert.equal(c.records.length, 2100);
    assert.deepEqual(c.duplicates(), []);
    assert.deepEqual(c.alerts, []);
    assert.equal(c.counters.get('source_copies_adopted'), 1);
  } finally {
    cleanup();
  }
});

test('copytruncate whose live file regrows to exactly the read offset: copy adopted, new content read, nothing twice', async () => {
  // Writers paced alike refill the truncated file to the very size it had: at EOF the size alone
  // says "nothing new", so only the head can show the truncation. Missed, the new lines were never
  // read (unless the file grew again; the next rename freezes it) and the copy, never handed the
  // stream, was read again from 0.
  const { dir, cleanup, live, logs } = setup();
  try {
    const c = new Collector();
    let gate: (() => void) | undefined;
    let blocked = true;
    const src = new FileSource(options(dir), {
      emit: async (b) => {
        if (blocked) await new Promise<void>((r) => (gate = r));
        await c.emit(b);
      },
      alert: c.alert,
      counters: c.counters,
    });
    writeFileSync(live, lines('a', 0, 50).join('\n') + '\n');
    const readTo = statSync(live).size;
    await src.start();
    try {
      // The whole file is read (one chunk); its records wait downstream.
      await waitFor(() => gate !== undefined, 'first emit blocked');
      copyFileSync(live, join(logs, 'app.log.1'));
      truncateSync(live, 0);
      appendFileSync(live, lines('b', 0, 50).join('\n') + '\n');
      assert.equal(statSync(live).size, readTo, 'regrown to exactly the offset read');
      blocked = false;
      gate?.();
      await waitFor(() => c.has(lines('b', 49, 1)[0] as string), 'the regrown content');
      await sleep(800);
    } finally {
      blocked = false;
      gate?.();
      await src.stop();
    }
    assert.deepEqual(c.records.map((r) => r.bytes.toString()).sort(), [...lines('a', 0, 50), ...lines('b', 0, 50)].sort());
    assert.deepEqual(c.alerts, []);
  } finally {
    cleanup();
  }
});

test('copytruncate whose truncation comes long after the copy: the copy waits for it, nothing read twice, no alert', async () => {
  // logrotate fsyncs the copy before it truncates the original; on a loaded disk that outlasts the
  // grace a parked copy gets. The copy, read under its own identity then, repeated every line, and
  // the truncation, finding no copy left to hand the stream to, raised a tamper alert.
  const { dir, cleanup, live, logs } = setup();
  try {
    const c = new Collector();
    const h = harness(dir, logs, c);
    const src = h.src;
    writeFileSync(live, lines('a', 0, 50).join('\n') + '\n');
    await src.start();
    try {
      await waitFor(() => c.records.length === 50, 'the live file');
      copyFileSync(live, join(logs, 'app.log.1'));
      await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
      // The copy's grace runs out (the clock jumps), and the source gets a turn at it.
      await h.graceRound();
      truncateSync(live, 0);
      appendFileSync(live, lines('b', 0, 30).join('\n') + '\n');
      await waitFor(() => c.records.length >= 80, 'the new lines');
      await sleep(700);
    } finally {
      await src.stop();
    }
    assert.deepEqual(c.records.map((r) => r.bytes.toString()).sort(), [...lines('a', 0, 50), ...lines('b', 0, 30)].sort());
    assert.deepEqual(c.alerts, []);
    assert.equal(c.counters.get('source_copies_adopted'), 1);
    assert.equal(c.counters.get('source_duplicate_heads_read'), 0);
  } finally {
    cleanup();
  }
});

test('a live file truncated to 0 raises exactly one tamper alert', async () => {
  const { dir, cleanup, live } = setup();
  try {
    const c = new Collector();
    const src = c.source(options(dir));
    writeFileSync(live, lines('e', 0, 100).join('\n') + '\n');
    const sizeBefore = statSync(live).size;
    await src.start();
    await waitFor(() => c.records.length === 100, 'lines');
    truncateSync(live, 0);
    await waitFor(() => c.alerts.length > 0, 'alert');
    await sleep(1000);
    appendFileSync(live, 'after truncation\n');
    await waitFor(() => c.has('after truncation'), 'new content after truncation');
    await src.stop();
    assert.equal(c.alerts.length, 1);
    assert.equal(c.alerts[0]?.kind, 'truncated');
    assert.equal(c.alerts[0]?.path, live);
    assert.equal(c.alerts[0]?.sizeBefore, sizeBefore);
    assert.equal(c.alerts[0]?.sizeAfter, 0);
  } finally {
    cleanup();
  }
});

test('truncate and regrow past the old offset is detected and the new content read from 0', async () => {
  const { dir, cleanup, live } = setup();
  try {
    const c = new Collector();
    writeFileSync(live, lines('f', 0, 10).join('\n') + '\n');
    const src = c.source(options(dir));
    await src.start();
    await waitFor(() => c.records.length === 10, 'lines');
    const oldOffset = statSync(live).size;
    // Truncate and regrow past the old offset in one step, between two polls.
    writeFileSync(live, lines('g', 0, 40).join('\n') + '\n');
    assert.ok(statSync(live).size > oldOffset);
    await waitFor(() => c.records.length >= 50, 'regrown content');
    await waitFor(() => c.alerts.length > 0, 'truncation alert');
    await sleep(400);
    await src.stop();
    assert.equal(c.records.length, 50);
    assert.deepEqual(c.duplicates(), []);
    const first = c.records.find((r) => r.bytes.toString() === lines('g', 0, 1)[0]);
    assert.equal(first?.source.offset, 0, 'new content read from byte 0');
    assert.deepEqual(c.alerts.map((a) => a.kind), ['truncated']);
  } finally {
    cleanup();
  }
});

test('inode reuse (delete + create, same inode) does not resume at the old offset', async (t) => {
  const { dir, cleanup, live } = setup();
  try {
    writeFileSync(live, lines('h', 0, 20).join('\n') + '\n');
    const ino = statSync(live).ino;
    const c = new Collector();
    const src = c.source(options(dir));
    await src.start();
    await waitFor(() => c.records.length === 20, 'lines');
    await src.stop();
    let reused = false;
    for (let i = 0; i < 50 && !reused; i++) {
      unlinkSync(live);
      writeFileSync(live, lines(`i${i}`, 0, 25).join('\n') + '\n');
      reused = statSync(live).ino === ino;
    }
    if (!reused) {
      t.skip('this file system did not hand out the same inode again');
      return;
    }
    const c2 = new Collector();
    const src2 = c2.source(options(dir));
    await src2.start();
    await waitFor(() => c2.records.length >= 25, 'new file');
    await sleep(300);
    await src2.stop();
    assert.equal(c2.records.length, 25, 'the whole new file');
    assert.equal(c2.records[0]?.source.offset, 0);
  } finally {
    cleanup();
  }
});

test('a deleted live file is drained; a live path gone for a rescan interval raises one deleted alert', async () => {
  const { dir, cleanup, live } = setup();
  try {
    const c = new Collector();
    const src = c.source(options(dir));
    writeFileSync(live, lines('j', 0, 10).join('\n') + '\n');
    await src.start();
    await waitFor(() => c.records.length === 10, 'lines');
    unlinkSync(live);
    await waitFor(() => c.alerts.length > 0, 'deleted alert');
    await sleep(700);
    await src.stop();
    assert.deepEqual(c.alerts.map((a) => a.kind), ['deleted']);
  } finally {
    cleanup();
  }
});

test('an old copy put back on the live path raises a replaced alert', async () => {
  const { dir, cleanup, live, logs } = setup();
  try {
    const c = new Collector();
    const src = c.source(options(dir));
    writeFileSync(live, lines('k', 0, 20).join('\n') + '\n');
    await src.start();
    try {
      await waitFor(() => c.records.length === 20, 'lines');
      renameSync(live, join(logs, 'app.log.1'));
      writeFileSync(live, lines('l', 0, 20).join('\n') + '\n');
      await waitFor(() => c.records.length === 40, 'rotated');
      copyFileSync(join(logs, 'app.log.1'), join(logs, 'tmp-put-back'));
      renameSync(join(logs, 'tmp-put-back'), live);
      await waitFor(() => c.alerts.length > 0, 'replaced alert');
      await sleep(700);
    } finally {
      // A failed wait must not leave the source's timers holding the test file open.
      await src.stop();
    }
    assert.deepEqual(c.alerts.map((a) => [a.kind, a.path]), [['replaced', live]]);
  } finally {
    cleanup();
  }
});

test('symlinks are not followed unless follow_symlinks', async () => {
  const { dir, cleanup, logs } = setup();
  try {
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'root:x:secret\n');
    symlinkSync(secret, join(logs, 'app.log'));
    const c = new Collector();
    const src = c.source(options(dir));
    await src.start();
    await sleep(800);
    await src.stop();
    assert.equal(c.records.length, 0);
    const c2 = new Collector();
    const src2 = c2.source(options(dir, { followSymlinks: true, stateDir: join(dir, 'state2') }));
    await src2.start();
    await waitFor(() => c2.records.length === 1, 'followed');
    await src2.stop();
  } finally {
    cleanup();
  }
});

/**
 * The comparison of a late copy with a holder whose descriptor the fd budget closed opens the
 * holder again for a while ("borrows" it): that descriptor counts in max_open_files, is closed on
 * every path, and a holder rotated away meanwhile is rotation, not a read error. The source runs on
 * a frozen clock: a grace runs out only when the test says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { body, harness, hookHandles, last, openUnder, type RunOptions, runSource, setup, type SourceEnv } from './copy-fixture.js';
import { Collector, lines, waitFor } from './file-fixture.js';

/** max_open_files 2 on a frozen clock; the holder's lines written before start. */
const parked = (holder: (env: SourceEnv) => string): RunOptions => ({
  source: { maxOpenFiles: 2 },
  harness: { frozen: true },
  prepare: (env) => writeFileSync(holder(env), body(lines('a', 0, 50))),
});

/**
 * After start: the holder (app.log) and other.log read and idle, the holder the least recently
 * served; a copy of it at a rotated name (app.log.1), parked.
 */
async function copyParked(c: Collector, logs: string, holder: string, copy = join(logs, 'app.log.1')): Promise<void> {
  await waitFor(() => c.records.length === 50, 'the holder');
  writeFileSync(join(logs, 'other.log'), body(lines('o', 0, 10)));
  await waitFor(() => c.records.length === 60, 'other.log');
  copyFileSync(holder, copy);
  // Deciding the copy took a descriptor: app.log's went (least recently served, idle at EOF).
  await waitFor(() => c.counters.get('source_files_parked') >= 1, 'the copy parked');
}

/** parked and copyParked for a test that needs the source and its directory after the stop. */
async function parkedCopy(c: Collector, dir: string, logs: string, holder: string) {
  const h = harness(dir, logs, c, { maxOpenFiles: 2 }, { frozen: true });
  writeFileSync(holder, body(lines('a', 0, 50)));
  await h.src.start();
  await copyParked(c, logs, holder);
  return h;
}

test('the holder opened again for a comparison counts in max_open_files', async () => {
  let most = 0;
  let compared = false;
  const miscounted: string[] = [];
  const { c } = await runSource(parked((env) => env.live), async ({ c, h, hook, live, logs }) => {
    await copyParked(c, logs, live);
    const restore = await hook('read', () => {
      const held = openUnder(logs);
      most = Math.max(most, held.length);
      if (held.includes(live) && held.includes(join(logs, 'app.log.1'))) compared = true;
      // The loop is the only thing reading: at any read the budget's count is what the kernel holds.
      if (h.src.openFiles !== held.length) miscounted.push(`${h.src.openFiles} counted, open: ${held.join(' ')}`);
    });
    await h.graceRound(); // the comparison: the copy's descriptor, app.log's borrowed, other.log's
    await h.graceRound();
    restore();
    truncateSync(live, 0);
    appendFileSync(live, body(lines('b', 0, 30)));
    await waitFor(() => c.has(last('b', 30)), 'the new lines');
    await h.graceRound();
    await h.graceRound();
  });
  assert.ok(compared, 'the copy was never compared with app.log');
  assert.ok(most <= 2, `${most} descriptors open at once, max_open_files 2`);
  assert.deepEqual(miscounted, []);
  assert.deepEqual(c.duplicates(), []);
  assert.deepEqual(c.alerts, []);
});

for (const [what, thrown, readErrors] of [
  ['an I/O error', Object.assign(new Error('EIO: i/o error, fstat'), { code: 'EIO' }), 1],
  ['a non-Error value', 'not an Error', 0],
] as const) {
  test(`the fstat of a borrowed holder failing with ${what}: its descriptor is closed, and counted ${readErrors ? 'as a read error' : 'as a source error'}`, async () => {
    const { dir, cleanup, live, logs } = setup();
    let restore = (): void => undefined;
    try {
      const c = new Collector();
      const h = await parkedCopy(c, dir, logs, live);
      let failed: FileHandle | undefined; // held, so that no garbage collection closes it in the source's place
      try {
        restore = await hookHandles('stat', (path, a, fh) => {
          const o = a[0] as { bigint?: boolean } | undefined;
          if (failed || path !== live || o?.bigint !== true) return;
          failed = fh; // only the borrow and a reopen fstat app.log with bigint; app.log is not reopened here
          throw thrown;
        });
        await h.graceRound();
        await waitFor(() => failed !== undefined, 'the borrow');
        await h.graceRound();
      } finally {
        restore();
        await h.src.stop();
      }
      const left = openUnder(logs);
      if (left.length > 0) await failed?.close();
      assert.deepEqual(left, [], 'descriptors left open after stop()');
      assert.equal(h.src.openFiles, 0, 'the fd budget still counts descriptors after stop()');
      assert.equal(c.counters.get('source_read_errors'), readErrors);
      assert.equal(c.counters.get('source_errors'), 1 - readErrors);
    } finally {
      restore();
      cleanup();
    }
  });
}

test('a holder rotated away between the scan and its borrow is rotation: no read error, the copy still recognised', async () => {
  // All at rotated names: a live path vanishing would earn a deleted alert unless the test's create
  // beat the next scans, which a frozen clock cannot order.
  const { c } = await runSource(parked((env) => join(env.logs, 'app.log.1')), async ({ c, h, hook, logs }) => {
    const holder = join(logs, 'app.log.1');
    const copy = join(logs, 'app.log.2');
    await copyParked(c, logs, holder, copy);
    let fired = false;
    const restore = await hook('read', (path) => {
      if (fired || path !== copy) return;
      fired = true; // the copy's head is read; the next rotation moves the holder before the comparison opens it
      renameSync(holder, join(logs, 'app.log.3'));
    });
    await h.graceRound();
    await waitFor(() => fired, 'the copy decided');
    restore();
    await h.graceRound();
    await h.graceRound(); // the holder found at app.log.3, the copy compared with it
    await h.graceRound();
  });
  assert.equal(c.counters.get('source_read_errors'), 0);
  assert.deepEqual(c.duplicates(), [], 'the copy was read');
  assert.deepEqual(c.alerts, []);
});

test('max_open_files 1: a same-head file at a rotated name cannot be compared within the budget, and is read', async () => {
  const a = lines('a', 0, 50);
  const x = lines('x', 40, 10);
  const { c } = await runSource({ source: { maxOpenFiles: 1 }, harness: { frozen: true }, prepare: ({ live }) => writeFileSync(live, body(a)) }, async ({ c, h, logs }) => {
    await waitFor(() => c.records.length === 50, 'the live file');
    writeFileSync(join(logs, 'app.log.1'), body([...a.slice(0, 40), ...x])); // no copy: its last lines are its own
    await waitFor(() => c.counters.get('source_files_parked') >= 1, 'parked');
    await h.graceRound();
    await h.graceRound();
    await waitFor(() => x.every((l) => c.has(l)), 'the lines only app.log.1 holds');
  });
  assert.deepEqual(x.filter((l) => !c.has(l)), [], 'lines never read');
});

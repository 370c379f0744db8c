/**
 * A file whose turn keeps failing (an I/O error that repeats): it was reported on every poll,
 * without its name, and kept its descriptor for ever. Now: the report names the file (neutralized),
 * comes at once and then at growing intervals with the count of failures between, every failure is
 * counted, the file is retried with backoff, and after repeated failures its descriptor is closed
 * and the file opened again by path at the next try. Nothing it holds is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, openUnder, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL = 0, rescanIntervalMs: R } = options('/');

const eio = (): Error => Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });

test('a file whose every turn fails is named once at once, then at growing intervals, and its descriptor released after repeated failures', async () => {
  const reports: string[] = [];
  const stages = new Set<string>();
  let bad = '';
  const x = lines('x', 0, 10);
  const { c } = await runSource(
    {
      harness: {
        frozen: true,
        error: (what, err) => {
          stages.add(what);
          reports.push(err.message);
        },
      },
      prepare: ({ live }) => writeFileSync(live, body(lines('a', 0, 10))),
    },
    async ({ c, h, hook, logs }) => {
      bad = join(logs, 'app\u001b[2Jx.log'); // a name that would repaint a terminal
      await waitFor(() => c.records.length === 10, 'the live file');
      const restore = await hook('read', (path) => {
        if (path === bad) throw eio();
      });
      writeFileSync(bad, body(x));
      await waitFor(() => reports.length >= 1, 'the first report');
      assert.ok((reports[0] as string).includes('app{U+001B}[2Jx.log'), `the report names the file: ${reports[0]}`);
      assert.equal(c.counters.get('source_file_errors'), 1);
      h.advance(POLL + 1);
      await waitFor(() => c.counters.get('source_file_errors') >= 2, 'the second failure');
      h.advance(2 * POLL + 1);
      await waitFor(() => c.counters.get('source_file_errors') >= 3, 'the third failure');
      await waitFor(() => c.counters.get('source_fd_releases_on_error') === 1, 'the descriptor released');
      assert.equal(reports.length, 1, 'repeats within the interval are not reported');
      assert.deepEqual(openUnder(logs).filter((p) => p === bad), [], 'the descriptor is released');
      h.advance(R);
      await waitFor(() => c.counters.get('source_file_errors') >= 4, 'the failure after the interval');
      assert.equal(reports.length, 2);
      restore();
      h.advance(R);
      await waitFor(() => c.has(last('x', 10)), 'the file once the error cleared');
    },
  );
  assert.equal(reports.length, 2);
  assert.deepEqual([...stages], ['read'], 'reported as a read failure (the pipeline says "reading a file"), not a scan');
  for (const r of reports) {
    assert.ok(r.includes('app{U+001B}[2Jx.log') && r.includes('EIO'), `the report names the file and the error: ${r}`);
    assert.ok(!r.includes('\u001b'), 'the name is neutralized');
  }
  assert.match(reports[1] as string, /failed 3 times since the last report/);
  assert.ok(c.counters.get('source_errors') >= 4);
  assert.deepEqual(x.filter((l) => !c.has(l)), []);
  assert.deepEqual(c.duplicates(), []);
});

test('reads of a live log failing for a while lose no line: after repeated failures it is opened again, and read on from where it stopped', async () => {
  const a = lines('a', 0, 100);
  const b = lines('b', 0, 10);
  let failures = 0;
  const { c } = await runSource({ harness: { error: () => undefined }, prepare: ({ live }) => writeFileSync(live, body(a)) }, async ({ c, hook, live }) => {
    await waitFor(() => c.records.length === 100, 'the live file');
    await hook('read', (path) => {
      if (path === live && failures < 3) {
        failures++;
        throw eio();
      }
    });
    appendFileSync(live, body(b)); // idle after this: no later write asks for another try
    await waitFor(() => c.has(last('b', 10)), 'the lines written before the errors cleared');
  });
  assert.equal(failures, 3);
  assert.equal(c.counters.get('source_read_errors'), 3);
  assert.equal(c.counters.get('source_fd_releases_on_error'), 1, 'opened again after the third failure');
  assert.deepEqual(b.filter((l) => !c.has(l)), []);
  assert.deepEqual(c.duplicates(), []);
  assert.deepEqual(c.alerts, []);
});

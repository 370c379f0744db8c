/**
 * A tamper suspicion a stop left undecided is saved with the checkpoints and decided by the next
 * start. When the configuration changed meanwhile so that the input no longer covers the path (its
 * globs), no scan can list the copy that would explain a truncation, nor the path back that would
 * cancel a deletion: the suspicion used to be confirmed on what such a scan found, i.e. nothing (a
 * `deleted` alert for a path that was there again). It is now raised at once, marked `unchecked:
 * 'not_covered'` (seen by the last run, cannot be decided), and only once. A removed input (whose
 * registry no source loads) is strandedSuspicions'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strandedSuspicions } from '../../src/source/checkpoint.js';
import { Discovery, type PathsProvider } from '../../src/source/discovery.js';
import { FileSource, type FileSourceOptions } from '../../src/source/file-source.js';
import { body, last, setup } from './copy-fixture.js';
import { Collector, lines, options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL = 0, rescanIntervalMs: R } = options('/');

interface Run {
  c: Collector;
  src: FileSource;
  advance(ms: number): void;
  /** Two scans after the clock moved past every grace. */
  graceRound(): Promise<void>;
  scans(): number;
}

/** A source over real globs (Discovery: what `covers` answers), on a clock that moves only by `advance`. */
async function withSource(dir: string, globs: string[], during: (r: Run) => Promise<void>, over: Partial<FileSourceOptions> = {}): Promise<Collector> {
  const c = new Collector();
  let skew = 0;
  const base = Date.now();
  let scans = 0;
  const real = new Discovery({ paths: globs, exclude: [], followSymlinks: false }, { rescan: () => undefined, changed: () => undefined }, c.counters);
  const paths: PathsProvider = {
    scan: async () => {
      scans++;
      return real.scan();
    },
    covers: (p) => real.covers(p),
  };
  const src = new FileSource(options(dir, over), { emit: c.emit, alert: c.alert, counters: c.counters, clock: { now: () => base + skew }, paths });
  const run: Run = {
    c,
    src,
    advance: (ms) => {
      skew += ms;
    },
    graceRound: async () => {
      skew += 60_000;
      const from = scans;
      await waitFor(() => scans >= from + 2, 'a round after the grace');
    },
    scans: () => scans,
  };
  await src.start();
  try {
    await during(run);
  } finally {
    await src.stop();
  }
  return c;
}

/** app.log read, then truncated with no copy anywhere; stopped before the grace ran out. */
async function truncatedThenStopped(dir: string, logs: string, live: string): Promise<void> {
  writeFileSync(live, body(lines('a', 0, 100)));
  const first = await withSource(dir, [join(logs, 'app.log*')], async ({ c, advance }) => {
    await waitFor(() => c.records.length === 100, 'the live file');
    truncateSync(live, 0);
    appendFileSync(live, body(lines('c', 0, 5)));
    advance(POLL + 1);
    await waitFor(() => c.has(last('c', 5)), 'the truncation seen and the new lines read');
  });
  assert.deepEqual(first.alerts, [], 'stopped within the grace');
}

const described = (c: Collector): string[] => c.alerts.map((a) => `${a.kind} ${a.path} ${a.unchecked ?? 'checked'}`);

test('a saved truncation of a path the input no longer covers is raised as unchecked, once', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    await truncatedThenStopped(dir, logs, live);
    const other = join(logs, 'other.log');
    writeFileSync(other, body(lines('o', 0, 3)));
    const c = await withSource(dir, [other], async ({ c, graceRound }) => {
      await waitFor(() => c.records.length === 3, 'the file the input covers now');
      await graceRound();
      await graceRound();
    });
    assert.deepEqual(described(c), [`truncated ${live} not_covered`]);
    const again = await withSource(dir, [other], async ({ graceRound }) => {
      await graceRound();
      await graceRound();
    });
    assert.deepEqual(described(again), [], 'reported once');
  } finally {
    cleanup();
  }
});

test('a saved deletion of a path the input no longer covers is not alerted deleted while the path is there again', async () => {
  const { dir, cleanup, logs, live } = setup();
  const other = join(logs, 'other.log');
  try {
    writeFileSync(live, body(lines('a', 0, 3)));
    writeFileSync(other, body(lines('o', 0, 3)));
    await withSource(dir, [join(logs, 'app.log*'), other], async ({ c, scans }) => {
      await waitFor(() => c.records.length === 6, 'both files');
      unlinkSync(other);
      const from = scans();
      await waitFor(() => scans() >= from + 2, 'a scan that found the path missing');
    });
    writeFileSync(other, body(lines('n', 0, 3))); // back, but the input no longer reads it
    const c = await withSource(dir, [join(logs, 'app.log*')], async ({ graceRound }) => {
      await graceRound();
      await graceRound();
    });
    assert.deepEqual(described(c), [`deleted ${other} not_covered`]);
  } finally {
    cleanup();
  }
});

test('a saved suspicion of a path still covered is decided as before', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    await truncatedThenStopped(dir, logs, live);
    const c = await withSource(dir, [join(logs, 'app.log*'), join(logs, 'other.log')], async ({ graceRound }) => {
      await graceRound();
      await graceRound();
    });
    assert.deepEqual(described(c), [`truncated ${live} checked`]);
  } finally {
    cleanup();
  }
});

test('the suspicions of an input no longer configured are found, reported unchecked, and cleared once reported', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    await truncatedThenStopped(dir, logs, live);
    const state = join(dir, 'state');
    // Things that are not that input's registry, in the same directory.
    mkdirSync(join(state, 'checkpoints'), { recursive: true });
    writeFileSync(join(state, 'checkpoints', 'test.cursor.json'), JSON.stringify({ v: 1, input: 'test', cursor: 's=1', updatedAt: '' }));
    writeFileSync(join(state, 'checkpoints', 'junk.json'), 'not json');
    writeFileSync(join(state, 'checkpoints', 'future.json'), JSON.stringify({ version: 2, input: 'future', entries: {}, suspicions: [] }));
    assert.deepEqual(await strandedSuspicions(state, new Set(['test'])), [], 'still configured: its source decides them');
    const stranded = await strandedSuspicions(state, new Set(['web']));
    assert.deepEqual(
      stranded.map((s) => ({ input: s.input, alerts: s.alerts.map((a) => `${a.kind} ${a.path} ${a.unchecked ?? 'checked'} ${a.offset}`) })),
      [{ input: 'test', alerts: [`truncated ${live} input_removed ${body(lines('a', 0, 100)).length}`] }],
    );
    const entriesBefore = (JSON.parse(readFileSync(join(state, 'checkpoints', 'test.json'), 'utf8')) as { entries: object }).entries;
    await stranded[0]?.clear();
    assert.deepEqual(await strandedSuspicions(state, new Set(['web'])), [], 'reported once');
    const after = JSON.parse(readFileSync(join(state, 'checkpoints', 'test.json'), 'utf8')) as { entries: object; suspicions?: unknown };
    assert.equal(after.suspicions, undefined);
    assert.deepEqual(after.entries, entriesBefore, 'the entries kept: the input configured again resumes them');
    assert.match(readFileSync(join(state, 'checkpoints', 'future.json'), 'utf8'), /"version":2/, 'another version left alone');
    // Configured again: nothing read twice, and the truncation, reported, is not raised again.
    const c = await withSource(dir, [join(logs, 'app.log*')], async ({ graceRound }) => {
      await graceRound();
      await graceRound();
    });
    assert.deepEqual({ read: c.records.length, alerts: described(c) }, { read: 0, alerts: [] });
  } finally {
    cleanup();
  }
});

test('the first scan of the next start decides nothing of a covered path before its grace', async () => {
  const { dir, cleanup, logs, live } = setup();
  try {
    await truncatedThenStopped(dir, logs, live);
    const c = await withSource(dir, [join(logs, 'app.log*')], async ({ scans, advance }) => {
      const from = scans();
      advance(R - 1);
      await waitFor(() => scans() >= from + 2, 'two scans within the grace');
    });
    assert.deepEqual(described(c), []);
  } finally {
    cleanup();
  }
});

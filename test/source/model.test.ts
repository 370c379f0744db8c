/**
 * Model-based test of the file source (the hard part, as in Vector's file
 * source): random sequences of write, rename-rotate, copytruncate, delete,
 * recreate, restart and crash (abort: no final checkpoint write, like kill -9)
 * run against a real FileSource on real files. The model is the set of lines
 * written and which files still exist. Checked at the end:
 *   - every line in a file that still exists was emitted (at least once);
 *   - nothing was emitted that was never written;
 *   - without a crash in the sequence, no line was emitted twice.
 * Failing sequences found by fast-check are kept below as regression cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, truncateSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { FileSource } from '../../src/source/file-source.js';
import { Collector, options, sleep, tempDir, waitFor } from './file-fixture.js';

type Action =
  | { op: 'write'; n: number }
  | { op: 'rename' }
  | { op: 'copytruncate' }
  | { op: 'delete'; i: number }
  | { op: 'recreate'; n: number }
  | { op: 'restart' }
  | { op: 'crash' }
  | { op: 'pause'; ms: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('write' as const), n: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'rename' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'copytruncate' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), i: fc.nat(10) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('recreate' as const), n: fc.integer({ min: 1, max: 20 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'crash' as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 120 }) }) },
);

async function run(actions: Action[]): Promise<void> {
  const { dir, cleanup } = tempDir('logward-model-');
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const live = join(logs, 'app.log');
  const c = new Collector();
  const opts = options(dir, { rescanIntervalMs: 200, pollIntervalMs: 20, partialLineTimeoutMs: 200, checkpointFlushMs: 50 });
  let src: FileSource = c.source(opts);
  const written = new Set<string>();
  let seq = 0;
  let rot = 0;
  let crashed = false;
  const write = (n: number): void => {
    let s = '';
    for (let i = 0; i < n; i++) {
      const l = `line ${String(seq++).padStart(6, '0')} ${'x'.repeat(seq % 13)}`;
      written.add(l);
      s += l + '\n';
    }
    appendFileSync(live, s);
  };
  try {
    await src.start();
    for (const a of actions) {
      switch (a.op) {
        case 'write':
          write(a.n);
          break;
        case 'rename':
          if (existsSync(live)) renameSync(live, `${live}.${++rot}`);
          break;
        case 'copytruncate':
          if (existsSync(live)) {
            copyFileSync(live, `${live}.${++rot}`);
            truncateSync(live, 0);
          }
          break;
        case 'delete': {
          const rotated = readdirSync(logs).filter((f) => f !== 'app.log').sort();
          const victim = rotated[a.i % Math.max(rotated.length, 1)];
          if (victim) unlinkSync(join(logs, victim));
          break;
        }
        case 'recreate':
          if (existsSync(live)) unlinkSync(live);
          write(a.n);
          break;
        case 'restart':
          await src.stop();
          src = c.source(opts);
          await src.start();
          break;
        case 'crash':
          crashed = true;
          await src.abort();
          src = c.source(opts);
          await src.start();
          break;
        case 'pause':
          await sleep(a.ms);
          break;
      }
      await sleep(5);
    }
    const must = new Set<string>();
    for (const f of readdirSync(logs)) {
      for (const l of readFileSync(join(logs, f), 'utf8').split('\n')) if (l !== '') must.add(l);
    }
    await waitFor(() => [...must].every((l) => c.has(l)), 'every existing line emitted', 10_000).catch(() => undefined);
    await sleep(250);
    await src.stop();
    const missing = [...must].filter((l) => !c.has(l));
    assert.deepEqual(missing, [], `lost lines for ${JSON.stringify(actions)}`);
    const invented = [...c.counts.keys()].filter((l) => !written.has(l));
    assert.deepEqual(invented, [], 'emitted lines that were never written');
    if (!crashed) assert.deepEqual(c.duplicates(), [], `duplicates without a crash for ${JSON.stringify(actions)}`);
  } finally {
    await src.stop().catch(() => undefined);
    cleanup();
  }
}

const regressions: Action[][] = [
  // A short file (below the fingerprint length) copytruncated while read, then a crash.
  [{ op: 'write', n: 2 }, { op: 'pause', ms: 60 }, { op: 'copytruncate' }, { op: 'write', n: 3 }, { op: 'crash' }, { op: 'write', n: 1 }],
  // Found by fast-check under CPU load: a short file read, restart, then copytruncate before the new
  // source classified it; the copy was read again from 0 (provisional identities were bound to the inode).
  // Fixed by recognising a copy of a short file whose original inode no longer starts with its head.
  [{ op: 'write', n: 30 }, { op: 'rename' }, { op: 'write', n: 1 }, { op: 'restart' }, { op: 'copytruncate' }, { op: 'write', n: 5 }],
  // Recreate (likely the same inode) right after a crash.
  [{ op: 'write', n: 10 }, { op: 'pause', ms: 80 }, { op: 'crash' }, { op: 'recreate', n: 4 }, { op: 'pause', ms: 50 }],
  // Copy made, rotated copy deleted before the source saw it.
  [{ op: 'write', n: 20 }, { op: 'copytruncate' }, { op: 'delete', i: 0 }, { op: 'write', n: 3 }],
  // Found by fast-check (seed 1877195890) under CPU load.
  [
    { op: 'write', n: 9 },
    { op: 'copytruncate' },
    { op: 'recreate', n: 2 },
    { op: 'write', n: 4 },
    { op: 'pause', ms: 1 },
    { op: 'copytruncate' },
    { op: 'copytruncate' },
    { op: 'restart' },
    { op: 'write', n: 5 },
  ],
];

for (const [i, actions] of regressions.entries()) {
  test(`model regression case ${i + 1}: ${actions.map((a) => a.op).join(', ')}`, async () => {
    await run(actions);
  });
}

test('random sequences of write, rotate, copytruncate, delete, recreate, restart and crash lose no line', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 14 }), async (actions) => {
      await run(actions);
    }),
    { numRuns: Number(process.env.LOGWARD_MODEL_RUNS ?? (process.env.LOGWARD_STRESS === '1' ? 200 : 12)), endOnFailure: true },
  );
});

/**
 * one file whose turn throws on every round (an I/O error reading its head) aborts every
 * round, and since 131ec7a the deferred expiry (orphans, tamper deadlines) runs only after a round
 * that did not throw: no tamper alert fires any more for the whole input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, runSource, type SourceEnv } from './copy-fixture.js';
import { lines, waitFor } from './file-fixture.js';

test('a file whose every turn throws (EIO reading its head) does not hold back the deleted alert of another file', async () => {
  const prepare = ({ live, logs }: SourceEnv): void => {
    writeFileSync(live, body(lines('a', 0, 10)));
    writeFileSync(join(logs, 'other.log'), body(lines('o', 0, 10)));
  };
  const { c, logs } = await runSource({ harness: { frozen: true }, prepare }, async ({ c, h, hook, logs }) => {
    const other = join(logs, 'other.log');
    const bad = join(logs, 'app.log.1');
    await waitFor(() => c.records.length === 20, 'the files');
    await hook('read', (path) => {
      if (path === bad) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    });
    writeFileSync(bad, body(lines('x', 0, 10)));
    await waitFor(() => c.counters.get('source_errors') >= 1, 'the bad file tried');
    unlinkSync(other); // tampering: a live log deleted
    await h.graceRound();
    await h.graceRound();
  });
  const other = join(logs, 'other.log');
  assert.deepEqual(
    c.alerts.map((a) => `${a.kind} ${a.path}`),
    [`deleted ${other}`],
  );
});

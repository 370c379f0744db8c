/**
 * After repeated failed turns a file is opened again by its path, and the new descriptor kept if a
 * read through it works. When that read threw something that is no Error, the throw was passed on
 * before the new descriptor was closed: one descriptor leaked per such throw, and the fd budget
 * counted it for ever. Now it is closed first, whatever is thrown.
 *
 * The descriptors are the kernel's (/proc/self/fd); only the throw is injected, on the read the
 * reopen makes (no real read throws a non-Error).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, last, openUnder, runSource } from './copy-fixture.js';
import { lines, waitFor } from './file-fixture.js';

const eio = (): Error => Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });

test('a reopen whose trial read throws a non-Error closes the new descriptor: none leaks, the budget stays true', async () => {
  const a = lines('a', 0, 10);
  const x = lines('x', 0, 10);
  const y = lines('y', 0, 10);
  let bad = '';
  let brokenFd = -1;
  let oddThrows = 0;
  let openAfter: string[] = [];
  let counted = -1;
  const { c } = await runSource(
    { harness: { error: () => undefined }, prepare: ({ live }) => writeFileSync(live, body(a)) },
    async ({ c, h, hook, logs }) => {
      bad = join(logs, 'app.log.1');
      await waitFor(() => c.records.length === 10, 'the live file');
      await hook('read', (path, _args, fh) => {
        if (path !== bad) return;
        // The descriptor the file was read through breaks (EIO from now on, as a stale handle).
        if (brokenFd === -1 && c.has(last('x', 10))) brokenFd = fh.fd;
        if (fh.fd === brokenFd) throw eio();
        // The reopen's trial read, the first time: something that is no Error.
        if (brokenFd !== -1 && oddThrows === 0) {
          oddThrows++;
          throw Object.freeze({ code: 'EIO', note: 'not an Error' });
        }
      });
      writeFileSync(bad, body(x));
      await waitFor(() => c.has(last('x', 10)), 'the file read once');
      appendFileSync(bad, body(y)); // read through the descriptor that breaks
      await waitFor(() => c.has(last('y', 10)), 'the lines read through the descriptor opened again');
      openAfter = openUnder(logs);
      counted = h.src.openFiles;
    },
  );
  assert.equal(oddThrows, 1, 'the trial read threw once');
  assert.equal(c.counters.get('source_fd_releases_on_error'), 1);
  assert.deepEqual(
    { onBad: openAfter.filter((p) => p === bad).length, counted },
    { onBad: 1, counted: openAfter.length },
    `one descriptor on the file, as the budget counts: ${openAfter.join(', ')}`,
  );
  assert.deepEqual([...x, ...y].filter((l) => !c.has(l)), []);
  assert.deepEqual(c.duplicates(), []);
});

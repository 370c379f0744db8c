/**
 * A file whose reads failed 3 times in a row has its descriptor closed "while the path names the
 * inode", to be opened again by path at the next try (1566e8b): a stale or broken handle. Between
 * that close and the next try (a backoff of up to a rescan interval) logrotate may move the file out
 * of the globs or delete it: the descriptor, the only way left to the lines not read yet, is gone,
 * and they are released unread (bytes_unread_released), though a handle opened by path at the close
 * would have read them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { body, runSource } from './copy-fixture.js';
import { lines, options, waitFor } from './file-fixture.js';

const { pollIntervalMs: POLL = 0, rescanIntervalMs: R } = options('/');

const eio = (): Error => Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });

test('a live log whose descriptor went bad, rotated out of the globs after the third failure: no line lost', async () => {
  const a = lines('a', 0, 100);
  const b = lines('b', 0, 10);
  let broken: FileHandle | undefined;
  let failures = 0;
  const { c } = await runSource(
    { harness: { frozen: true, error: () => undefined }, prepare: ({ live }) => writeFileSync(live, body(a)) },
    async ({ c, h, hook, live, logs }) => {
      await waitFor(() => c.records.length === 100, 'the live file');
      // The handle the source holds goes bad (a stale handle): its reads fail, a new one's do not.
      await hook('read', (path, _args, fh) => {
        if (path !== live) return;
        broken ??= fh;
        if (fh === broken) {
          failures++;
          throw eio();
        }
      });
      appendFileSync(live, body(b));
      h.advance(POLL + 1);
      await waitFor(() => failures >= 1, 'the first failure');
      h.advance(POLL + 1);
      await waitFor(() => failures >= 2, 'the second failure');
      h.advance(2 * POLL + 1);
      await waitFor(() => c.counters.get('source_fd_releases_on_error') >= 1, 'the third failure, the descriptor let go');
      // logrotate before the next try: the file moves to a name the globs do not match, a new one is created.
      renameSync(live, join(logs, 'archived.txt'));
      writeFileSync(live, '');
      for (let i = 0; i < 4; i++) await h.graceRound(R);
    },
  );
  assert.deepEqual(
    { lost: b.filter((l) => !c.has(l)), unreadReleased: c.counters.get('bytes_unread_released') },
    { lost: [], unreadReleased: 0 },
  );
});

/**
 * A restart after a takeover (review of c1d8c88): a recent backup at a rotated name took the stream at
 * an ordinary copytruncate (the rotation's copy was listed only after the truncation), and the
 * rotation's copy, holding all of it, then took the stream from the backup (FileSource.takeOver). The
 * checkpoint must name the copy from then on, without the backup's own first bytes (a backup shorter
 * than a fingerprint records them, copyHeadLen/copyHeadHash): a restart resumes the stream in the copy,
 * whichever of the two files it lists first, reads only the lines written meanwhile, raises nothing,
 * and the backup stays a parked copy. A stop before the takeover (the copy still in its park grace)
 * leaves the stream in the backup: the restart resumes it there, and the copy takes it over then
 * (from a short backup: the stream's head is the backup's bytes then, the copy's first bytes are
 * checked against the stream's fingerprint, FileSource.wholeHeadOf).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiscoveredFile } from '../../src/source/discovery.js';
import { body, copytruncateAfterWalk, harness, last, setup } from './copy-fixture.js';
import { Collector, lines, waitFor } from './file-fixture.js';

const FIRST = 'service started\n'; // shorter than a fingerprint (256 bytes)

/** The two rotated names in a chosen order, the live file last. */
const listed =
  (first: '.bak' | '.1') =>
  (f: DiscoveredFile[]): DiscoveredFile[] => {
    const rank = (d: DiscoveredFile): number => (d.path.endsWith(first) ? 0 : d.path.endsWith('app.log') ? 2 : 1);
    return [...f].sort((a, b) => rank(a) - rank(b));
  };

interface Entry {
  offset: number;
  path: string;
  dev: string;
  inode: string;
  copyHeadLen?: number;
}

for (const backup of ['whole', 'short'] as const) {
  for (const takeover of [true, false]) {
    for (const first of ['.bak', '.1'] as const) {
      const when = takeover ? "after the rotation's copy took the stream from" : "before the rotation's copy took the stream from";
      test(`a restart ${when} a ${backup} recent backup (${first} listed first): only the new lines are read`, async () => {
        const { dir, cleanup, logs, live } = setup();
        try {
          // The backup: 50 lines (a whole head), or the log's first line only (shorter than its head).
          writeFileSync(live, backup === 'whole' ? body(lines('a', 0, 50)) : FIRST);
          const c1 = new Collector();
          let armed = false;
          const h1 = harness(dir, logs, c1, {}, {
            frozen: true,
            afterScan: (h) => {
              if (!armed) return;
              armed = false;
              copytruncateAfterWalk(h, live, logs);
            },
          });
          await h1.src.start();
          try {
            await waitFor(() => c1.records.length === (backup === 'whole' ? 50 : 1), 'the live file');
            copyFileSync(live, join(logs, 'app.log.bak'));
            await waitFor(() => c1.counters.get('source_files_parked') >= 1, 'the backup parked');
            await h1.graceRound();
            await h1.graceRound(); // compared: the start of app.log, byte for byte
            appendFileSync(live, body(lines('b', 0, 50)));
            await waitFor(() => c1.has(last('b', 50)), 'more lines');
            armed = true;
            h1.advance(1);
            await waitFor(() => !armed, 'the rotation');
            await waitFor(() => c1.has(last('c', 20)), 'the lines after the truncation');
            // The backup adopted the stream at the truncation (the copy was not listed yet).
            await waitFor(() => c1.counters.get('source_copies_adopted') >= 1, 'the backup adopting the stream');
            if (takeover) {
              await h1.graceRound();
              await h1.graceRound();
              await h1.graceRound();
              await waitFor(() => c1.counters.get('source_copies_adopted') >= 2, 'the takeover');
            }
          } finally {
            await h1.src.stop();
          }
          assert.deepEqual(
            { duplicates: c1.duplicates(), alerts: c1.alerts, adopted: c1.counters.get('source_copies_adopted') },
            { duplicates: [], alerts: [], adopted: takeover ? 2 : 1 },
            'the first run',
          );
          const reg = JSON.parse(readFileSync(join(dir, 'state', 'checkpoints', 'test.json'), 'utf8')) as { entries: Record<string, Entry> };
          if (takeover) {
            const copy = statSync(join(logs, 'app.log.1'));
            const named = Object.values(reg.entries).filter((e) => e.path === join(logs, 'app.log.1'));
            assert.equal(named.length, 1, 'the checkpoint names the copy after the takeover');
            const e = named[0] as Entry;
            assert.deepEqual(
              { dev: e.dev, inode: e.inode, offset: e.offset, copyHeadLen: e.copyHeadLen },
              { dev: String(copy.dev), inode: String(copy.ino), offset: copy.size, copyHeadLen: undefined },
              "the copy's inode, at its end, without the backup's copy head",
            );
          }

          appendFileSync(live, body(lines('e', 0, 5)));
          const c = new Collector();
          const h = harness(dir, logs, c, {}, { frozen: true, order: listed(first) });
          await h.src.start();
          try {
            await waitFor(() => c.has(last('e', 5)), 'the lines appended while the agent was down');
            await h.graceRound();
            await h.graceRound();
            await h.graceRound();
          } finally {
            await h.src.stop();
          }
          assert.deepEqual(
            { read: c.records.map((r) => r.bytes.toString()), alerts: c.alerts },
            { read: lines('e', 0, 5), alerts: [] },
            'app.log.1 resumes the stream at its end (or takes it over from the backup); the backup stays a parked copy',
          );
        } finally {
          cleanup();
        }
      });
    }
  }
}

/**
 * Review of 8244bb8. A truncation the last run left undecided is restored at the first scan with the
 * clock time that run saw it (restoredCuts: the saved deadline less one grace), against which a copy
 * resuming the checkpoint is judged a backup (unchanged for long before it) or the truncation's copy.
 * scan() restored the suspicions, then read that time from checkpointer.suspicions. Restoring a
 * decided suspicion (raised again at once) tells the checkpointer (`changed`), which replaces that
 * list with TamperWatch.pending(): the restored truncation in it carries this start's new deadline.
 * So as soon as the registry held a decided suspicion (since 8244bb8 every `replaced` or
 * `unreadable` alert not stored at a stop or a kill -9), the truncation was taken for seen at this
 * start: the copytruncate copy logrotate made at the truncation, found by a start more than
 * STALE_COPY_MS later, counted as a backup and the truncation was raised, explained by that copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { body, harness, last, setup } from './copy-fixture.js';
import { Collector, lines, options, waitFor } from './file-fixture.js';
import type { TamperAlert } from '../../src/source/file-source.js';

const { pollIntervalMs: POLL = 0 } = options('/');

for (const decidedToo of [false, true]) {
  test(`a copytruncate the last run saw the truncation of, its copy found by a start an hour later, cancels the restored suspicion (${decidedToo ? 'a replaced alert not stored saved with it' : 'nothing else saved'})`, async () => {
    const { dir, cleanup, logs, live } = setup();
    try {
      const a = lines('a', 0, 100);
      writeFileSync(live, body(a));
      const other = join(logs, 'app.log.2');
      if (decidedToo) writeFileSync(other, body(lines('z', 0, 10)));

      // Run 1: the pipeline never stores an alert; it rejects them when it stops (closing its queue).
      const c1 = new Collector();
      const raised: TamperAlert[] = [];
      const reject: ((err: Error) => void)[] = [];
      c1.alert = (x: TamperAlert): Promise<void> => {
        raised.push(x);
        return new Promise<void>((_, no) => reject.push(no));
      };
      const h1 = harness(dir, logs, c1, {}, { frozen: true });
      await h1.src.start();
      try {
        await waitFor(() => c1.records.length === (decidedToo ? 110 : 100), 'the files read');
        if (decidedToo) {
          // A file read at a rotated name put at a live one: `replaced`, raised and not stored.
          renameSync(other, join(logs, 'app.logz'));
          await waitFor(() => raised.length === 1, 'the replaced alert');
        }
        // logrotate's copytruncate: the truncation seen, the stop comes before a scan lists the copy.
        truncateSync(live, 0);
        appendFileSync(live, body(lines('c', 0, 5)));
        h1.advance(POLL + 1);
        await waitFor(() => c1.has(last('c', 5)), 'the truncation seen and the new lines read');
      } finally {
        const stopping = h1.src.stop();
        for (const no of reject) no(new Error('the queue is closed'));
        await stopping;
      }
      assert.deepEqual(raised.map((x) => x.kind), decidedToo ? ['replaced'] : []);
      // The copy logrotate made (written now: its ctime is about the truncation's time).
      writeFileSync(join(logs, 'app.log.1'), body(a));

      // Run 2, an hour later (an upgrade, a host reboot).
      const c2 = new Collector();
      const h2 = harness(dir, logs, c2, {}, { frozen: true });
      h2.advance(3600_000);
      await h2.src.start();
      try {
        await h2.graceRound();
        await h2.graceRound();
        await h2.graceRound();
      } finally {
        await h2.src.stop();
      }
      assert.deepEqual(
        c2.alerts.map((x) => x.kind),
        decidedToo ? ['replaced'] : [],
        'the truncation had its copy: no `truncated` alert (only the alert not stored, raised again)',
      );
      assert.deepEqual(c2.duplicates(), []);
      assert.ok(!c2.has(lines('a', 0, 1)[0] as string), 'the copy resumed at the checkpoint, nothing read again');
    } finally {
      cleanup();
    }
  });
}

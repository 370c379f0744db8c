/**
 * drop_oldest: the drop count equals what is missing at the receiver. A
 * segment rewritten to make room also loses records the sink already
 * delivered (acknowledged); those are not missing and not counted. Records
 * sent but still inside the resend window are counted apart (unconfirmed).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { makeQueue, readAll, rec, tempDir } from './helpers.js';

test('drop_oldest counts as dropped only records never sent; sent but unconfirmed ones apart; acknowledged ones not at all', async () => {
  const { dir, cleanup } = tempDir();
  const { q, counters, alerts } = makeQueue(dir, { maxBytes: 8192, segmentBytes: 4096, internalHeadroomBytes: 1024, whenFull: 'drop_oldest' });
  try {
    await q.open();
    for (let i = 0; i < 10; i++) await q.append([rec(i)]);
    // The sink delivered 0..4 (acknowledged: resend window 0), then wrote 5..7 to the socket (not yet acknowledged).
    q.markSent(5n);
    await q.tick();
    q.markSent(8n);
    assert.deepEqual([q.stats().acked, q.stats().sent], [5n, 8n]);
    for (let i = 10; i < 80; i++) await q.append([rec(i)]);
    const present = new Set((await readAll(q)).map((r) => r.id));
    let neverSent = 0;
    let unconfirmed = 0;
    for (let id = 0n; id < 80n; id++) {
      if (present.has(id)) continue;
      if (id >= 8n) neverSent++;
      else if (id >= 5n) unconfirmed++;
    }
    assert.ok(!present.has(0n) && neverSent > 0 && unconfirmed === 3, 'the scenario drops delivered, unconfirmed and unsent records');
    assert.equal(counters.get('queue_dropped_records'), neverSent, 'the drop count equals what the receiver is missing');
    assert.equal(q.stats().dropped, neverSent);
    assert.equal(counters.get('queue_dropped_unconfirmed_records'), unconfirmed);
    const dropAlerts = alerts.flatMap((a) => (a.kind === 'dropped' ? [a] : []));
    assert.equal(dropAlerts.reduce((n, a) => n + a.records, 0), neverSent, 'the alerts add up to the count');
    assert.equal(dropAlerts.reduce((n, a) => n + a.unconfirmed, 0), unconfirmed);
    assert.equal(dropAlerts[dropAlerts.length - 1]?.totalDropped, neverSent);
  } finally {
    await q.close();
    cleanup();
  }
});

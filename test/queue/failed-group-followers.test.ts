/**
 * A source batch is appended as several requests (the pipeline's slices): while
 * slice k is written, slice k+1 already waits. When slice k's group fails for
 * good, slice k+1 must not become durable ahead of the source's resend of the
 * whole batch: recovery raises the source's checkpoint to the newest position
 * in the queue (lastPositions), so a stop or crash before the resend would skip
 * slice k's lines for ever.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { AppendRecord, LostRange, QueueRecord } from '../../src/queue/disk-queue.js';
import type { ChainRole } from '../../src/seal/chain.js';
import { lossText } from '../../src/seal/declaration.js';
import { Sealer } from '../../src/seal/session.js';
import { CrashFs, TEST_KEY, assembleByHand, makeQueue, parseSealed, parts, readAll, startMsg, tempDir } from './helpers.js';

/** An agent run as in lost-range.test.ts: sealer, loss declarer, start event. Lines of source "f" end at 100 × their number. */
async function agent(dir: string, fs?: CrashFs) {
  const h = makeQueue(dir, { retryMinMs: 5 }, fs ? { fs } : {});
  const recovery = await h.q.open();
  const sealer = new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: recovery.sealState, reserveBlock: 16 });
  const seal = (text: string, role: ChainRole = 'record') => sealer.seal(parts(text), role);
  const declared: LostRange[] = [];
  h.q.attachSequence(sealer, (lost) => {
    declared.push(lost);
    const text = `${lossText(sealer.lossDeclaration(lost), 'test')} (${lost.error})`;
    return { seal: () => seal(text, 'loss_declaration'), size: 400, meta: { input: 'logward', identity: 'internal:test', internal: true } };
  });
  const internal = (text: string): AppendRecord => ({ seal: () => seal(text), size: 200, meta: { input: 'logward', identity: 'internal:test', internal: true } });
  const slice = (from: number, to: number): AppendRecord[] => {
    const out: AppendRecord[] = [];
    for (let i = from; i < to; i++) out.push({ seal: () => seal(`line ${i}`), size: 200, meta: { input: 'in', identity: 'f', end: (i + 1) * 100 } });
    return out;
  };
  await h.q.append([internal(startMsg(sealer.startDeclaration()))]);
  return { ...h, recovery, declared, internal, slice };
}

const msgs = (recs: QueueRecord[]) => recs.map((r) => String(parseSealed(r.payload).msg));

test('a group that fails for good rejects the ordinary appends waiting behind it: stopped before the resend, recovery keeps the source position before the lost lines', async () => {
  const { dir, cleanup } = tempDir('lw-followers-');
  try {
    const fs = new CrashFs();
    const a = await agent(dir, fs);
    try {
      await a.q.append(a.slice(0, 3)); // lines 0..2, durable: the source's checkpoint may be at 300
      let next: Promise<void> | undefined;
      let alert: Promise<void> | undefined;
      // While slice 1 (lines 3..5) is in flight, the source's next slice (lines 6..8) and an alert are appended.
      fs.fail('fsync', {
        onFire: () => {
          next = a.q.append(a.slice(6, 9));
          alert = a.q.append([a.internal('an alert')]);
        },
      });
      await assert.rejects(a.q.append(a.slice(3, 6)), /EIO/);
      assert.ok(next && alert, 'the fault fired');
      await assert.rejects(next, /not written: appended behind a write that failed \(EIO\); append it again/);
      // An internal record moves no source position: it stays, behind the declaration, in order.
      await alert;
      const tail = (await readAll(a.q)).slice(-2).map((r) => parseSealed(r.payload));
      assert.deepEqual(tail[0]?.declaresLost?.firstSeq, a.declared[0]?.firstSeq, 'the declaration first');
      assert.equal(tail[1]?.msg, 'an alert');
      assert.equal(a.counters.get('queue_followers_rejected'), 3);
    } finally {
      // Stopped (or killed) before the source appended lines 3..8 again.
      await a.q.close();
    }
    const b = makeQueue(dir);
    try {
      const r = await b.q.open();
      assert.equal(r.lastPositions.get('f')?.end, 300, 'the source resumes after line 2, the last line durable before the failure');
      const lines = msgs(await readAll(b.q)).filter((m) => m.startsWith('line '));
      assert.deepEqual(lines, ['line 0', 'line 1', 'line 2'], 'nothing of the failed batch is durable');
    } finally {
      await b.q.close();
    }
  } finally {
    cleanup();
  }
});

test('after a failed declaration, appends waiting behind it stay: only a group that held source records rejects its followers', async () => {
  const { dir, cleanup } = tempDir('lw-followers-');
  try {
    const fs = new CrashFs();
    const a = await agent(dir, fs);
    try {
      await a.q.append(a.slice(0, 1));
      fs.fail('write', { times: 2 }); // the group, then its declaration
      await assert.rejects(a.q.append(a.slice(1, 2)), /EIO/);
      // The source's resend, appended after it learned of the failure, waits for the declaration and follows it.
      await a.q.append(a.slice(1, 2));
      assert.equal(a.declared.length, 2);
      assert.deepEqual(msgs(await readAll(a.q)).filter((m) => m.startsWith('line ')), ['line 0', 'line 1']);
      assert.equal(a.counters.get('queue_followers_rejected'), 0);
    } finally {
      await a.q.close();
    }
  } finally {
    cleanup();
  }
});

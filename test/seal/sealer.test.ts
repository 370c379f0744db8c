import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import type { AppendRecord, DiskQueue } from '../../src/queue/disk-queue.js';
import { Sealer, SequenceError } from '../../src/seal/session.js';
import { verifyStream } from '../../src/seal/verify.js';
import { CrashFs, TEST_KEY, assembleByHand, makeQueue, parseSealed, parts, readAll, startMsg, tempDir } from '../queue/helpers.js';

const KEYS = () => new Map([[new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: { lastSeq: -1n, lastChain: '0'.repeat(64), nextSeq: 0n } }).keyId, TEST_KEY]]);

async function run(q: DiskQueue, n: number, reserveBlock = 100): Promise<Sealer> {
  const rec = await q.open();
  const s = new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: rec.sealState, reserveBlock });
  q.attachSequence(s);
  const sealed = (text: string, internal = false): AppendRecord => ({
    seal: () => s.seal(parts(text)),
    size: 200,
    meta: { input: 'in', identity: 'f', internal },
  });
  await q.append([sealed(startMsg(s.startDeclaration()), true)]);
  for (let i = 0; i < n; i++) await q.append([sealed(`event ${i}`)]);
  return s;
}

test('seal fills session, seq, key id and chain into the SD element and chains each message on the previous', () => {
  const s = new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: { lastSeq: -1n, lastChain: '0'.repeat(64), nextSeq: 7n }, persistent: false, session: 'ab'.repeat(16) });
  const a = s.seal(parts('first'));
  const b = s.seal(parts('second'));
  assert.equal(a.seq, 7n);
  assert.equal(b.seq, 8n);
  const text = a.message.toString();
  assert.match(text, new RegExp(`^<134>1 .*\\[logward@32473 eid="x" session="${'ab'.repeat(16)}" seq="7" kid="${s.keyId}" chain="${a.chain}"\\] first$`));
  assert.equal(s.startDeclaration().lastSeq, null);
  assert.deepEqual(kindsOf(verifyStream([a, b].map((r) => parseSealed(r.message)), KEYS())), []);
});

function kindsOf(r: ReturnType<typeof verifyStream>): string[] {
  return r.findings.map((f) => f.kind);
}

test('a sealer never hands out a seq the queue has not reserved on disk', () => {
  const s = new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: { lastSeq: -1n, lastChain: '0'.repeat(64), nextSeq: 0n } });
  assert.throws(() => s.seal(parts('x')), SequenceError);
  assert.equal(s.reservationNeeded(1) !== null, true);
});

test('sequences strictly increase across clean restarts (no skip) and crashes (skip to the reservation, declared)', async () => {
  const { dir, cleanup } = tempDir('lw-seal-');
  try {
    const h1 = makeQueue(dir);
    const s1 = await run(h1.q, 10);
    await h1.q.close();
    const h2 = makeQueue(dir);
    const s2 = await run(h2.q, 10);
    assert.equal(s2.startDeclaration().firstSeq, s1.nextSeq(), 'a clean stop skips nothing');
    assert.equal(s2.startDeclaration().previousSession, s1.session);
    // Crash: the process dies mid-run (the fs refuses everything from now on).
    const fs = new CrashFs();
    const h3 = makeQueue(dir, {}, { fs });
    const s3 = await run(h3.q, 5, 50);
    const handedOut = s3.nextSeq();
    fs.crashAt = fs.steps + 1;
    await h3.q.append([{ seal: () => s3.seal(parts('lost')), size: 100, meta: { input: 'in', identity: 'f' } }]).catch((e: unknown) => assert.ok(e instanceof Error));
    await h3.q.close().catch((e: unknown) => assert.ok(e instanceof Error));
    const h4 = makeQueue(dir);
    const s4 = await run(h4.q, 3);
    const d4 = s4.startDeclaration();
    assert.ok(d4.firstSeq > handedOut, `after a crash the next seq ${d4.firstSeq} skips past ${handedOut}`);
    assert.equal(d4.lastSeq, handedOut - 1n, 'the declaration names the last durable seq');
    const all = await readAll(h4.q);
    await h4.q.close();
    for (let i = 1; i < all.length; i++) assert.ok((all[i] as { id: bigint }).id > (all[i - 1] as { id: bigint }).id);
    const report = verifyStream(all.map((r) => parseSealed(r.payload)), KEYS());
    assert.equal(report.ok, true, JSON.stringify(kindsOf(report)));
    assert.equal(report.restarts, 4);
  } finally {
    cleanup();
  }
});

test('a run killed after reserving seqs and before its first record is durable is nobody\'s previous session: the next start names the run that sealed the last durable record', async () => {
  // Each crash point of a run's first append (state temp file, rename, directory fsync,
  // segment creation, frame write, fsync): the run after it must declare the session of
  // the last record that is really on disk, or a verifier cannot check that session's tail.
  for (let crashAt = 1; ; crashAt++) {
    const { dir, cleanup } = tempDir('lw-seal-');
    try {
      const h1 = makeQueue(dir);
      const s1 = await run(h1.q, 3);
      await h1.q.close();
      const fs = new CrashFs(crashAt);
      const h2 = makeQueue(dir, {}, { fs });
      let s2: Sealer | undefined;
      let crashed = false;
      try {
        s2 = await run(h2.q, 2);
        await h2.q.close();
      } catch (e) {
        assert.ok(fs.crashed, `only the injected crash fails: ${String(e)}`);
        crashed = true;
        await h2.q.close().catch((err: unknown) => assert.ok(err instanceof Error));
      }
      const h3 = makeQueue(dir);
      const s3 = await run(h3.q, 1);
      const d3 = s3.startDeclaration();
      const all = (await readAll(h3.q)).map((r) => parseSealed(r.payload));
      await h3.q.close();
      const last = all.find((e) => e.seq === d3.lastSeq);
      assert.ok(last, `crash at step ${crashAt}: the declared last seq ${d3.lastSeq} is on disk`);
      assert.equal(d3.previousSession, last.session, `crash at step ${crashAt}: the start names the session of seq ${d3.lastSeq}`);
      if (!crashed) {
        assert.equal(d3.previousSession, s2?.session, 'a clean run 2 is the previous session');
        return; // past the last step of run 2: every crash point was tried
      }
      if (d3.previousSession !== s1.session) assert.ok(d3.lastSeq !== null && d3.lastSeq > s1.nextSeq() - 1n, 'run 2 is named only when it sealed a durable record');
      const report = verifyStream(all, KEYS());
      assert.equal(report.ok, true, `crash at step ${crashAt}: ${JSON.stringify(kindsOf(report))}`);
    } finally {
      cleanup();
    }
  }
});

test('an internal record that overtakes a blocked append is sealed in disk order: the stream still verifies', async () => {
  const { dir, cleanup } = tempDir('lw-seal-');
  const { q } = makeQueue(dir, { maxBytes: 8192, segmentBytes: 1024, internalHeadroomBytes: 2048 });
  try {
    const s = await run(q, 0);
    const sealed = (text: string, internal = false): AppendRecord => ({
      seal: () => s.seal(parts(text)),
      size: 200,
      meta: { input: 'in', identity: 'f', internal },
    });
    let blocked: Promise<void> | null = null;
    for (let i = 0; !blocked && i < 100; i++) {
      let done = false;
      const p = q.append([sealed(`event ${i} ${'p'.repeat(150)}`)]);
      void p.then(() => (done = true));
      while (!done && !q.stats().blocked) await sleep(1);
      if (!done) blocked = p;
    }
    assert.ok(blocked, 'the queue filled up');
    await q.append([sealed('queue full alert', true)]);
    // Acknowledge everything so the blocked append goes in after the alert.
    const sent = await readAll(q);
    q.markSent((sent[sent.length - 1] as { id: bigint }).id + 1n);
    await q.tick();
    await blocked;
    const tail = await readAll(q, (sent[sent.length - 1] as { id: bigint }).id + 1n);
    const stream = [...sent, ...tail].map((r) => parseSealed(r.payload));
    assert.equal(stream[stream.length - 1]?.msg.toString().startsWith('event'), true, 'the blocked event went in last');
    const report = verifyStream(stream, KEYS());
    assert.equal(report.ok, true, JSON.stringify(kindsOf(report)));
  } finally {
    await q.close();
    cleanup();
  }
});

test('ENOSPC while persisting a reservation waits and retries: nothing is sealed beyond what is on disk', async () => {
  const { dir, cleanup } = tempDir('lw-seal-');
  const fs = new CrashFs();
  const { q, alerts } = makeQueue(dir, { retryMinMs: 2 }, { fs });
  try {
    const rec = await q.open();
    const s = new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: rec.sealState, reserveBlock: 4 });
    q.attachSequence(s);
    fs.enospc = 3; // the state temp file write fails three times
    await q.append([0, 1, 2].map((i) => ({ seal: () => s.seal(parts(`e${i}`)), size: 50, meta: { input: 'in', identity: 'f' } })));
    assert.deepEqual(alerts.map((a) => a.kind), ['disk_full', 'disk_recovered']);
    assert.deepEqual((await readAll(q)).map((r) => r.id), [0n, 1n, 2n]);
  } finally {
    await q.close();
    cleanup();
  }
});

test('with the real RFC 5424 assembler, a received message parses back and its chain verifies', async () => {
  const { parseRfc5424 } = await import('../../src/encode/rfc5424.js');
  const s = new Sealer({ key: TEST_KEY, state: { lastSeq: -1n, lastChain: '0'.repeat(64), nextSeq: 0n }, persistent: false });
  const msgs = ['{"message":"ok"}', 'CEF:0|logward|logward|1|x|y|5|msg=héllo wörld'].map((m) => s.seal(parts(m)).message.toString('utf8'));
  const entries = msgs.map((text) => {
    const p = parseRfc5424(text);
    const sd = p.sd.find((e) => e.id === 'logward@32473');
    const get = (k: string) => sd?.params.find(([n]) => n === k)?.[1] ?? '';
    return { session: get('session'), seq: BigInt(get('seq')), kid: get('kid'), chain: get('chain'), msg: p.msg ?? '' };
  });
  const r = verifyStream(entries, KEYS());
  assert.equal(r.ok, true, JSON.stringify(kindsOf(r)));
  assert.deepEqual(kindsOf(r), []);
});

/**
 * A write group that fails for good (EIO on write or fsync) after it was
 * sealed: its seqs are spent, and the next record sealed declares them. The
 * declarer below is the pipeline's wiring (src/pipeline.ts lossRecord): an
 * internal record whose MSG starts with the declaration text, built from
 * Sealer.lossDeclaration; test/pipeline/lost-range.test.ts runs the real one.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { FileError } from '../../src/errors.js';
import type { AppendRecord, LostRange, QueueRecord } from '../../src/queue/disk-queue.js';
import type { ChainRole } from '../../src/seal/chain.js';
import { lossText } from '../../src/seal/declaration.js';
import { Sealer } from '../../src/seal/session.js';
import { verifyStream, type Finding, type VerifyReport } from '../../src/seal/verify.js';
import { SEGMENT_HEADER } from '../../src/queue/frame.js';
import { CrashFs, TEST_KEY, assembleByHand, makeQueue, parseSealed, parts, readAll, startMsg, tempDir, type QueueHarness } from './helpers.js';
import { until } from '../helpers/agent.js';

const KEYS = new Map([[new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: { lastSeq: -1n, lastChain: '0'.repeat(64), nextSeq: 0n } }).keyId, TEST_KEY]]);

interface Agent extends QueueHarness {
  sealer: Sealer;
  sealed: (text: string, internal?: boolean) => AppendRecord;
  /** Every range the declarer was asked to declare, in order. */
  declared: LostRange[];
  /** The chain of every seq handed out (written or not). */
  chains: Map<bigint, string>;
}

/** One agent run over the queue in `dir`: opened, sealer attached with a declarer, start event queued. */
async function agent(dir: string, fs?: CrashFs, over: Parameters<typeof makeQueue>[1] = {}, declare = true): Promise<Agent> {
  const h = makeQueue(dir, { retryMinMs: 5, ...over }, fs ? { fs } : {});
  const rec = await h.q.open();
  const sealer = new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: rec.sealState, reserveBlock: 16 });
  const chains = new Map<bigint, string>();
  const seal = (text: string, role: ChainRole = 'record') => {
    const r = sealer.seal(parts(text), role);
    chains.set(r.seq, r.chain);
    return r;
  };
  const declared: LostRange[] = [];
  h.q.attachSequence(
    sealer,
    declare
      ? (lost) => {
          declared.push(lost);
          const text = `${lossText(sealer.lossDeclaration(lost), 'test')} (${lost.error})`;
          return { seal: () => seal(text, 'loss_declaration'), size: 400, meta: { input: 'logward', identity: 'internal:test', internal: true } };
        }
      : undefined,
  );
  const sealed = (text: string, internal = false): AppendRecord => ({
    seal: () => seal(text),
    size: 200,
    meta: internal ? { input: 'logward', identity: 'internal:test', internal: true } : { input: 'in', identity: 'f', end: text.length },
  });
  await h.q.append([sealed(startMsg(sealer.startDeclaration()), true)]);
  return { ...h, sealer, sealed, declared, chains };
}

const ids = (recs: QueueRecord[]) => recs.map((r) => r.id);
const msgs = (recs: QueueRecord[]) => recs.map((r) => String(parseSealed(r.payload).msg));
const verify = (recs: QueueRecord[]): VerifyReport => verifyStream(recs.map((r) => parseSealed(r.payload)), KEYS);
const show = (r: VerifyReport) => JSON.stringify(r.findings, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
const lostOf = (r: VerifyReport) => r.findings.filter((f): f is Extract<Finding, { kind: 'lost' }> => f.kind === 'lost').map((f) => [f.from, f.to, f.seq]);

test('a segment fsync failing with EIO: the next record sealed declares the lost seqs, no seq is reused, and the delivered stream verifies', async () => {
  const { dir, cleanup } = tempDir('lw-lost-');
  const fs = new CrashFs();
  const a = await agent(dir, fs);
  try {
    for (let i = 0; i < 3; i++) await a.q.append([a.sealed(`before ${i}`)]); // seqs 1..3
    let during: Promise<void> | undefined;
    // An ordinary append that arrives while the failing group is in flight is rejected with it (its source may
    // be the failed group's, whose resend must come first: test/queue/failed-group-followers.test.ts); appended
    // again, it follows the declaration.
    fs.fail('fsync', { onFire: () => (during = a.q.append([a.sealed('during 0'), a.sealed('during 1')])) });
    const failed = a.q.append([0, 1, 2].map((i) => a.sealed(`failed ${i}`))); // seqs 4..6
    await assert.rejects(failed, (e: unknown) => e instanceof FileError && /EIO/.test(e.message));
    assert.ok(during, 'the fault fired');
    await assert.rejects(during, /appended behind a write that failed \(EIO\)/);
    await a.q.append([a.sealed('during 0'), a.sealed('during 1')]);

    const all = await readAll(a.q);
    assert.deepEqual(ids(all), [0n, 1n, 2n, 3n, 7n, 8n, 9n], 'seqs 4..6 are spent, never handed out again');
    const decl = parseSealed((all[4] as QueueRecord).payload);
    assert.deepEqual(decl.declaresLost, { firstSeq: 4n, lastSeq: 6n, lastChain: a.chains.get(6n), cause: 'EIO' });
    assert.equal((all[4] as QueueRecord).meta.internal, true, 'an internal record: never dropped, allowed into the headroom');
    assert.deepEqual(msgs(all).slice(5), ['during 0', 'during 1']);
    assert.deepEqual(a.declared.map((l) => [l.firstSeq, l.lastSeq, l.cause]), [[4n, 6n, 'EIO']]);

    const report = verify(all);
    assert.equal(report.ok, true, show(report));
    assert.deepEqual(lostOf(report), [[4n, 6n, 7n]]);
    assert.equal(report.losses, 1);
    assert.equal(report.lostSeqs, 3n);
    // The declaration is the alert for this failure: no separate queue error event.
    assert.deepEqual(a.alerts.map((x) => x.kind), []);
    assert.equal(a.counters.get('queue_lost_records'), 3);
    assert.equal(a.counters.get('queue_lost_declared'), 1);
    assert.equal(a.counters.get('queue_errors'), 1);
  } finally {
    await a.q.close();
  }
  // The next run starts after everything handed out, and its start event names the declaration as the last record.
  const b = await agent(dir);
  try {
    const d = b.sealer.startDeclaration();
    assert.equal(d.lastSeq, 9n);
    assert.equal(d.firstSeq, 10n);
    const report = verify(await readAll(b.q));
    assert.equal(report.ok, true, show(report));
    assert.deepEqual(lostOf(report), [[4n, 6n, 7n]]);
    assert.equal(report.restarts, 2);
  } finally {
    await b.q.close();
    cleanup();
  }
});

test('a write failing with EIO, then the declaration failing too: one declaration covers both, and nothing else is sealed in between', async () => {
  const { dir, cleanup } = tempDir('lw-lost-');
  const fs = new CrashFs();
  const a = await agent(dir, fs);
  try {
    await a.q.append([a.sealed('before')]); // seq 1
    fs.fail('write', { times: 2 });
    await assert.rejects(a.q.append([a.sealed('failed 0'), a.sealed('failed 1')]), /EIO/); // seqs 2..3, then declaration 4 fails
    await a.q.append([a.sealed('after')]);
    const all = await readAll(a.q);
    assert.deepEqual(ids(all), [0n, 1n, 5n, 6n]);
    assert.deepEqual(
      a.declared.map((l) => [l.firstSeq, l.lastSeq]),
      [
        [2n, 3n],
        [2n, 4n],
      ],
      'the second declaration also covers the first one, which was lost',
    );
    assert.equal(fs.fired.length, 2);
    const report = verify(all);
    assert.equal(report.ok, true, show(report));
    assert.deepEqual(lostOf(report), [[2n, 4n, 5n]]);
    assert.equal(a.counters.get('queue_lost_records'), 3);
    assert.equal(a.counters.get('queue_lost_declared'), 1);
  } finally {
    await a.q.close();
    cleanup();
  }
});

test('a failed group whose bytes stay in the segment (the cut-back failed too) is never read back after its declaration, not even after a restart', async () => {
  const { dir, cleanup } = tempDir('lw-lost-');
  const fs = new CrashFs();
  const a = await agent(dir, fs);
  let beforeRestart: QueueRecord[];
  try {
    await a.q.append([a.sealed('before')]); // seq 1
    fs.fail('fsync');
    fs.fail('ftruncate', { times: 2 }); // the cut-back after the failure, and its retry before the declaration
    await assert.rejects(a.q.append([2, 3, 4].map((i) => a.sealed(`failed ${i} ${'f'.repeat(300)}`))), /EIO/);
    await a.q.append([a.sealed('after')]);
    beforeRestart = await readAll(a.q);
    assert.deepEqual(ids(beforeRestart), [0n, 1n, 5n, 6n]);
    // The error alert is the cut-back's; the group's own failure is declared.
    assert.deepEqual(a.alerts.map((x) => x.kind), ['error']);
    assert.equal(a.counters.get('queue_cut_failed'), 1, 'the retry of the cut before the declaration failed too');
  } finally {
    await a.q.close();
  }
  const files = readdirSync(dir).filter((n) => n.endsWith('.lwq'));
  assert.equal(files.length, 1);
  const bytes = readFileSync(join(dir, files[0] as string));
  assert.ok(bytes.includes('failed 4'), 'the scenario is real: a lost record is still in the file, after its declaration');
  assert.ok(bytes.indexOf('failed 4') > bytes.indexOf('lost records'), 'the declaration took the failed group\'s place');

  const b = await agent(dir);
  try {
    const all = await readAll(b.q);
    assert.deepEqual(ids(all), [0n, 1n, 5n, 6n, 7n], 'recovery treats what follows a higher id as damage: seqs 2..4 never come back');
    assert.ok(b.counters.get('queue_cut_bytes') > 0, 'the leftover is cut and counted');
    assert.equal(b.sealer.startDeclaration().lastSeq, 6n);
    const report = verify(all);
    assert.equal(report.ok, true, show(report));
    assert.deepEqual(lostOf(report), [[2n, 4n, 5n]]);
  } finally {
    await b.q.close();
    cleanup();
  }
});

test('the declaration goes where the failed group started even when the segment has no room left for it', async () => {
  const { dir, cleanup } = tempDir('lw-lost-');
  const fs = new CrashFs();
  const segmentBytes = 2000;
  const a = await agent(dir, fs, { segmentBytes });
  try {
    // Measure a sealed frame's size around its MSG, then fill the segment up to room for a short record, not a declaration.
    const b0 = a.q.stats().bytes;
    await a.q.append([a.sealed('m'.repeat(100))]); // seq 1
    const base = a.q.stats().bytes - b0 - 100;
    await a.q.append([a.sealed('m'.repeat(segmentBytes - a.q.stats().bytes - base - (base + 40)))]); // seq 2
    const room = segmentBytes - a.q.stats().bytes;
    assert.equal(room, base + 40);
    fs.fail('fsync');
    fs.fail('ftruncate', { times: 2 });
    await assert.rejects(a.q.append([a.sealed('failed ' + 'f'.repeat(30))]), /EIO/); // seq 3: fits
    assert.ok(a.declared.length === 1 && a.q.stats().segments === 1);
    await a.q.append([a.sealed('after')]);
    assert.equal(a.q.stats().segments, 2, 'the declaration stayed in the first segment, past its size; "after" opened the next');
    assert.ok(a.q.stats().bytes - 8 - (base + 5) > segmentBytes, 'the first segment holds more than segmentBytes');
    assert.deepEqual(ids(await readAll(a.q)), [0n, 1n, 2n, 4n, 5n]);
  } finally {
    await a.q.close();
  }
  const b = await agent(dir, undefined, { segmentBytes });
  try {
    const all = await readAll(b.q);
    assert.deepEqual(ids(all), [0n, 1n, 2n, 4n, 5n, 6n]);
    const report = verify(all);
    assert.equal(report.ok, true, show(report));
    assert.deepEqual(lostOf(report), [[3n, 3n, 4n]]);
  } finally {
    await b.q.close();
    cleanup();
  }
});

test('a group that fails in its second segment declares only the seqs that were not written', async () => {
  const { dir, cleanup } = tempDir('lw-lost-');
  const fs = new CrashFs();
  const a = await agent(dir, fs, { segmentBytes: 2000 });
  try {
    await a.q.append([a.sealed('before')]); // seq 1
    const segs = a.q.stats().segments;
    fs.fail('fsync', { path: new RegExp(`seg-0*${segs + 1}\\.lwq$`) });
    // Six records of ~540 bytes: the first ones fill segment 1, the rest go to segments 2 (whose fsync fails) and 3.
    await assert.rejects(a.q.append([2, 3, 4, 5, 6, 7].map((i) => a.sealed(`group ${i} ${'g'.repeat(250)}`))), /EIO/);
    await a.q.append([a.sealed('after')]);
    const all = await readAll(a.q);
    const written = ids(all).filter((id) => id >= 2n && id <= 7n);
    assert.ok(written.length > 0 && written.length < 6, `part of the group is durable (${written.join(',')})`);
    const report = verify(all);
    assert.equal(report.ok, true, show(report));
    const firstLost = (written[written.length - 1] as bigint) + 1n;
    assert.deepEqual(lostOf(report), [[firstLost, 7n, 8n]]);
  } finally {
    await a.q.close();
    cleanup();
  }
});

test('closed before the declaration could be written: the next start skips the lost seqs and declares where the durable records end', async () => {
  const { dir, cleanup } = tempDir('lw-lost-');
  const fs = new CrashFs();
  const a = await agent(dir, fs);
  let handedOut: bigint;
  try {
    await a.q.append([a.sealed('before')]); // seq 1
    fs.fail('fsync', { times: 1_000 }); // the segment's disk keeps failing; the state file's does not
    await assert.rejects(a.q.append([a.sealed('failed 0'), a.sealed('failed 1')]), /EIO/);
    while (a.declared.length < 3) await new Promise((r) => setTimeout(r, 5)); // declarations keep failing, with backoff
    const pending = a.q.append([a.sealed('waits behind the declaration')]);
    pending.catch(() => undefined);
    await a.q.close();
    await assert.rejects(pending, /queue closed/);
    handedOut = a.sealer.nextSeq();
  } finally {
    await a.q.close();
  }
  const b = await agent(dir);
  try {
    const d = b.sealer.startDeclaration();
    assert.equal(d.lastSeq, 1n, 'the last durable record');
    assert.ok(d.firstSeq >= handedOut, `no seq reused: ${d.firstSeq} >= ${handedOut}`);
    const report = verify(await readAll(b.q));
    assert.equal(report.ok, true, show(report));
    assert.deepEqual(lostOf(report), []);
    assert.equal(report.restarts, 2);
  } finally {
    await b.q.close();
    cleanup();
  }
});

test('without a declarer (a queue used alone) the failure is an error alert and its seqs stay an undeclared gap', async () => {
  const { dir, cleanup } = tempDir('lw-lost-');
  const fs = new CrashFs();
  const a = await agent(dir, fs, {}, false);
  try {
    await a.q.append([a.sealed('before')]);
    fs.fail('fsync');
    await assert.rejects(a.q.append([a.sealed('failed')]), /EIO/);
    await a.q.append([a.sealed('after')]);
    const all = await readAll(a.q);
    assert.deepEqual(ids(all), [0n, 1n, 3n]);
    assert.deepEqual(a.alerts.map((x) => x.kind), ['error']);
    const report = verify(all);
    assert.equal(report.ok, false);
    assert.deepEqual(report.findings.filter((f) => f.kind === 'gap').map((f) => (f.kind === 'gap' ? [f.from, f.to] : [])), [[2n, 2n]]);
  } finally {
    await a.q.close();
    cleanup();
  }
});

test('with fsync: none the unit holding a declaration is still fsynced before a reader can see it', async () => {
  const { dir, cleanup } = tempDir('lw-lost-');
  const fs = new CrashFs();
  const a = await agent(dir, fs, { fsync: 'none' });
  try {
    await a.q.append([a.sealed('before')]);
    assert.equal(a.counters.get('queue_fsyncs'), 0);
    fs.fail('write');
    await assert.rejects(a.q.append([a.sealed('failed')]), /EIO/);
    await a.q.append([a.sealed('after')]);
    assert.equal(a.counters.get('queue_fsyncs'), 1, 'one fsync: the declaration, not "after"');
    assert.deepEqual(lostOf(verify(await readAll(a.q))), [[2n, 2n, 3n]]);
  } finally {
    await a.q.close();
    cleanup();
  }
});

test('a crash at any step after a failed group whose first cut-back failed: recovery never returns a declared-lost seq, and the stream verifies', async () => {
  /** Seq 1 durable, a group whose fsync and first cut-back fail, then the append this test crashes in. */
  async function scenario(dir: string, fs: CrashFs) {
    const a = await agent(dir, fs);
    await a.q.append([a.sealed('before')]); // seq 1
    fs.fail('fsync');
    fs.fail('ftruncate');
    await assert.rejects(a.q.append([2, 3, 4].map((i) => a.sealed(`failed ${i} ${'f'.repeat(200)}`))), /EIO/);
    const from = fs.steps;
    return { a, from, after: a.q.append([a.sealed('after 0'), a.sealed('after 1')]) };
  }

  // How many file-system steps the append after the failure takes when nothing crashes: each is a crash point.
  let steps: number;
  {
    const { dir, cleanup } = tempDir('lw-lost-crash-count-');
    try {
      const fs = new CrashFs();
      const { a, from, after } = await scenario(dir, fs);
      await after;
      steps = fs.steps - from;
      await a.q.close();
    } finally {
      cleanup();
    }
  }
  assert.ok(steps >= 4, `the append after the failure declares the loss and writes: ${steps} steps`);

  for (let k = 1; k <= steps; k++) {
    const { dir, cleanup } = tempDir('lw-lost-crash-');
    try {
      const fs = new CrashFs();
      const { a, from, after } = await scenario(dir, fs);
      fs.crashAt = from + k; // the process dies at the k-th step of the append
      // A crashed queue's append never settles (its process is "dead"): wait for the crash itself.
      after.catch(() => undefined);
      await until(() => fs.crashed, `k=${k}: the crash at step ${k} of ${steps}`);
      await a.q.close().catch((e: unknown) => assert.ok(e instanceof Error));

      const b = await agent(dir);
      try {
        const all = await readAll(b.q);
        for (let i = 1; i < all.length; i++) assert.ok((all[i] as QueueRecord).id > (all[i - 1] as QueueRecord).id, `k=${k}: ids increase`);
        const entries = all.map((r) => parseSealed(r.payload));
        for (const e of entries) {
          const d = e.declaresLost;
          if (!d) continue;
          const inside = entries.filter((x) => x.seq >= d.firstSeq && x.seq <= d.lastSeq).map((x) => x.seq);
          assert.deepEqual(inside, [], `k=${k}: no declared-lost seq is recovered`);
        }
        const report = verifyStream(entries, KEYS);
        assert.equal(report.ok, true, `k=${k}: ${show(report)}`);
      } finally {
        await b.q.close();
      }
    } finally {
      cleanup();
    }
  }
});

test('a cut-back that worked the second time is durable: a power loss while the declaration is written or synced does not bring the failed group back', async () => {
  // The failed group's fsync reports EIO after its data did reach the disk, and the first cut-back
  // fails: the group's bytes are durable in the file until the second cut-back (ftruncate + fsync)
  // before the declaration. CrashFs loses at the crash what was not fsynced, so only that fsync
  // keeps the cut; without it the file comes back with the group in it.
  const crashAt = {
    // The control: the second cut's own fsync never happens, so the group is still on disk.
    'the second cut-back fsync': () => {
      let cut = false;
      return (op: string): boolean => {
        if (op === 'ftruncate') cut = true; // the first cut-back fails before it is a step: this is the second
        return cut && op === 'fsync';
      };
    },
    'the declaration write': () => (op: string, _path: string, buf?: Buffer): boolean => op === 'write' && buf !== undefined && buf.includes('lost records'),
    'the declaration fsync': () => {
      let written = false;
      return (op: string, _path: string, buf?: Buffer): boolean => {
        if (op === 'write' && buf !== undefined && buf.includes('lost records')) written = true;
        return written && op === 'fsync';
      };
    },
  };
  for (const [where, predicate] of Object.entries(crashAt)) {
    const { dir, cleanup } = tempDir('lw-lost-cut2-');
    try {
      const fs = new CrashFs();
      const a = await agent(dir, fs);
      await a.q.append([a.sealed('before')]); // seq 1
      fs.fail('fsync', { written: true });
      fs.fail('ftruncate');
      fs.crashOn = predicate();
      await assert.rejects(a.q.append([2, 3, 4].map((i) => a.sealed(`failed ${i} ${'f'.repeat(200)}`))), /EIO/); // seqs 2..4
      await fs.down();
      await a.q.close().catch((e: unknown) => assert.ok(e instanceof Error));
      assert.deepEqual(fs.fired.map((f) => f.split(' ')[0]), ['fsync', 'ftruncate'], `${where}: the group's fsync and the first cut-back failed`);

      const b = await agent(dir);
      try {
        const all = await readAll(b.q);
        const back = msgs(all).filter((m) => m.startsWith('failed '));
        if (where === 'the second cut-back fsync') {
          assert.equal(back.length, 3, `${where}: the group's bytes were durable, so a cut that is not yet synced leaves them (the README's "cut-back failed too" row)`);
        } else {
          assert.deepEqual(back, [], `${where}: the second cut-back was synced before the declaration was written over the group`);
          assert.deepEqual(ids(all).slice(0, 2), [0n, 1n], `${where}: the durable records`);
          assert.equal(msgs(all)[1], 'before');
          assert.equal(all.length, 3, `${where}: the durable records, then the next start event`);
        }
        const report = verify(all);
        assert.equal(report.ok, true, `${where}: ${show(report)}`);
      } finally {
        await b.q.close();
      }
    } finally {
      cleanup();
    }
  }
});

test('a declaration that does not fit in a full queue takes nothing with it: an alert waits behind it and is sealed after it once space is freed', async () => {
  const { dir, cleanup } = tempDir('lw-lost-');
  const fs = new CrashFs();
  const maxBytes = 8192;
  const a = await agent(dir, fs, { maxBytes });
  try {
    // Fill the queue until a 200-byte alert still fits but the 400-byte declaration does not.
    const b0 = a.q.stats().bytes;
    await a.q.append([a.sealed('m'.repeat(100), true)]); // seq 1
    const base = a.q.stats().bytes - b0 - 100;
    const room = 300;
    await a.q.append([a.sealed('m'.repeat(maxBytes - SEGMENT_HEADER.length - room - a.q.stats().bytes - base), true)]); // seq 2
    const left = maxBytes - SEGMENT_HEADER.length - a.q.stats().bytes;
    assert.ok(left >= 200 && left < 400, `room for the alert's 200 bytes, not for the declaration's 400: ${left}`);
    fs.fail('fsync');
    await assert.rejects(a.q.append([a.sealed('failed', true)]), /EIO/); // seq 3, cut back
    assert.equal(a.declared.length, 1);

    let alertDone = false;
    const alert = a.q.append([a.sealed('alert while the declaration waits', true)]).then(() => {
      alertDone = true;
    });
    // The writer tried again (after its retry delay) and found the head of the queue blocked.
    await until(() => a.q.stats().blocked, 'the writer blocked on the declaration');
    assert.equal(a.q.stats().pending, 2, 'the alert fits, but nothing may be sealed between a lost range and its declaration');
    assert.equal(alertDone, false);
    assert.deepEqual(ids(await readAll(a.q)), [0n, 1n, 2n]);

    // The receiver confirms everything: the acknowledged segment goes, the declaration and then the alert go in.
    a.q.markSent(3n);
    await a.q.tick();
    await alert;
    const all = await readAll(a.q);
    assert.deepEqual(msgs(all).slice(-1), ['alert while the declaration waits']);
    const entries = all.map((r) => parseSealed(r.payload));
    const decl = entries.find((e) => e.declaresLost !== undefined);
    assert.ok(decl, 'the declaration was written');
    assert.equal(decl.seq, 4n, 'the declaration takes the seq right after the lost one');
    assert.equal(entries[entries.length - 1]?.seq, 5n, 'the alert is sealed after it');
  } finally {
    await a.q.close();
  }
  const b = await agent(dir);
  try {
    const report = verify(await readAll(b.q));
    assert.equal(report.ok, true, show(report));
  } finally {
    await b.q.close();
    cleanup();
  }
});

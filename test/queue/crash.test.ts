import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import type { AppendRecord } from '../../src/queue/disk-queue.js';
import { Sealer } from '../../src/seal/session.js';
import { verifyStream } from '../../src/seal/verify.js';
import { CrashFs, TEST_KEY, assembleByHand, makeQueue, parseSealed, parts, readAll, startMsg, tempDir } from './helpers.js';
import type { QueueFs } from '../../src/queue/fs.js';

const KEYS = new Map([[new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: { lastSeq: -1n, lastChain: '0'.repeat(64), nextSeq: 0n } }).keyId, TEST_KEY]]);
const BLOCK = { segmentBytes: 1500, fsyncIntervalMs: 60_000 };
const DROP = { segmentBytes: 1024, maxBytes: 4096, internalHeadroomBytes: 1024, whenFull: 'drop_oldest' as const, fsyncIntervalMs: 60_000 };
type Mode = typeof BLOCK | typeof DROP;

interface Log {
  resolved: Map<bigint, Buffer>;
  internal: Set<bigint>;
  maxSeq: bigint;
  acked: bigint;
}

/** One agent run: start event, sealed batches, a sink that sends and acknowledges (segments deleted), clean close. */
async function scenario(dir: string, fs: QueueFs | undefined, log: Log, OPTS: Mode = BLOCK): Promise<void> {
  let t = 0;
  const h = makeQueue(dir, OPTS, fs ? { fs, now: () => (t += 100_000) } : { now: () => (t += 100_000) });
  try {
    const rec = await h.q.open();
    const sealer = new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: rec.sealState, reserveBlock: 8 });
    h.q.attachSequence(sealer);
    const sealOne = (text: string, out: { seq: bigint; message: Buffer }[], internal = false): AppendRecord => ({
      seal: () => {
        const r = sealer.seal(parts(text));
        if (r.seq > log.maxSeq) log.maxSeq = r.seq;
        out.push(r);
        return r;
      },
      size: 250,
      meta: internal ? { input: '_agent', identity: '_agent', internal: true } : { input: 'in', identity: 'f', end: text.length },
    });
    const append = async (texts: string[], internal = false) => {
      const out: { seq: bigint; message: Buffer }[] = [];
      await h.q.append(texts.map((x) => sealOne(x, out, internal)));
      for (const r of out) {
        log.resolved.set(r.seq, r.message);
        if (internal) log.internal.add(r.seq);
      }
    };
    await append([startMsg(sealer.startDeclaration())], true);
    let sent = h.q.replayPosition();
    for (let b = 0; b < 8; b++) {
      await append([0, 1, 2].map((i) => `line ${b}.${i} ${'z'.repeat(80)}`));
      if (b % 3 === 2) await append([`alert ${b}`], true);
      if (b % 2 === 1) {
        const recs = await h.q.readFrom(sent, 1000);
        const last = recs[recs.length - 1];
        if (last) {
          sent = last.id + 1n;
          h.q.markSent(sent);
        }
        const ticking = h.q.tick();
        log.acked = h.q.replayPosition(); // set before tick persists it
        await ticking;
      }
    }
  } finally {
    await h.q.close();
  }
}

/** After any crash: reopen with the real fs and check every guarantee. Returns the bytes recovery cut (a torn tail, ...). */
async function checkAfterCrash(dir: string, log: Log, what: string, OPTS: Mode = BLOCK): Promise<number> {
  const h = makeQueue(dir, OPTS);
  const rec = await h.q.open();
  try {
    const replay = h.q.replayPosition();
    assert.ok(replay <= log.acked, `${what}: never more acknowledged than was (${replay} > ${log.acked})`);
    const present = new Map((await readAll(h.q)).map((r) => [r.id, r.payload]));
    for (const [id, payload] of log.resolved) {
      if (id < replay) continue;
      if (OPTS === DROP && !log.internal.has(id)) continue; // ordinary records may have been dropped
      assert.deepEqual(present.get(id), payload, `${what}: durable record ${id} lost or changed`);
    }
    assert.ok(rec.sealState.nextSeq > log.maxSeq, `${what}: seq ${rec.sealState.nextSeq} could reuse ${log.maxSeq}`);
    // The next run continues: start event declares the boundary, the whole stream verifies.
    const sealer = new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: rec.sealState, reserveBlock: 8 });
    h.q.attachSequence(sealer);
    const decl = sealer.startDeclaration();
    await h.q.append([{ seal: () => sealer.seal(parts(startMsg(decl))), size: 250, meta: { input: '_agent', identity: '_agent', internal: true } }]);
    await h.q.append([{ seal: () => sealer.seal(parts('after restart')), size: 250, meta: { input: 'in', identity: 'f' } }]);
    const all = await readAll(h.q);
    for (let i = 1; i < all.length; i++) assert.ok((all[i]?.id ?? 0n) > (all[i - 1]?.id ?? 0n), `${what}: ids increase`);
    const report = verifyStream(all.map((r) => parseSealed(r.payload)), KEYS);
    // drop_oldest leaves gaps (counted and alerted); nothing else may show.
    const bad = report.findings.filter((f) => !(f.kind === 'gap' && OPTS === DROP) && f.kind !== 'restart' && f.kind !== 'unanchored');
    assert.deepEqual(bad, [], `${what}: ${JSON.stringify(bad, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    return rec.bytesCut;
  } finally {
    await h.q.close();
  }
}

async function crashAtEveryStep(OPTS: Mode, mustSee: string[]): Promise<void> {
  // Count the steps of one run (after a first clean run), then crash at each of them in turn.
  const probe = tempDir();
  const counter = new CrashFs();
  const probeLog: Log = { resolved: new Map(), internal: new Set(), maxSeq: -1n, acked: 0n };
  await scenario(probe.dir, undefined, probeLog, OPTS);
  await scenario(probe.dir, counter, probeLog, OPTS);
  probe.cleanup();
  const kinds = new Set(counter.log.map((x) => x.split(' ')[0]));
  for (const k of mustSee) assert.ok(kinds.has(k), `the scenario exercises ${k}`);
  assert.ok(counter.steps > 40, `scenario has ${counter.steps} steps`);
  // A power loss reverts the files to their last fsync, so it never leaves a torn write behind; a
  // process crash (kill -9, OOM) keeps the page cache: torn and unsynced writes stay on the disk.
  // Both, so that recovery's torn-tail cut stays exercised.
  const cutAt: Record<string, number> = {};
  for (const powerLoss of [true, false]) {
    const mode = powerLoss ? 'power loss' : 'process crash';
    cutAt[mode] = 0;
    for (let k = 1; k <= counter.steps; k++) {
      const { dir, cleanup } = tempDir();
      try {
        // A first clean run leaves history behind (previous session, deleted segments).
        const log: Log = { resolved: new Map(), internal: new Set(), maxSeq: -1n, acked: 0n };
        await scenario(dir, undefined, log, OPTS);
        const fs = new CrashFs(k, { powerLoss });
        await scenario(dir, fs, log, OPTS).catch((e: unknown) => {
          if (!(e instanceof Error)) throw e;
        });
        assert.equal(fs.crashed, true, `${mode}: step ${k} was reached`);
        const cut = await checkAfterCrash(dir, log, `${mode} at step ${k} (${counter.log[k - 1]})`, OPTS);
        if (cut > 0) cutAt[mode]++;
      } finally {
        cleanup();
      }
    }
  }
  // Without this the matrix can go vacuous again: a crash model that never tears a write passes it.
  assert.ok((cutAt['process crash'] ?? 0) > 0, `some process crash leaves a torn tail for recovery to cut (${JSON.stringify(cutAt)} of ${counter.steps})`);
}

test('a crash between any two steps of write/fsync/rename/unlink restarts cleanly, loses nothing durable, reuses no seq', async () => {
  await crashAtEveryStep(BLOCK, ['write', 'fsync', 'rename', 'unlink']);
});

test('a crash at any step of a drop_oldest compaction keeps every internal record and reuses no seq', async () => {
  await crashAtEveryStep(DROP, ['write', 'fsync', 'rename']);
});

const CHILD = fileURLToPath(new URL('./fixtures/append-loop.ts', import.meta.url));

function runChildUntilKilled(dir: string, killAfterLines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    let err = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      if (!killed && lines.length >= killAfterLines) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(lines);
      else reject(new Error(`child exited ${code}: ${err}`));
    });
  });
}

test('SIGKILL at 10 random points while appending: nothing durable lost, sequences strictly increase, the chain verifies', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const durable = new Set<bigint>();
    let maxDurable = -1n;
    let acked = 0n;
    const firstSeqs: bigint[] = [];
    for (let run = 0; run < 10; run++) {
      const lines = await runChildUntilKilled(dir, 3 + Math.floor(Math.random() * 40));
      for (const l of lines) {
        const [k, a, b] = l.split(' ');
        if (k === 'S') firstSeqs.push(BigInt(b as string));
        if (k === 'A') acked = BigInt(a as string);
        if (k === 'D') {
          for (let s = BigInt(a as string); s <= BigInt(b as string); s++) durable.add(s);
          if (BigInt(b as string) > maxDurable) maxDurable = BigInt(b as string);
        }
      }
      const firstSeq = firstSeqs[firstSeqs.length - 1] as bigint;
      const prevFirst = firstSeqs[firstSeqs.length - 2];
      if (prevFirst !== undefined) assert.ok(firstSeq > prevFirst, 'sessions start higher each time');
      // Check after every kill, with the real fs, as the next start would.
      const h = makeQueue(dir, { segmentBytes: 4096 });
      const rec = await h.q.open();
      const replay = h.q.replayPosition();
      assert.ok(replay <= acked || acked === 0n || replay <= maxDurable + 1n, `run ${run}: replay ${replay} beyond acked ${acked} and durable ${maxDurable}`);
      const ids = new Set((await readAll(h.q)).map((r) => r.id));
      for (const s of durable) if (s >= replay) assert.ok(ids.has(s), `run ${run}: durable seq ${s} lost`);
      assert.ok(rec.sealState.nextSeq > maxDurable, `run ${run}: next seq ${rec.sealState.nextSeq} <= ${maxDurable}`);
      await h.q.close();
    }
    assert.equal(firstSeqs.length, 10);
    const h = makeQueue(dir, { segmentBytes: 4096 });
    await h.q.open();
    const all = await readAll(h.q);
    await h.q.close();
    const entries = all.map((r) => parseSealed(r.payload));
    const report = verifyStream(entries, KEYS);
    assert.equal(report.ok, true, JSON.stringify(report.findings.filter((f) => f.kind !== 'restart'), (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    // The last run's own acknowledgements may have deleted every earlier session
    // (a slow parent lets the child run on): then one session remains and there
    // is no restart left in the queue to declare.
    const sessions = new Set(entries.map((e) => e.session)).size;
    if (sessions > 1) assert.ok(report.restarts >= 1, `${sessions} sessions left in the queue but no declared restart`);
  } finally {
    cleanup();
  }
});

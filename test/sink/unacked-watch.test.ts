/**
 * The resource-holding half of the dead-peer check: streaming a (large) socket
 * table from disk, degrading when it cannot be read, and the watch's judgement
 * (dead only when nothing is acknowledged for deadAfterMs) and timer hygiene.
 * The real kernel path is covered by dead-peer.test.ts.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Counters } from '../../src/monitor/counters.js';
import { rowKey, type RowKey } from '../../src/sink/unacked.js';
import {
  type TableRead,
  UnackedReader,
  UnackedWatch,
  type UnackedSample,
  watchSocket,
} from '../../src/sink/unacked-watch.js';
import type { SinkLogger } from '../../src/sink/types.js';
import { performance } from 'node:perf_hooks';
import { tempDir, until } from './util.js';

const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     \n';

function row(i: number, local: string, remote: string, tx: number): string {
  const sl = String(i).padStart(4);
  const txHex = tx.toString(16).toUpperCase().padStart(8, '0');
  return `${sl}: ${local} ${remote} 01 ${txHex}:00000000 00:00000000 00000000     0        0 ${600000 + i} 1 0000000041ba9140 20 4 30 10 -1                    \n`;
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

/** A table of `n` other sockets with ours at `at`. */
function bigTable(n: number, at: number, tx: number): string {
  let out = HEADER;
  for (let i = 0; i < n; i++) {
    if (i === at) out += row(i, '0100007F:8688', '0100007F:AA9D', tx);
    else out += row(i, `0100007F:${hex4(1024 + (i % 60000))}`, `0200007F:${hex4(2000 + (i % 50000))}`, i % 7);
  }
  return out;
}

const TUPLE = { localAddress: '127.0.0.1', localPort: 0x8688, remoteAddress: '127.0.0.1', remotePort: 0xaa9d };

function recordingLog(): SinkLogger & { warns: string[] } {
  const warns: string[] = [];
  return { warns, debug: () => undefined, info: () => undefined, error: () => undefined, warn: (_o, m) => warns.push(m) };
}

test('reader: streams a table of 20,000 sockets and finds the row across 64 KiB read boundaries', async (t) => {
  const dir = tempDir(t);
  const counters = new Counters();
  const reader = new UnackedReader(counters, undefined, dir, 'linux');
  const key = reader.keyFor(TUPLE) as RowKey;
  assert.equal(key.table, 'tcp');
  const buf = Buffer.alloc(64 * 1024);
  for (const at of [0, 437, 438, 439, 10_000, 19_999]) {
    writeFileSync(path.join(dir, 'tcp'), bigTable(20_000, at, 0x1234 + at));
    assert.deepEqual(reader.read(key, buf), { kind: 'ok', txQueue: 0x1234 + at }, `row at ${at}`);
  }
  writeFileSync(path.join(dir, 'tcp'), bigTable(20_000, -1, 0));
  assert.deepEqual(reader.read(key, buf), { kind: 'missing' });
  assert.equal(counters.get('dead_peer_check_unavailable'), 0);
});

test('reader: a missing /proc/self/net (hidden, or not Linux) turns the check off, warned once and counted', async (t) => {
  const dir = tempDir(t);
  const counters = new Counters();
  const log = recordingLog();
  const reader = new UnackedReader(counters, log, path.join(dir, 'absent'), 'linux');
  const key = reader.keyFor(TUPLE) as RowKey;
  const buf = Buffer.alloc(1024);
  assert.deepEqual(reader.read(key, buf), { kind: 'unavailable' });
  assert.deepEqual(reader.read(key, buf), { kind: 'unavailable' });
  assert.equal(reader.keyFor(TUPLE), undefined, 'no key, so no watch, once the table is known to be unavailable');
  assert.equal(counters.get('dead_peer_check_unavailable'), 1);
  assert.equal(log.warns.length, 1);
  assert.match(log.warns[0] as string, /dead-peer check unavailable/);

  const mac = new UnackedReader(counters, log, '/proc/self/net', 'darwin');
  assert.equal(mac.keyFor(TUPLE), undefined);
  assert.equal(mac.keyFor(TUPLE), undefined);
  assert.equal(log.warns.length, 2, 'one more warning for the other sink, then silence');
});

test('reader: a table that exists but never lists the connection is reported once', async (t) => {
  const dir = tempDir(t);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'tcp'), HEADER);
  const counters = new Counters();
  const log = recordingLog();
  const reader = new UnackedReader(counters, log, dir, 'linux');
  let dead = 0;
  const watch = watchSocket(reader, TUPLE, { deadAfterMs: 100, pollMs: 10, pending: () => 0, onDead: () => dead++ });
  assert.ok(watch);
  watch.noteWrite(10);
  await until(() => !watch.active, 'the watch gives up on this connection');
  watch.noteWrite(10);
  assert.equal(watch.active, false, 'stays off for this connection');
  assert.equal(dead, 0);
  assert.equal(counters.get('dead_peer_check_unavailable'), 1);
  assert.equal(log.warns.length, 1);
});

/** A read in one slice: `sample` runs when the watch reads (next()), as a real read does. */
function* oneSlice(sample: () => UnackedSample): TableRead {
  yield* []; // no slice boundary
  return sample();
}

/** A reader whose samples the test scripts: tx(n) for the n-th read. */
class ScriptedReader extends UnackedReader {
  reads = 0;
  constructor(
    private readonly tx: (n: number) => number | 'missing',
    readonly seen: Counters = new Counters(),
  ) {
    super(seen, undefined, '/nonexistent', 'linux');
  }
  override scan(): TableRead {
    return oneSlice(() => {
      const v = this.tx(this.reads++);
      return v === 'missing' ? { kind: 'missing' } : { kind: 'ok', txQueue: v };
    });
  }
}

function scriptedWatch(
  tx: (n: number) => number | 'missing',
  deadAfterMs: number,
  pending: () => number = () => 0,
): { reader: ScriptedReader; watch: UnackedWatch; deadAt: number[] } {
  const reader = new ScriptedReader(tx);
  const deadAt: number[] = [];
  const watch = new UnackedWatch(reader, rowKey(TUPLE, 'LE') as RowKey, {
    deadAfterMs,
    pending,
    onDead: () => deadAt.push(Date.now()),
  });
  return { reader, watch, deadAt };
}

test('watch: bytes unacknowledged for deadAfterMs are a dead peer, never sooner', async (t) => {
  const { watch, deadAt, reader } = scriptedWatch(() => 10, 200);
  t.after(() => watch.stop());
  assert.equal(watch.pollMs, 50, 'min(1 s, deadAfterMs / 4)');
  const wroteAt = Date.now();
  watch.noteWrite(10);
  await until(() => deadAt.length === 1, 'declared dead', 10_000);
  assert.ok((deadAt[0] as number) - wroteAt >= 200, `dead after ${(deadAt[0] as number) - wroteAt} ms`);
  assert.equal(watch.active, false, 'stopped itself');
  const reads = reader.reads;
  watch.noteWrite(10);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(reader.reads, reads, 'no reads after stop');
  assert.equal(deadAt.length, 1, 'onDead once');
});

test('watch: a slowly decreasing tx_queue is progress (a slow peer is not dead)', async (t) => {
  const { watch, deadAt, reader } = scriptedWatch((n) => Math.max(1, 10_000 - n), 100);
  t.after(() => watch.stop());
  watch.noteWrite(10_000);
  await until(() => reader.reads >= 30, 'several dead_after periods of polls', 10_000);
  assert.equal(deadAt.length, 0);
});

test('watch: a connection that made progress and then stalled is dead dead_after after its LAST progress, not after the first write', async (t) => {
  // The test's clock: read n happens at (n + 1) * 100 ms. The peer acknowledges 100 bytes at each of
  // reads 1-4 (tx_queue falls), then nothing: the last progress is at 500 ms, so dead at 1500 ms.
  let clock = 0;
  const tx = (n: number): number => 10_000 - Math.min(n, 4) * 100;
  const reader = new ScriptedReader((n) => {
    clock = (n + 1) * 100;
    return tx(n);
  });
  const dead: { at: number; stalledMs: number; reads: number }[] = [];
  const watch = new UnackedWatch(reader, rowKey(TUPLE, 'LE') as RowKey, {
    deadAfterMs: 1000,
    pollMs: 1,
    pending: () => 0,
    now: () => clock,
    onDead: (stalledMs) => dead.push({ at: clock, stalledMs, reads: reader.reads }),
  });
  t.after(() => watch.stop());
  watch.noteWrite(10_000);
  await until(() => dead.length === 1, 'declared dead');
  assert.deepEqual(dead, [{ at: 1500, stalledMs: 1000, reads: 15 }], 'not at 1000 ms (dead_after after the write): it made progress until 500 ms');
  assert.equal(watch.active, false);
});

test('watch: writes while tx_queue stays level prove acknowledgements; growth by what was written does not', async (t) => {
  // A periodic writer on a live, high-latency link: each sample catches the newest event in flight.
  const live = scriptedWatch(() => 100, 100);
  t.after(() => live.watch.stop());
  live.watch.noteWrite(100);
  const writer = setInterval(() => live.watch.noteWrite(100), 10);
  t.after(() => clearInterval(writer));
  await until(() => live.reader.reads >= 30, 'several dead_after periods of polls', 10_000);
  clearInterval(writer);
  assert.equal(live.deadAt.length, 0, 'level tx_queue under writes is acknowledgement');

  // A dead peer under a trickle: tx_queue grows by at least what was written (TLS adds bytes).
  let written = 0;
  const dead = scriptedWatch(() => written * 2, 100);
  t.after(() => dead.watch.stop());
  const write = (): void => {
    written += 50;
    dead.watch.noteWrite(50);
  };
  write();
  const trickle = setInterval(write, 10);
  t.after(() => clearInterval(trickle));
  await until(() => dead.deadAt.length === 1, 'declared dead despite the trickle', 10_000);
});

test('watch: bytes still in Node are not counted as reaching the kernel', async (t) => {
  // Everything written stays in Node's buffer; tx_queue level. No evidence of acks: dead.
  let written = 0;
  const w = scriptedWatch(() => 100, 100, () => written - 100);
  t.after(() => w.watch.stop());
  const write = (): void => {
    written += 100;
    w.watch.noteWrite(100);
  };
  write();
  const iv = setInterval(write, 10);
  t.after(() => clearInterval(iv));
  await until(() => w.deadAt.length === 1, 'declared dead', 10_000);
});

test('watch: polling stops once everything is acknowledged, and starts again on the next write', async (t) => {
  const { watch, reader, deadAt } = scriptedWatch((n) => (n === 0 ? 10 : 0), 200);
  t.after(() => watch.stop());
  watch.noteWrite(10);
  await until(() => reader.reads === 2 && !watch.active, 'idle after reading 0');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(reader.reads, 2, 'no reads while idle');
  watch.noteWrite(10);
  assert.equal(watch.active, true);
  await until(() => reader.reads === 3 && !watch.active, 'idle again');
  assert.equal(deadAt.length, 0);
});

test('watch: a drain skips the next read and counts as progress', async (t) => {
  const { watch, reader, deadAt } = scriptedWatch(() => 10, 100);
  t.after(() => watch.stop());
  watch.noteWrite(10);
  const drains = setInterval(() => watch.noteDrain(), 5);
  t.after(() => clearInterval(drains));
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(reader.reads, 0, 'busy and backpressured: no /proc reads');
  assert.equal(deadAt.length, 0);
  clearInterval(drains);
  await until(() => deadAt.length === 1, 'dead once the drains stop', 10_000);
});

test('watch: while a write waits for its drain the no-drain check judges: no reads, never dead here', async (t) => {
  const { watch, reader, deadAt } = scriptedWatch(() => 10, 100);
  t.after(() => watch.stop());
  watch.noteWrite(10);
  watch.noteBlocked();
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(reader.reads, 0);
  assert.equal(deadAt.length, 0);
  const drainedAt = Date.now();
  watch.noteDrain();
  await until(() => deadAt.length === 1, 'judged again after the drain', 10_000);
  assert.ok((deadAt[0] as number) - drainedAt >= 100, 'the stall is counted from the drain');
});

test('watch: stop() clears the timer; nothing is read or judged afterwards', async () => {
  const { watch, reader, deadAt } = scriptedWatch(() => 10, 100);
  watch.noteWrite(10);
  await until(() => reader.reads >= 1, 'a first read');
  watch.stop();
  assert.equal(watch.active, false);
  const reads = reader.reads;
  watch.noteWrite(10);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(reader.reads, reads);
  assert.equal(deadAt.length, 0);
});

test('watch: an expensive read stretches the interval (100x its duration, at most dead_after / 2)', async (t) => {
  const { watch, reader } = scriptedWatch(() => {
    const end = performance.now() + 8; // an 8 ms read, as on a host with ~5,000 sockets
    while (performance.now() < end);
    return 10;
  }, 2000);
  t.after(() => watch.stop());
  assert.equal(watch.pollMs, 500);
  watch.noteWrite(10);
  await until(() => reader.reads >= 1, 'a first read');
  assert.ok(watch.currentIntervalMs >= 800 && watch.currentIntervalMs <= 1000, `interval ${watch.currentIntervalMs}`);
  const slow = scriptedWatch(() => {
    const end = performance.now() + 30;
    while (performance.now() < end);
    return 10;
  }, 400);
  t.after(() => slow.watch.stop());
  slow.watch.noteWrite(10);
  await until(() => slow.reader.reads >= 1, 'a first read');
  assert.equal(slow.watch.currentIntervalMs, 200, 'capped at dead_after / 2');
});

test('watch: a listed socket missing from one read (sockets closing while the table is read) keeps the check on', async (t) => {
  // Listed, then skipped by one read, then listed again with everything acknowledged.
  const { watch, deadAt, reader } = scriptedWatch((n) => (n === 1 ? 'missing' : n === 0 ? 10 : 0), 10_000);
  t.after(() => watch.stop());
  watch.noteWrite(10);
  await until(() => reader.reads >= 3, 'read past the miss', 10_000);
  assert.equal(reader.seen.get('dead_peer_check_unavailable'), 0, 'not given up');
  assert.equal(deadAt.length, 0);
});

test('watch: a listed socket missing read after read turns the check off, counted', async (t) => {
  const { watch, reader } = scriptedWatch((n) => (n === 0 ? 10 : 'missing'), 10_000);
  t.after(() => watch.stop());
  watch.noteWrite(10);
  await until(() => !watch.active, 'the watch gives up', 10_000);
  assert.equal(reader.reads, 4, 'one listing, then three misses');
  assert.equal(reader.seen.get('dead_peer_check_unavailable'), 1);
});

/** 100,000 other sockets with ours (tx_queue `tx`) last: ~140 ms of reading on a real kernel, in one stall before slicing. */
const hugeTables = new Map<number, string>();
function hugeTable(tx: number): string {
  let t = hugeTables.get(tx);
  if (t === undefined) {
    t = bigTable(100_000, 99_999, tx);
    hugeTables.set(tx, t);
  }
  return t;
}

/** Descriptors of this process open on `file` (read from /proc/self/fd). */
function openFdsOn(file: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch (err) {
      // The descriptor readdirSync itself used is gone by now.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return n;
}

function hugeTableFile(t: { after: (fn: () => void) => void }, tx: number): { dir: string; file: string } {
  const dir = realpathSync(tempDir(t));
  const file = path.join(dir, 'tcp');
  writeFileSync(file, hugeTable(tx));
  return { dir, file };
}

test('reader: a sliced read keeps the descriptor and the partial line between slices and finds what a whole read finds', async (t) => {
  const dir = realpathSync(tempDir(t));
  const file = path.join(dir, 'tcp');
  // Slices of 0 ms: exactly one read() each, so every read boundary is also a slice boundary.
  const reader = new UnackedReader(new Counters(), undefined, dir, 'linux', 0);
  const key = reader.keyFor(TUPLE) as RowKey;
  const buf = Buffer.alloc(16 * 1024);
  /** Runs a sliced read to its end: the sample, and the slices (next() calls) it took. */
  const sliced = (scan: TableRead, betweenSlices: () => void = () => undefined): { sample: UnackedSample; slices: number } => {
    for (let slices = 1; ; slices++) {
      const step = scan.next();
      if (step.done) return { sample: step.value, slices };
      betweenSlices();
    }
  };
  for (const at of [0, 109, 110, 111, 19_999]) {
    writeFileSync(file, bigTable(20_000, at, 0x1234 + at));
    const readsBefore = reader.readCalls;
    const { sample, slices } = sliced(reader.scan(key, buf), () => assert.equal(openFdsOn(file), 1, 'open between slices'));
    assert.deepEqual(sample, { kind: 'ok', txQueue: 0x1234 + at }, `row at ${at}`);
    assert.equal(slices, reader.readCalls - readsBefore, 'one read() per slice');
    assert.equal(openFdsOn(file), 0, 'closed once the row is read');
  }

  writeFileSync(file, hugeTable(7));
  const { sample, slices } = sliced(reader.scan(key, buf));
  assert.deepEqual(sample, { kind: 'ok', txQueue: 7 });
  assert.ok(slices >= Buffer.byteLength(hugeTable(7)) / buf.length, `${slices} slices`);
  assert.equal(openFdsOn(file), 0);

  // Ended early: the descriptor is closed, and ending again is harmless.
  const early = reader.scan(key, buf);
  assert.equal(early.next().done, false);
  assert.equal(openFdsOn(file), 1);
  early.return({ kind: 'unavailable' });
  early.return({ kind: 'unavailable' });
  assert.equal(openFdsOn(file), 0);
});

test('watch: a poll of a huge table yields to the event loop between slices, runs once, and still finds the row', async (t) => {
  const { dir, file } = hugeTableFile(t, 0);
  const counters = new Counters();
  const reader = new UnackedReader(counters, undefined, dir, 'linux', 0);
  let slicesStarted = 0;
  let ranMidPoll: boolean | undefined;
  let fdsMidPoll = -1;
  const watch = watchSocket(reader, TUPLE, {
    deadAfterMs: 60_000,
    pollMs: 1,
    // Called as each slice starts: the first call is the poll starting.
    pending: () => {
      if (slicesStarted++ === 0) {
        setImmediate(() => {
          ranMidPoll = watch.active;
          fdsMidPoll = openFdsOn(file);
          watch.noteWrite(10);
        });
      }
      return 0;
    },
    onDead: () => assert.fail('not dead'),
  }) as UnackedWatch;
  t.after(() => watch.stop());
  watch.noteWrite(10);
  await until(() => !watch.active, 'the poll completes (everything acknowledged: idle)');
  assert.equal(ranMidPoll, true, 'a callback queued as the poll started ran before the poll completed');
  assert.equal(fdsMidPoll, 1, 'the table stays open between slices');
  assert.ok(watch.lastPollSlices > 100, `${watch.lastPollSlices} slices`);
  assert.equal(counters.get('dead_peer_check_reads'), 1, 'a write during the poll does not start another');
  assert.equal(counters.get('dead_peer_check_unavailable'), 0, 'the row was found');
  assert.equal(openFdsOn(file), 0, 'closed after the poll');
});

test('watch: a sliced poll continues on its own: its next slice keeps the event loop from waiting for other events', async (t) => {
  const { dir } = hugeTableFile(t, 10);
  const reader = new UnackedReader(new Counters(), undefined, dir, 'linux', 0);
  let watch: UnackedWatch | undefined;
  // dead_after 1 ms: the first sample declares the peer dead, which ends the wait. The only other
  // thing scheduled is the guard timer: if a slice waited for some other event, every slice would
  // wait for it and the poll would not end first (a deadline, not a timing assertion).
  await new Promise<void>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error('the poll waited for an unrelated event between slices')), 10_000);
    watch = watchSocket(reader, TUPLE, {
      deadAfterMs: 1,
      pending: () => 0,
      onDead: () => {
        clearTimeout(guard);
        resolve();
      },
    });
    assert.ok(watch);
    watch.noteWrite(10);
  });
  t.after(() => watch?.stop());
  assert.ok((watch as UnackedWatch).lastPollSlices > 100);
});

test('watch: stop() during a sliced read closes the table; no slice runs and no sample is judged afterwards', async (t) => {
  const { dir, file } = hugeTableFile(t, 10);
  const reader = new UnackedReader(new Counters(), undefined, dir, 'linux', 0);
  let slicesStarted = 0;
  let fdsBefore = -1;
  let fdsAfter = -1;
  const deadAt: number[] = [];
  // dead_after 1 ms: any sample that got judged would declare the peer dead.
  const watch = watchSocket(reader, TUPLE, {
    deadAfterMs: 1,
    pending: () => {
      if (++slicesStarted === 3) {
        setImmediate(() => {
          fdsBefore = openFdsOn(file);
          watch.stop();
          fdsAfter = openFdsOn(file);
        });
      }
      return 0;
    },
    onDead: () => deadAt.push(Date.now()),
  }) as UnackedWatch;
  t.after(() => watch.stop());
  watch.noteWrite(10);
  await until(() => fdsAfter !== -1, 'stopped mid-read');
  const slices = slicesStarted;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(fdsBefore, 1);
  assert.equal(fdsAfter, 0, 'stop() closed the table');
  assert.equal(slicesStarted, slices, 'no slice after stop()');
  assert.equal(watch.active, false);
  assert.deepEqual(deadAt, []);
});

/** Polls of `perPoll` slices; the last reads tx(poll); between(poll) runs between the first two slices. */
class SlicedReader extends UnackedReader {
  polls = 0;
  constructor(
    private readonly perPoll: number,
    private readonly tx: (poll: number) => number,
    private readonly between: (poll: number) => void,
  ) {
    super(new Counters(), undefined, '/nonexistent', 'linux');
  }
  override *scan(): TableRead {
    const poll = this.polls;
    for (let slice = 1; slice < this.perPoll; slice++) {
      // Queued before the watch queues its next slice: runs between the two.
      if (slice === 1) setImmediate(() => this.between(poll));
      yield;
    }
    return { kind: 'ok', txQueue: this.tx(this.polls++) };
  }
}

test('watch: a sample pairs tx_queue with what was written when its row was read, not when the poll started', async (t) => {
  // A dead peer: tx_queue is everything written. Every other poll, events are written between its
  // slices. Counters taken as the poll started would see those bytes acknowledged by the next poll.
  let written = 0;
  const deadAt: number[] = [];
  const write = (n: number): void => {
    written += n;
    watch.noteWrite(n);
  };
  const reader = new SlicedReader(3, () => written, (poll) => poll % 2 === 0 && write(500));
  const watch = new UnackedWatch(reader, rowKey(TUPLE, 'LE') as RowKey, {
    deadAfterMs: 100,
    pending: () => 0,
    onDead: () => deadAt.push(Date.now()),
  });
  t.after(() => watch.stop());
  write(10);
  await until(() => deadAt.length === 1, 'declared dead despite writes between slices', 10_000);

  // A live peer: tx_queue stays level while events are written between slices.
  const liveDead: number[] = [];
  const liveReader = new SlicedReader(3, () => 100, () => live.noteWrite(100));
  const live = new UnackedWatch(liveReader, rowKey(TUPLE, 'LE') as RowKey, {
    deadAfterMs: 100,
    pending: () => 0,
    onDead: () => liveDead.push(Date.now()),
  });
  t.after(() => live.stop());
  live.noteWrite(100);
  await until(() => liveReader.polls >= 30, 'several dead_after periods of polls', 10_000);
  assert.deepEqual(liveDead, []);
});

test('watch: a write that starts waiting for its drain between slices leaves the sample unjudged', async (t) => {
  const deadAt: number[] = [];
  const reader = new SlicedReader(2, () => 10, (poll) => poll === 0 && watch.noteBlocked());
  // The first poll comes after dead_after: judged, its sample would declare the peer dead.
  const watch = new UnackedWatch(reader, rowKey(TUPLE, 'LE') as RowKey, {
    deadAfterMs: 100,
    pollMs: 200,
    pending: () => 0,
    onDead: () => deadAt.push(Date.now()),
  });
  t.after(() => watch.stop());
  watch.noteWrite(10);
  await until(() => reader.polls === 1, 'the first poll read its row');
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(reader.polls, 1, 'no reads while blocked');
  assert.deepEqual(deadAt, [], 'the no-drain check judges');
  watch.noteDrain();
  await until(() => deadAt.length === 1, 'judged again after the drain', 10_000);
});

/**
 * Dead-peer detection for a quiet stream: a connection whose written bytes
 * stay unacknowledged for deadAfterMs is dead.
 *
 * Why: the session's no-drain check only fires once the kernel's send buffer
 * is full. A few small events on a quiet stream go into the kernel at once,
 * so a peer that vanished without a RST (cable, frozen host, a firewall
 * dropping) is otherwise noticed only when TCP retransmission gives up
 * (tcp_retries2: ~15 minutes), while the sink believes those events sent.
 * Node exposes neither TCP_INFO nor TCP_USER_TIMEOUT, so the kernel's count
 * of unacknowledged bytes is read from /proc/self/net/tcp{,6} (unacked.ts).
 * /proc/self/net, not /proc/net: the systemd unit's ProcSubset=pid hides
 * /proc/net but keeps the per-process directories (tested).
 *
 * When it reads: only while bytes written on this connection may still be
 * unacknowledged. The first write after a quiet period arms a poll every
 * min(1 s, deadAfterMs / 4); a poll that reads 0 disarms it. A write while
 * armed costs an addition and a check.
 *
 * Two judges, never both: while the session waits for a 'drain' (a write
 * returned false) the no-drain check judges and polls read nothing, and a
 * poll due right after a drain is skipped. So a busy, backpressured stream
 * reads nothing, and a slow reader (the kernel buffer full, Node refilling it
 * in pieces this watch cannot see: writableLength only drops when a whole
 * write completes) is judged by the drain, as before.
 *
 * Judgement, per pair of samples: acknowledged >= (bytes that reached the
 * kernel in between) - (growth of tx_queue). Bytes that reached the kernel
 * are estimated from below by the plaintext written minus what Node still
 * holds (TLS only adds bytes), so a positive bound proves the peer
 * acknowledged something: progress. tx_queue reading 0, or a drain, is
 * progress too. No progress for deadAfterMs while tx_queue > 0: dead. More
 * writes to a dead peer make tx_queue grow by at least what was written, so
 * a trickle of events does not hide it; a periodic writer on a live but
 * high-latency link does not look dead however its writes line up with the
 * polls. A live peer whose receive window stays shut for deadAfterMs is dead
 * by the same definition as the no-drain check ("accepts no data for this
 * long while data is waiting").
 *
 * Cost (measured, x86-64, 262,144-bucket established hash): a read costs
 * ~1.3 ms CPU on an idle host (the kernel walks every hash bucket) plus
 * ~1.4 us per listed socket (27 ms for 18,000 sockets when the row is last;
 * the read stops at the row, 8 ms on average there). The kernel returns at
 * most one page (~27 rows) per read(), and each read() is synchronous: a
 * thread-pool round trip per page cost 2.5x the CPU. What is bounded, and how:
 * - The event loop's stall: a poll reads in slices of at most SLICE_MS (2 ms)
 *   of read() calls, plus the one read() that crosses it, and continues on a
 *   later turn (setImmediate) with the same descriptor, whose seq_file keeps
 *   its position, and the incomplete line carried in the watch's buffer.
 *   With 18,000 sockets, the row last: ~10 slices of 2.0-2.4 ms instead of
 *   one 20-28 ms stall (measured); 100,000 would be ~70 slices instead of
 *   ~140 ms. A poll in progress is never started again; stop() closes its
 *   descriptor and cancels the next slice.
 * - CPU: the interval stretches to 100x the last poll's reading time (its
 *   slices summed; at most deadAfterMs / 2): reads take about 1% of one core
 *   at most, and a dead peer is still found within ~1.5x deadAfterMs. Slicing
 *   adds a clock read per read() and one setImmediate per slice: the CPU per
 *   poll is unchanged within measurement noise (~20 ms at 18,000 sockets).
 * A sample is taken when its row is read: the writer's counters are taken at
 * the start of every slice and those of the slice that read the row are used
 * (that slice is synchronous, so nothing reached the kernel from this process
 * between them), so writes between slices pair up as writes between polls
 * do; a drain or a blocked write before that slice leaves the sample unjudged,
 * as it skips a poll due then. A read spread over turns sees more churn
 * (sockets closing between slices can make it skip a row): a listed socket
 * missing from one read is read again (MAX_MISSES).
 *
 * Degrades: when the table cannot be read (not Linux, /proc hidden) or does
 * not list our connection, the check is off (warned once per sink, counted in
 * dead_peer_check_unavailable) and the no-drain check alone remains.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { type RowKey, type SocketTuple, rowKey, scanTable } from './unacked.js';
import type { Counters } from '../monitor/counters.js';
import type { SinkLogger } from './types.js';

/** The kernel fills at most a page per read(); a few pages leave room for a carried-over partial line. */
const CHUNK = 16 * 1024;
/** Reading time per slice of a poll: the longest the event loop waits for a poll is this plus one read(). */
const SLICE_MS = 2;
/** The poll interval is at least this many times the last poll's reading time (reads take <= ~1% of a core). */
const COST_FACTOR = 100;
/** Reads in a row may miss a listed socket (churn while the table is read) before the check gives up. */
const MAX_MISSES = 3;
/** A table line is ~150 bytes; a longer one means a format we do not understand. */
const MAX_LINE = 4096;
/** Read failures worth retrying later instead of turning the check off. */
const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM', 'EINTR']);
const UNAVAILABLE_WARNING =
  'dead-peer check unavailable: a silently dead destination on a quiet stream is noticed only when the kernel gives up retransmitting (up to ~15 min); the no-drain check remains';

export type UnackedSample =
  | { kind: 'ok'; txQueue: number }
  /** The table was read and does not list the socket. */
  | { kind: 'missing' }
  /** A transient failure (descriptors exhausted, ...): try again later. */
  | { kind: 'retry' }
  /** The table cannot be read at all: the check is off. */
  | { kind: 'unavailable' };

/**
 * One poll's read of a table, in slices: each next() is one slice and yields
 * when the slice's time ran out; the sample is the return value. Between
 * slices the table's descriptor stays open (the kernel's seq_file keeps its
 * position on it) and the caller's buffer holds the incomplete last line;
 * the generator's end closes the descriptor, return() (the connection closed
 * mid-read) included.
 */
export type TableRead = Generator<void, UnackedSample, void>;

/**
 * Reads tx_queue from the kernel tables. One per sink: it remembers that a
 * table is unavailable and warns about that once.
 */
export class UnackedReader {
  private readonly unavailable = new Set<string>();
  private warnedUnlisted = false;
  /** read() calls on the tables so far (tests, measurements). */
  readCalls = 0;

  constructor(
    private readonly counters: Counters,
    private readonly log?: SinkLogger,
    private readonly dir = '/proc/self/net',
    private readonly platform: NodeJS.Platform = process.platform,
    /** Reading time per slice (tests pass 0: one read() per slice). */
    private readonly sliceMs = SLICE_MS,
  ) {}

  /** Key for a connected socket, or undefined when the check cannot work for it. */
  keyFor(t: Partial<SocketTuple>): RowKey | undefined {
    if (this.platform !== 'linux') {
      this.disable('*', `no ${this.dir} on ${this.platform}`);
      return undefined;
    }
    const { localAddress, localPort, remoteAddress, remotePort } = t;
    if (localAddress === undefined || localPort === undefined || remoteAddress === undefined || remotePort === undefined) {
      return undefined;
    }
    const key = rowKey({ localAddress, localPort, remoteAddress, remotePort });
    if (!key || this.unavailable.has(key.table)) return undefined;
    return key;
  }

  /** The whole table in one synchronous read (tests, small tables). `buf` is the caller's scratch buffer. */
  read(key: RowKey, buf: Buffer): UnackedSample {
    const scan = this.scan(key, buf, Infinity);
    for (;;) {
      const step = scan.next();
      if (step.done) return step.value;
    }
  }

  /**
   * The table read in slices of sliceMs of read() calls: a slice reads at
   * least once (so every slice makes progress) and stops at the row, the end
   * of the table, or when its time is used up (then it yields). `buf` must be
   * left alone until the read ends: it carries the incomplete line.
   */
  *scan(key: RowKey, buf: Buffer, sliceMs = this.sliceMs): TableRead {
    if (this.unavailable.has(key.table)) return { kind: 'unavailable' };
    const file = `${this.dir}/${key.table}`;
    let fd: number;
    try {
      this.counters.add('dead_peer_check_reads');
      fd = openSync(file, 'r');
    } catch (err) {
      return this.failed(key.table, file, err as NodeJS.ErrnoException);
    }
    try {
      // Bytes of an incomplete line at the start of buf, completed by the next read().
      let carry = 0;
      let sliceStart = performance.now();
      for (;;) {
        const bytesRead = readSync(fd, buf, carry, buf.length - carry, null);
        this.readCalls++;
        const end = carry + bytesRead;
        const final = bytesRead === 0;
        const r = scanTable(buf, end, key, final);
        if (r.found) return { kind: 'ok', txQueue: r.txQueue };
        if (final) return { kind: 'missing' };
        carry = end - r.rest;
        if (carry >= MAX_LINE) return this.disable(key.table, `${file}: a line longer than ${MAX_LINE} bytes`);
        buf.copy(buf, 0, r.rest, end);
        if (performance.now() - sliceStart >= sliceMs) {
          yield;
          sliceStart = performance.now();
        }
      }
    } catch (err) {
      return this.failed(key.table, file, err as NodeJS.ErrnoException);
    } finally {
      try {
        closeSync(fd);
      } catch (err) {
        this.log?.debug({ err, file }, 'closing the socket table failed');
      }
    }
  }

  /** The table is readable but never listed a connection that is open: the check is useless for it. */
  unlisted(key: RowKey): void {
    this.counters.add('dead_peer_check_unavailable');
    if (this.warnedUnlisted) return;
    this.warnedUnlisted = true;
    this.log?.warn({ why: `connection not listed in ${this.dir}/${key.table}` }, UNAVAILABLE_WARNING);
  }

  /** A poll threw (a bug): counted and logged; the watch has stopped. */
  pollFailed(err: unknown): void {
    this.counters.add('dead_peer_check_errors');
    this.log?.error({ err }, 'dead-peer check failed; off for this connection');
  }

  private failed(table: string, file: string, err: NodeJS.ErrnoException): UnackedSample {
    if (err.code && TRANSIENT.has(err.code)) {
      this.counters.add('dead_peer_check_errors');
      this.log?.debug({ err, file }, 'reading the socket table failed; trying again later');
      return { kind: 'retry' };
    }
    return this.disable(table, `${file}: ${err.message}`);
  }

  private disable(table: string, why: string): UnackedSample {
    if (!this.unavailable.has(table)) {
      this.unavailable.add(table);
      this.counters.add('dead_peer_check_unavailable');
      this.log?.warn({ why }, UNAVAILABLE_WARNING);
    }
    return { kind: 'unavailable' };
  }
}

export interface UnackedWatchOptions {
  deadAfterMs: number;
  /** Default min(1000, deadAfterMs / 4). */
  pollMs?: number;
  /** Bytes written to the socket that Node still holds (socket.writableLength). */
  pending: () => number;
  /** Called once, when the connection is judged dead; the watch has stopped by then. */
  onDead: (stalledMs: number) => void;
  /** The clock stalls are measured with; default Date.now (tests pass their own). */
  now?: () => number;
}

/** One connection's watch. Owns one timer, or one poll in progress; stop() ends either. */
export class UnackedWatch {
  readonly pollMs: number;
  private readonly maxPollMs: number;
  /** The current interval: pollMs, stretched by the cost of the last poll. */
  private intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** The poll in progress (its read continues on later turns), and its next slice. */
  private scan: TableRead | undefined;
  private next: NodeJS.Immediate | undefined;
  /** Reading time of the poll in progress so far, and slices it used. */
  private costMs = 0;
  private slices = 0;
  private stopped = false;
  /** Plaintext bytes handed to the socket so far. */
  private written = 0;
  private drainedSince = false;
  /** The session waits for a drain: the no-drain check judges. */
  private blocked = false;
  private found = false;
  /** Reads in a row that did not list a socket listed before. */
  private misses = 0;
  /** The previous sample: tx_queue, and the plaintext known to be in the kernel then. */
  private prev: { tx: number; inKernel: number } | undefined;
  /** Last evidence that the peer acknowledges, or the start of the unacknowledged period. */
  private progressAt = 0;
  private buf: Buffer | undefined;
  private readonly now: () => number;

  constructor(
    private readonly reader: UnackedReader,
    private readonly key: RowKey,
    private readonly opts: UnackedWatchOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.pollMs = opts.pollMs ?? Math.max(1, Math.min(1000, Math.floor(opts.deadAfterMs / 4)));
    this.maxPollMs = Math.max(this.pollMs, Math.floor(opts.deadAfterMs / 2));
    this.intervalMs = this.pollMs;
  }

  /** `bytes` were just handed to the socket. Hot path: an addition and a check unless the watch is idle. */
  noteWrite(bytes: number): void {
    this.written += bytes;
    if (this.timer !== undefined || this.scan !== undefined || this.stopped) return;
    this.progressAt = this.now();
    this.prev = undefined;
    this.drainedSince = false;
    this.arm();
  }

  /** A write returned false: until noteDrain(), the session's no-drain check judges. */
  noteBlocked(): void {
    this.blocked = true;
  }

  /** The socket drained its backlog into the kernel: progress, and the watch judges again. */
  noteDrain(): void {
    this.blocked = false;
    this.drainedSince = true;
    this.progressAt = this.now();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.next !== undefined) clearImmediate(this.next);
    this.next = undefined;
    // Ends a read in progress: the generator's finally closes the table. (The value is not used.)
    this.scan?.return({ kind: 'unavailable' });
    this.scan = undefined;
  }

  /** True while a poll is scheduled or in progress. */
  get active(): boolean {
    return this.timer !== undefined || this.scan !== undefined;
  }

  /** The interval in use (pollMs, or longer after expensive reads). */
  get currentIntervalMs(): number {
    return this.intervalMs;
  }

  /** Slices (synchronous stretches) used by the last completed poll, or the one in progress so far. */
  get lastPollSlices(): number {
    return this.slices;
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.guarded(() => this.poll());
    }, this.intervalMs);
    // The socket keeps the process alive while it matters; this timer never should on its own.
    this.timer.unref();
  }

  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // A bug in this check must not take the agent down: turn it off for this connection, say so.
      this.stop();
      this.reader.pollFailed(err);
    }
  }

  /** Busy and backpressured: no judgement, the no-drain wait judges; the next sample is a new baseline. */
  private skip(): void {
    this.drainedSince = false;
    this.prev = undefined;
    this.arm();
  }

  private poll(): void {
    if (this.stopped) return;
    if (this.blocked || this.drainedSince) {
      this.skip();
      return;
    }
    this.buf ??= Buffer.allocUnsafe(CHUNK);
    this.scan = this.reader.scan(this.key, this.buf);
    this.costMs = 0;
    this.slices = 0;
    this.readSlice(this.scan);
  }

  /** One slice of the poll's read; when the slice's time runs out, the next runs on a later turn. */
  private readSlice(scan: TableRead): void {
    if (this.stopped || this.scan !== scan) return;
    // Taken with every slice and used from the one that reads the row: a slice is synchronous, so
    // nothing reaches the kernel from this process between these counters and the row (writes do
    // happen between slices).
    const inKernel = this.written - this.opts.pending();
    const t0 = performance.now();
    this.slices++;
    const step = scan.next();
    this.costMs += performance.now() - t0;
    if (!step.done) {
      this.next = setImmediate(() => {
        this.next = undefined;
        this.guarded(() => this.readSlice(scan));
      });
      // Not unref'd: an unref'd immediate does not stop the loop from blocking in its I/O poll, so
      // each slice would wait for the next unrelated event (a 15 ms timer made a poll take 14 s).
      return;
    }
    this.scan = undefined;
    this.intervalMs = Math.min(this.maxPollMs, Math.max(this.pollMs, Math.ceil(this.costMs * COST_FACTOR)));
    this.judge(step.value, inKernel);
  }

  /** Judges a sample as of the moment its row was read (this turn). */
  private judge(sample: UnackedSample, inKernel: number): void {
    const now = this.now();
    if (sample.kind === 'retry') {
      this.arm();
      return;
    }
    if (sample.kind === 'missing' && this.found && ++this.misses < MAX_MISSES) {
      // Listed before and not now: /proc/net/tcp is not read atomically across pages, and sockets
      // closing meanwhile can make it skip a live row. A closed socket stops the watch on 'close'.
      this.arm();
      return;
    }
    if (sample.kind !== 'ok') {
      // Never listed (useless here), missing read after read, or the table is gone: the check is off.
      if (sample.kind === 'missing') this.reader.unlisted(this.key);
      this.stop();
      return;
    }
    this.found = true;
    this.misses = 0;
    if (this.blocked || this.drainedSince) {
      // A write began waiting for a drain, or drained, between slices, before the row was read:
      // as for a poll due then, the drain judges.
      this.skip();
      return;
    }
    const tx = sample.txQueue;
    const prev = this.prev;
    this.prev = { tx, inKernel };
    if (tx === 0) {
      // All acknowledged: idle until the next write (unless Node still holds some).
      this.progressAt = now;
      if (this.opts.pending() > 0) this.arm();
      return;
    }
    // Lower bound of what the peer acknowledged since the previous sample (see the header).
    if (prev !== undefined && inKernel - prev.inKernel - (tx - prev.tx) > 0) this.progressAt = now;
    const stalled = now - this.progressAt;
    if (stalled >= this.opts.deadAfterMs) {
      this.stop();
      this.opts.onDead(stalled);
      return;
    }
    this.arm();
  }
}

/** A watch for a connected socket, or undefined when the check is unavailable for it. */
export function watchSocket(
  reader: UnackedReader,
  socket: Partial<SocketTuple>,
  opts: UnackedWatchOptions,
): UnackedWatch | undefined {
  const key = reader.keyFor(socket);
  return key ? new UnackedWatch(reader, key, opts) : undefined;
}

/**
 * DiskQueue: the crash-safe FIFO between the sealer and the sink. The design
 * note with the invariants, the on-disk layout and every crash point is
 * src/queue/README.md; the traps worth repeating here:
 * - a record is sealed when it is *written* (group commit, disk order), so seq
 *   order = disk order even when an internal record overtakes a blocked append;
 * - the sink only ever sees durable records (`written` cursor), so a record lost
 *   in a crash was never sent;
 * - a reservation of sequence numbers is persisted before any seq in it is used;
 * - one mutex (`exclusive`) serializes everything that changes segments; reads
 *   take none (they open the file and read below the durable size);
 * - a group that fails for good after it was sealed spent its seqs: the next
 *   record sealed is the declaration of that lost range, alone, written where
 *   the failed group started (README.md "Lost ranges").
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { FileError, LogwardError } from '../errors.js';
import type { Counters } from '../monitor/counters.js';
import {
  SEGMENT_HEADER,
  frameHeadLength,
  scanFrames,
  scanPayloads,
  writeFrame,
  type DecodedFrame,
  type FramePayload,
  type QueueRecord,
  type ScanResult,
  type QueueRecordMeta,
} from './frame.js';
import { errnoCode, fsyncDir, mkdirDurable, nodeFs, type QueueFs } from './fs.js';
import { ZERO_CHAIN, emptyState, readState, writeState, type QueueState } from './state.js';

export type { QueueRecord, QueueRecordMeta } from './frame.js';

export class QueueError extends LogwardError {
  override readonly name = 'QueueError';
  constructor(
    readonly dir: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`queue ${dir}: ${problem}`, options);
  }
}

export interface DiskQueueOptions {
  dir: string;
  maxBytes: number;
  whenFull: 'block' | 'drop_oldest';
  fsync: 'always' | 'batch' | 'none';
  fsyncIntervalMs: number;
  /** Default: maxBytes / 16, between 4 KiB and 8 MiB. */
  segmentBytes?: number;
  /** Room only internal records may use. Default: 1% of maxBytes, at most 1 MiB, at least 64 KiB when that leaves half the queue. */
  internalHeadroomBytes?: number;
  /**
   * `pressureAgeMs`: the age part while appends wait for space, when the byte part is given up
   * (tick()). At least as long as the sink may take to find a silently dead peer, or records that
   * peer never got are acknowledged before the connection is known dead. Default: ageMs.
   */
  resendWindow: { bytes: number; ageMs: number; pressureAgeMs?: number };
  /** First delay before retrying after ENOSPC (doubles up to 30 s). Default 250 ms. */
  retryMinMs?: number;
  /**
   * Size of the spare file kept in the queue directory (README.md "Full disk"): given
   * up to write the state file when the disk is full, so that acknowledged segments
   * can still be deleted. Not counted in maxBytes. Default 16 KiB; 0: none.
   */
  reserveBytes?: number;
}

export type QueueAlert =
  /**
   * drop_oldest removed records. `records`/`bytes`/`totalDropped`: records never sent (missing at
   * the receiver); `unconfirmed`: records sent but still inside the resend window (they arrived
   * unless the connection failed; they will not be sent again). Acknowledged records removed
   * with them are not counted: they were delivered.
   */
  | { kind: 'dropped'; records: number; bytes: number; totalDropped: number; unconfirmed: number }
  | { kind: 'disk_full'; error: string }
  | { kind: 'disk_recovered'; afterMs: number }
  | { kind: 'error'; error: string };

/**
 * Seqs the writer sealed and then failed to write (a write or fsync error
 * other than ENOSPC/EDQUOT), not yet declared by a durable record. Consecutive
 * seqs of the current session.
 */
export interface LostRange {
  session: string;
  firstSeq: bigint;
  lastSeq: bigint;
  /** The chain after lastSeq (hex): the declaring record is chained on it. */
  lastChain: string;
  /** errno code of the failure (EIO, ...), or "error". */
  cause: string;
  /** The failure's message. */
  error: string;
}

/**
 * Builds the internal record that declares a lost range (the pipeline's
 * `queue_records_lost` alert, src/seal/declaration.ts text). The writer seals
 * it next, before anything else, so it gets seq lastSeq + 1 and chains on
 * lastChain. Called again, with the range grown, if writing it fails too.
 */
export type LossDeclarer = (lost: LostRange) => Extract<AppendRecord, { seal: unknown }>;

export interface DiskQueueDeps {
  counters: Counters;
  onAlert: (a: QueueAlert) => void;
  now?: () => number;
  fs?: QueueFs;
}

/**
 * What a sealer returns (Sealer.seal has exactly this shape). The writer frames
 * it before it calls the next seal callback, so `message` and `chainBytes` may
 * be views of a buffer the sealer reuses (Sealer.sealBytes).
 */
export interface SealResult {
  /** The sealed message; a string is encoded straight into the frame (no intermediate Buffer). */
  message: Buffer | string;
  seq: bigint;
  chain: string;
  /** The chain's raw bytes, when the sealer has them (saves a hex decode). */
  chainBytes?: Buffer;
}

/**
 * An append record: already-final bytes (the queue assigns the id), or a seal
 * callback the writer calls when the record is written, in disk order (id =
 * seq). `size` estimates the sealed message bytes, for admission.
 */
export type AppendRecord =
  | { payload: Buffer; meta: QueueRecordMeta }
  | { seal: () => SealResult; size: number; meta: QueueRecordMeta };

/** The sequence a Sealer hands out, as the queue needs it for reservations. */
export interface SequenceSource {
  /** null when the persisted reservation covers n more seals; else the reservedUntil to persist first. */
  reservationNeeded(n: number): bigint | null;
  reservationPersisted(upTo: bigint): void;
  /** The next seq to be handed out (a clean close persists this as the reservation: no skip). */
  nextSeq(): bigint;
  sessionId(): string;
}

export interface RecoveredSealState {
  /** Session of the previous run that sealed (undefined: none ever). */
  previousSession?: string;
  /** Last durable sealed seq (-1n: none ever). */
  lastSeq: bigint;
  /** Its chain (hex), 64 zeros at the first event ever. */
  lastChain: string;
  /** Where the new session starts: never below anything a previous run may have handed out. */
  nextSeq: bigint;
}

export interface RecoveryReport {
  recordsKept: number;
  bytesCut: number;
  rangesCut: number;
  corruptSegments: number;
  /** Latest source position per identity found in the queue (source offsets recovered from the tail). */
  lastPositions: Map<string, { end?: number; cursor?: string }>;
  nextId: bigint;
  sealState: RecoveredSealState;
}

export interface QueueStats {
  bytes: number;
  records: number;
  written: bigint;
  sent: bigint;
  acked: bigint;
  segments: number;
  dropped: number;
  /** An append is waiting for space (when_full: block, or nothing left to drop). */
  blocked: boolean;
  /** Append requests not yet written. */
  pending: number;
}

interface Segment {
  n: number;
  path: string;
  /** Bytes in the file (header included). */
  size: number;
  /** Bytes known durable; readers never read past this. */
  durableSize: number;
  firstId: bigint | null;
  lastId: bigint | null;
  records: number;
  ordinary: number;
  /** Bumped when the file is rewritten (drop_oldest): read caches keyed on it. */
  gen: number;
}

interface Request {
  /** Emptied once the group is sealed and framed: the frames hold everything needed, the rest can go. */
  records: AppendRecord[];
  count: number;
  size: number;
  internal: boolean;
  /** The lost range this request's one record declares (see takeGroup: taken first and alone). */
  declares?: LostRange;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface ReadFile {
  n: number;
  gen: number;
  fd: number;
  users: number;
  /** Set once it must not be handed out again; closed when the last user is done. */
  doomed: boolean;
  /** The last bytes read: [start, start + data.length) of the segment, all below its durable size then. */
  chunk: { start: number; data: Buffer } | null;
}

interface Built {
  frame: Buffer;
  id: bigint;
  internal: boolean;
  chain?: string;
  /** This frame declares that range: once durable, the range is declared. */
  declares?: LostRange;
}

interface Inflight {
  reqs: Request[];
  built: Built[];
  next: number;
}

/**
 * Scans a chunk of a segment (data starts at a frame boundary): scanFrames or
 * scanPayloads. `inMemory`: the chunk is the writer's own buffer, not bytes read back.
 */
type ReadScan<T extends FramePayload> = (data: Buffer, final: boolean, afterId: bigint, maxPayloadBytes: number, inMemory: boolean) => ScanResult<T>;

/** A unit the writer wrote and made durable: [start, start + data.length) of segment n (generation gen). */
interface WrittenUnit {
  n: number;
  gen: number;
  start: number;
  data: Buffer;
}

const SEG_RE = /^seg-(\d{20})\.lwq$/;
const FRAME_OVERHEAD = 8 + 2 + 8 + 2 + 2 + 8 + 2;
const MAX_RETRY_MS = 30_000;
const READ_CHUNK = 256 * 1024;
/** Frames of a group are written into blocks of at most this size (one copy per record, no concat). */
const BLOCK_BYTES = 1024 * 1024;
/** Units the reader may take from memory (see DiskQueue.recent): the last few, up to about this many bytes. */
const RECENT_UNITS = 4;
const RECENT_BYTES = 4 * 1024 * 1024;
const MAX_READ_LOG = 200_000;
/** The spare file given up on a full disk so that the state file can be written (README.md "Full disk"). */
const RESERVE_FILE = 'space.reserve';
const RESERVE_BYTES = 16 * 1024;
/** How often a missing reserve is created again when nothing freed space meanwhile. */
const RESERVE_RETRY_MS = 5_000;

/**
 * Where a group's frames are encoded: consecutive frames share a block, so a
 * unit of frames is usually one subarray to write (no concat) and each sealed
 * message is copied once, into its frame. Blocks are never reused: once
 * written, the reader may hand out views of them (DiskQueue.recent), which
 * live as long as whoever sends them needs.
 */
class FrameBlocks {
  private block: Buffer | null = null;
  private used = 0;

  /** `estimate`: about how many bytes the group's frames take (blocks are sized to it, up to BLOCK_BYTES). */
  constructor(private estimate: number) {}

  frame(id: bigint, payload: Buffer | string, meta: QueueRecordMeta, chain?: Buffer): Buffer {
    const payloadLen = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    const len = frameHeadLength(meta, chain !== undefined) + payloadLen;
    if (this.block === null || this.used + len > this.block.length) {
      this.block = Buffer.allocUnsafeSlow(Math.max(len, Math.min(BLOCK_BYTES, this.estimate)));
      this.estimate -= this.block.length;
      this.used = 0;
    }
    const start = this.used;
    this.used = writeFrame(this.block, start, id, payload, payloadLen, meta, chain);
    return this.block.subarray(start, this.used);
  }
}

/** The unit's frames as one view when they sit back to back in one block, else null. */
function contiguous(unit: Built[], len: number): Buffer | null {
  const first = unit[0];
  if (!first) return null;
  if (unit.length === 1) return first.frame;
  const buf = first.frame.buffer;
  let at = first.frame.byteOffset;
  for (const b of unit) {
    if (b.frame.buffer !== buf || b.frame.byteOffset !== at) return null;
    at += b.frame.length;
  }
  return Buffer.from(buf, first.frame.byteOffset, len);
}

function segName(n: number): string {
  return `seg-${String(n).padStart(20, '0')}.lwq`;
}

function isDiskFull(e: unknown): boolean {
  const c = errnoCode(e);
  return c === 'ENOSPC' || c === 'EDQUOT';
}

/** The errno code of a failure (or of its cause: writes fail as FileError), as a safe token. */
function failureCause(e: unknown): string {
  for (let x: unknown = e, depth = 0; x !== null && typeof x === 'object' && depth < 4; depth++) {
    const code = errnoCode(x);
    if (code !== undefined && /^[A-Z][A-Z0-9_]{0,31}$/.test(code)) return code;
    x = (x as { cause?: unknown }).cause;
  }
  return 'error';
}

function recordsSize(records: readonly AppendRecord[]): number {
  let size = 0;
  for (const r of records) {
    size +=
      FRAME_OVERHEAD +
      r.meta.input.length +
      r.meta.identity.length +
      (r.meta.cursor?.length ?? 0) +
      ('payload' in r ? r.payload.length : r.size + 32);
  }
  return size;
}

/** The request carries a source position (end or cursor): recovery's lastPositions would take it. */
function carriesPosition(q: Request): boolean {
  for (const r of q.records) if (r.meta.end !== undefined || r.meta.cursor !== undefined) return true;
  return false;
}

function settled(): void {
  // A declaration's outcome is tracked by the queue itself (DiskQueue.lost), not by a caller.
}

export class DiskQueue {
  private readonly fs: QueueFs;
  private readonly now: () => number;
  private readonly segmentBytes: number;
  private readonly headroom: number;
  private readonly retryMinMs: number;
  private readonly reserveBytes: number;

  private segments: Segment[] = [];
  private active: { seg: Segment; fd: number } | null = null;
  private nextSegN = 1;
  private bytes = 0;
  private lastId = -1n;
  private written = 0n;
  private sent = 0n;
  private acked = 0n;
  private dropped = 0;
  private lastSealSeq = -1n;
  private lastSealChain = ZERO_CHAIN;
  /** The session that last reserved seqs (persisted before it writes anything), see SealState. */
  private session: string | undefined;
  private sessionFrom: bigint | undefined;
  private priorSession: string | undefined;
  /** The session that sealed lastSealSeq: what the next start event must name as the previous session. */
  private sealedSession: string | undefined;
  private reservedUntil = 0n;
  private sequence: SequenceSource | null = null;
  private declarer: LossDeclarer | null = null;
  /** Sealed, never written, not yet declared by a durable record (README.md "Lost ranges"). */
  private lost: LostRange | null = null;
  /**
   * Where the last failed unit started. The next frame is written exactly
   * there, whatever the room left: whatever of the failed unit reached the
   * file (a cut-back that failed or was not yet durable) then sits after a
   * frame with a higher id, which recovery and readers treat as damage.
   */
  private failedAt: { seg: Segment; offset: number; cut: boolean } | null = null;

  private pending: Request[] = [];
  private inflight: Inflight | null = null;
  private pumping = false;
  /** pump() was called while the loop ran (see pump). */
  private repump = false;
  private blocked = false;
  private diskFullSince = 0;
  /** Since when a request has been waiting for a full disk (its group returned disk_full); null: none waits. */
  private diskWaitSince: number | null = null;
  private retryDelay = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryWake: (() => void) | null = null;
  private lock: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private opened = false;
  private closed = false;
  private lastPersistAt = 0;
  private dirty = false;
  /**
   * What the state file on disk says (as far as the queue knows: set after a write that
   * fully succeeded), for the values recovery cannot rebuild without the segments that hold
   * them: a segment may be deleted without writing the state first only if these (or the
   * segments left) still cover it (deletableWithoutState).
   */
  private persisted = { written: 0n, lastSeq: -1n };
  /** The spare file is in place (README.md "Full disk"). */
  private reserveReady = false;
  private reserveTriedAt = 0;

  private marks: { pos: bigint; at: number; cum: number }[] = [];
  private sentBytes = 0;
  private readLog: { id: bigint; len: number }[] = [];
  private readLogHead = 0;
  private readCache: { n: number; gen: number; offset: number; afterId: bigint } | null = null;
  /**
   * The reader's open descriptor and its last chunk, kept across readFrom calls
   * (one open/close and one disk read per ~256 KiB instead of per sink batch).
   * Keyed by segment number and generation; `users` defers the close while a
   * read is using it (reads take no lock, a deletion may happen meanwhile).
   */
  private readFile: ReadFile | null = null;
  /**
   * The last units written, as the writer's own bytes: a reader right behind
   * the writer (the sink, most of the time) takes them from here instead of
   * reading them back from the file and checking each CRC again. Only durable
   * units go in, keyed by segment and generation like every read cache.
   */
  private recent: WrittenUnit[] = [];
  private waiters: { position: bigint; resolve: () => void }[] = [];

  constructor(
    private readonly opts: DiskQueueOptions,
    private readonly deps: DiskQueueDeps,
  ) {
    this.fs = deps.fs ?? nodeFs;
    this.now = deps.now ?? Date.now;
    this.segmentBytes =
      opts.segmentBytes ?? Math.min(8 * 1024 * 1024, Math.max(4096, Math.floor(opts.maxBytes / 16)));
    this.headroom =
      opts.internalHeadroomBytes ??
      Math.min(1024 * 1024, Math.max(Math.floor(opts.maxBytes / 100), opts.maxBytes >= 128 * 1024 ? 64 * 1024 : 0));
    this.retryMinMs = opts.retryMinMs ?? 250;
    this.reserveBytes = opts.reserveBytes ?? RESERVE_BYTES;
    if (this.headroom >= opts.maxBytes) throw new QueueError(opts.dir, 'internalHeadroomBytes must be below maxBytes');
  }

  // ---------------------------------------------------------------- recovery

  async open(): Promise<RecoveryReport> {
    if (this.opened) throw new QueueError(this.opts.dir, 'already open');
    const dir = this.opts.dir;
    await mkdirDurable(this.fs, dir, 0o700);
    const st = await this.fs.lstat(dir);
    if (st.isSymbolicLink || !st.isDirectory) throw new QueueError(dir, 'not a directory (symlinks are refused)');
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) throw new QueueError(dir, `owned by uid ${st.uid}, not ${uid}`);
    if ((st.mode & 0o077) !== 0) await this.fs.chmod(dir, 0o700);

    const state: QueueState = (await readState(this.fs, dir)) ?? emptyState();
    this.persisted = { written: state.written, lastSeq: state.seal.lastSeq };
    const report: RecoveryReport = {
      recordsKept: 0,
      bytesCut: 0,
      rangesCut: 0,
      corruptSegments: 0,
      lastPositions: new Map(),
      nextId: 0n,
      sealState: { lastSeq: -1n, lastChain: ZERO_CHAIN, nextSeq: 0n },
    };

    const names = (await this.fs.readdir(dir)).sort();
    for (const name of names) {
      // A compaction temp file: the rename never happened, the original segment is intact.
      if (name.endsWith('.lwq.tmp')) await this.fs.unlink(join(dir, name));
    }
    let lastSealed: DecodedFrame | null = null;
    for (const name of names) {
      const m = SEG_RE.exec(name);
      if (!m) continue;
      const n = Number(m[1]);
      this.nextSegN = Math.max(this.nextSegN, n + 1);
      const path = join(dir, name);
      const data = await this.readWhole(path);
      if (data.length < SEGMENT_HEADER.length && SEGMENT_HEADER.subarray(0, data.length).equals(data)) {
        // Torn creation: the header write never completed.
        await this.fs.unlink(path);
        report.bytesCut += data.length;
        continue;
      }
      if (!data.subarray(0, SEGMENT_HEADER.length).equals(SEGMENT_HEADER)) {
        await this.fs.rename(path, path + '.corrupt');
        report.corruptSegments++;
        report.bytesCut += data.length;
        continue;
      }
      const scan = scanFrames(data, SEGMENT_HEADER.length, true, this.lastId, false);
      const seg: Segment = {
        n,
        path,
        size: data.length,
        durableSize: data.length,
        firstId: null,
        lastId: null,
        records: 0,
        ordinary: 0,
        gen: 0,
      };
      for (const f of scan.frames) {
        if (seg.firstId === null) seg.firstId = f.id;
        seg.lastId = f.id;
        seg.records++;
        if (!f.meta.internal) seg.ordinary++;
        if (f.chain) lastSealed = f;
        if (f.meta.end !== undefined || f.meta.cursor !== undefined) {
          const pos: { end?: number; cursor?: string } = {};
          if (f.meta.end !== undefined) pos.end = f.meta.end;
          if (f.meta.cursor !== undefined) pos.cursor = f.meta.cursor;
          report.lastPositions.set(f.meta.identity, pos);
        }
        this.lastId = f.id;
      }
      report.recordsKept += seg.records;
      for (const b of scan.bad) {
        report.rangesCut++;
        report.bytesCut += b.to - b.from;
      }
      const tail = scan.bad[scan.bad.length - 1];
      if (tail && tail.to === data.length) {
        // The torn tail: cut it so that appends start at a frame boundary.
        const fd = await this.fs.open(path, 'r+');
        try {
          await this.fs.ftruncate(fd, tail.from);
          await this.fs.fsync(fd);
        } finally {
          await this.fs.close(fd);
        }
        seg.size = seg.durableSize = tail.from;
      }
      this.segments.push(seg);
      this.bytes += seg.size;
    }

    this.written = this.lastId + 1n > state.written ? this.lastId + 1n : state.written;
    this.lastId = this.written - 1n;
    this.acked = state.acked < this.written ? state.acked : this.written;
    // Everything after the acknowledged cursor is sent again after a restart.
    this.sent = this.acked;
    this.lastSealSeq = state.seal.lastSeq;
    this.lastSealChain = state.seal.lastChain;
    if (lastSealed?.chain && lastSealed.id > this.lastSealSeq) {
      this.lastSealSeq = lastSealed.id;
      this.lastSealChain = lastSealed.chain.toString('hex');
    }
    this.session = state.seal.session;
    this.sessionFrom = state.seal.sessionFrom;
    this.priorSession = state.seal.priorSession;
    // The session is persisted with its first reservation, before its first record is durable: a
    // crash in between leaves a session that sealed nothing, and the last record is the prior one's.
    if (this.lastSealSeq >= 0n) {
      this.sealedSession = this.sessionFrom === undefined || this.lastSealSeq >= this.sessionFrom ? this.session : this.priorSession;
    }
    this.reservedUntil = state.seal.reservedUntil;

    let nextSeq = this.reservedUntil;
    if (this.lastSealSeq + 1n > nextSeq) nextSeq = this.lastSealSeq + 1n;
    if (this.written > nextSeq) nextSeq = this.written;
    report.nextId = this.written;
    report.sealState = { lastSeq: this.lastSealSeq, lastChain: this.lastSealChain, nextSeq };
    if (this.sealedSession !== undefined) report.sealState.previousSession = this.sealedSession;

    const c = this.deps.counters;
    c.add('queue_recovered_records', report.recordsKept);
    c.add('queue_cut_bytes', report.bytesCut);
    c.add('queue_cut_ranges', report.rangesCut);
    c.add('queue_corrupt_segments', report.corruptSegments);

    // Before the first append: a queue that fills the disk later must still be able to write its state.
    await this.tryReserve();

    this.opened = true;
    this.lastPersistAt = this.now();
    this.timer = setInterval(() => this.background(), Math.max(10, this.opts.fsyncIntervalMs));
    this.timer.unref();
    return report;
  }

  /**
   * Links the sealer's sequence so that reservations are persisted before seqs
   * are used. `declareLoss` builds the record that declares seqs sealed for a
   * group that then failed to be written; without it such seqs are simply
   * missing from the stream (an undeclared gap) and the failure is an `error` alert.
   */
  attachSequence(seq: SequenceSource, declareLoss?: LossDeclarer): void {
    this.sequence = seq;
    this.declarer = declareLoss ?? null;
  }

  private async readWhole(path: string): Promise<Buffer> {
    const fd = await this.fs.open(path, 'r');
    try {
      const chunks: Buffer[] = [];
      let pos = 0;
      for (;;) {
        const b = Buffer.allocUnsafe(1024 * 1024);
        const n = await this.fs.read(fd, b, 0, b.length, pos);
        if (n === 0) break;
        chunks.push(b.subarray(0, n));
        pos += n;
      }
      return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    } finally {
      await this.fs.close(fd);
    }
  }

  // ---------------------------------------------------------------- writing

  append(records: AppendRecord[]): Promise<void> {
    if (!this.opened || this.closed) return Promise.reject(new QueueError(this.opts.dir, 'queue is not open'));
    if (records.length === 0) return Promise.resolve();
    const size = recordsSize(records);
    let internal = true;
    for (const r of records) if (!r.meta.internal) internal = false;
    const limit = internal ? this.opts.maxBytes : this.opts.maxBytes - this.headroom;
    if (size + SEGMENT_HEADER.length > limit) {
      return Promise.reject(new QueueError(this.opts.dir, `append of ${size} bytes can never fit in ${limit} bytes`));
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ records, count: records.length, size, internal, resolve, reject });
      this.pump();
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lock.then(fn);
    this.lock = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Runs the writer loop unless it already runs. Never rejects: failures go to the requests. */
  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      // The loop may already have found nothing to take and be finishing: run it once more
      // afterwards, or this request would wait for the next tick (fsync_interval) or append.
      this.repump = true;
      return;
    }
    this.pumping = true;
    this.repump = false;
    void this.pumpLoop().finally(() => {
      this.pumping = false;
      if (this.repump) this.pump();
    });
  }

  private async pumpLoop(): Promise<void> {
    while (!this.closed) {
      const r = await this.exclusive(() => this.pumpOnce()).catch((e: unknown) => this.failed(e));
      if (r === 'disk_full') this.diskWaitSince ??= this.now();
      else this.diskWaitSince = null;
      if (r === 'progress') continue;
      if (r === 'disk_full' || r === 'retry') {
        await this.sleepRetry();
        continue;
      }
      return;
    }
  }

  /**
   * The group in flight, or making room for one, failed for good. The group's
   * appends reject (their sources have not committed and read again), and so
   * do the ordinary appends waiting behind a group that held ordinary records
   * (rejectFollowers). What was sealed for it and not written is a lost range:
   * declared by the next record sealed, after a backoff (a disk that keeps
   * failing is not spun on).
   */
  private failed(e: unknown): 'progress' | 'idle' | 'retry' {
    const inf = this.inflight;
    this.inflight = null;
    if (inf) {
      for (const q of inf.reqs) q.reject(e as Error);
      // Only a source's lost records need their resend to come first (a failed declaration or alert does not).
      if (inf.reqs.some((q) => !q.internal)) this.rejectFollowers(e);
      // With a declaration coming, it is the alert (it carries the first error); counted either way.
      if (this.noteLoss(inf, e)) this.deps.counters.add('queue_errors');
      else this.alertError(e);
    } else {
      // Making room failed (drop_oldest rewrite): the waiting appends fail rather than spin; a
      // declaration stays (it is the queue's own).
      const waiting = this.pending.filter((q) => q.declares === undefined);
      this.pending = this.pending.filter((q) => q.declares !== undefined);
      for (const q of waiting) q.reject(e as Error);
      this.alertError(e);
    }
    if (this.lost && !this.closed) {
      this.queueDeclaration();
      // queueDeclaration may have given up (no declarer result): then nothing special waits.
      if (this.lost) return 'retry';
    }
    return this.pending.length > 0 && inf ? 'progress' : 'idle';
  }

  /**
   * A group failed for good: every ordinary request still waiting behind it is
   * rejected too. Its source appended it after (or alongside) the failed one —
   * typically the next slice of the same source batch — and will append it
   * again with the failed records; written now, it would be durable *ahead*
   * of that resend, and after a crash or stop before the resend, recovery's
   * lastPositions would raise the source's checkpoint past the lost records.
   * Internal requests that carry no source position stay (they move no
   * checkpoint, and keep their order behind the declaration); a declaration stays.
   */
  private rejectFollowers(e: unknown): void {
    const keep: Request[] = [];
    const out: Request[] = [];
    for (const q of this.pending) {
      if (q.declares !== undefined || (q.internal && !carriesPosition(q))) keep.push(q);
      else out.push(q);
    }
    if (out.length === 0) return;
    this.pending = keep;
    const err = new QueueError(this.opts.dir, `not written: appended behind a write that failed (${failureCause(e)}); append it again`, { cause: e });
    let n = 0;
    for (const q of out) {
      n += q.count;
      q.reject(err);
    }
    this.deps.counters.add('queue_followers_rejected', n);
  }

  /**
   * Adds what the failed group sealed and did not write to the lost range.
   * Returns true when a declaration will say so (a declarer is attached and
   * something sealed was lost); false: the caller raises the plain error alert.
   */
  private noteLoss(inf: Inflight, e: unknown): boolean {
    let first: bigint | null = null;
    let last = 0n;
    let chain = '';
    let n = 0;
    for (let i = inf.next; i < inf.built.length; i++) {
      const b = inf.built[i] as Built;
      if (b.chain === undefined) continue;
      if (first === null) first = b.id;
      last = b.id;
      chain = b.chain;
      n++;
    }
    if (first === null) return this.lost !== null;
    this.deps.counters.add('queue_lost_records', n);
    if (!this.declarer || !this.sequence) return false;
    const error = e instanceof Error ? e.message : String(e);
    // Consecutive by construction: nothing is sealed between a failure and its declaration.
    const from = this.lost ? this.lost.firstSeq : first;
    this.lost = { session: this.sequence.sessionId(), firstSeq: from, lastSeq: last, lastChain: chain, cause: this.lost?.cause ?? failureCause(e), error: this.lost?.error ?? error };
    return true;
  }

  /** Puts the declaration of `this.lost` at the head of the queue (replacing an older one). */
  private queueDeclaration(): void {
    const lost = this.lost;
    if (!lost || !this.declarer) return;
    this.pending = this.pending.filter((q) => q.declares === undefined);
    let rec: AppendRecord;
    try {
      rec = this.declarer(lost);
    } catch (e) {
      // Nothing can declare it: the range stays an undeclared gap, and the error says why.
      this.lost = null;
      this.alertError(e);
      return;
    }
    this.pending.unshift({ records: [rec], count: 1, size: recordsSize([rec]), internal: true, declares: lost, resolve: settled, reject: settled });
  }

  private async pumpOnce(): Promise<'progress' | 'idle' | 'disk_full'> {
    if (this.closed) return 'idle';
    if (!this.inflight) {
      const reqs = this.takeGroup();
      if (reqs.length === 0) {
        if (this.pending.length > 0 && this.opts.whenFull === 'drop_oldest') {
          try {
            if (await this.dropOldest()) return 'progress';
          } catch (e) {
            // A full disk while making room: block and retry, like any write (the requests stay).
            if (isDiskFull(e)) return this.diskFull(e);
            throw e;
          }
        }
        return 'idle';
      }
      const inf: Inflight = { reqs, built: [], next: 0 };
      // In flight from the first seal on: if building fails, what it sealed is a lost range (see failed).
      this.inflight = inf;
      try {
        await this.build(inf);
      } catch (e) {
        if (isDiskFull(e) && inf.built.length === 0) {
          // The reservation could not be persisted; nothing was sealed yet: retry the same requests.
          this.inflight = null;
          this.pending.unshift(...reqs);
          return this.diskFull(e);
        }
        throw e;
      }
    }
    return this.writeInflight();
  }

  /**
   * Takes every admissible request: ordinary ones in FIFO order, internal ones
   * may pass a blocked ordinary one. A lost-range declaration at the head is
   * taken alone, and while it cannot be taken nothing is: no seq may be sealed
   * between a lost range and its declaration.
   */
  private takeGroup(): Request[] {
    const head = this.pending[0];
    if (head?.declares !== undefined) {
      this.blocked = this.bytes + head.size + SEGMENT_HEADER.length > this.opts.maxBytes;
      if (this.blocked) return [];
      this.pending.shift();
      return [head];
    }
    const taken: Request[] = [];
    const rest: Request[] = [];
    let used = this.bytes;
    let ordinaryBlocked = false;
    let spaceBlocked = false;
    const one = this.opts.fsync === 'always';
    for (const q of this.pending) {
      if (one && taken.length > 0) {
        rest.push(q);
        continue;
      }
      const limit = q.internal ? this.opts.maxBytes : this.opts.maxBytes - this.headroom;
      const segExtra = SEGMENT_HEADER.length;
      const fits = used + q.size + segExtra <= limit;
      if ((q.internal || !ordinaryBlocked) && fits) {
        taken.push(q);
        used += q.size;
      } else {
        if (!q.internal) ordinaryBlocked = true;
        if (!fits) spaceBlocked = true;
        rest.push(q);
      }
    }
    this.pending = rest;
    this.blocked = spaceBlocked;
    return taken;
  }

  /**
   * Seals (in disk order) and frames a group into inf.built, after making sure
   * the seq reservation covers it. What it sealed before a failure stays in
   * inf.built: those seqs are spent (see failed).
   */
  private async build(inf: Inflight): Promise<void> {
    const reqs = inf.reqs;
    let sealCount = 0;
    for (const q of reqs) for (const r of q.records) if ('seal' in r) sealCount++;
    if (sealCount > 0) {
      if (!this.sequence) throw new QueueError(this.opts.dir, 'sealed append without an attached sequence');
      const need = this.sequence.reservationNeeded(sealCount);
      if (need !== null) {
        this.reservedUntil = need;
        const session = this.sequence.sessionId();
        if (session !== this.session) {
          // A new session's first reservation: from here on records are its own.
          this.priorSession = this.sealedSession;
          this.sessionFrom = this.sequence.nextSeq();
          this.session = session;
        }
        await this.persistState();
        this.sequence.reservationPersisted(need);
      }
    }
    const built = inf.built;
    let estimate = 0;
    for (const q of reqs) estimate += q.size;
    const blocks = new FrameBlocks(estimate);
    let last = this.lastId;
    try {
      for (const q of reqs) {
        for (const r of q.records) {
          if ('seal' in r) {
            // Framed (copied into the block) before the next seal: see SealResult.
            const sealed = r.seal();
            if (sealed.seq <= last) throw new QueueError(this.opts.dir, `sequence ${sealed.seq} does not increase (last ${last})`);
            last = sealed.seq;
            const chain = sealed.chainBytes ?? Buffer.from(sealed.chain, 'hex');
            const b: Built = { frame: blocks.frame(sealed.seq, sealed.message, r.meta, chain), id: sealed.seq, internal: r.meta.internal === true, chain: sealed.chain };
            built.push(b);
            if (q.declares !== undefined) {
              b.declares = q.declares;
              // Its text names lastSeq + 1 as its own seq: sealed anywhere else, it would declare nothing.
              if (sealed.seq !== q.declares.lastSeq + 1n) {
                throw new QueueError(this.opts.dir, `lost-range declaration sealed at seq ${sealed.seq}, not right after ${q.declares.lastSeq}`);
              }
            }
          } else {
            last += 1n;
            built.push({ frame: blocks.frame(last, r.payload, r.meta), id: last, internal: r.meta.internal === true });
          }
        }
      }
    } finally {
      // Ids are consumed now even if the write (or the rest of the group) fails: a seq is never handed out twice.
      this.lastId = last;
    }
    // Sealed and framed: the callbacks (and the parts they hold) are not needed while the group waits for its fsync.
    for (const q of reqs) q.records = [];
  }

  private async writeInflight(): Promise<'progress' | 'disk_full'> {
    const inf = this.inflight;
    if (!inf) return 'progress';
    while (inf.next < inf.built.length) {
      try {
        await this.ensureActive(inf.built[inf.next]?.frame.length ?? 0);
      } catch (e) {
        if (isDiskFull(e)) return this.diskFull(e);
        throw e;
      }
      const act = this.active;
      if (!act) throw new QueueError(this.opts.dir, 'no active segment');
      const seg = act.seg;
      // One unit: the frames that fit in this segment, one write, one fsync. The first frame always
      // goes in an empty segment, and after a failure where the failed unit started (see failedAt).
      const takeFirst = seg.records === 0 || this.failedAt?.seg === seg;
      let end = inf.next;
      let len = 0;
      let declares = false;
      while (end < inf.built.length) {
        const b = inf.built[end] as Built;
        if (seg.size + len + b.frame.length > this.segmentBytes && (len > 0 || !takeFirst)) break;
        len += b.frame.length;
        if (b.declares) declares = true;
        end++;
      }
      const unit = inf.built.slice(inf.next, end);
      const chunk = contiguous(unit, len) ?? Buffer.concat(unit.map((b) => b.frame), len);
      const start = seg.size;
      const fa = this.failedAt;
      if (fa?.seg === seg && !fa.cut) {
        // The failed unit's bytes are still in the file: try the cut once more (durably) before
        // writing over them. If it fails again the write goes there anyway (see failedAt).
        try {
          await this.fs.ftruncate(act.fd, start);
          await this.fs.fsync(act.fd);
          fa.cut = true;
        } catch (e) {
          this.deps.counters.add('queue_cut_failed');
          if (isDiskFull(e)) return this.diskFull(e);
        }
      }
      try {
        await this.fs.write(act.fd, chunk, start);
        // A declaration is made durable before any reader can see it, whatever the fsync mode: it
        // must never be sent and then lost while the bytes it overwrote come back.
        if (this.opts.fsync !== 'none' || declares) {
          await this.fs.fsync(act.fd);
          this.deps.counters.add('queue_fsyncs');
        }
      } catch (e) {
        // Cut the partial write back so the segment ends at a frame boundary.
        let cut = true;
        await this.fs.ftruncate(act.fd, start).catch((e2: unknown) => {
          cut = false;
          this.alertError(e2);
        });
        if (isDiskFull(e)) return this.diskFull(e);
        // Whether or not the cut worked (or will survive a power loss), the next frame goes here.
        this.failedAt = { seg, offset: start, cut };
        throw new FileError(seg.path, `queue write failed: ${(e as Error).message}`, start, { cause: e });
      }
      if (this.failedAt?.seg === seg) this.failedAt = null;
      seg.size = seg.durableSize = start + len;
      this.bytes += len;
      this.remember({ n: seg.n, gen: seg.gen, start, data: chunk });
      for (const b of unit) {
        if (seg.firstId === null) seg.firstId = b.id;
        seg.lastId = b.id;
        seg.records++;
        if (!b.internal) seg.ordinary++;
        if (b.chain !== undefined) {
          this.lastSealSeq = b.id;
          this.lastSealChain = b.chain;
          this.sealedSession = this.session;
        }
        if (b.declares !== undefined && b.declares === this.lost) {
          this.lost = null;
          this.deps.counters.add('queue_lost_declared');
        }
      }
      const lastB = unit[unit.length - 1] as Built;
      this.written = lastB.id + 1n;
      inf.next = end;
      this.wakeReaders();
    }
    if (this.diskFullSince !== 0) {
      this.deps.onAlert({ kind: 'disk_recovered', afterMs: this.now() - this.diskFullSince });
      this.diskFullSince = 0;
    }
    this.retryDelay = 0;
    this.inflight = null;
    let n = 0;
    for (const q of inf.reqs) {
      n += q.count;
      q.resolve();
    }
    this.deps.counters.add('queue_appended_records', n);
    this.dirty = true;
    return 'progress';
  }

  private diskFull(e: unknown): 'disk_full' {
    this.deps.counters.add('queue_enospc');
    if (this.diskFullSince === 0) {
      this.diskFullSince = this.now();
      this.deps.onAlert({ kind: 'disk_full', error: (e as Error).message });
    }
    return 'disk_full';
  }

  /** Makes sure an active segment exists with room for a frame of `frameLen` (or is empty). */
  private async ensureActive(frameLen: number): Promise<void> {
    // After a failed unit the next frame goes where it started (failedAt), room or not.
    const f = this.failedAt;
    if (f) {
      if (this.active?.seg === f.seg) return;
      if (this.segments.includes(f.seg)) {
        // Closed meanwhile (and not deleted): reopen it, its size is still where the failed unit started.
        await this.closeActive();
        this.active = { seg: f.seg, fd: await this.fs.open(f.seg.path, 'r+') };
        return;
      }
      // Deleted (acknowledged) or rewritten: whatever the failed unit left went with it.
      this.failedAt = null;
    }
    if (this.active) {
      const s = this.active.seg;
      if (s.size + frameLen <= this.segmentBytes || s.records === 0) return;
      await this.closeActive();
    }
    const last = this.segments[this.segments.length - 1];
    if (last && last.size + frameLen <= this.segmentBytes && last.durableSize === last.size) {
      // Reuse the last segment after a restart: appends continue where recovery cut.
      this.active = { seg: last, fd: await this.fs.open(last.path, 'r+') };
      return;
    }
    const n = this.nextSegN++;
    const path = join(this.opts.dir, segName(n));
    const fd = await this.fs.open(path, 'wx', 0o600);
    try {
      await this.fs.write(fd, SEGMENT_HEADER, 0);
      // The new file's directory entry must survive too, or a power loss could lose the segment.
      if (this.opts.fsync !== 'none') {
        await this.fs.fsync(fd);
        await fsyncDir(this.fs, this.opts.dir);
      }
    } catch (e) {
      // A segment without its header is never used: remove it (recovery would too).
      await this.fs.close(fd).catch((e2: unknown) => this.alertError(e2));
      await this.fs.unlink(path).catch((e2: unknown) => this.alertError(e2));
      throw e;
    }
    const size = SEGMENT_HEADER.length;
    const seg: Segment = { n, path, size, durableSize: size, firstId: null, lastId: null, records: 0, ordinary: 0, gen: 0 };
    this.segments.push(seg);
    this.active = { seg, fd };
    this.bytes += size;
  }

  private async closeActive(): Promise<void> {
    const a = this.active;
    if (!a) return;
    this.active = null;
    await this.fs.close(a.fd);
  }

  private sleepRetry(): Promise<void> {
    this.retryDelay = this.retryDelay === 0 ? this.retryMinMs : Math.min(MAX_RETRY_MS, this.retryDelay * 2);
    return new Promise<void>((resolve) => {
      this.retryWake = resolve;
      this.retryTimer = setTimeout(resolve, this.retryDelay);
    }).then(() => {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.retryWake = null;
    });
  }

  /**
   * drop_oldest: rewrites the oldest segment that holds ordinary records
   * without them (temp, fsync, rename, fsync dir). Returns false when only
   * internal records are left (then the request blocks).
   */
  private async dropOldest(): Promise<boolean> {
    const seg = this.segments.find((s) => s.ordinary > 0);
    if (!seg) return false;
    if (this.active?.seg === seg) await this.closeActive();
    const data = await this.readWhole(seg.path);
    const scan = scanFrames(data.subarray(0, seg.durableSize), SEGMENT_HEADER.length, true, -1n, false);
    const keep: Buffer[] = [SEGMENT_HEADER];
    let firstId: bigint | null = null;
    let lastId: bigint | null = null;
    let kept = 0;
    // Only what the receiver has not got counts as dropped (README.md "Limits"): records never
    // sent; records sent but inside the resend window apart; acknowledged ones not at all.
    const drop = { records: 0, bytes: 0, unconfirmed: 0 };
    for (const f of scan.frames) {
      if (f.meta.internal) {
        keep.push(data.subarray(f.offset, f.offset + f.size));
        if (firstId === null) firstId = f.id;
        lastId = f.id;
        kept++;
      } else if (f.id >= this.sent) {
        drop.records++;
        drop.bytes += f.size;
      } else if (f.id >= this.acked) {
        drop.unconfirmed++;
      }
    }
    // The state must name the last seq and chain even if the records carrying them go.
    await this.persistState();
    if (kept === 0) {
      // Nothing left worth a file: remove it (the writer's segment was closed above).
      await this.fs.unlink(seg.path);
      // Gone, with whatever a failed unit left past its durable size.
      if (this.failedAt?.seg === seg) this.failedAt = null;
      this.segments = this.segments.filter((x) => x !== seg);
      this.bytes -= seg.size;
      this.readCache = null;
      await this.dropReadFile(seg.n);
      this.countDrop(drop);
      return true;
    }
    const out = Buffer.concat(keep);
    const tmp = seg.path + '.tmp';
    const fd = await this.fs.open(tmp, 'w', 0o600);
    try {
      try {
        await this.fs.write(fd, out, 0);
        await this.fs.fsync(fd);
      } finally {
        await this.fs.close(fd);
      }
    } catch (e) {
      // The segment is intact; on a full disk the temp file's blocks are needed back (recovery would remove it too).
      await this.fs.unlink(tmp).catch((e2: unknown) => this.alertError(e2));
      throw e;
    }
    await this.fs.rename(tmp, seg.path);
    // The new file holds nothing past the durable size: a failed unit's leftovers are gone.
    if (this.failedAt?.seg === seg) this.failedAt = null;
    await fsyncDir(this.fs, this.opts.dir);
    this.bytes -= seg.size - out.length;
    seg.size = seg.durableSize = out.length;
    seg.firstId = firstId;
    seg.lastId = lastId;
    seg.records = kept;
    seg.ordinary = 0;
    seg.gen++;
    this.readCache = null;
    this.recent = this.recent.filter((u) => u.n !== seg.n);
    await this.dropReadFile(seg.n);
    this.countDrop(drop);
    return true;
  }

  private countDrop(d: { records: number; bytes: number; unconfirmed: number }): void {
    this.dropped += d.records;
    this.deps.counters.add('queue_dropped_records', d.records);
    this.deps.counters.add('queue_dropped_bytes', d.bytes);
    this.deps.counters.add('queue_dropped_unconfirmed_records', d.unconfirmed);
    if (d.records > 0 || d.unconfirmed > 0) {
      this.deps.onAlert({ kind: 'dropped', records: d.records, bytes: d.bytes, totalDropped: this.dropped, unconfirmed: d.unconfirmed });
    }
  }

  // ---------------------------------------------------------------- reading

  /** Durable records with id >= position: at least one if any exists, then up to about maxBytes of payload. */
  async readFrom(position: bigint, maxBytes: number): Promise<QueueRecord[]> {
    const frames = await this.read(position, maxBytes, (data, final, afterId, max) => scanFrames(data, 0, final, afterId, false, Infinity, max));
    return frames.map((f) => ({ id: f.id, payload: f.payload, meta: f.meta }));
  }

  /**
   * readFrom for a sender: ids and payloads only. The frames are checked the
   * same way, but their meta fields are not decoded and their chains not copied
   * (the sink reads every record once more after writing it; that was a third
   * of the read cost).
   */
  readPayloads(position: bigint, maxBytes: number): Promise<FramePayload[]> {
    return this.read(position, maxBytes, (data, final, afterId, max, inMemory) => scanPayloads(data, 0, final, afterId, max, !inMemory));
  }

  private async read<T extends FramePayload>(position: bigint, maxBytes: number, scan: ReadScan<T>): Promise<T[]> {
    const out: T[] = [];
    let bytes = 0;
    for (let attempt = 0; attempt < 3 && out.length === 0; attempt++) {
      const limit = this.written;
      if (position >= limit) return out;
      for (const seg of this.segments.slice()) {
        if (seg.lastId === null || seg.lastId < position) continue;
        let done: boolean;
        try {
          done = await this.readSegment(seg, position, limit, maxBytes, out, bytes, scan);
        } catch (e) {
          // The segment was deleted (acknowledged) or rewritten under us: start over.
          if (errnoCode(e) === 'ENOENT') break;
          throw e;
        }
        bytes = out.reduce((a, r) => a + r.payload.length, 0);
        const last = out[out.length - 1];
        if (last) position = last.id + 1n;
        if (done) break;
      }
    }
    this.logReads(out);
    return out;
  }

  /** Reads records of one segment into out; returns true when maxBytes is reached. */
  private async readSegment<T extends FramePayload>(
    seg: Segment,
    position: bigint,
    limit: bigint,
    maxBytes: number,
    out: T[],
    bytesSoFar: number,
    scanChunk: ReadScan<T>,
  ): Promise<boolean> {
    const gen = seg.gen;
    const c = this.readCache;
    let offset = SEGMENT_HEADER.length;
    let afterId = -1n;
    if (c && c.n === seg.n && c.gen === gen && c.afterId < position) {
      offset = c.offset;
      afterId = c.afterId;
    }
    let bytes = bytesSoFar;
    const rf = await this.acquireReadFile(seg);
    try {
      let chunkLen = Math.max(READ_CHUNK, maxBytes + 64 * 1024);
      let useChunk = true;
      let useRecent = true;
      while (offset < seg.durableSize) {
        let data: Buffer;
        let fromChunk = false;
        let inMemory = false;
        let want = 0;
        const ch = rf.chunk;
        const mem = useRecent ? this.recentAt(seg, gen, offset) : undefined;
        if (useChunk && ch && offset >= ch.start && offset < ch.start + ch.data.length) {
          // Bytes below the durable size never change (append-only; a rewrite bumps gen): the chunk is still true.
          data = ch.data.subarray(offset - ch.start);
          fromChunk = true;
        } else if (mem !== undefined) {
          // Units hold whole frames, so a unit is a complete chunk by itself.
          data = mem.data.subarray(offset - mem.start);
          inMemory = true;
        } else {
          want = Math.min(chunkLen, seg.durableSize - offset);
          const buf = Buffer.allocUnsafeSlow(want);
          const n = await this.fs.read(rf.fd, buf, 0, want, offset);
          data = buf.subarray(0, n);
          rf.chunk = { start: offset, data };
          useChunk = true;
        }
        const final = offset + data.length >= seg.durableSize;
        const scan = scanChunk(data, final, afterId, maxBytes - bytes, inMemory);
        if (scan.bad.length > 0) this.deps.counters.add('queue_read_corrupt', scan.bad.length);
        if (scan.consumed === 0 && scan.frames.length === 0) {
          if (inMemory) {
            useRecent = false; // cannot happen (units hold whole frames); read the file rather than spin
            continue;
          }
          if (fromChunk) {
            useChunk = false; // the kept chunk ends inside a frame: read from here
            continue;
          }
          if (final || data.length < want) return false;
          chunkLen *= 2; // a frame larger than the chunk, or damage to resync past
          continue;
        }
        for (const f of scan.frames) {
          if (f.id >= limit) return true;
          afterId = f.id;
          if (f.id < position) continue;
          out.push(f);
          bytes += f.payload.length;
          if (bytes >= maxBytes) {
            this.readCache = { n: seg.n, gen, offset: offset + f.offset + f.size, afterId: f.id };
            return true;
          }
        }
        offset += scan.consumed;
        this.readCache = { n: seg.n, gen, offset, afterId };
      }
      return false;
    } finally {
      await this.releaseReadFile(rf);
    }
  }

  private remember(u: WrittenUnit): void {
    const r = this.recent;
    r.push(u);
    let bytes = 0;
    for (const x of r) bytes += x.data.length;
    while (r.length > 1 && (r.length > RECENT_UNITS || bytes > RECENT_BYTES)) bytes -= (r.shift() as WrittenUnit).data.length;
  }

  /** The recent unit of this segment generation that holds `offset`, if the writer still has it. */
  private recentAt(seg: Segment, gen: number, offset: number): WrittenUnit | undefined {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const u = this.recent[i] as WrittenUnit;
      if (u.n === seg.n && u.gen === gen && offset >= u.start && offset < u.start + u.data.length) return u;
    }
    return undefined;
  }

  private async acquireReadFile(seg: Segment): Promise<ReadFile> {
    const cur = this.readFile;
    if (cur && !cur.doomed && cur.n === seg.n && cur.gen === seg.gen) {
      cur.users++;
      return cur;
    }
    if (cur) await this.dropReadFile();
    const rf: ReadFile = { n: seg.n, gen: seg.gen, fd: await this.fs.open(seg.path, 'r'), users: 1, doomed: false, chunk: null };
    if (this.readFile === null && !this.closed) this.readFile = rf;
    else rf.doomed = true; // another read got there first, or the queue closed: use once
    return rf;
  }

  private async releaseReadFile(rf: ReadFile): Promise<void> {
    rf.users--;
    if (rf.doomed && rf.users === 0) await this.fs.close(rf.fd);
  }

  /** Forgets the kept descriptor (its segment is deleted, rewritten, or no longer read); closes it once unused. */
  private async dropReadFile(n?: number): Promise<void> {
    const rf = this.readFile;
    if (!rf || (n !== undefined && rf.n !== n)) return;
    this.readFile = null;
    rf.doomed = true;
    rf.chunk = null;
    if (rf.users === 0) await this.fs.close(rf.fd);
  }

  private logReads(recs: readonly FramePayload[]): void {
    const lastLogged = this.readLog.length > this.readLogHead ? this.readLog[this.readLog.length - 1]?.id : undefined;
    for (const r of recs) {
      if (r.id < this.sent || (lastLogged !== undefined && r.id <= lastLogged)) continue;
      this.readLog.push({ id: r.id, len: r.payload.length });
    }
    if (this.readLog.length - this.readLogHead > MAX_READ_LOG) this.readLogHead = this.readLog.length - MAX_READ_LOG;
  }

  /** The sink wrote every record with id < position to the socket. `bytes` defaults to their payload bytes. */
  markSent(position: bigint, bytes?: number): void {
    if (position > this.written) position = this.written;
    if (position <= this.sent) return;
    let b = 0;
    while (this.readLogHead < this.readLog.length) {
      const e = this.readLog[this.readLogHead] as { id: bigint; len: number };
      if (e.id >= position) break;
      b += e.len;
      this.readLogHead++;
    }
    if (this.readLogHead > 1024 && this.readLogHead * 2 > this.readLog.length) {
      this.readLog = this.readLog.slice(this.readLogHead);
      this.readLogHead = 0;
    }
    this.sentBytes += bytes ?? b;
    this.sent = position;
    this.marks.push({ pos: position, at: this.now(), cum: this.sentBytes });
    this.dirty = true;
  }

  /**
   * Advances the acknowledged cursor to the newest sent mark that is both older
   * than resendWindow.ageMs and followed by at least resendWindow.bytes (the
   * window is their union); while appends wait for space (limit or full disk), only the age counts,
   * and it is at least resendWindow.pressureAgeMs.
   * Then persists cursors (throttled) and deletes fully acknowledged segments.
   */
  async tick(): Promise<void> {
    if (!this.opened || this.closed) return;
    const now = this.now();
    const { bytes: wBytes, ageMs } = this.opts.resendWindow;
    // Only a lack of space shrinks the window, not appends waiting for the current fsync: the queue at
    // max_bytes, or a request that has waited for a full disk for the window's age. On a disk smaller
    // than a segment the window's byte part would keep the tail of the one segment there is, which
    // then never goes: the group waiting for space waits for ever, though the destination took
    // everything. A passing ENOSPC (a retry a few ms later, a state write on an idle tick) gives up
    // nothing: the byte part is what replays a silently dead connection the dead-peer check has not
    // caught yet.
    const diskWait = this.diskWaitSince !== null && (this.inflight !== null || this.pending.length > 0) && now - this.diskWaitSince >= ageMs;
    const pressure = this.blocked || diskWait;
    // Without the byte part, age alone proves delivery: it must outlast the dead-peer check.
    const minAge = pressure ? Math.max(ageMs, this.opts.resendWindow.pressureAgeMs ?? ageMs) : ageMs;
    let idx = -1;
    for (let i = 0; i < this.marks.length; i++) {
      const m = this.marks[i] as { pos: bigint; at: number; cum: number };
      if (m.at > now - minAge) break;
      if (!pressure && this.sentBytes - m.cum < wBytes) break;
      idx = i;
    }
    if (idx >= 0) {
      const m = this.marks[idx] as { pos: bigint };
      if (m.pos > this.acked) {
        this.acked = m.pos;
        this.dirty = true;
      }
      this.marks.splice(0, idx + 1);
    }
    await this.exclusive(() => this.maintain(now));
    if (this.pending.length > 0) this.pump();
  }

  /** The same as tick(): the name the sink may prefer. */
  acknowledge(): Promise<void> {
    return this.tick();
  }

  private async maintain(now: number): Promise<void> {
    if (this.closed) return;
    const act = this.active;
    if (act && act.seg.lastId !== null && act.seg.lastId < this.acked && (!this.inflight || this.diskFullSince !== 0) && this.failedAt?.seg !== act.seg) {
      // Fully acknowledged active segment: roll so it can be deleted (else a tiny queue could never free
      // space). Also while a group waits for a full disk: the segment may be all the space there is to free,
      // and the group's next unit simply opens a new one. Not while a failed unit pins it (failedAt).
      await this.closeActive();
    }
    const doomed = this.segments.filter(
      (s) => s !== this.active?.seg && (s.lastId === null || s.lastId < this.acked) && s !== this.inflightSeg(),
    );
    if (doomed.length > 0) {
      let gone = doomed;
      try {
        // Persist the cursors (and the last seq/chain) first: the state must cover what is deleted.
        await this.persistUsingReserve();
      } catch (e) {
        if (!isDiskFull(e)) throw e;
        // Not even room for the state file: delete what recovery does not need the state for.
        this.diskFull(e);
        gone = this.deletableWithoutState(doomed);
      }
      for (const s of gone) {
        await this.fs.unlink(s.path);
        if (this.failedAt?.seg === s) this.failedAt = null;
        this.segments = this.segments.filter((x) => x !== s);
        this.bytes -= s.size;
        if (this.readCache?.n === s.n) this.readCache = null;
        await this.dropReadFile(s.n);
      }
      if (gone.length === 0) return;
      this.deps.counters.add('queue_segments_deleted', gone.length);
      // Space was freed: a writer waiting for the disk tries now rather than after its backoff, and
      // a reserve given up is put back (it fails harmlessly if the space went to someone else).
      if (this.diskFullSince !== 0) this.wakeRetry();
      await this.tryReserve();
      return;
    }
    if (now - this.reserveTriedAt >= RESERVE_RETRY_MS) await this.tryReserve();
    if (this.dirty && now - this.lastPersistAt >= this.opts.fsyncIntervalMs) {
      try {
        await this.persistState();
      } catch (e) {
        // A full disk is one alert (disk_full), not an error per tick; the cursors are persisted later.
        if (!isDiskFull(e)) throw e;
        this.diskFull(e);
      }
    }
  }

  private inflightSeg(): Segment | undefined {
    return this.inflight ? this.active?.seg : undefined;
  }

  /** Ends a disk-full backoff early (space was freed). */
  private wakeRetry(): void {
    this.retryWake?.();
  }

  /**
   * The doomed segments recovery can do without although the state file is
   * older than the queue: recovery takes `written` and the last seq/chain from
   * the newest frames *or* the state, whichever is newer, so the segment
   * holding the newest record stays unless the state on disk already names
   * `written`, and the one holding the last sealed record stays unless the
   * state names it. Deleting the others loses nothing recovery needs: the
   * acknowledged cursor on disk may be older, and then the next start sends
   * again what follows it among the records left (at-least-once, never a gap).
   */
  private deletableWithoutState(doomed: Segment[]): Segment[] {
    const keep = new Set<Segment>();
    if (this.persisted.written < this.written) {
      for (let i = this.segments.length - 1; i >= 0; i--) {
        const s = this.segments[i] as Segment;
        if (s.lastId !== null) {
          keep.add(s);
          break;
        }
      }
    }
    const seq = this.lastSealSeq;
    if (seq >= 0n && this.persisted.lastSeq !== seq) {
      for (const s of this.segments) if (s.firstId !== null && s.lastId !== null && s.firstId <= seq && seq <= s.lastId) keep.add(s);
    }
    return doomed.filter((s) => !keep.has(s));
  }

  /**
   * persistState for freeing space (deleting acknowledged segments, closing):
   * on a full disk the spare file is given up so that the state file can be
   * written (README.md "Full disk"). Throws ENOSPC when there was no reserve
   * or it did not suffice.
   */
  private async persistUsingReserve(): Promise<void> {
    try {
      await this.persistState();
      return;
    } catch (e) {
      if (!isDiskFull(e) || !this.reserveReady) throw e;
    }
    this.reserveReady = false;
    this.reserveTriedAt = this.now();
    await this.fs.unlink(join(this.opts.dir, RESERVE_FILE));
    this.deps.counters.add('queue_reserve_used');
    await this.persistState();
  }

  /**
   * Puts the spare file in place (reserveBytes of random bytes: zeros could be
   * compressed or deduplicated into no blocks at all; fsynced so that its
   * blocks are allocated) unless it already is. Best effort: on a full disk it
   * is tried again later; it is no part of what recovery reads, so a crash at
   * any step here leaves nothing to repair (a short one is replaced).
   */
  private async tryReserve(): Promise<void> {
    if (this.reserveBytes === 0 || this.reserveReady) return;
    this.reserveTriedAt = this.now();
    const path = join(this.opts.dir, RESERVE_FILE);
    try {
      try {
        const st = await this.fs.lstat(path);
        if (st.isFile && st.size === this.reserveBytes) {
          this.reserveReady = true;
          return;
        }
        // Short (a crash or a full disk while it was written), or not a plain file: replace it.
        await this.fs.unlink(path);
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
      // 'wx': never follows a link someone put in its place.
      const fd = await this.fs.open(path, 'wx', 0o600);
      let ok = false;
      try {
        await this.fs.write(fd, randomBytes(this.reserveBytes), 0);
        await this.fs.fsync(fd);
        ok = true;
      } finally {
        await this.fs.close(fd);
        // Partly written on a full disk: its blocks are better free.
        if (!ok) await this.fs.unlink(path);
      }
      this.reserveReady = true;
    } catch (e) {
      // A full disk is expected here (tried again later); anything else is worth an alert, not a failure.
      if (!isDiskFull(e)) this.alertError(e);
    }
  }

  private async persistState(): Promise<void> {
    const s: QueueState = {
      written: this.written,
      sent: this.sent,
      acked: this.acked,
      seal: { lastSeq: this.lastSealSeq, lastChain: this.lastSealChain, reservedUntil: this.reservedUntil },
    };
    if (this.session !== undefined) s.seal.session = this.session;
    if (this.sessionFrom !== undefined) s.seal.sessionFrom = this.sessionFrom;
    if (this.priorSession !== undefined) s.seal.priorSession = this.priorSession;
    await writeState(this.fs, this.opts.dir, s);
    this.persisted = { written: s.written, lastSeq: s.seal.lastSeq };
    this.lastPersistAt = this.now();
    this.dirty = false;
  }

  /** Where a reconnect or a restart resumes: the acknowledged cursor, so the window is replayed. */
  replayPosition(): bigint {
    return this.acked;
  }

  /**
   * A new connection starts: it resumes at the acknowledged cursor, and what
   * earlier connections sent and had not acknowledged is forgotten (their
   * sent marks are dropped). Without this, the marks of a connection the peer
   * closed (a receiver rejecting the client certificate after reading, a load
   * balancer with no backend) would age into acknowledgements while the
   * replay resends the same records on the next connection, and segments the
   * receiver never stored would be deleted. Only marks a connection makes
   * while it lives can acknowledge anything.
   */
  rewind(): bigint {
    this.marks = [];
    this.readLog = [];
    this.readLogHead = 0;
    if (this.sent !== this.acked) {
      this.sent = this.acked;
      this.dirty = true;
    }
    return this.acked;
  }

  /** Resolves once a durable record with id >= position exists (or the queue closes). */
  waitForData(position: bigint): Promise<void> {
    if (this.closed || this.written > position) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ position, resolve }));
  }

  private wakeReaders(): void {
    if (this.waiters.length === 0) return;
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (this.written > w.position) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }

  stats(): QueueStats {
    let records = 0;
    for (const s of this.segments) records += s.records;
    return {
      bytes: this.bytes,
      records,
      written: this.written,
      sent: this.sent,
      acked: this.acked,
      segments: this.segments.length,
      dropped: this.dropped,
      blocked: this.blocked,
      pending: this.pending.length,
    };
  }

  private background(): void {
    void (async () => {
      if (this.opts.fsync === 'none' && this.active) {
        await this.exclusive(async () => {
          if (this.active) await this.fs.fsync(this.active.fd);
        });
      }
      await this.tick();
    })().catch((e: unknown) => this.alertError(e));
  }

  private alertError(e: unknown): void {
    this.deps.counters.add('queue_errors');
    this.deps.onAlert({ kind: 'error', error: e instanceof Error ? e.message : String(e) });
  }

  /**
   * Stops: pending appends are rejected (their records are not durable and the
   * sources have not committed them), the state is persisted with the
   * reservation set to the next seq (a clean stop skips nothing).
   */
  async close(): Promise<void> {
    if (this.closed || !this.opened) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const pend = this.pending;
    this.pending = [];
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryWake?.();
    const err = new QueueError(this.opts.dir, 'queue closed');
    for (const q of pend) q.reject(err);
    if (this.inflight) {
      for (const q of this.inflight.reqs) q.reject(err);
      this.inflight = null;
    }
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    await this.exclusive(async () => {
      // The exact next seq: a clean restart skips nothing. The session fields stay as the last
      // reservation left them (a run that sealed nothing is nobody's previous session).
      if (this.sequence) this.reservedUntil = this.sequence.nextSeq();
      // On a full disk too: the exact next seq is worth the reserve (the next start puts it back).
      await this.persistUsingReserve();
      await this.closeActive();
      await this.dropReadFile();
      this.recent = [];
    });
  }
}

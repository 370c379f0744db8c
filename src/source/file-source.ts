/**
 * The file source: wires discovery, identity, reading, multiline joining,
 * checkpoints and tamper signals for one `type: file` input.
 *
 * Model. A *tracked* file is an inode we know (dev:ino, birth time). A
 * *stream* is the reading state of one identity (fingerprint): read position,
 * head bytes, pending partial line and multiline group, records not yet
 * emitted. Normally a tracked file carries one stream; the two come apart on
 * copytruncate: the original's stream is *orphaned* when the original is
 * truncated, and the copy (a new inode whose head equals the stream's head)
 * *adopts* it and continues at the same offset — no loss, no re-read.
 *
 * Commit protocol (docs/source.md). One loop serves the files
 * round robin, one chunk per file per turn. After a chunk, the records it
 * completed are handed to deps.emit(batch); only when that promise resolves
 * (downstream made them durable) does the checkpoint of the identity advance
 * to the batch's last `end`. A pending partial line or multiline group is
 * always after that end, so the committed offset never passes it. While emit
 * does not resolve the loop waits: reading stops and the files are the buffer.
 *
 * Rotation:
 *  - rename+create: the renamed inode keeps its fd and stream; if its new name
 *    no longer matches the globs it is drained to EOF through the held fd and
 *    released; the new file is a new identity read from 0;
 *  - copytruncate: see above; a copy seen before the truncation is *parked*
 *    (its head matches a live stream) until the truncation hands it the stream;
 *  - delete: drained through the held fd, then released; after
 *    deletedFileMaxHoldMs it is released anyway and what was unread is counted
 *    (bytes_unread_released). Files rotated away under a name that no longer
 *    matches get the same limit.
 *
 * fd budget: at most maxOpenFiles descriptors. Live files are closed only at
 * EOF (least recently served first) and reopened by path when a scan or a
 * watcher event says they changed; files that left the globs or were deleted
 * keep their descriptor until drained (they cannot be reopened).
 *
 * startAt: 'end' applies only to files found by the first scan of the
 * input's first run (no checkpoint registry yet). Any other file never seen
 * before — created while running or while the agent was down — is read from
 * 0, or rotations during downtime would lose lines.
 *
 * Resuming a checkpoint (restart, or a known head found again): the entry
 * remembers a hash of the bytes just before its offset (taken from the bytes
 * the stream read, never read again for it). A file that no longer holds them
 * was rewritten: it is read from 0 under its own identity, and when it is the
 * inode the entry was read from, at a live path, that is a truncation (the
 * alert waits for a copy, as live). Entries of files read under their own
 * identity (a rewrite in place, a duplicate head) record their head, so that a
 * restart resumes them instead of the fingerprint's entry.
 *
 * A file whose turn fails (a throw, a read error) is reported with its path,
 * first at once, then at most once per growing interval, and counted; it is
 * retried with backoff, and after RELEASE_AFTER_FAILURES failures in a row its
 * descriptor is closed and opened again by path at the next try (a stale
 * handle), unless the path no longer names it (it could not be reopened). Its
 * stream, position and checkpoint stay as they were: nothing is skipped.
 */
import { constants as fsc } from 'node:fs';
import { lstat, open, stat, type FileHandle } from 'node:fs/promises';
import { errorLine, FileError, oneLine } from '../errors.js';
import type { RawRecord } from '../event/types.js';
import type { Counters } from '../monitor/counters.js';
import { Checkpointer, type CheckpointEntry, type CheckpointMeta, type CheckpointTail } from './checkpoint.js';
import { Discovery, type PathsProvider } from './discovery.js';
import {
  FINGERPRINT_BYTES,
  fingerprint,
  headHash,
  inodeKey,
  isProvisional,
  provisionalIdentity,
  readHead,
  startsWith,
} from './identity.js';
import { MultilineJoiner, type MultilineOptions, type RecordSink } from './multiline.js';
import { LineSplitter, type LineSink } from './reader.js';
import { TamperWatch, isLivePath, mayBeUndated, type TamperAlert } from './tamper.js';

export interface FileSourceOptions {
  readonly inputId: string;
  readonly paths: readonly string[];
  readonly exclude: readonly string[];
  readonly startAt: 'beginning' | 'end';
  readonly followSymlinks: boolean;
  readonly multiline?: MultilineOptions;
  readonly partialLineTimeoutMs: number;
  readonly maxLineBytes: number;
  readonly stateDir: string;
  readonly maxOpenFiles: number;
  readonly rescanIntervalMs: number;
  readonly deletedFileMaxHoldMs: number;
  readonly checkpointExpiryMs: number;
  /** Bytes read per file per turn (default 256 KiB). */
  readonly readChunkBytes?: number;
  /** How often checkpoints are written at most (default 1000 ms). */
  readonly checkpointFlushMs?: number;
  /** How often idle open files are polled for growth (default 200 ms). */
  readonly pollIntervalMs?: number;
}

export interface Clock {
  now(): number;
}

export interface FileSourceDeps {
  /** Resolves only when the batch is durable downstream. */
  readonly emit: (batch: RawRecord[]) => Promise<void>;
  /**
   * A promise, if returned, resolves once the alert is durable downstream: until then a decided
   * suspicion stays saved with the checkpoints, so that a crash makes the next start raise it again
   * instead of losing it. Returning nothing: taken as durable at once. The promise must settle (rejected
   * when the alert never will be stored): stop() waits for it before its last registry write.
   */
  readonly alert: (a: TamperAlert) => void | Promise<void>;
  /** A failure the source recovers from by retrying (a scan, a file's read, or a hand-over that failed); the pipeline reports it. */
  readonly error?: (what: 'scan' | 'read' | 'emit', err: Error) => void;
  readonly counters: Counters;
  readonly clock?: Clock;
  /** Seam for tests: a fixed list instead of globs and a watcher. */
  readonly paths?: PathsProvider;
}

export type { TamperAlert } from './tamper.js';

const O_NOFOLLOW = fsc.O_NOFOLLOW ?? 0;

/**
 * Opening by path: the path may name something else since the scan (keepIfSame checks the inode
 * after). O_NONBLOCK: a FIFO put there would make open() wait for a writer, forever (the loop, and
 * a libuv thread, stuck: nothing read, no alert); on a regular file it changes nothing.
 */
const OPEN_BY_PATH = fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0);

/** Chunk size of the byte-for-byte comparison of a parked copy with the file it copies. */
const COPY_COMPARE_CHUNK = 64 * 1024;

/** Bytes of a parked copy compared per turn: a big copy is compared over many turns, the other files read between. */
const COPY_COMPARE_STEP = 16 * COPY_COMPARE_CHUNK;

/**
 * A parked copy unchanged for longer than this when the file it copies is truncated is no
 * copytruncate copy, whatever it holds (a complete backup taken while the file was idle too) (logrotate truncates right after it copied, fsync
 * aside) but a backup or snapshot: it is not handed the stream at the truncation, which keeps its
 * alert; once that orphan expires the backup resumes from its checkpoint. At least 10 rescan intervals.
 */
const STALE_COPY_MS = 5 * 60_000;

/**
 * How long a path a scan listed keeps its dated names (app.log-2026-11-23) rotated copies after it is
 * missing (logrotate's nocreate: the writer makes it again when it next opens its log). At least 10
 * rescan intervals: logrotate deletes and compresses old copies right after its rename.
 */
const UNDATED_MEMORY_MS = 5 * 60_000;

/** Bytes before a checkpoint's offset whose hash it records (a restart compares them). */
const TAIL_BYTES = 256;

/**
 * Bytes a stream keeps of what it read last, to take the checkpoint's tail from: the offset is the
 * end of the last record emitted, which a pending partial line or multiline group may put before
 * the read position. Past that, the entry keeps the tail of an earlier offset.
 */
const TAIL_RING = 4096;

/** Failed turns in a row after which a file's descriptor is closed and opened again at the next try. */
const RELEASE_AFTER_FAILURES = 3;

/** The interval between two reports of a file that keeps failing grows up to this. */
const MAX_REPORT_GAP_MS = 3_600_000;

const NO_BYTES = Buffer.alloc(0);

/** The reading state of one identity. */
class Stream implements LineSink, RecordSink {
  batch: RawRecord[] = [];
  readonly splitter: LineSplitter;
  readonly joiner: MultilineJoiner | undefined;
  /** The last bytes read (at most TAIL_RING), ending at ringEnd; a new buffer per chunk, never written to. */
  private ring = NO_BYTES;
  private ringEnd = 0;
  /** headHash of a whole head (it no longer changes), for the checkpoints of a provisional identity. */
  wholeHeadHash: string | undefined;
  /**
   * The file holding this stream is a copy shorter than its head (copytruncate made it while the log
   * was short): the copy's own first bytes, recorded with the checkpoint so that a restart finds it.
   */
  copyHead: { len: number; hash: string } | undefined;

  constructor(
    private readonly input: string,
    public identity: string,
    /** True once the identity is a full fingerprint (or fixed for good). */
    public full: boolean,
    /** First min(readPos, FINGERPRINT_BYTES) bytes (all FINGERPRINT_BYTES when full). */
    public head: Buffer,
    public readPos: number,
    public path: string,
    public dev: bigint,
    public ino: bigint,
    opts: FileSourceOptions,
    counters: Counters,
  ) {
    this.joiner = opts.multiline ? new MultilineJoiner(opts.multiline, this, counters) : undefined;
    this.splitter = new LineSplitter(opts.maxLineBytes, this.joiner ?? this, counters);
  }

  line(bytes: Buffer, offset: number, end: number, truncated: boolean): void {
    this.record(bytes, offset, end, false, truncated);
  }

  record(bytes: Buffer, offset: number, end: number, multiline: boolean, truncated: boolean): void {
    this.batch.push({
      bytes,
      source: { input: this.input, identity: this.identity, path: this.path, offset, end },
      multiline,
      truncated,
    });
  }

  /** A chunk read at `pos`: its last bytes are kept for the checkpoint's tail. */
  remember(chunk: Buffer, pos: number): void {
    const keep = pos === this.ringEnd ? this.ring : NO_BYTES;
    if (chunk.length >= TAIL_RING) this.ring = Buffer.from(chunk.subarray(chunk.length - TAIL_RING));
    else this.ring = Buffer.concat([keep.subarray(Math.max(0, keep.length - (TAIL_RING - chunk.length))), chunk]);
    this.ringEnd = pos + chunk.length;
  }

  /** The bytes (at most TAIL_BYTES) just before `end`, if still held. */
  tailBefore(end: number): CheckpointTail | undefined {
    const start = this.ringEnd - this.ring.length;
    if (end <= start || end > this.ringEnd) return undefined;
    return { end, bytes: this.ring.subarray(Math.max(0, end - start - TAIL_BYTES), end - start) };
  }

  hasPending(): boolean {
    return this.splitter.pendingStart !== undefined || (this.joiner?.pendingStart ?? undefined) !== undefined;
  }

  /** Flushes a partial line / multiline group that waited long enough (all of them when force). */
  flushDue(now: number, partialTimeoutMs: number, force: boolean): void {
    if (this.joiner) this.joiner.now = now;
    if (this.splitter.pendingStart !== undefined && (force || now - this.splitter.partialSince >= partialTimeoutMs)) {
      this.splitter.flushPartial(this.readPos);
    }
    if (this.joiner) {
      if (force) this.joiner.flush();
      else this.joiner.flushIfDue(now);
    }
  }
}

type TrackedState = 'new' | 'active' | 'parked' | 'gone';

interface Tracked {
  readonly key: string;
  readonly dev: bigint;
  readonly ino: bigint;
  readonly btime: bigint;
  path: string;
  state: TrackedState;
  stream: Stream | undefined;
  fh: FileHandle | undefined;
  size: number;
  mtimeMs: number;
  /** Found by the first scan of the first run: startAt applies. */
  initial: boolean;
  /** Found by the first scan after start (a known fingerprint here is a restart, not a replacement). */
  startup: boolean;
  eof: boolean;
  changed: boolean;
  nextPoll: number;
  lastServed: number;
  parkedSince: number;
  parkHead: Buffer | undefined;
  goneSince: number;
  unreadable: boolean;
  retryAt: number;
  /** An adopted copytruncate copy may be shorter than the stream's position. */
  copyShort: boolean;
  /** ctime (ms) of the file when the stream's head was last found at its start; -1: not checked yet. */
  headCheckedCtimeMs: number;
  /** Clock time a scan last found this inode's size or mtime changed (first tracked, at first): a copy's age when its original is truncated. */
  changedAt: number;
  /** Comparison of this parked file with a file being read: the state compared (size, ctime) and how far it matched. */
  copyOf: { holder: string; size: number; ctimeNs: bigint; at: number } | undefined;
  /**
   * Identity of the stream this inode lost to a truncation, until it has a stream again: what it holds
   * now was written after the truncation, whatever its first bytes. It is no copy of that stream (an
   * in-place rewrite keeping the head, `cat edited > app.log`, must not take the orphan back and
   * cancel the alert) and resumes no checkpoint of it.
   */
  cutFrom: string | undefined;
  /**
   * Read under its own identity, at a rotated name, because no descriptor was left to compare it with
   * the file with its head (max_open_files 1): that file's truncation has this copy (its lines read
   * twice, documented), and raises no truncated alert.
   */
  uncomparedOf: string | undefined;
  /** Failed turns (see the module note); undefined until the first. */
  trouble: Trouble | undefined;
}

interface Trouble {
  /** Failed turns in a row (0 once a turn succeeds). */
  failures: number;
  /** The next try, not before. */
  retryAt: number;
  /** The next report, not before; the interval to the one after; failures not reported yet. */
  reportAt: number;
  reportGapMs: number;
  unreported: number;
}

interface Orphan {
  stream: Stream;
  since: number;
  /**
   * The size the file was last seen with before its truncation (at least what was read): a copy of a
   * stream whose head is shorter than a fingerprint larger than this waits for one that is not (fits).
   */
  sizeBefore: number;
}

type Decision =
  | { kind: 'adopt'; orphan: Orphan }
  | { kind: 'park' }
  /**
   * key: the checkpoint entry resumed (its tail is checked); from: a short file's entry re-keyed to its
   * fingerprint; copyHead: the file is the short copy the entry records (its head shorter than the stream's).
   */
  | { kind: 'resume'; identity: string; full: boolean; offset: number; key: string; from?: string; copyHead?: { len: number; hash: string } }
  | { kind: 'new'; own: boolean; holder?: Tracked; cut?: boolean }
  | { kind: 'wait' };

export class FileSource {
  readonly checkpointer: Checkpointer;
  private readonly tracked = new Map<string, Tracked>();
  private byPath = new Map<string, Tracked>();
  /** Path -> inode key of what the last scan listed, and the scan before (what tells a dated rotated copy from a live file). */
  private listed = new Map<string, string>();
  private listedBefore = new Map<string, string>();
  /** Clock time a scan last listed each path that may have dated copies (isLive: nocreate's window). */
  private readonly undatedSeen = new Map<string, number>();
  /**
   * Identities found rewritten in place while the agent was away -> the live path (a copy of them found
   * within the truncation's grace: replaced, as live). Dropped once that truncation is decided (pruneCuts).
   */
  private readonly cutWhileAway = new Map<string, string>();
  private lastPaths = new Map<string, { identity: string; size: number }>();
  private readonly orphans = new Map<string, Orphan>();
  /** Provisional registry entries whose inode no longer starts with their head (truncated while we were away). */
  private readonly staleProvisional = new Set<string>();
  /**
   * Truncations a stop or a crash left undecided (restored at the first scan): identity -> clock time
   * the last run saw it. A copy resuming the checkpoint at start-up cancels one only if it was not
   * already unchanged for long then (a backup: its ctime tells, the scans of that run are gone).
   * Dropped once that truncation is decided (pruneCuts).
   */
  private readonly restoredCuts = new Map<string, number>();
  /** The inodes (inodeKey) the checkpoint entries named at the first scan, before this run moved any. */
  private startupInodes: ReadonlySet<string> = new Set();
  private flushQueue: Stream[] = [];
  private readonly paths: PathsProvider;
  private readonly tamper: TamperWatch;
  private readonly clock: Clock;
  private readonly chunkBytes: number;
  private readonly pollMs: number;
  private openCount = 0;
  private scanRequested = true;
  private stopping = false;
  private firstRun = false;
  private loaded = false;
  private scans = 0;
  /** Clock time of the last scan whose expiries (orphans, tamper deadlines) wait for its files' turn. */
  private expiryDue: number | undefined;
  /** This round, a file not classified yet (the copy an orphan waits for?) got no descriptor: the fd budget was full. */
  private undecided = false;
  /** Clock time of the first scan whose expiry waited for an undecided file: the wait is bounded from there, not from the latest scan. */
  private heldSince: number | undefined;
  private rr = 0;
  private loopDone: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private scanTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: FileSourceOptions,
    private readonly deps: FileSourceDeps,
  ) {
    this.clock = deps.clock ?? { now: Date.now };
    this.chunkBytes = Math.min(Math.max(opts.readChunkBytes ?? 256 * 1024, 4096), 16 * 1024 * 1024);
    this.pollMs = opts.pollIntervalMs ?? 200;
    this.checkpointer = new Checkpointer({
      stateDir: opts.stateDir,
      inputId: opts.inputId,
      expiryMs: opts.checkpointExpiryMs,
      flushIntervalMs: opts.checkpointFlushMs ?? 1000,
      now: () => this.clock.now(),
    });
    this.paths =
      deps.paths ??
      new Discovery(
        opts,
        {
          rescan: () => this.requestScan(),
          changed: (p) => {
            const t = this.byPath.get(p);
            if (t) {
              t.changed = true;
              this.wake();
            }
          },
        },
        deps.counters,
      );
    this.tamper = new TamperWatch(
      opts.rescanIntervalMs,
      (a) => {
        deps.counters.add(a.unchecked ? 'source_tamper_unchecked' : `source_tamper_${a.kind}`);
        return deps.alert(a);
      },
      (p) => this.isLive(p),
      () => this.checkpointer.setSuspicions(this.tamper.pending()),
      () => this.checkpointer.flushSoon(),
      // Not stored (rejected, at stop or for good): TamperWatch keeps it saved for the next start; counted
      // per source (the pipeline's internal_events_failed counts every internal event it lost).
      () => deps.counters.add('source_tamper_alerts_unstored'),
    );
  }

  /** Number of descriptors this source holds (tests check it against maxOpenFiles). */
  get openFiles(): number {
    return this.openCount;
  }

  /**
   * Reads the checkpoint registry (start() does it when not done yet). Call it
   * first to raise offsets from the queue tail: load(), checkpointer.recover(…), start().
   */
  async load(): Promise<void> {
    if (this.loaded) return;
    this.firstRun = !(await this.checkpointer.load());
    this.loaded = true;
  }

  async start(): Promise<void> {
    await this.load();
    this.checkpointer.start();
    await this.paths.start?.();
    this.scanTimer = setInterval(() => this.requestScan(), this.opts.rescanIntervalMs);
    this.scanTimer.unref();
    this.loopDone = this.loop();
  }

  /**
   * Stops reading, waits for the emit in flight, commits checkpoints, releases descriptors. Tamper
   * suspicions not decided (a stop that cut the turn short skips the expiry) are saved with the
   * checkpoints and decided by the next start.
   */
  async stop(): Promise<void> {
    await this.halt();
    await this.flushOrphans();
    // The last write says which decided alerts are still not stored: not before the stop had its chance to store them.
    await this.tamper.settled();
    await this.checkpointer.stop();
  }

  /**
   * At stop: what an orphan holds pending (partial line, multiline group) is in no file any more when
   * the truncation was real, and a copy adopted after a restart resumes after it. The flush queue too.
   */
  private async flushOrphans(): Promise<void> {
    for (const o of this.orphans.values()) {
      o.stream.flushDue(this.clock.now(), 0, true);
      if (o.stream.batch.length > 0) this.flushQueue.push(o.stream);
    }
    await this.flushQueued();
  }

  /** Stops without the final checkpoint write: what kill -9 leaves behind (tests, fatal errors). */
  async abort(): Promise<void> {
    await this.halt();
    await this.checkpointer.abandon();
  }

  private async halt(): Promise<void> {
    this.stopping = true;
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.wake();
    await this.loopDone;
    await this.paths.stop?.();
    for (const t of this.tracked.values()) await this.closeFd(t);
  }

  /** Live or rotated, given what the last scan listed (a dashed date is rotated next to its undated file, listed now or lately). */
  private isLive(path: string): boolean {
    return isLivePath(path, this.listed, this.listedLately);
  }

  private readonly listedLately = (path: string): boolean => {
    const at = this.undatedSeen.get(path);
    return at !== undefined && this.clock.now() - at <= Math.max(UNDATED_MEMORY_MS, 10 * this.opts.rescanIntervalMs);
  };

  /** Remembers the names that may have dated copies this scan listed, and forgets those missing for long. */
  private rememberUndated(now: number): void {
    for (const p of this.listed.keys()) if (mayBeUndated(p)) this.undatedSeen.set(p, now);
    const keep = Math.max(UNDATED_MEMORY_MS, 10 * this.opts.rescanIntervalMs);
    for (const [p, at] of this.undatedSeen) if (now - at > keep) this.undatedSeen.delete(p);
  }

  private requestScan(): void {
    this.scanRequested = true;
    this.wake();
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        res();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        res();
      };
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        if (this.scanRequested) {
          this.scanRequested = false;
          await this.scan();
        }
        let did = await this.flushQueued();
        const round = await this.serveRound();
        if (round.did) did = true;
        // Only after a round that gave every file its turn (a stop cuts it short: the decisions wait,
        // as every suspicion not due yet does); what an expired orphan flushed is emitted at once.
        // A file the scan listed that the fd budget kept from its turn may be the copy an orphan waits
        // for: the expiries wait for it, for at most another rescan interval (a budget kept full must
        // not hold the alerts back).
        if (this.undecided && this.expiryDue !== undefined) this.heldSince ??= this.expiryDue;
        const waiting = this.undecided && this.heldSince !== undefined && this.clock.now() - this.heldSince < this.opts.rescanIntervalMs;
        if (this.expiryDue !== undefined && round.complete && !waiting && this.expire(this.expiryDue)) {
          await this.flushQueued();
          did = true;
        }
        if (!did && !this.scanRequested && !this.stopping) await this.sleep(this.pollMs);
      } catch (err) {
        this.failed(err);
        if (!this.stopping) await this.sleep(this.pollMs);
      }
    }
  }

  private failed(err: unknown): void {
    this.deps.counters.add('source_errors');
    if (this.deps.error) this.deps.error('scan', err as Error);
    else process.emitWarning(`logward file source ${this.opts.inputId}: ${(err as Error).message}`);
  }

  // ---- scanning -----------------------------------------------------------

  private async scan(): Promise<void> {
    const files = await this.paths.scan();
    const now = this.clock.now();
    const initial = this.scans === 0 && this.firstRun;
    // Suspicions a stop or a crash left undecided: decided in this run, one grace after its first scan
    // (from load(), a first scan that came later decided them before the copies had their turn).
    // A path the input no longer covers (its globs changed) cannot be decided: reported as such at once.
    if (this.scans === 0) {
      // The list as loaded: restoring a decided or unchecked one raises it, and `changed` replaces the
      // checkpointer's list with TamperWatch.pending(), whose deadlines are this start's, not the last run's.
      const saved = this.checkpointer.suspicions;
      this.tamper.restore(saved, now, (p) => this.paths.covers?.(p) ?? true);
      for (const { alert, deadline } of saved) {
        if (alert.kind === 'truncated') this.restoredCuts.set(alert.identity, deadline - this.opts.rescanIntervalMs);
      }
      // As inodeKey writes them (decimal dev:ino); an entry's fields are kept as strings, never parsed here.
      this.startupInodes = new Set([...this.checkpointer.all()].map(([, e]) => `${e.dev}:${e.inode}`));
    }
    this.listedBefore = this.listed;
    this.listed = new Map(files.map((f) => [f.path, inodeKey(f.dev, f.ino)]));
    this.rememberUndated(now);
    this.scans++;
    const seen = new Set<string>();
    const byPath = new Map<string, Tracked>();
    const paths = new Map<string, { identity: string; size: number }>();
    for (const f of files) {
      const key = inodeKey(f.dev, f.ino);
      let t = this.tracked.get(key);
      if (t && f.btimeNs !== 0n && t.btime !== 0n && f.btimeNs !== t.btime) {
        // The inode was freed and reused while we held no descriptor: another file.
        this.deps.counters.add('source_inode_reused');
        await this.closeFd(t);
        this.forget(t);
        t = undefined;
      }
      if (!t) {
        if (seen.has(key)) continue;
        t = {
          key,
          dev: f.dev,
          ino: f.ino,
          btime: f.btimeNs,
          path: f.path,
          state: 'new',
          stream: undefined,
          fh: undefined,
          size: f.size,
          mtimeMs: f.mtimeMs,
          initial,
          startup: this.scans === 1,
          eof: false,
          changed: true,
          nextPoll: 0,
          lastServed: 0,
          parkedSince: 0,
          parkHead: undefined,
          goneSince: 0,
          unreadable: false,
          retryAt: 0,
          copyShort: false,
          headCheckedCtimeMs: -1,
          changedAt: now,
          copyOf: undefined,
          cutFrom: undefined,
          uncomparedOf: undefined,
          trouble: undefined,
        };
        this.tracked.set(key, t);
      } else if (!seen.has(key)) {
        if (t.path !== f.path) {
          // The old name as the scan that listed it saw it (a dated copy is rotated next to its live file).
          if (t.stream && t.stream.readPos > 0 && !isLivePath(t.path, this.listedBefore, this.listedLately) && this.isLive(f.path)) {
            this.tamper.now({ kind: 'replaced', path: f.path, identity: t.stream.identity, offset: t.stream.readPos }, now);
          }
          t.path = f.path;
          if (t.stream) t.stream.path = f.path;
        }
        if (t.state === 'gone') t.state = 'active';
        if (t.state === 'parked') {
          t.state = 'new';
          t.changed = true;
        }
        if (f.size !== t.size || f.mtimeMs !== t.mtimeMs) {
          t.changed = true;
          t.changedAt = now;
        }
        t.size = f.size;
        t.mtimeMs = f.mtimeMs;
        if (t.stream) this.checkpointer.touch(t.stream.identity);
      }
      seen.add(key);
      byPath.set(f.path, t);
      paths.set(f.path, { identity: t.stream?.identity ?? '', size: f.size });
      this.tamper.pathPresent(f.path);
    }
    for (const [p, info] of this.lastPaths) {
      if (!paths.has(p)) this.tamper.pathMissing(p, info.identity, info.size, now);
    }
    this.lastPaths = paths;
    this.byPath = byPath;
    for (const t of [...this.tracked.values()]) {
      if (seen.has(t.key) || t.state === 'gone') continue;
      if (t.fh && t.stream) {
        t.state = 'gone';
        t.goneSince = now;
        t.changed = true;
      } else {
        await this.release(t);
      }
    }
    // Orphans and tamper deadlines are decided after this scan's files had their turn (expire):
    // a scan that comes late (the loop held up by backpressure or a long turn) may list the
    // truncation's copy for the first time after the deadline, and only its turn adopts the orphan.
    this.expiryDue = now;
  }

  /**
   * The decisions of the last scan, at its clock time, once the turn that followed it has served the
   * files it listed. True when an expired orphan left records to emit.
   */
  private expire(now: number): boolean {
    this.expiryDue = undefined;
    this.heldSince = undefined;
    let flushed = false;
    for (const [id, o] of this.orphans) {
      if (now - o.since >= this.opts.rescanIntervalMs) {
        this.orphans.delete(id);
        // A stream read only a line or two into, and no copy that fits appeared (fits): the largest of
        // those that did not, as truncated() hands a stream to its largest parked copy. Before the alert
        // is decided: it had a copy.
        const late = o.stream.head.length < FINGERPRINT_BYTES ? this.parkedCopy(o.stream, now, Infinity, true) : undefined;
        if (late) {
          this.handOver(late, o.stream);
          continue;
        }
        // No copy appeared: what was pending is flushed; TamperWatch decides on the alert.
        o.stream.flushDue(now, 0, true);
        if (o.stream.batch.length > 0) {
          this.flushQueue.push(o.stream);
          flushed = true;
        }
      }
    }
    this.tamper.confirm(now);
    this.pruneCuts();
    return flushed;
  }

  /**
   * restoredCuts and cutWhileAway speak of a truncation while it waits for its copy: both are read
   * only by copyResumed, and only once copyFound has cancelled a truncation of that identity still in
   * its grace (the backup test before it, the `replaced` alert after). An entry whose identity has no
   * such truncation any more (confirmed and raised, cancelled by another copy, or never restored: not
   * covered, decided) can no longer do either: dropped, so that neither map grows with every
   * rewrite found at a resume. A truncation of that identity seen later is another one: readAgain
   * records its own entry, and a live one's copy takes its stream through the orphan, not through
   * copyResumed (a stale entry there would have named the old path in a `replaced` alert).
   */
  private pruneCuts(): void {
    for (const k of this.restoredCuts.keys()) if (!this.tamper.awaitsCopy(k)) this.restoredCuts.delete(k);
    for (const k of this.cutWhileAway.keys()) if (!this.tamper.awaitsCopy(k)) this.cutWhileAway.delete(k);
  }

  // ---- serving ------------------------------------------------------------

  /**
   * One turn for every file. A file whose turn throws does not end the round (the others, and the
   * expiries waiting for the round, would wait on it for as long as it fails): it is counted,
   * reported and retried later (turnFailed). complete: not cut short by stop().
   */
  private async serveRound(): Promise<{ did: boolean; complete: boolean }> {
    this.undecided = false;
    const list = [...this.tracked.values()];
    if (list.length === 0) return { did: false, complete: !this.stopping };
    let did = false;
    const start = this.rr++ % list.length;
    let i = 0;
    for (; i < list.length && !this.stopping; i++) {
      const t = list[(start + i) % list.length] as Tracked;
      if (this.tracked.get(t.key) !== t) continue;
      try {
        if (await this.serve(t)) did = true;
      } catch (err) {
        this.deps.counters.add('source_errors');
        await this.turnFailed(t, err, this.clock.now());
      }
    }
    return { did, complete: i === list.length };
  }

  /** One turn for one file: at most one chunk read and one batch emitted. */
  private async serve(t: Tracked): Promise<boolean> {
    const now = this.clock.now();
    if (t.state === 'parked') {
      if (now < t.parkedSince + this.opts.rescanIntervalMs) return false;
      t.state = 'new';
      t.changed = true;
    }
    if (t.stream && t.stream.batch.length > 0) return this.emitBatch(t.stream);
    if (t.trouble && t.trouble.failures > 0 && now < t.trouble.retryAt) return false;
    if (t.unreadable && now < t.retryAt) return false;
    if (!t.fh) {
      if (t.state === 'gone') {
        await this.release(t);
        return false;
      }
      if (!t.changed) return false;
      if (!(await this.openFd(t))) return false;
    }
    if (t.state === 'new') {
      if (!t.changed && now < t.nextPoll) return false;
      const did = await this.decide(t, now);
      this.healthy(t);
      return did;
    }
    const s = t.stream as Stream;
    const fh = t.fh as FileHandle;
    if (t.state === 'gone' && now - t.goneSince > this.opts.deletedFileMaxHoldMs) {
      s.flushDue(now, 0, true);
      if (s.batch.length > 0) return this.emitBatch(s);
      await this.release(t);
      return true;
    }
    if (t.eof && !t.changed && now < t.nextPoll) {
      s.flushDue(now, this.opts.partialLineTimeoutMs, false);
      return s.batch.length > 0 ? this.emitBatch(s) : false;
    }
    t.changed = false;
    const pos = s.readPos;
    // fstat first: an idle poll costs one syscall and no buffer, and the chunk is sized to what is there.
    let size: number;
    let ctimeMs: number;
    try {
      const st = await fh.stat();
      size = st.size;
      ctimeMs = st.ctimeMs;
    } catch (err) {
      return this.readFailed(t, err, now);
    }
    if (size < pos && !t.copyShort) {
      await this.truncated(t, size, now);
      return true;
    }
    if (size <= pos && s.head.length > 0 && ctimeMs !== t.headCheckedCtimeMs) {
      // Changed since the head was last checked, yet not longer than our offset: truncated and
      // regrown to exactly the offset? The size cannot tell (and the next rotation may freeze the file
      // so). Only the head can; an idle file keeps its ctime and costs no read.
      const h = await readHead(fh, s.head.length);
      // An adopted copy made while the file was shorter than what was then read of it holds only the
      // start of the head: no rewrite (taken for one, it was orphaned and adopted again every turn).
      const shortCopy = t.copyShort && h.length === size && h.length < s.head.length && startsWith(s.head, h);
      if (!shortCopy && !h.equals(s.head)) {
        await this.truncated(t, size, now);
        return true;
      }
      t.headCheckedCtimeMs = ctimeMs;
    }
    if (size <= pos) {
      this.healthy(t);
      t.size = Math.max(size, t.size);
      t.eof = true;
      t.nextPoll = now + this.pollMs;
      if (t.state === 'gone') {
        s.flushDue(now, 0, true);
        if (s.batch.length > 0) return this.emitBatch(s);
        await this.release(t);
        return true;
      }
      s.flushDue(now, this.opts.partialLineTimeoutMs, false);
      return s.batch.length > 0 ? this.emitBatch(s) : false;
    }
    const seen = t.size;
    t.size = size;
    const want = Math.min(this.chunkBytes, size - pos);
    const buf = Buffer.allocUnsafe(want);
    let n: number;
    try {
      n = (await fh.read(buf, 0, want, pos)).bytesRead;
    } catch (err) {
      return this.readFailed(t, err, now);
    }
    if (n === 0) {
      // Shrunk between fstat and read: the next turn sees it.
      t.changed = true;
      return false;
    }
    if (s.head.length > 0) {
      const h = await readHead(fh, s.head.length);
      if (!h.equals(s.head)) {
        // Truncated and regrown (possibly past our offset): the chunk is not ours.
        const st = await fh.stat({ bigint: true });
        await this.truncated(t, Number(st.size), now, seen);
        return true;
      }
    }
    // The head was checked after that fstat: a later truncation changes the ctime again.
    t.headCheckedCtimeMs = ctimeMs;
    this.healthy(t);
    s.remember(buf.subarray(0, n), pos);
    if (!s.full && pos < FINGERPRINT_BYTES) {
      const len = Math.min(pos + n, FINGERPRINT_BYTES);
      s.head = s.head.length === pos ? Buffer.concat([s.head, buf.subarray(0, len - pos)]) : await readHead(fh, len);
      if (s.head.length >= FINGERPRINT_BYTES) this.upgrade(s);
    }
    t.eof = false;
    t.lastServed = now;
    if (s.joiner) s.joiner.now = now;
    const lines = s.splitter.push(buf.subarray(0, n), pos, now);
    s.readPos = pos + n;
    if (pos + n > t.size) t.size = pos + n;
    this.deps.counters.add('lines_read', lines);
    this.deps.counters.add('source_bytes_read', n);
    if (s.batch.length > 0) await this.emitBatch(s);
    return true;
  }

  /** A file whose content we have not classified yet: copy, known, or new? */
  private async decide(t: Tracked, now: number): Promise<boolean> {
    const fh = t.fh as FileHandle;
    const st = await fh.stat({ bigint: true });
    const size = Number(st.size);
    t.size = size;
    const h = await readHead(fh, Math.min(size, FINGERPRINT_BYTES));
    if (h.length === 0) {
      for (const [id, e] of this.checkpointer.all()) {
        if (isProvisional(id) && e.dev === String(t.dev) && e.inode === String(t.ino) && (e.headLen ?? 0) > 0) {
          this.staleProvisional.add(id);
        }
      }
      t.changed = false;
      t.nextPoll = now + this.pollMs;
      if (!t.initial || this.opts.startAt === 'beginning') return false;
    }
    const d = this.classify(t, h, now);
    t.changed = true;
    t.eof = false;
    switch (d.kind) {
      case 'wait':
        if (t.parkedSince === 0) t.parkedSince = now;
        t.nextPoll = now + this.pollMs;
        return false;
      case 'adopt': {
        this.orphans.delete(d.orphan.stream.identity);
        this.tamper.copyFound(d.orphan.stream.identity);
        this.attach(t, d.orphan.stream);
        t.copyShort = true;
        if (h.length < d.orphan.stream.head.length) this.shortCopy(d.orphan.stream, h);
        this.deps.counters.add('source_copies_adopted');
        return true;
      }
      case 'park':
        if (t.parkedSince === 0) {
          t.parkedSince = now;
          this.deps.counters.add('source_files_parked');
        }
        t.parkHead = h;
        t.state = 'parked';
        await this.closeFd(t);
        return false;
      case 'resume': {
        const e = this.checkpointer.get(d.key);
        if (e && !(await this.holdsWhatWasRead(fh, t, e, size))) return this.readAgain(t, d.key, e, h, size, now);
        if (e && (e.dev !== String(t.dev) || e.inode !== String(t.ino))) this.copyResumed(d.key, t, e, st.ctimeNs);
        const head = d.full ? h : h.subarray(0, Math.min(d.offset, h.length));
        const s = this.newStream(t, d.identity, d.full, head, d.offset);
        if (size < d.offset) t.copyShort = true;
        this.attach(t, s);
        s.copyHead = d.copyHead;
        // A short file that grew past the fingerprint length while we were away: re-key its entry.
        if (d.from !== undefined) this.checkpointer.rekey(d.from, d.identity);
        return true;
      }
      case 'new': {
        if (d.own && d.holder && !this.isLive(t.path)) {
          const { rel, holderSize } = await this.comparedWithHolder(t, h, size, st.ctimeNs, d.holder);
          if (rel === 'uncompared') t.uncomparedOf = d.holder.stream?.identity;
          else if (rel === 'fuller') {
            await this.takeOver(t, d.holder, h, now);
            return true;
          } else if (rel !== 'other') {
            // At a rotated name and still what the file being read holds: a copytruncate copy whose
            // truncation is late (logrotate fsyncs the copy before it truncates, and a loaded disk
            // stretches that past any grace), or a plain copy. Read, it would only repeat lines; it
            // stays parked until the truncation hands it the stream. A holder found truncated hands
            // it over now. (At a live path, the same bytes are an old copy put back: read and alerted.)
            // Not compared to the end yet: the next turn goes on (no grace), the other files are read
            // between. A copy still changing ('changing': the comparison starts over) waits a grace
            // like any parked file: going on at once re-read its first step every turn while written.
            // Not compared at all ('later': the fd budget is full, or the holder moved since the scan)
            // waits a grace too.
            t.parkedSince = rel === 'pending' ? now - this.opts.rescanIntervalMs : now;
            t.parkHead = h;
            t.state = 'parked';
            await this.closeFd(t);
            if (rel === 'pending') return true;
            if (rel === 'changing' || rel === 'later' || rel === 'copy') return false;
            await this.truncated(d.holder, holderSize, now);
            return true;
          }
        }
        if (d.own && !d.cut && !this.isLive(t.path) && h.length === FINGERPRINT_BYTES && (await this.resumedCopy(t, fh, h, size, st.ctimeNs))) return true;
        const atEnd = t.initial && this.opts.startAt === 'end';
        const readPos = atEnd ? size : 0;
        let s: Stream;
        if (h.length === FINGERPRINT_BYTES && !d.own) {
          s = this.newStream(t, fingerprint(h), true, h, readPos);
        } else if (d.own) {
          // Same head as a file still being read, and it never became its copy: read it under its own identity.
          // A head shorter than a fingerprint grows as a short file's does, and its checkpoint records it
          // (fixed short, the entry recorded none, and every restart read the file again from 0).
          const whole = h.length === FINGERPRINT_BYTES;
          s = this.newStream(t, provisionalIdentity(t.dev, t.ino, t.btime), whole, whole ? h : NO_BYTES, 0);
          if (!d.cut) {
            this.deps.counters.add('source_duplicate_heads_read');
            // At a live path this is content read before put back (not a rotation copy: those land on rotated names).
            this.tamper.now({ kind: 'replaced', path: t.path, identity: fingerprint(h), sizeAfter: size }, now);
          }
        } else {
          s = this.newStream(t, provisionalIdentity(t.dev, t.ino, t.btime), false, atEnd ? h : Buffer.alloc(0), readPos);
        }
        this.attach(t, s);
        // start_at end skips what the file held at the first start, on purpose: its checkpoint says so now, or a
        // run that read nothing of it left no entry, and the next start (registry there: not a first run) read it from 0.
        if (readPos > 0) this.checkpointer.advance(s.identity, readPos, this.meta(s, s.identity, readPos));
        return true;
      }
    }
  }

  private classify(t: Tracked, h: Buffer, now: number): Decision {
    if (h.length > 0) {
      for (const o of this.orphans.values()) {
        if (o.stream.identity === t.cutFrom) continue; // its own truncated stream: no copy of it
        const oh = o.stream.head;
        if (oh.length === 0) continue;
        if (h.length >= oh.length && startsWith(h, oh)) {
          // A head of a line or two at a live path: another log starting with that line (no copytruncate
          // copy lands on a live name); read under its own identity, as any new file.
          if (oh.length < FINGERPRINT_BYTES && this.isLive(t.path)) continue;
          // An old backup waits: the rotation's own copy may not be classified yet.
          if (this.staleCopy(t, now)) return { kind: 'park' };
          // A stream read only a line or two into: another log starting with that line (its rotated file
          // next to this one) matches as well as the copy. Larger than this log was seen to be, it waits
          // for a copy that fits, and takes the orphan only if none comes (expire).
          if (!this.fits(o, t.size)) return { kind: 'park' };
          // As truncated() hands the stream to the largest parked copy: when both copies were mid-way back from
          // parked at the truncation, the first classified (a smaller backup) took it, and the copy holding it
          // all was then read from 0 (a flaky test under load showed it).
          if (this.largerCopyWaiting(t, o, now)) return { kind: 'park' };
          return { kind: 'adopt', orphan: o };
        }
        // A short copy made when the file was short: all of it is the start of what was read. Unless a
        // backup (unchanged for long), as truncated() decides for a short parked copy: it keeps the alert.
        if (startsWith(oh, h) && h.length === t.size && !this.isLive(t.path)) {
          return this.staleCopy(t, now) ? { kind: 'park' } : { kind: 'adopt', orphan: o };
        }
        if (startsWith(oh, h)) return this.parkOrOwn(t, now);
      }
      if (t.startup && !this.isLive(t.path)) {
        // At start-up a rotated name waits for the live files not classified yet: else a same-head copy listed
        // first takes the live file's checkpoint (or start_at end) and the live file is read again from 0.
        // And, named by no checkpoint entry itself, for the rotated files an entry names (a stream that
        // moved to a copy, takeOver): else a shorter backup listed first, with no entry of its own, was
        // read from 0 before that copy resumed the stream its bytes are the start of.
        const named = this.startupInodes;
        for (const u of this.tracked.values()) {
          if (u === t || !u.startup || u.state !== 'new' || u.stream || u.size === 0) continue;
          if (!this.isLive(u.path) && (named.has(t.key) || !named.has(u.key))) continue;
          const since = t.parkedSince === 0 ? now : t.parkedSince;
          if (now - since < this.opts.rescanIntervalMs) return { kind: 'wait' };
          break;
        }
      }
      // This very inode read before: its own checkpoint, before a file being read with the same first
      // bytes makes it look like a copy (else of two logs with one banner, the one classified second
      // was parked, then read again from 0 with a `replaced` alert, at every restart).
      const mine = this.ownInodeEntry(t, h);
      if (mine) return mine;
      for (const u of this.tracked.values()) {
        if (u === t || !u.stream || u.state === 'parked' || u.state === 'new' || u.stream.identity === t.cutFrom) continue;
        const uh = u.stream.head;
        if (uh.length === 0) continue;
        if (h.length <= uh.length ? startsWith(uh, h) : startsWith(h, uh)) {
          return this.parkOrOwn(t, now, u);
        }
      }
    }
    if (h.length === FINGERPRINT_BYTES) {
      const fp = fingerprint(h);
      // Rewritten in place with the head kept: new content with the old identity, read from 0 under its own.
      // Unless a copy took that stream: then the live path holds content read before (replaced).
      if (fp === t.cutFrom) {
        const taken = [...this.tracked.values()].some((u) => u !== t && u.stream?.identity === fp);
        return { kind: 'new', own: true, cut: !taken };
      }
      // Read under its own identity before (rewritten in place, or a duplicate head): that entry is this inode's, not the fingerprint's.
      const own = this.ownEntry(t, h);
      if (own) return { kind: 'resume', identity: own.id, full: true, offset: own.offset, key: own.id };
      const e = this.checkpointer.get(fp);
      if (e) {
        if (!t.startup && (e.dev !== String(t.dev) || e.inode !== String(t.ino))) {
          this.tamper.now({ kind: 'replaced', path: t.path, identity: fp, offset: e.offset, sizeAfter: t.size }, now);
        }
        return { kind: 'resume', identity: fp, full: true, offset: e.offset, key: fp };
      }
    }
    for (const [id, e] of this.checkpointer.all()) {
      if (!isProvisional(id) || e.headLen === undefined || e.headHash === undefined || id === t.cutFrom) continue;
      // A whole head: a file read under its own identity (ownEntry), no short file.
      if (e.headLen >= FINGERPRINT_BYTES) continue;
      const sameInode = e.dev === String(t.dev) && e.inode === String(t.ino);
      const headMatches = e.headLen <= h.length && headHash(h.subarray(0, e.headLen)) === e.headHash;
      if (sameInode) {
        if (headMatches) return this.resumeProvisional(id, h, e.offset);
        this.staleProvisional.add(id);
        continue;
      }
      if (!headMatches || e.headLen === 0) continue;
      // Another inode starts with the head of a short file read before: a copy made while we were away?
      const holder = this.tracked.get(`${e.dev}:${e.inode}`);
      if (!holder) {
        // Original gone. At a rotated name the same first bytes mean a copy (copytruncate, then the
        // original deleted); at a live path it may be a new file starting with the same banner line:
        // read that from 0 (duplicates are recognisable, a skipped line is not).
        if (this.isLive(t.path)) continue;
        this.deps.counters.add('source_copies_adopted');
        return this.resumeProvisional(id, h, e.offset);
      }
      // At a live path, as with the original gone: another log starting with the same line or two, read from 0.
      const holderCut = this.staleProvisional.has(id) || (holder.stream !== undefined && holder.stream.identity !== id);
      if (holderCut && this.isLive(t.path)) continue;
      if (holderCut) {
        this.staleProvisional.delete(id);
        this.tamper.copyFound(id);
        this.deps.counters.add('source_copies_adopted');
        return this.resumeProvisional(id, h, e.offset);
      }
      if (holder.state === 'new') {
        const since = t.parkedSince === 0 ? now : t.parkedSince;
        if (now - since < this.opts.rescanIntervalMs) return { kind: 'wait' };
        continue;
      }
      return this.parkOrOwn(t, now, holder);
    }
    return { kind: 'new', own: false };
  }

  private resumeProvisional(id: string, h: Buffer, offset: number): Decision {
    if (h.length === FINGERPRINT_BYTES) return { kind: 'resume', identity: fingerprint(h), full: true, offset, key: id, from: id };
    return { kind: 'resume', identity: id, full: false, offset, key: id };
  }

  /**
   * The entry of a stream read under its own identity from this inode with this whole head (after a
   * rewrite in place, or a duplicate head), unless that stream lives on (read, or orphaned) or is
   * the one this inode lost to a truncation.
   */
  private ownEntry(t: Tracked, h: Buffer): { id: string; offset: number } | undefined {
    let hash: string | undefined;
    for (const [id, e] of this.checkpointer.all()) {
      if (!isProvisional(id) || e.headLen !== FINGERPRINT_BYTES || e.dev !== String(t.dev) || e.inode !== String(t.ino)) continue;
      if (id === t.cutFrom || this.orphans.has(id) || [...this.tracked.values()].some((u) => u.stream?.identity === id)) continue;
      hash ??= headHash(h);
      if (e.headHash === hash) return { id, offset: e.offset };
    }
    return undefined;
  }

  /**
   * The checkpoint this inode was read under, its head still the one recorded: a whole head (the
   * fingerprint's entry, or one read under its own identity), or a short file's. Not the stream this
   * inode lost to a truncation, nor one that lives on (read, or orphaned): that is no restart.
   */
  private ownInodeEntry(t: Tracked, h: Buffer): Decision | undefined {
    const taken = (id: string): boolean =>
      id === t.cutFrom || this.orphans.has(id) || [...this.tracked.values()].some((u) => u !== t && u.stream?.identity === id);
    const dev = String(t.dev);
    const ino = String(t.ino);
    if (h.length === FINGERPRINT_BYTES) {
      const fp = fingerprint(h);
      if (fp === t.cutFrom) return undefined;
      const own = this.ownEntry(t, h);
      if (own) return { kind: 'resume', identity: own.id, full: true, offset: own.offset, key: own.id };
      const e = this.checkpointer.get(fp);
      if (e && e.dev === dev && e.inode === ino && !taken(fp)) return { kind: 'resume', identity: fp, full: true, offset: e.offset, key: fp };
    }
    // The short copy an entry's stream moved to (shortCopy): found by its own first bytes, which are
    // shorter than the head read before (the fingerprint's or a short file's), at the inode recorded.
    for (const [id, e] of this.checkpointer.all()) {
      const len = e.copyHeadLen;
      if (typeof len !== 'number' || typeof e.copyHeadHash !== 'string' || e.dev !== dev || e.inode !== ino || taken(id)) continue;
      if (!(len > 0 && len <= h.length) || headHash(h.subarray(0, len)) !== e.copyHeadHash) continue;
      return { kind: 'resume', identity: id, full: !isProvisional(id), offset: e.offset, key: id, copyHead: { len, hash: e.copyHeadHash } };
    }
    // A short file grown past the fingerprint while we were away: the fingerprint's entry, if any (the
    // queue tail may have raised it past this one's offset), is taken below as before.
    if (h.length === FINGERPRINT_BYTES && this.checkpointer.get(fingerprint(h))) return undefined;
    for (const [id, e] of this.checkpointer.all()) {
      if (!isProvisional(id) || e.headLen === undefined || e.headHash === undefined || e.headLen >= FINGERPRINT_BYTES) continue;
      if (e.dev !== dev || e.inode !== ino || taken(id)) continue;
      if (e.headLen <= h.length && headHash(h.subarray(0, e.headLen)) === e.headHash) return this.resumeProvisional(id, h, e.offset);
    }
    return undefined;
  }

  /**
   * Whether the file still holds, before the entry's offset, the bytes read there (the hash of the
   * tail recorded with the checkpoint). An entry without one (older registry) is trusted as before.
   * The inode the entry was read from, at a live path, shorter than the offset lost bytes that were
   * read: rewritten. A file shorter than the tail's end otherwise is a copy made before the end was
   * read (copytruncate): resumed as before.
   */
  private async holdsWhatWasRead(fh: FileHandle, t: Tracked, e: CheckpointEntry, size: number): Promise<boolean> {
    // Whichever inode it is: at a live path no copy is made (copytruncate's lands on a rotated name).
    // Another inode there shorter than the offset is an edited copy put in place (sed -i) or a new file
    // with the same banner (rotated by rename while we were away): resumed, its lines below the old
    // offset were skipped.
    if (e.tailHash !== undefined && this.isLive(t.path) && size < e.offset) return false;
    return (await this.tailState(fh, e, size)) !== 'mismatch';
  }

  /** The entry's tail against the file: 'none' (not recorded), 'short' (the file ends before it), or compared. */
  private async tailState(fh: FileHandle, e: CheckpointEntry, size: number): Promise<'none' | 'short' | 'match' | 'mismatch'> {
    // Not recorded (an older registry), or not as this version writes it (edited by hand): trusted as before.
    if (typeof e.tailEnd !== 'number' || typeof e.tailLen !== 'number' || typeof e.tailHash !== 'string') return 'none';
    if (!(e.tailLen >= 0 && e.tailLen <= TAIL_BYTES && e.tailLen <= e.tailEnd)) return 'none';
    if (size < e.tailEnd) return 'short';
    const bytes = Buffer.allocUnsafe(e.tailLen);
    let got = 0;
    while (got < e.tailLen) {
      const { bytesRead } = await fh.read(bytes, got, e.tailLen - got, e.tailEnd - e.tailLen + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === e.tailLen && headHash(bytes) === e.tailHash ? 'match' : 'mismatch';
  }

  /**
   * A same-head file at a rotated name that is no copy of the file read with that head, but holds
   * what was read under its fingerprint, a stream that lives nowhere now: a copy of content read
   * before (at a restart, next to a live file found rewritten in place with its head kept). It
   * resumes that checkpoint rather than being read again.
   */
  private async resumedCopy(t: Tracked, fh: FileHandle, h: Buffer, size: number, ctimeNs: bigint): Promise<boolean> {
    const fp = fingerprint(h);
    const e = this.checkpointer.get(fp);
    if (!e || fp === t.cutFrom || this.orphans.has(fp) || [...this.tracked.values()].some((u) => u.stream?.identity === fp)) return false;
    if ((await this.tailState(fh, e, size)) !== 'match') return false;
    this.attach(t, this.newStream(t, fp, true, h, e.offset));
    if (size < e.offset) t.copyShort = true;
    this.copyResumed(fp, t, e, ctimeNs);
    return true;
  }

  /**
   * A checkpoint whose file no longer holds what was read before its offset: read from 0 under an
   * identity of its own (no line lost; duplicates of a head kept, as a live rewrite in place). The
   * inode that entry was read from, at a live path, was rewritten in place while we were away: a
   * truncation, alerted as live (unless a copy with that content turns up), or `replaced` when
   * another file already holds that content.
   */
  private readAgain(t: Tracked, key: string, e: CheckpointEntry, h: Buffer, size: number, now: number): boolean {
    this.deps.counters.add('source_checkpoint_mismatches');
    if (e.dev === String(t.dev) && e.inode === String(t.ino) && this.isLive(t.path)) {
      this.deps.counters.add('source_truncations');
      if ([...this.tracked.values()].some((u) => u !== t && u.stream?.identity === key)) {
        this.tamper.now({ kind: 'replaced', path: t.path, identity: key, sizeAfter: size }, now);
      } else {
        this.tamper.truncated({ path: t.path, identity: key, sizeBefore: Math.max(e.size ?? 0, e.offset), sizeAfter: size, offset: e.offset }, now);
        this.cutWhileAway.set(key, t.path);
      }
    } else if (t.startup && this.isLive(t.path) && !isProvisional(key)) {
      // Another inode at a live path with the head read there but not the bytes (sed -i, an editor, a
      // banner log rotated while we were away): what classify raises for it while we run.
      this.tamper.now({ kind: 'replaced', path: t.path, identity: key, offset: e.offset, sizeAfter: size }, now);
    }
    const full = h.length === FINGERPRINT_BYTES;
    this.attach(t, this.newStream(t, provisionalIdentity(t.dev, t.ino, t.btime), full, full ? h : NO_BYTES, 0));
    return true;
  }

  /**
   * Another inode resumed a checkpoint: a copy with that content, which cancels a truncation still in
   * its grace (one saved by the last run: the copy was found only after the restart). A copy of a
   * file found rewritten in place at start-up: that live path holds content read before, as live.
   */
  private copyResumed(key: string, t: Tracked, e: CheckpointEntry, ctimeNs: bigint): void {
    // A truncation the last run saw and did not decide: a file unchanged for long before it (a backup)
    // is no copy of it, as staleCopy decides while running.
    const seen = this.restoredCuts.get(key);
    if (seen !== undefined && Number(ctimeNs / 1_000_000n) < seen - Math.max(STALE_COPY_MS, 10 * this.opts.rescanIntervalMs)) return;
    if (!this.tamper.copyFound(key)) return;
    this.restoredCuts.delete(key);
    const path = this.cutWhileAway.get(key);
    if (path === undefined) return;
    this.cutWhileAway.delete(key);
    this.tamper.now({ kind: 'replaced', path, identity: key, offset: e.offset, sizeAfter: t.size }, this.clock.now());
  }

  /** A parked file that has not changed for long: a backup or snapshot, not a rotation's copy. */
  private staleCopy(p: Tracked, now: number): boolean {
    return now - p.changedAt > Math.max(STALE_COPY_MS, 10 * this.opts.rescanIntervalMs);
  }

  private parkOrOwn(t: Tracked, now: number, holder?: Tracked): Decision {
    const since = t.parkedSince === 0 ? now : t.parkedSince;
    return now - since < this.opts.rescanIntervalMs ? { kind: 'park' } : { kind: 'new', own: true, holder };
  }

  /**
   * A parked file whose grace ran out, against the file being read with the same head: is it still a
   * byte-for-byte copy of what that file holds at the same offsets, or was that file truncated
   * meanwhile (what its next turn would find)? Anything less than every byte is no copy: a file
   * sharing only a head and a tail may hold lines found nowhere else. The whole file is compared
   * once per state of the pair (copy size and mtime, holder), so a parked copy costs a stat a round.
   */
  private async comparedWithHolder(
    t: Tracked,
    h: Buffer,
    size: number,
    ctimeNs: bigint,
    u: Tracked,
  ): Promise<{ rel: 'copy' | 'pending' | 'changing' | 'later' | 'truncated' | 'uncompared' | 'fuller' | 'other'; holderSize: number }> {
    const us = u.stream;
    const fh = t.fh;
    if (!us || !fh || this.tracked.get(u.key) !== u) return { rel: 'other', holderSize: 0 };
    // The fd budget may have closed the holder's descriptor: open it for the comparison only, within
    // the budget. A full budget frees up as files reach EOF: not compared now, tried after a grace.
    // With a budget of 1 (this copy's descriptor) it never can: the copy is read, as any file not
    // found to be a copy (duplicates rather than a file never read).
    let ufh = u.fh;
    let borrowed = false;
    if (!ufh) {
      if (this.openCount >= this.opts.maxOpenFiles && !(await this.evict(t))) {
        return { rel: this.opts.maxOpenFiles < 2 ? 'uncompared' : 'later', holderSize: 0 };
      }
      const b = await this.borrow(u);
      if (b === 'gone') return { rel: 'later', holderSize: 0 };
      if (b === 'failed') return { rel: 'other', holderSize: 0 };
      ufh = b;
      borrowed = true;
    }
    try {
      const holder = ufh;
      // Truncated (what the holder's next turn would find)? Asked again when the bytes differ: logrotate
      // truncates right after its copy, possibly in the middle of this comparison.
      const cut = async (): Promise<{ size: number; cut: boolean }> => {
        const n = (await holder.stat()).size;
        if (n < us.readPos && !u.copyShort) return { size: n, cut: true };
        if (us.head.length === 0) return { size: n, cut: false };
        const hh = await readHead(holder, us.head.length);
        // A holder adopted as a copy made while the file was shorter than the stream's head holds only
        // the start of that head, as serve() takes it: no truncation (taken for one, the short copy was
        // orphaned and read again from 0 when a same-head file was compared with it).
        const shortCopy = u.copyShort && hh.length === n && hh.length < us.head.length && startsWith(us.head, hh);
        return { size: n, cut: !shortCopy && !hh.equals(us.head) };
      };
      const first = await cut();
      const holderSize = first.size;
      if (first.cut) return { rel: 'truncated', holderSize };
      // A holder that is a copy adopted short (it ends before the stream's position, so nothing was read
      // from it), smaller than t: t may be a fuller copy of that stream (the rotation's copy listed after
      // a recent backup took the stream at the truncation, or a restart that gave the backup the
      // checkpoint). Compared over the holder's bytes; t must also hold the bytes read just before the
      // position. Only for a stream whose head is a whole fingerprint, and t's first bytes are that head:
      // another log starting with a shorter head's line or two would match too.
      const fuller = holderSize < size && u.copyShort && holderSize < us.readPos && this.wholeHeadOf(us, h);
      if (holderSize < size && !fuller) return { rel: 'other', holderSize };
      const end = fuller ? holderSize : size;
      // ctime, not mtime: a rewrite keeps the size and may keep the mtime (same ms, cp -p, touch -r); it moves the ctime.
      let known = t.copyOf;
      if (!known || known.holder !== u.key || known.size !== size || known.ctimeNs !== ctimeNs) {
        const restarted = known !== undefined;
        known = t.copyOf = { holder: u.key, size, ctimeNs, at: 0 };
        if (restarted) return { rel: 'changing', holderSize };
      }
      const stop = Math.min(end, known.at + COPY_COMPARE_STEP);
      const mine = Buffer.allocUnsafe(Math.min(Math.max(stop - known.at, 1), COPY_COMPARE_CHUNK));
      const theirs = Buffer.allocUnsafe(mine.length);
      for (let at = known.at; at < stop; at += mine.length) {
        const k = Math.min(mine.length, stop - at);
        const a = (await fh.read(mine, 0, k, at)).bytesRead;
        const b = (await holder.read(theirs, 0, k, at)).bytesRead;
        if (a !== k || b !== k || !mine.subarray(0, k).equals(theirs.subarray(0, k))) {
          t.copyOf = undefined;
          const again = await cut();
          return again.cut ? { rel: 'truncated', holderSize: again.size } : { rel: 'other', holderSize };
        }
      }
      known.at = stop;
      if (stop < end) return { rel: 'pending', holderSize };
      if (!fuller) return { rel: 'copy', holderSize };
      return { rel: (await this.holdsReadTail(fh, us, size)) ? 'fuller' : 'other', holderSize };
    } finally {
      if (borrowed) await this.closeHandle(ufh);
    }
  }

  /**
   * Whether h, a file's first bytes, is the whole head of stream s: s's head, when it holds a whole one,
   * else (a restart that resumed the stream in a copy shorter than its head: s.head is that copy's) the
   * bytes s's fingerprint identity was taken from.
   */
  private wholeHeadOf(s: Stream, h: Buffer): boolean {
    if (h.length !== FINGERPRINT_BYTES) return false;
    if (s.head.length === FINGERPRINT_BYTES) return h.equals(s.head);
    return s.full && !isProvisional(s.identity) && startsWith(h, s.head) && fingerprint(h) === s.identity;
  }

  /**
   * Whether a file (fh, size) holds the bytes the stream read just before its position: from the
   * stream's memory of them, else its checkpoint's tail. A file ending before the position: true (a
   * copy made before the end was read, as holdsWhatWasRead takes it).
   */
  private async holdsReadTail(fh: FileHandle, s: Stream, size: number): Promise<boolean> {
    if (size < s.readPos) return true;
    const tail = s.tailBefore(s.readPos);
    if (!tail) {
      const e = this.checkpointer.get(s.identity);
      return !e || (await this.tailState(fh, e, size)) !== 'mismatch';
    }
    const bytes = Buffer.allocUnsafe(tail.bytes.length);
    let got = 0;
    while (got < bytes.length) {
      const { bytesRead } = await fh.read(bytes, got, bytes.length - got, tail.end - bytes.length + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === bytes.length && bytes.equals(tail.bytes);
  }

  /**
   * t holds all that u, a copy adopted short, holds of u's stream, and more: t goes on with the stream
   * at its position (nothing was read from u), and u becomes a parked copy (of t, from now on). The
   * checkpoint names t now, with t's own first bytes when t too is shorter than the stream's head
   * (shortCopy): it named u, and with u's copy head a restart resumed the stream in u again.
   */
  private async takeOver(t: Tracked, u: Tracked, h: Buffer, now: number): Promise<void> {
    const s = u.stream as Stream;
    u.stream = undefined;
    u.copyShort = false;
    u.copyOf = undefined;
    u.state = 'parked';
    u.parkHead = h.subarray(0, Math.min(h.length, u.size));
    u.parkedSince = now;
    u.changed = true;
    await this.closeFd(u);
    this.attach(t, s);
    t.copyShort = true;
    // A stream resumed in a copy shorter than its head had that copy's bytes for its head: t holds the whole one (wholeHeadOf).
    if (h.length === FINGERPRINT_BYTES && s.head.length < FINGERPRINT_BYTES) s.head = h;
    if (h.length < s.head.length) {
      this.shortCopy(s, h);
    } else {
      const { tail: _tail, ...m } = this.meta(s, s.identity, -1);
      this.checkpointer.updateMeta(s.identity, m);
    }
    this.deps.counters.add('source_copies_adopted');
  }

  /**
   * The holder opened again by its path (counted in the fd budget until closeHandle). 'gone': the
   * path no longer names its inode (rotated or deleted since the scan: normal rotation, the next
   * scan tells where it went). 'failed': a real error (EACCES, EIO…), counted. A throw that is no
   * Error is no file system answer: rethrown (the loop counts it), the descriptor closed first.
   */
  private async borrow(u: Tracked): Promise<FileHandle | 'gone' | 'failed'> {
    let fh: FileHandle;
    try {
      fh = await open(u.path, OPEN_BY_PATH | (this.opts.followSymlinks ? 0 : O_NOFOLLOW));
    } catch (err) {
      return this.borrowFailed(err);
    }
    this.openCount++;
    try {
      return (await this.keepIfSame(fh, u)) ?? 'gone';
    } catch (err) {
      return this.borrowFailed(err);
    }
  }

  private borrowFailed(err: unknown): 'gone' | 'failed' {
    if (!(err instanceof Error)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    // ELOOP: with O_NOFOLLOW the path is a symlink now, so not our inode either.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return 'gone';
    this.deps.counters.add('source_read_errors');
    return 'failed';
  }

  private newStream(t: Tracked, identity: string, full: boolean, head: Buffer, readPos: number): Stream {
    return new Stream(this.opts.inputId, identity, full, head, readPos, t.path, t.dev, t.ino, this.opts, this.deps.counters);
  }

  private attach(t: Tracked, s: Stream): void {
    s.path = t.path;
    s.dev = t.dev;
    s.ino = t.ino;
    t.stream = s;
    s.copyHead = undefined;
    t.state = 'active';
    t.cutFrom = undefined;
    t.headCheckedCtimeMs = -1;
    t.parkHead = undefined;
    t.parkedSince = 0;
  }

  /**
   * A copy shorter than the stream's head took the stream over (copytruncate made it while the log was
   * short, and more was read from the log before the truncation). Its head matches neither the
   * fingerprint nor the head the checkpoint records (read from the original), so the entry moves to
   * the copy now, with the copy's own first bytes: else the next start read the copy again from 0
   * (it holds nothing more to read, so no advance would ever move the entry).
   */
  private shortCopy(s: Stream, copyHead: Buffer): void {
    s.copyHead = { len: copyHead.length, hash: headHash(copyHead) };
    const { tail: _tail, ...m } = this.meta(s, s.identity, -1);
    this.checkpointer.updateMeta(s.identity, m);
  }

  /**
   * A short file reached FINGERPRINT_BYTES: its identity becomes the fingerprint, unless that identity
   * is someone else's (ownHead).
   */
  private upgrade(s: Stream): void {
    const fp = fingerprint(s.head);
    s.full = true;
    for (const u of this.tracked.values()) {
      if (u.stream !== s && u.stream?.identity === fp) {
        this.deps.counters.add('source_identity_conflicts');
        this.ownHead(s);
        return;
      }
    }
    if (this.orphans.has(fp)) {
      this.ownHead(s);
      return;
    }
    if (this.checkpointer.get(fp)) {
      // An entry recorded before under this head (this log before a truncation that kept its first
      // lines, or another file with the same banner) is not this stream's: re-keyed into it, the records
      // went on under an identity whose offsets other lines had (one event.id for two lines), and the
      // entry kept its larger offset, where the next start resumed (the lines up to it lost, or, the
      // file shorter, all of it read again with a second alert).
      this.deps.counters.add('source_identity_conflicts');
      this.ownHead(s);
      return;
    }
    const old = s.identity;
    s.identity = fp;
    this.checkpointer.rekey(old, fp);
  }

  /**
   * A stream whose head became whole keeps its own identity (the fingerprint is another stream's or
   * entry's). Its entry records the whole head now, not at its next advance (a stop before a line is
   * complete): a restart finds it by that head (ownEntry) before the fingerprint's entry, which may
   * name this very inode (its content before a truncation).
   */
  private ownHead(s: Stream): void {
    const { tail: _tail, ...m } = this.meta(s, s.identity, -1);
    this.checkpointer.updateMeta(s.identity, m);
  }

  /**
   * Same inode, fewer bytes or other head bytes: the content we were reading is gone from this file.
   * seen: the size the file was last seen with before the turn that found it (t.size, unless that turn
   * recorded what it found already).
   */
  private async truncated(t: Tracked, sizeAfter: number, now: number, seen = t.size): Promise<void> {
    const s = t.stream as Stream;
    const sizeBefore = Math.max(t.size, s.readPos);
    const orphan: Orphan = { stream: s, since: now, sizeBefore: Math.max(seen, s.readPos) };
    // Whatever it holds now was written after this (an adopted copy rewritten too: a copy merely
    // shorter than the head is no truncation, serve()).
    t.cutFrom = s.identity;
    this.deps.counters.add('source_truncations');
    t.stream = undefined;
    t.state = 'new';
    t.changed = true;
    t.eof = false;
    t.copyShort = false;
    t.headCheckedCtimeMs = -1;
    t.size = sizeAfter;
    // What the file holds from now on is written after start-up: start_at end no longer applies.
    t.initial = false;
    if (s.readPos === 0 || s.head.length === 0) return;
    this.tamper.truncated(
      { path: t.path, identity: s.identity, sizeBefore, sizeAfter, offset: s.readPos },
      now,
    );
    for (const p of this.tracked.values()) {
      // Unless a backup (unchanged for long), as for a parked copy below.
      if (p !== t && p.uncomparedOf === s.identity && !this.staleCopy(p, now)) this.tamper.copyFound(s.identity);
    }
    // Of several parked copies (a backup and a fresh copytruncate copy), the one holding the most, of
    // those that fit (a stream whose head is shorter than a fingerprint: fits).
    const copy = this.parkedCopy(s, now, s.head.length < FINGERPRINT_BYTES ? orphan.sizeBefore : Infinity, false);
    if (copy) {
      this.handOver(copy, s);
      return;
    }
    this.orphans.set(s.identity, orphan);
  }

  /**
   * Of the parked copies of stream s (its first bytes, or all of them its first bytes: copied while the
   * file was short), the largest of at most `bound` bytes. A backup (unchanged for long) is no copy of
   * a truncation: the stream is orphaned, for the rotation's copy a scan may not have classified yet;
   * the backup waits. orBack: also a copy back from parked and not classified again yet (expire).
   */
  private parkedCopy(s: Stream, now: number, bound: number, orBack: boolean): Tracked | undefined {
    let copy: Tracked | undefined;
    for (const p of this.tracked.values()) {
      if (!p.parkHead || p.stream || p.cutFrom === s.identity || p.size > bound) continue;
      // A stream read only a line or two into: a live file starting with it is another log (classify).
      if (s.head.length < FINGERPRINT_BYTES && this.isLive(p.path)) continue;
      if (p.state !== 'parked' && !(orBack && p.state === 'new')) continue;
      const same =
        p.parkHead.length >= s.head.length
          ? startsWith(p.parkHead, s.head)
          : p.parkHead.length === p.size && startsWith(s.head, p.parkHead); // copied while the file was short
      if (same && !this.staleCopy(p, now) && (!copy || p.size > copy.size)) copy = p;
    }
    return copy;
  }

  /** A parked copy of an orphaned or truncated stream goes on with it, at its position. */
  private handOver(copy: Tracked, s: Stream): void {
    this.orphans.delete(s.identity);
    this.tamper.copyFound(s.identity);
    const copyHead = copy.parkHead as Buffer; // attach forgets it
    this.attach(copy, s);
    copy.copyShort = true;
    if (copyHead.length < s.head.length) this.shortCopy(s, copyHead);
    copy.changed = true;
    this.deps.counters.add('source_copies_adopted');
  }

  /**
   * Whether a file of `size` bytes may be orphan o's copy: any, for a stream whose head is a whole
   * fingerprint. A stream read only a line or two into (a quiet log holding its first line) shares that
   * head with any log starting with the same line (a service's "started" line): its copy holds no more
   * than the log was seen to (copytruncate copies what the log holds when it truncates it). Lines
   * written after the last look and before the copy make the copy larger: it gets the orphan at its
   * expiry then, as a copy that does not fit (expire).
   */
  private fits(o: Orphan, size: number): boolean {
    return o.stream.head.length >= FINGERPRINT_BYTES || size <= o.sizeBefore;
  }

  /**
   * Another copy at a rotated name, not classified yet, larger than t, that fits orphan o and starts
   * with its head: it takes the orphan first.
   */
  private largerCopyWaiting(t: Tracked, o: Orphan, now: number): boolean {
    const head = o.stream.head;
    for (const p of this.tracked.values()) {
      if (p === t || p.stream || (p.state !== 'new' && p.state !== 'parked') || p.size <= t.size || this.isLive(p.path)) continue;
      if (!this.fits(o, p.size)) continue;
      if (p.parkHead && p.parkHead.length >= head.length && startsWith(p.parkHead, head) && !this.staleCopy(p, now)) return true;
    }
    return false;
  }

  private async readFailed(t: Tracked, err: unknown, now: number): Promise<boolean> {
    const code = (err as NodeJS.ErrnoException).code;
    this.deps.counters.add('source_read_errors');
    if (code === 'EACCES' || code === 'EPERM') {
      this.markUnreadable(t, now);
      await this.closeFd(t);
      return false;
    }
    await this.turnFailed(t, err, now);
    return false;
  }

  /**
   * A turn of t failed. Counted (source_file_errors); reported with the file's name, at once the
   * first time, then at most once per interval (a rescan interval, doubling up to an hour) with the
   * failures between; retried with backoff (a poll interval, doubling up to a rescan interval).
   * After RELEASE_AFTER_FAILURES failures in a row the descriptor is closed, to be opened again by
   * path at the next try (a stale or broken handle), but only while the path still names the inode:
   * a file deleted or rotated away can only be read through the descriptor it has. The stream, its
   * position and its checkpoint are untouched: the next successful turn goes on where this one
   * stopped.
   */
  private async turnFailed(t: Tracked, err: unknown, now: number): Promise<void> {
    this.deps.counters.add('source_file_errors');
    const tr = (t.trouble ??= { failures: 0, retryAt: 0, reportAt: 0, reportGapMs: 0, unreported: 0 });
    tr.failures++;
    tr.unreported++;
    const maxRetryMs = Math.max(this.opts.rescanIntervalMs, this.pollMs);
    tr.retryAt = now + Math.min(this.pollMs * 2 ** Math.min(tr.failures - 1, 30), maxRetryMs);
    // Tried again even when nothing changes: an idle file whose unread bytes failed waits for no write.
    t.changed = true;
    if (now >= tr.reportAt) {
      const times = tr.unreported > 1 ? ` (failed ${tr.unreported} times since the last report)` : '';
      this.report(new FileError(oneLine(t.path), `${errorLine(err)}${times}; retrying`, undefined, { cause: err }));
      tr.reportGapMs = Math.min(Math.max(2 * tr.reportGapMs, this.opts.rescanIntervalMs), MAX_REPORT_GAP_MS);
      tr.reportAt = now + tr.reportGapMs;
      tr.unreported = 0;
    }
    if (tr.failures >= RELEASE_AFTER_FAILURES && t.fh && t.state !== 'gone') {
      // Opened again by path now, not at the next try: in between, a rotation may take the path away,
      // and with it the only way to the bytes not read yet. A new handle that reads is kept in place
      // of the old; one that fails too is no better (the file fails, not the handle): both closed.
      // The inode is checked on the new handle itself (a path checked first may be renamed before the close).
      const fresh = await this.reopenReading(t);
      if (fresh === 'gone') return;
      if (fresh === undefined && !(await this.pathNames(t))) return;
      await this.closeFd(t);
      if (fresh !== undefined) t.fh = fresh;
      this.deps.counters.add('source_fd_releases_on_error');
    }
  }

  /**
   * A new descriptor on t's inode by its path, within the budget, if a read through it works. 'gone':
   * the path names another inode (or nothing). undefined: none (budget full, open failed, the read
   * failed too). A throw that is no Error is rethrown (as borrow does), the new descriptor closed first:
   * whatever the read throws, it is never kept nor left open.
   */
  private async reopenReading(t: Tracked): Promise<FileHandle | 'gone' | undefined> {
    if (this.openCount >= this.opts.maxOpenFiles && !(await this.evict(t))) return undefined;
    const b = await this.borrow(t);
    if (b === 'gone') return 'gone';
    if (b === 'failed') return undefined;
    try {
      await b.read(Buffer.alloc(1), 0, 1, t.stream?.readPos ?? 0);
      return b;
    } catch (err) {
      await this.closeHandle(b);
      if (!(err instanceof Error)) throw err;
      return undefined;
    }
  }

  /** A turn of t succeeded: the next failure starts a new run of them (its reporting interval goes on). */
  private healthy(t: Tracked): void {
    if (t.trouble) t.trouble.failures = 0;
  }

  /** Whether t's path names t's inode now (so that it can be opened again by path). */
  private async pathNames(t: Tracked): Promise<boolean> {
    // Gone or unreachable (undefined): keep the descriptor, the only way left to its bytes.
    const st = await (this.opts.followSymlinks ? stat : lstat)(t.path, { bigint: true }).catch(() => undefined);
    return st !== undefined && st.dev === t.dev && st.ino === t.ino;
  }

  /** A file's read failing, for the pipeline (or the process's warnings without one, or during a stop, as emitBatch). */
  private report(err: Error): void {
    if (this.deps.error && !this.stopping) this.deps.error('read', err);
    else process.emitWarning(`logward file source ${oneLine(this.opts.inputId)}: ${err.message}`);
  }

  private markUnreadable(t: Tracked, now: number): void {
    t.retryAt = now + this.opts.rescanIntervalMs;
    if (t.unreadable) return;
    t.unreadable = true;
    this.tamper.now({ kind: 'unreadable', path: t.path, identity: t.stream?.identity ?? '', offset: t.stream?.readPos }, now);
  }

  // ---- descriptors --------------------------------------------------------

  private async openFd(t: Tracked): Promise<boolean> {
    if (this.openCount >= this.opts.maxOpenFiles && !(await this.evict())) {
      if (t.state === 'new') this.undecided = true;
      return false;
    }
    let fh: FileHandle;
    try {
      fh = await open(t.path, OPEN_BY_PATH | (this.opts.followSymlinks ? 0 : O_NOFOLLOW));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') this.markUnreadable(t, this.clock.now());
      else this.requestScan();
      return false;
    }
    this.openCount++;
    const same = await this.keepIfSame(fh, t);
    if (!same) {
      // The path now names another inode (rename+create between the scan and this open): the next
      // scan finds our inode under its new name. `changed` stays set so it is opened there: a rotated
      // file keeps its size and mtime, so no later scan or watcher event would ever set it again,
      // and its lines would never be read.
      this.requestScan();
      return false;
    }
    t.fh = same;
    t.unreadable = false;
    return true;
  }

  /**
   * fh, just opened by t's path and counted, if it is t's inode; else closed (and uncounted). An
   * fstat that fails closes it too, and is thrown.
   */
  private async keepIfSame(fh: FileHandle, t: Tracked): Promise<FileHandle | undefined> {
    let same = false;
    try {
      const st = await fh.stat({ bigint: true });
      same = st.dev === t.dev && st.ino === t.ino;
    } finally {
      if (!same) await this.closeHandle(fh);
    }
    return same ? fh : undefined;
  }

  /** Closes the least recently served live file that sits idle at EOF (never `keep`, whose descriptor is in use). */
  private async evict(keep?: Tracked): Promise<boolean> {
    let victim: Tracked | undefined;
    for (const u of this.tracked.values()) {
      if (u === keep || !u.fh || u.changed) continue;
      if (u.state === 'active') {
        if (!u.eof || !u.stream || u.stream.hasPending() || u.stream.batch.length > 0) continue;
      } else if (u.state !== 'new') continue;
      if (!victim || u.lastServed < victim.lastServed) victim = u;
    }
    if (!victim) return false;
    await this.closeFd(victim);
    this.deps.counters.add('source_fd_evictions');
    return true;
  }

  private async closeFd(t: Tracked): Promise<void> {
    const fh = t.fh;
    if (!fh) return;
    t.fh = undefined;
    await this.closeHandle(fh);
  }

  /** Closes a descriptor counted in the budget. */
  private async closeHandle(fh: FileHandle): Promise<void> {
    this.openCount--;
    await fh.close().catch(() => this.deps.counters.add('source_close_errors'));
  }

  /** Lets go of a file that left the globs or was deleted; counts what was never read. */
  private async release(t: Tracked): Promise<void> {
    await this.closeFd(t);
    this.forget(t);
    const s = t.stream;
    if (!s) return;
    const unread = t.size - s.readPos;
    if (unread > 0) this.deps.counters.add('bytes_unread_released', unread);
    s.flushDue(this.clock.now(), 0, true);
    if (s.batch.length > 0) this.flushQueue.push(s);
  }

  private forget(t: Tracked): void {
    if (this.tracked.get(t.key) === t) this.tracked.delete(t.key);
  }

  // ---- emitting -----------------------------------------------------------

  private async flushQueued(): Promise<boolean> {
    if (this.flushQueue.length === 0) return false;
    const q = this.flushQueue;
    this.flushQueue = [];
    for (const s of q) {
      if (s.batch.length > 0 && !(await this.emitBatch(s))) this.flushQueue.push(s);
    }
    return true;
  }

  /** Hands the stream's records downstream; advances the checkpoint only once they are durable. */
  private async emitBatch(s: Stream): Promise<boolean> {
    const batch = s.batch;
    const last = batch[batch.length - 1];
    if (!last) return false;
    try {
      await this.deps.emit(batch);
    } catch (err) {
      this.deps.counters.add('source_emit_errors');
      if (this.deps.error && !this.stopping) this.deps.error('emit', err as Error);
      else process.emitWarning(`logward file source ${this.opts.inputId}: emit failed: ${(err as Error).message}`);
      await this.sleep(this.pollMs);
      return false;
    }
    s.batch = [];
    this.deps.counters.add('source_records', batch.length);
    const identity = last.source.identity;
    const end = last.source.end as number;
    this.checkpointer.advance(identity, end, this.meta(s, identity, end));
    return true;
  }

  private meta(s: Stream, identity: string, end: number): CheckpointMeta {
    const m: CheckpointMeta = { path: s.path, dev: String(s.dev), inode: String(s.ino), size: s.readPos };
    // A short file's head so far, or the whole head of a file read under its own identity (ownEntry).
    if (isProvisional(identity) && !s.full) {
      m.headLen = s.head.length;
      m.headHash = headHash(s.head);
    } else if (isProvisional(identity) && s.head.length === FINGERPRINT_BYTES) {
      m.headLen = FINGERPRINT_BYTES;
      m.headHash = s.wholeHeadHash ??= headHash(s.head);
    }
    if (s.copyHead) {
      m.copyHeadLen = s.copyHead.len;
      m.copyHeadHash = s.copyHead.hash;
    }
    const tail = s.tailBefore(end);
    if (tail) m.tail = tail;
    return m;
  }
}

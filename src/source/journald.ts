/**
 * The journald source: runs `journalctl -o json --follow` and hands each entry
 * on as a RawRecord, with the entry's cursor as its position.
 *
 * Invariants:
 * - A cursor is committed only after `emit` resolved for every record up to
 *   it. journalctl is always (re)started with `--after-cursor=<last emitted>`,
 *   so a restart neither repeats nor skips an entry (after a crash of the
 *   agent, only the last uncommitted batch can come again).
 * - Backpressure: stdout is consumed with `for await`, so nothing is read while
 *   `emit` is pending. The stream buffer and the stdout channel (a Unix socket
 *   pair under Node) fill, journalctl blocks in write(): the journal itself is
 *   the buffer, memory stays bounded.
 * - A JSON line is bounded too (maxJsonLineBytes): a longer one is shipped cut,
 *   the rest of it skipped and counted, instead of growing a buffer without end.
 * - journalctl exiting for any reason other than stop() is logged, counted
 *   (journal_restarts) and answered by a restart after a jittered, doubling
 *   delay that falls back to the minimum once a run made progress. Never a
 *   tight loop; never an exception out of the source once start() returned.
 * - A partial last line from a journalctl that died is dropped: its entry is
 *   after the committed cursor and comes again from the restarted journalctl.
 * - Nothing is dropped silently: a line that is not a journal entry is shipped
 *   as a minimal record carrying the line (journal_lines_invalid).
 *
 * Start position: with a (valid) checkpointed cursor, after it. Without one,
 * `startAt: 'beginning'` reads the whole journal; `'end'` (the default) asks
 * journalctl for the newest matching entry first and follows after its cursor,
 * which it also commits: a restart before the first new entry then does not
 * skip entries written while the agent was down.
 *
 * Traps: `--follow` without `--no-tail` shows only the last 10 entries; without
 * `--all` fields over 4 KiB come out as null. Units and paths are passed as
 * `--unit=<u>` so a value starting with '-' cannot become an option.
 * Journals merged from several files (journal-remote) are ordered by journald,
 * not by us: an entry that journald orders before the cursor is not re-read.
 */

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { RawRecord } from '../event/types.js';
import { FileError, LogwardError } from '../errors.js';
import type { Counters } from '../monitor/counters.js';
import { DEFAULT_MAX_MESSAGE_BYTES, journalIdentity, journalRecordToRaw } from './journal-record.js';

export { journalRecordToRaw, journalIdentity } from './journal-record.js';

const execFileP = promisify(execFile);

export type JournalStartAt = 'beginning' | 'end';

export interface JournaldSourceOptions {
  /** inputs[].id */
  readonly inputId: string;
  /** Units to follow (journalctl --unit, OR-ed); empty: everything. */
  readonly units: readonly string[];
  /** Read the journal files in this directory instead of the system journal. */
  readonly directory?: string;
  /** The checkpointed cursor; entries after it are read. */
  readonly cursor?: string;
  /** Where to begin when there is no cursor. Default 'end'. */
  readonly startAt?: JournalStartAt;
  /** Default: journalctl from PATH, /usr/bin, /bin. */
  readonly journalctlPath?: string;
  /** processing.max_line_bytes: MESSAGE bytes beyond it are cut. Default 64 KiB. */
  readonly maxMessageBytes?: number;
  /** A JSON line longer than this is cut and the rest skipped. Default 16 MiB. */
  readonly maxJsonLineBytes?: number;
  /** At most this many records per emit() call. Default 512. */
  readonly maxBatchRecords?: number;
  /** Delay before restarting journalctl: doubles per failed run, from min to max. Default 500 ms .. 60 s. */
  readonly restartDelay?: { readonly minMs: number; readonly maxMs: number };
}

export interface JournaldSourceDeps {
  /** Hands a batch downstream; resolves when it was accepted. A rejection restarts from the last committed cursor. */
  readonly emit: (batch: RawRecord[]) => Promise<void>;
  /** Records the cursor of the last entry handed on. */
  readonly commitCursor: (cursor: string) => Promise<void> | void;
  readonly counters: Counters;
  readonly log?: (msg: string, ctx?: object) => void;
}

/** journalctl cannot be run: missing, not executable. Raised by start(). */
export class JournalctlMissingError extends LogwardError {
  override readonly name = 'JournalctlMissingError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`journalctl (${path}): ${problem}; the journald input needs it (Debian package: systemd)`);
  }
}

// s=<seqnum id>;i=<seqnum>;b=<boot id>;m=<monotonic>;t=<realtime>;x=<xor hash>
const CURSOR = /^s=[0-9a-f]{32};i=[0-9a-f]+;b=[0-9a-f]{32};m=[0-9a-f]+;t=[0-9a-f]+;x=[0-9a-f]+$/;

/** True when s has the shape of a journal cursor (a corrupt checkpoint would make journalctl fail forever). */
export function isJournalCursor(s: string): boolean {
  return CURSOR.test(s);
}

/** Arguments for following the journal: after `cursor` when given, else from the beginning. */
export function journalctlFollowArgs(o: {
  readonly units: readonly string[];
  readonly directory?: string;
  readonly cursor?: string;
}): string[] {
  const args = ['--output=json', '--all', '--follow', '--no-pager', '--quiet', '--no-tail'];
  if (o.directory !== undefined) args.push(`--directory=${o.directory}`);
  if (o.cursor !== undefined) args.push(`--after-cursor=${o.cursor}`);
  for (const u of o.units) args.push(`--unit=${u}`);
  return args;
}

/** Arguments that print the newest matching entry (the 'end' start position). */
export function journalctlTailArgs(o: { readonly units: readonly string[]; readonly directory?: string }): string[] {
  const args = ['--output=json', '--all', '--no-pager', '--quiet', '--lines=1'];
  if (o.directory !== undefined) args.push(`--directory=${o.directory}`);
  for (const u of o.units) args.push(`--unit=${u}`);
  return args;
}

/** Finds an executable journalctl or throws JournalctlMissingError. */
export function resolveJournalctl(explicit?: string): string {
  const candidates =
    explicit !== undefined
      ? [explicit]
      : [...(process.env['PATH'] ?? '').split(delimiter).filter(isAbsolute), '/usr/bin', '/bin'].map((d) =>
          join(d, 'journalctl'),
        );
  let last = 'not found in PATH, /usr/bin or /bin';
  for (const c of candidates) {
    try {
      accessSync(c, fsConstants.X_OK);
      if (statSync(c).isFile()) return c;
      last = 'not a file';
    } catch (e) {
      last = errorText(e);
    }
  }
  throw new JournalctlMissingError(explicit ?? 'journalctl', last);
}

const LOG_FIRST_INVALID = 5;

interface RunOutcome {
  /** Records were handed on (or the start position found) during the run: the next delay starts at the minimum. */
  readonly progressed: boolean;
  readonly reason: string;
}

/** Follows one journald input. One start()/stop() cycle per instance. */
export class JournaldSource {
  private readonly opts: JournaldSourceOptions;
  private readonly deps: JournaldSourceDeps;
  private readonly maxMessageBytes: number;
  private readonly maxJsonLineBytes: number;
  private readonly maxBatch: number;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private journalctl = '';
  /** Cursor of the last entry handed on; journalctl restarts after it. */
  private cursor: string | undefined;
  /** True once the start position is known (a cursor, or 'beginning'). */
  private positioned = false;
  private child: ChildProcess | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly abort = new AbortController();
  private lastMachineId: string | undefined;
  // Line assembly across stdout chunks.
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skippingLine = false;

  constructor(opts: JournaldSourceOptions, deps: JournaldSourceDeps) {
    this.opts = opts;
    this.deps = deps;
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxJsonLineBytes = Math.max(opts.maxJsonLineBytes ?? 16 * 1024 * 1024, this.maxMessageBytes);
    this.maxBatch = Math.max(1, opts.maxBatchRecords ?? 512);
    this.minDelay = Math.max(1, opts.restartDelay?.minMs ?? 500);
    this.maxDelay = Math.max(this.minDelay, opts.restartDelay?.maxMs ?? 60_000);
    if (opts.cursor !== undefined) {
      if (isJournalCursor(opts.cursor)) {
        this.cursor = opts.cursor;
        this.positioned = true;
      } else {
        deps.counters.add('journal_cursor_invalid');
        this.log('checkpointed journal cursor is malformed; ignoring it', {
          input: opts.inputId,
          cursor: opts.cursor.slice(0, 200),
          startAt: opts.startAt ?? 'end',
        });
      }
    }
    if (!this.positioned && opts.startAt === 'beginning') this.positioned = true;
  }

  /** Process id of the running journalctl (status, tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Checks journalctl and the directory (typed errors), then follows the journal in the background. */
  async start(): Promise<void> {
    if (this.loop !== undefined) return;
    this.journalctl = resolveJournalctl(this.opts.journalctlPath);
    const dir = this.opts.directory;
    if (dir !== undefined) {
      let isDir: boolean;
      try {
        isDir = statSync(dir).isDirectory();
      } catch (e) {
        throw new FileError(dir, `journal directory is not readable: ${errorText(e)}`, undefined, { cause: e });
      }
      if (!isDir) throw new FileError(dir, 'journal directory is not a directory');
    }
    this.loop = this.runLoop();
  }

  /** Stops journalctl. Waits for an emit in flight (and its commit) to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    this.killChild();
    await this.loop;
    this.loop = undefined;
  }

  private async runLoop(): Promise<void> {
    // Failed runs in a row: the delay doubles with each, and resets after a run that made progress.
    let streak = 0;
    while (!this.stopping) {
      let outcome: RunOutcome;
      try {
        outcome = await this.runOnce();
      } catch (e) {
        // runOnce handles what it expects; this is the backstop that keeps the agent alive.
        outcome = { progressed: false, reason: `unexpected error: ${errorText(e)}` };
      }
      if (this.stopping) break;
      this.deps.counters.add('journal_restarts');
      if (outcome.progressed) streak = 0;
      const delay = Math.min(this.maxDelay, this.minDelay * 2 ** Math.min(streak, 30));
      streak++;
      // Jitter in [delay/2, delay]: instances restarted together do not hammer together.
      const wait = Math.round(delay / 2 + (Math.random() * delay) / 2);
      this.log('journalctl stopped; restarting', {
        input: this.opts.inputId,
        reason: outcome.reason,
        delayMs: wait,
        cursor: this.cursor,
      });
      try {
        await sleep(wait, undefined, { signal: this.abort.signal });
      } catch (e) {
        // Only stop() aborts the wait.
        if (!this.stopping) this.log('restart wait interrupted', { input: this.opts.inputId, error: errorText(e) });
      }
    }
  }

  private async runOnce(): Promise<RunOutcome> {
    let progressed = false;
    if (!this.positioned) {
      const tail = await this.findTail();
      if (typeof tail === 'object') return { progressed: false, reason: tail.error };
      this.positioned = true;
      progressed = true;
      if (tail !== undefined) {
        this.cursor = tail;
        await this.commit(tail);
      }
      if (this.stopping) return { progressed, reason: 'stopped' };
    }

    const args = journalctlFollowArgs({ units: this.opts.units, directory: this.opts.directory, cursor: this.cursor });
    const child = spawn(this.journalctl, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '', PAGER: 'cat' },
    });
    this.child = child;
    const exited = new Promise<string>((resolve) => {
      child.once('error', (e) => resolve(`could not run ${this.journalctl}: ${errorText(e)}`));
      child.once('close', (code, signal) => resolve(signal !== null ? `killed by ${signal}` : `exited with ${code}`));
    });
    let lastStderr = '';
    const stderr = createInterface({ input: child.stderr!, crlfDelay: Infinity });
    stderr.on('line', (line) => {
      lastStderr = line.slice(0, 500);
      this.deps.counters.add('journal_stderr_lines');
      this.log('journalctl: ' + lastStderr, { input: this.opts.inputId });
    });
    this.resetLines();

    let failure: string | undefined;
    try {
      for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
        if (this.stopping) break;
        const records: RawRecord[] = [];
        this.splitLines(chunk, records);
        for (let i = 0; i < records.length && failure === undefined && !this.stopping; i += this.maxBatch) {
          failure = await this.handOn(records.slice(i, i + this.maxBatch));
          if (failure === undefined) progressed = true;
        }
        if (failure !== undefined || this.stopping) break;
      }
    } catch (e) {
      failure = `reading journalctl output failed: ${errorText(e)}`;
    }
    if (this.pendingBytes > 0) this.deps.counters.add('journal_partial_lines_dropped');
    this.resetLines();
    this.killChild();
    const how = await exited;
    this.child = undefined;
    return { progressed, reason: failure ?? how + (lastStderr ? `: ${lastStderr}` : '') };
  }

  /** Emits one batch and commits its last cursor. Returns a reason when the batch was not accepted. */
  private async handOn(batch: RawRecord[]): Promise<string | undefined> {
    try {
      await this.deps.emit(batch);
    } catch (e) {
      this.deps.counters.add('journal_emit_errors');
      return `emit failed: ${errorText(e)}`;
    }
    for (let i = batch.length - 1; i >= 0; i--) {
      const c = batch[i]?.source.cursor;
      if (c !== undefined) {
        this.cursor = c;
        await this.commit(c);
        break;
      }
    }
    return undefined;
  }

  private async commit(cursor: string): Promise<void> {
    try {
      await this.deps.commitCursor(cursor);
    } catch (e) {
      // The records were handed on: re-reading them would duplicate. Resume from memory.
      this.deps.counters.add('journal_commit_errors');
      this.log('committing the journal cursor failed', { input: this.opts.inputId, error: errorText(e) });
    }
  }

  /** Cursor of the newest matching entry, undefined for an empty journal, or { error }. */
  private async findTail(): Promise<string | undefined | { error: string }> {
    try {
      const { stdout } = await execFileP(
        this.journalctl,
        journalctlTailArgs({ units: this.opts.units, directory: this.opts.directory }),
        { maxBuffer: this.maxJsonLineBytes + 1024 * 1024, timeout: 60_000, signal: this.abort.signal },
      );
      const line = stdout.split('\n', 1)[0] ?? '';
      if (line.trim() === '') return undefined;
      const obj: unknown = JSON.parse(line);
      const c = isObject(obj) ? obj['__CURSOR'] : undefined;
      return typeof c === 'string' && c !== '' ? c : { error: 'journalctl printed an entry without __CURSOR' };
    } catch (e) {
      return { error: `finding the end of the journal failed: ${errorText(e)}` };
    }
  }

  private resetLines(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.skippingLine = false;
  }

  /** Splits a stdout chunk on LF into records; keeps a partial last line for the next chunk. */
  private splitLines(chunk: Buffer, out: RawRecord[]): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      if (this.skippingLine) {
        this.skippingLine = false;
      } else if (this.pendingBytes > 0) {
        this.pending.push(chunk.subarray(start, nl));
        const line = Buffer.concat(this.pending);
        this.pending = [];
        this.pendingBytes = 0;
        this.handleLine(line, out);
      } else {
        this.handleLine(chunk.subarray(start, nl), out);
      }
      start = nl + 1;
    }
    if (start >= chunk.length || this.skippingLine) return;
    const rest = chunk.subarray(start);
    if (this.pendingBytes + rest.length <= this.maxJsonLineBytes) {
      this.pending.push(rest);
      this.pendingBytes += rest.length;
      return;
    }
    // Oversized line: ship its head cut, skip the rest up to the next LF.
    this.pending.push(rest);
    const head = Buffer.concat(this.pending);
    this.resetLines();
    this.skippingLine = true;
    this.deps.counters.add('journal_lines_oversized');
    const cursor = /"__CURSOR":"([^"\\]{1,512})"/.exec(head.toString('latin1', 0, Math.min(head.length, 1 << 20)))?.[1];
    this.log('journal entry longer than the JSON line limit; shipped cut', {
      input: this.opts.inputId,
      limit: this.maxJsonLineBytes,
      cursor,
    });
    out.push(this.minimal(head, 'journal line over the size limit', true, cursor));
  }

  private handleLine(line: Buffer, out: RawRecord[]): void {
    if (line.length === 0) return;
    this.deps.counters.add('journal_records_read');
    let reason = 'not a JSON object';
    // Cheap pre-check: journalctl prints objects only, so anything else is not worth a JSON.parse.
    if (line[0] === 0x7b /* { */) {
      let obj: unknown;
      try {
        obj = JSON.parse(line.toString('utf8'));
      } catch (e) {
        // V8's message quotes the input ("Unexpected token … in JSON"): journal content must not reach
        // the agent's own log. The line itself is shipped (neutralized and redacted) as a minimal record.
        if (!(e instanceof SyntaxError)) throw e;
        reason = 'not JSON';
      }
      if (isObject(obj)) {
        const r = journalRecordToRaw(obj, this.opts.inputId, { maxMessageBytes: this.maxMessageBytes });
        if (!('error' in r)) {
          if (r.truncated === true) this.deps.counters.add('journal_messages_truncated');
          const mid = r.fields?.['host.id'];
          if (typeof mid === 'string') this.lastMachineId = mid;
          out.push(r);
          return;
        }
        reason = r.error;
      }
    }
    const n = this.deps.counters.get('journal_lines_invalid') + 1;
    this.deps.counters.add('journal_lines_invalid');
    if (n <= LOG_FIRST_INVALID || n % 1000 === 0) {
      this.log('journalctl printed a line that is not a journal entry; shipped as is', {
        input: this.opts.inputId,
        reason,
        count: n,
      });
    }
    out.push(this.minimal(line, reason, false));
  }

  /** A record carrying a line that is not a journal entry: nothing is dropped. */
  private minimal(line: Buffer, reason: string, cutAlready: boolean, cursor?: string): RawRecord {
    const cut = cutAlready || line.length > this.maxMessageBytes;
    // A copy: the line may be a view into a stdout chunk.
    const bytes = Buffer.from(line.subarray(0, this.maxMessageBytes));
    const source = {
      input: this.opts.inputId,
      identity: journalIdentity(this.lastMachineId),
      ...(cursor !== undefined && isJournalCursor(cursor) ? { cursor } : {}),
    };
    return cut
      ? { bytes, source, truncated: true, fields: { 'journald.error': reason } }
      : { bytes, source, fields: { 'journald.error': reason } };
  }

  private killChild(): void {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    // journalctl blocked on a full pipe still gets SIGTERM; SIGKILL is the backstop.
    const t = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, 2000);
    t.unref();
    child.once('close', () => clearTimeout(t));
  }

  private log(msg: string, ctx?: object): void {
    this.deps.log?.(msg, ctx);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

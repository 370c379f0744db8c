/**
 * The checkpointer: a small versioned registry, per input, of
 * identity -> { offset, path, dev, inode, size, lastSeen, head… }.
 *
 * Commit protocol (see docs/source.md):
 *  - `advance(identity, end)` is called only after `emit(batch)` resolved, i.e.
 *    after downstream made the batch durable; offsets only move forward;
 *  - the registry is written at most every flushIntervalMs and on stop():
 *    write a temp file, fsync it, rename it over the registry, fsync the
 *    directory (without the directory fsync the rename may not survive power
 *    loss). A crash loses at most the advances since the last flush; the lead
 *    raises them again from the queue tail with `recover(identity, end)`;
 *  - entries not seen for expiryMs are dropped at the next flush;
 *  - an entry also records a hash of the bytes just before its offset
 *    (tailEnd, tailLen, tailHash): a restart that finds other bytes there
 *    knows the file was rewritten in place, even when its head (the
 *    identity) was kept. The bytes come from the reader's memory (advance's
 *    meta.tail) and are hashed when the registry is written, never read
 *    again from the file. Entries written without them (older registries, a
 *    position no bytes are remembered for) resume as before;
 *  - tamper suspicions still in their grace are saved with the registry
 *    (`suspicions`), so that a stop or a crash does not drop them, and so are
 *    alerts raised and not stored yet (`decided`);
 *  - an entry whose stream a copytruncate copy shorter than the stream's head
 *    took over (the copy made while the log was short, before more was read
 *    of it) names that copy and records its own first bytes (copyHeadLen,
 *    copyHeadHash): they match neither the fingerprint nor the head read from
 *    the original, and without them the copy was read again from 0 at the
 *    next start.
 * On-disk layout: <stateDir>/checkpoints/<input>.json, directory 0700, file
 * 0600 (journal cursors are in <stateDir>/checkpoints/journal/: cursor-store.ts).
 * A new format adds a version; unknown versions are refused, not overwritten. Fields added since version 1 are optional and ignored by an
 * older agent (tail*, suspicions, copyHead*): the version stays 1.
 */
import { chmod, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { FileError } from '../errors.js';
import { mkdirDurable, nodeFs } from '../queue/fs.js';
import { writeFileAtomic } from '../state/atomic-file.js';
import { legacyCursorOf, moveLegacyCursor } from './cursor-store.js';
import { headHash } from './identity.js';
import type { Suspicion, TamperAlert, UncheckedReason } from './tamper.js';

export const CHECKPOINT_VERSION = 1;

export interface CheckpointEntry {
  /** Byte offset up to which records are durable downstream (the next byte to read). */
  offset: number;
  path: string;
  /** dev and inode as decimal strings: 64-bit inode numbers exceed a JS number. */
  dev: string;
  inode: string;
  size?: number;
  /** Epoch ms when the file was last seen by a scan or read. */
  lastSeen: number;
  /** Provisional identities only: how many head bytes were seen, and their hash. */
  headLen?: number;
  headHash?: string;
  /** The tailLen bytes before tailEnd (<= offset; the offset itself when known) hash to tailHash. */
  tailEnd?: number;
  tailLen?: number;
  tailHash?: string;
  /**
   * The file at dev/inode is a copy shorter than the stream's head (adopted by copytruncate): its first
   * copyHeadLen bytes hash to copyHeadHash. A restart finds the copy by them.
   */
  copyHeadLen?: number;
  copyHeadHash?: string;
}

/** Bytes read just before `end`, as the reader still holds them. */
export interface CheckpointTail {
  readonly end: number;
  readonly bytes: Buffer;
}

export interface CheckpointMeta {
  path: string;
  dev: string;
  inode: string;
  size?: number;
  headLen?: number;
  headHash?: string;
  /** The file is a copy shorter than the stream's head: its own head (CheckpointEntry.copyHeadLen). */
  copyHeadLen?: number;
  copyHeadHash?: string;
  /** Absent: the entry keeps the tail it had (an earlier position, still before the offset). */
  tail?: CheckpointTail;
}

interface RegistryFileV1 {
  version: 1;
  input: string;
  written: string;
  entries: Record<string, CheckpointEntry>;
  /** Optional: absent when there is none. */
  suspicions?: Suspicion[];
}

export interface CheckpointerOptions {
  stateDir: string;
  inputId: string;
  expiryMs: number;
  flushIntervalMs?: number;
  now?: () => number;
}

export class Checkpointer {
  private readonly entries = new Map<string, CheckpointEntry>();
  /** Tails given since the last write, hashed by the write (advance runs per batch, the write at most every flushIntervalMs). */
  private readonly tails = new Map<string, CheckpointTail>();
  private saved: Suspicion[] = [];
  private savedJson = '[]';
  private readonly dir: string;
  readonly file: string;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: CheckpointerOptions) {
    this.dir = join(opts.stateDir, 'checkpoints');
    this.file = join(this.dir, `${encodeURIComponent(opts.inputId)}.json`);
    this.now = opts.now ?? Date.now;
  }

  /**
   * Reads the registry. Returns false when none existed (the input's first run). A journal cursor an
   * older version saved under this name (a journald input named as this one less `.cursor`: the two
   * names were the same) is no registry of this input: it is moved where this version keeps cursors
   * (cursor-store.ts) before this registry can be written over it, and this input has its first run.
   */
  async load(): Promise<boolean> {
    const read = await readRegistryJson(this.file);
    if (read === undefined) return false;
    if ('notJson' in read) {
      throw new FileError(this.file, `checkpoint registry is not JSON: ${read.notJson.message}`, undefined, { cause: read.notJson });
    }
    const reg = registryOf(read.json);
    if (!reg) {
      const cursor = legacyCursorOf(this.opts.stateDir, this.file, read.json);
      if (cursor) {
        await moveLegacyCursor(this.opts.stateDir, cursor);
        return false;
      }
      throw new FileError(this.file, `unsupported checkpoint registry version ${String((read.json as Partial<RegistryFileV1> | null)?.version)}`);
    }
    this.entries.clear();
    this.tails.clear();
    for (const [id, e] of Object.entries(reg.entries ?? {})) {
      if (typeof e?.offset === 'number' && e.offset >= 0) this.entries.set(id, { ...e });
    }
    this.saved = Array.isArray(reg.suspicions) ? reg.suspicions.filter(isSuspicion) : [];
    this.savedJson = JSON.stringify(this.saved);
    return true;
  }

  /** Tamper suspicions saved by the last run (load()). */
  get suspicions(): readonly Suspicion[] {
    return this.saved;
  }

  /** The suspicions to save with the registry (written at the next flush when they changed). */
  setSuspicions(list: readonly Suspicion[]): void {
    const json = JSON.stringify(list);
    if (json === this.savedJson) return;
    this.saved = [...list];
    this.savedJson = json;
    this.dirty = true;
  }

  /** Starts the periodic flush. */
  start(): void {
    const every = this.opts.flushIntervalMs ?? 1000;
    this.timer = setInterval(() => {
      void this.flush().catch(() => {
        // Retried at the next tick; a persistent failure surfaces at stop().
        this.dirty = true;
      });
    }, every);
    this.timer.unref();
  }

  /**
   * Writes the registry now if it changed (a decided suspicion: the sooner it leaves the registry, the
   * shorter the window in which a crash makes the next start raise it again). Only while started: a
   * stopped checkpointer's file may belong to its successor already (a reload).
   */
  flushSoon(): void {
    if (this.timer === undefined) return;
    void this.flush().catch(() => {
      // As a periodic write that failed: retried at the next tick.
      this.dirty = true;
    });
  }

  /** Stops the timer and writes the registry one last time. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.flushing) await this.flushing.catch(() => undefined);
    this.dirty = true;
    await this.flush();
  }

  /** Stops without writing (what a crash leaves behind; tests use it). */
  async abandon(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.flushing) await this.flushing.catch(() => undefined);
  }

  get(identity: string): CheckpointEntry | undefined {
    return this.entries.get(identity);
  }

  all(): IterableIterator<[string, CheckpointEntry]> {
    return this.entries.entries();
  }

  /** Records that everything before `offset` is durable downstream. Never moves back. */
  advance(identity: string, offset: number, meta: CheckpointMeta): void {
    const e = this.entries.get(identity);
    const now = this.now();
    if (e) {
      if (offset > e.offset) e.offset = offset;
      e.path = meta.path;
      e.dev = meta.dev;
      e.inode = meta.inode;
      e.size = meta.size;
      e.lastSeen = now;
      e.headLen = meta.headLen;
      e.headHash = meta.headHash;
      e.copyHeadLen = meta.copyHeadLen;
      e.copyHeadHash = meta.copyHeadHash;
    } else {
      const { tail: _tail, ...rest } = meta;
      this.entries.set(identity, { offset, ...rest, lastSeen: now });
    }
    const entry = this.entries.get(identity) as CheckpointEntry;
    if (meta.tail && meta.tail.end <= entry.offset) {
      // Fewer bytes than recorded (the reader resumed lately and holds little yet) would check less:
      // the longer tail of an earlier offset stays until the reader holds as many.
      const had = this.tails.get(identity)?.bytes.length ?? entry.tailLen ?? 0;
      if (meta.tail.bytes.length >= had || meta.tail.bytes.length === meta.tail.end) this.tails.set(identity, meta.tail);
    }
    this.dirty = true;
  }

  /**
   * What an entry says of its file changed while its offset did not (a copy took the stream over, or
   * the stream's head became whole): the entry says it now, not at the next advance (a short copy
   * holds nothing more to read; a stop may come before the next line is complete). No entry (nothing
   * emitted yet): nothing to update, the next start reads the file from 0.
   */
  updateMeta(identity: string, meta: Omit<CheckpointMeta, 'tail'>): void {
    const e = this.entries.get(identity);
    if (e) this.advance(identity, e.offset, meta);
  }

  /** Raises an identity's offset from what the queue tail says was durable (takes the max). */
  recover(identity: string, end: number): void {
    const e = this.entries.get(identity);
    if (e) {
      if (end > e.offset) {
        e.offset = end;
        this.dirty = true;
      }
      return;
    }
    this.entries.set(identity, { offset: end, path: '', dev: '', inode: '', lastSeen: this.now() });
    this.dirty = true;
  }

  /** Moves an entry to a new key (a short file's provisional identity upgraded to its fingerprint). */
  rekey(from: string, to: string): void {
    const e = this.entries.get(from);
    if (!e) return;
    this.entries.delete(from);
    const tail = this.tails.get(from);
    this.tails.delete(from);
    const existing = this.entries.get(to);
    if (!existing || existing.offset < e.offset) {
      this.entries.set(to, { ...e, headLen: undefined, headHash: undefined });
      if (tail) this.tails.set(to, tail);
      else this.tails.delete(to);
    }
    this.dirty = true;
  }

  /** Marks an identity as still present, so it does not expire. */
  touch(identity: string): void {
    const e = this.entries.get(identity);
    if (e) e.lastSeen = this.now();
  }

  delete(identity: string): void {
    this.tails.delete(identity);
    if (this.entries.delete(identity)) this.dirty = true;
  }

  /** Writes the registry if it changed (temp, fsync, rename, fsync dir). */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (!this.dirty) return;
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  private async write(): Promise<void> {
    this.dirty = false;
    const now = this.now();
    for (const [id, t] of this.tails) {
      const e = this.entries.get(id);
      if (!e) continue;
      e.tailEnd = t.end;
      e.tailLen = t.bytes.length;
      e.tailHash = headHash(t.bytes);
    }
    this.tails.clear();
    const entries: Record<string, CheckpointEntry> = {};
    for (const [id, e] of this.entries) {
      if (now - e.lastSeen > this.opts.expiryMs) {
        this.entries.delete(id);
        continue;
      }
      entries[id] = e;
    }
    const body: RegistryFileV1 = { version: 1, input: this.opts.inputId, written: new Date(now).toISOString(), entries };
    if (this.saved.length > 0) body.suspicions = this.saved;
    // Now, not after the awaits: the entries are the objects advance() goes on updating, and the
    // suspicions were taken above (an entry moved to a copy's inode next to the truncation that copy
    // explained is a state that never was; the next start would alert it).
    const text = JSON.stringify(body);
    await ensureDir(this.opts.stateDir);
    await ensureDir(this.dir);
    try {
      await writeFileAtomic(this.file, text);
    } catch (err) {
      this.dirty = true;
      throw new FileError(this.file, `cannot write checkpoints: ${(err as Error).message}`, undefined, { cause: err });
    }
  }
}

/** Kinds a suspicion waits with (a grace, then a decision). */
const KINDS: ReadonlySet<TamperAlert['kind']> = new Set(['truncated', 'deleted']);
/** Saved with a decided suspicion raised unchecked (TamperWatch.restore), so that it is raised again as it was. */
const UNCHECKED: ReadonlySet<unknown> = new Set<UncheckedReason>(['not_covered', 'input_removed']);

/** Kinds raised at once (no grace): saved only as decided, raised and not stored yet (TamperWatch.now). */
const DECIDED_KINDS: ReadonlySet<TamperAlert['kind']> = new Set(['replaced', 'unreadable']);

/**
 * A saved suspicion as this version can decide it (anything else is dropped: a registry is no place to
 * fail a start over). An older version drops the decided `replaced` and `unreadable` ones this way too.
 */
function isSuspicion(x: unknown): x is Suspicion {
  const s = x as Partial<Suspicion> | null;
  const a = s?.alert as Partial<TamperAlert> | undefined;
  return (
    typeof s?.deadline === 'number' &&
    typeof a?.path === 'string' &&
    typeof a.identity === 'string' &&
    a.kind !== undefined &&
    (KINDS.has(a.kind) || (DECIDED_KINDS.has(a.kind) && s.decided === true)) &&
    (a.unchecked === undefined || UNCHECKED.has(a.unchecked)) &&
    [a.sizeBefore, a.sizeAfter, a.offset].every((n) => n === undefined || typeof n === 'number')
  );
}

/** Saved suspicions of an input that is no longer configured (strandedSuspicions). */
export interface StrandedSuspicions {
  readonly input: string;
  readonly file: string;
  /**
   * Marked `unchecked: 'input_removed'`: no source will decide them. Not those the last run decided
   * (raised, not stored before it stopped): raised again as they were, as TamperWatch.restore does.
   */
  readonly alerts: readonly TamperAlert[];
  /** Removes the suspicions from the registry, its entries kept (the input added again resumes them). Call once the alerts are durable. */
  clear(): Promise<void>;
}

/**
 * The tamper suspicions saved in the registries of file inputs that are not configured any more
 * (removed, renamed, or now of another type), which no source loads, so that they are reported rather
 * than lost: a truncation or a deletion seen by the last run, that run stopped before deciding it (or
 * an alert it raised and the pipeline did not store). `fileInputs`: the ids of the file inputs
 * configured now. Registries of other versions, journal cursors of older versions
 * (`<input>.cursor.json`; this version's are in the `journal` directory, never listed here) and files
 * that are no registry are left alone. `unreadable`: told of a file that cannot be read, and
 * the others are still listed (without it, that error is thrown).
 */
export async function strandedSuspicions(stateDir: string, fileInputs: ReadonlySet<string>, unreadable?: (err: FileError) => void): Promise<StrandedSuspicions[]> {
  const dir = join(stateDir, 'checkpoints');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new FileError(dir, `cannot list checkpoints: ${(err as Error).message}`, undefined, { cause: err });
  }
  const out: StrandedSuspicions[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.json')) continue;
    const file = join(dir, name);
    let reg: RegistryFileV1 | undefined;
    try {
      reg = await readRegistry(file);
    } catch (err) {
      // One file that cannot be read (EACCES, EIO) hides no other registry's suspicions; it is told, and tried at the next start.
      if (!(err instanceof FileError) || unreadable === undefined) throw err;
      unreadable(err);
      continue;
    }
    // The name must be the one this input's registry has: a journal cursor of an input named like it is not one.
    if (!reg || fileInputs.has(reg.input) || `${encodeURIComponent(reg.input)}.json` !== name) continue;
    const saved = Array.isArray(reg.suspicions) ? reg.suspicions.filter(isSuspicion) : [];
    if (saved.length === 0) continue;
    out.push({
      input: reg.input,
      file,
      // One its last run decided (raised, not stored: a kill, a disk that refused it) was confirmed: raised as it was.
      alerts: saved.map((s) => (s.decided === true ? s.alert : { ...s.alert, unchecked: 'input_removed' })),
      clear: async () => {
        const now = await readRegistry(file);
        if (!now?.suspicions) return;
        delete now.suspicions;
        try {
          await writeFileAtomic(file, JSON.stringify(now));
        } catch (err) {
          throw new FileError(file, `cannot write checkpoints: ${(err as Error).message}`, undefined, { cause: err });
        }
      },
    });
  }
  return out;
}

/** A registry of this version, or undefined (gone, not JSON, another version or shape: not ours to judge here). */
async function readRegistry(file: string): Promise<RegistryFileV1 | undefined> {
  const read = await readRegistryJson(file);
  if (read === undefined) return undefined;
  if ('notJson' in read) {
    if (read.notJson instanceof SyntaxError) return undefined;
    throw read.notJson;
  }
  const reg = registryOf(read.json);
  if (!reg || typeof reg.input !== 'string' || reg.entries === null) return undefined;
  return reg as RegistryFileV1;
}

/**
 * A registry file's JSON (Checkpointer.load and readRegistry): undefined when there is none, the
 * parse error when its text is no JSON (each caller judges that), a read error thrown.
 */
async function readRegistryJson(file: string): Promise<{ readonly json: unknown } | { readonly notJson: Error } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FileError(file, `cannot read checkpoints: ${(err as Error).message}`, undefined, { cause: err });
  }
  try {
    return { json: JSON.parse(text) as unknown };
  } catch (err) {
    return { notJson: err as Error };
  }
}

/** The registry in a file's JSON when this version reads it (its version, an entries object), else undefined. */
function registryOf(json: unknown): Partial<RegistryFileV1> | undefined {
  const reg = json as Partial<RegistryFileV1> | null;
  if (typeof reg !== 'object' || reg === null || reg.version !== CHECKPOINT_VERSION || typeof reg.entries !== 'object') return undefined;
  return reg;
}

async function ensureDir(dir: string): Promise<void> {
  // Durable: a checkpoint directory lost to a power loss makes every file new again, and with
  // start_at: end the lines written meanwhile would be skipped.
  await mkdirDurable(nodeFs, dir, 0o700);
  // mkdir honours umask and leaves existing directories alone: set the mode explicitly.
  await chmod(dir, 0o700);
}

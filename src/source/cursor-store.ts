/**
 * The journal cursor of one journald input, persisted like the file
 * checkpoints: versioned JSON in <state_dir>/checkpoints/journal/<input>.json,
 * written to a temp file, fsynced, renamed, and the directory fsynced (or the
 * rename may not survive a power loss).
 *
 * Its own directory: the file checkpoints are <state_dir>/checkpoints/<input>.json,
 * and an input id may hold any of [A-Za-z0-9._-] (schemas/config.schema.json), so
 * the name older versions gave a cursor, <input>.cursor.json, was also the
 * registry of a file input named `<input>.cursor` (one overwrote the other, and
 * the next start refused the file it found). A cursor found only under that old
 * name is taken when its own contents say it is this input's cursor (`v`, `input`,
 * `cursor`), moved to the new name before anything reads on, and never when it is
 * another input's registry. Checkpointer.load does the same move for a cursor
 * found under its registry's name (legacyCursorOf, moveLegacyCursor), whichever
 * input loads first.
 *
 * commit() is called after every durable batch; writes are coalesced so a busy
 * journal costs at most one write per flush interval, and flush() on stop
 * writes the last one.
 */
import { readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { FileError } from '../errors.js';
import { mkdirDurable, nodeFs } from '../queue/fs.js';
import { writeFileAtomic } from '../state/atomic-file.js';

const VERSION = 1;

/** The directory under <state_dir>/checkpoints holding the journal cursors (no file checkpoint can be named so: they end in .json). */
const CURSOR_DIR = 'journal';

export interface CursorFile {
  v: number;
  input: string;
  cursor: string;
  updatedAt: string;
}

/** Where this version keeps the cursor of journald input `input`. */
export function cursorFileOf(stateDir: string, input: string): string {
  return join(stateDir, 'checkpoints', CURSOR_DIR, `${encodeURIComponent(input)}.json`);
}

/** Where older versions kept it, a name a file input's registry may have too (`<input>.cursor` is a valid input id). */
export function legacyCursorFileOf(stateDir: string, input: string): string {
  return join(stateDir, 'checkpoints', `${encodeURIComponent(input)}.cursor.json`);
}

/**
 * The cursor an older version wrote, if `json` (a file's parsed contents) is one: this version's
 * format, and stored under the name that version gave that input's cursor (`file`). Anything else
 * (a file input's registry, another version) is not taken for one.
 */
export function legacyCursorOf(stateDir: string, file: string, json: unknown): CursorFile | undefined {
  const c = json as Partial<CursorFile> | null;
  if (typeof c !== 'object' || c === null || c.v !== VERSION || typeof c.input !== 'string' || typeof c.cursor !== 'string') return undefined;
  if (legacyCursorFileOf(stateDir, c.input) !== file) return undefined;
  return { v: VERSION, input: c.input, cursor: c.cursor, updatedAt: typeof c.updatedAt === 'string' ? c.updatedAt : '' };
}

/**
 * Saves a cursor found under its old name (legacyCursorOf) under the new one, durably, unless the cursor
 * there was saved no earlier (updatedAt). Only an older version writes the old name: a cursor there
 * saved after this version's is an agent rolled back since, and upgraded again (the newer one). The
 * old file is left to the caller.
 */
export async function moveLegacyCursor(stateDir: string, c: CursorFile): Promise<void> {
  const file = cursorFileOf(stateDir, c.input);
  const text = await readText(file);
  if (text !== undefined && !savedBefore(text, c)) return;
  await writeCursor(file, c);
}

/** Whether a cursor file's text is a cursor saved before `c`. Anything it cannot tell (not JSON, no time) is kept. */
function savedBefore(text: string, c: CursorFile): boolean {
  let parsed: Partial<CursorFile> | null;
  try {
    parsed = JSON.parse(text) as Partial<CursorFile> | null;
  } catch (err) {
    if (err instanceof SyntaxError) return false;
    throw err;
  }
  return typeof parsed?.updatedAt === 'string' && parsed.updatedAt < c.updatedAt;
}

export class CursorStore {
  readonly file: string;
  /** The name older versions gave this cursor (read at load: moved when `file` does not exist yet, or is older). */
  readonly legacyFile: string;
  private pending: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    stateDir: string,
    private readonly input: string,
    private readonly flushIntervalMs = 1000,
  ) {
    this.file = cursorFileOf(stateDir, input);
    this.legacyFile = legacyCursorFileOf(stateDir, input);
  }

  /**
   * The committed cursor, or undefined on the input's first run. A damaged file is an error, not a
   * silent restart. An older version's cursor (legacyFile) is moved to `file` first, when `file` has
   * none or one saved before it (an agent rolled back, then upgraded again).
   */
  async load(): Promise<string | undefined> {
    const text = await readText(this.file);
    const saved = text === undefined ? undefined : this.parse(this.file, text);
    const c = saved === undefined ? await this.readLegacy() : await this.laterLegacy(saved);
    // None, or the registry of a file input named `<input>.cursor` (not ours): this input's first run,
    // or the cursor under the new name.
    if (c === undefined) return saved?.cursor;
    // Under the new name before anything is read on: a file input `<input>.cursor` would write its
    // registry over the old one (a crash after that started this input again without its cursor).
    await writeCursor(this.file, c);
    // Removed only when it still is this cursor (decided from its contents; it leaves the name to a file input).
    const still = await readText(this.legacyFile);
    if (still !== undefined && this.parse(this.legacyFile, still, true)?.cursor === c.cursor) await removeFile(this.legacyFile);
    return c.cursor;
  }

  /** The cursor under the old name when it is this input's (not the registry of a file input `<input>.cursor`). */
  private async readLegacy(): Promise<CursorFile | undefined> {
    const old = await readText(this.legacyFile);
    return old === undefined ? undefined : this.parse(this.legacyFile, old, true);
  }

  /**
   * This input's cursor under the old name when it was saved after `saved` (updatedAt), else undefined.
   * Only an older version writes that name: such a cursor is an agent rolled back since (and upgraded
   * again), and resuming `saved` would send again all it shipped. What else may be there (the moved
   * cursor a crash kept from being removed, a file input's registry, a damaged file) does not matter
   * now that the new name holds a cursor: no start is refused over it.
   */
  private async laterLegacy(saved: CursorFile): Promise<CursorFile | undefined> {
    let old: CursorFile | undefined;
    try {
      old = await this.readLegacy();
    } catch (err) {
      if (err instanceof FileError) return undefined;
      throw err;
    }
    return old !== undefined && old.updatedAt > saved.updatedAt ? old : undefined;
  }

  /**
   * A cursor file's contents. `mayBeOther`: the old name, shared with a file input's registry: a JSON
   * object naming another input is that (undefined), one naming this input is judged as a cursor.
   */
  private parse(file: string, text: string): CursorFile;
  private parse(file: string, text: string, mayBeOther: true): CursorFile | undefined;
  private parse(file: string, text: string, mayBeOther = false): CursorFile | undefined {
    let parsed: Partial<CursorFile>;
    try {
      parsed = JSON.parse(text) as Partial<CursorFile>;
    } catch (err) {
      throw new FileError(file, `journal cursor file is not JSON: ${(err as Error).message}`, undefined, { cause: err });
    }
    if (mayBeOther && typeof parsed === 'object' && parsed !== null && typeof parsed.input === 'string' && parsed.input !== this.input) return undefined;
    if (parsed?.v !== VERSION || typeof parsed.cursor !== 'string') {
      throw new FileError(file, `unknown journal cursor file version ${String(parsed?.v)}`);
    }
    return { v: VERSION, input: this.input, cursor: parsed.cursor, updatedAt: typeof parsed.updatedAt === 'string' ? parsed.updatedAt : '' };
  }

  commit(cursor: string): void {
    this.pending = cursor;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch((err: unknown) => process.emitWarning(`journal cursor not saved: ${(err as Error).message}`));
    }, this.flushIntervalMs);
  }

  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const cursor = this.pending;
    this.pending = undefined;
    if (cursor === undefined) return this.writing;
    this.writing = this.writing.then(() => this.write(cursor));
    return this.writing;
  }

  private async write(cursor: string): Promise<void> {
    await writeCursor(this.file, { v: VERSION, input: this.input, cursor, updatedAt: new Date().toISOString() });
  }
}

async function writeCursor(file: string, body: CursorFile): Promise<void> {
  // Durable, as the file checkpoints' (checkpoint.ts): <state_dir>/checkpoints is shared, and whichever
  // input makes it first, a power loss must not take it (with start_at: end the journal would skip ahead).
  await mkdirDurable(nodeFs, dirname(file), 0o700);
  await writeFileAtomic(file, JSON.stringify(body) + '\n');
}

/** A file's text, or undefined when there is none. */
async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FileError(file, `cannot read the journal cursor: ${(err as Error).message}`, undefined, { cause: err });
  }
}

/**
 * Removes the old cursor once the new one is durable. Not synced: an unlink a power loss undoes leaves
 * a file the new name is read before. A failure is reported, not fatal, for the same reason.
 */
async function removeFile(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    process.emitWarning(`old journal cursor ${file} not removed (the new one is used): ${(err as Error).message}`);
  }
}

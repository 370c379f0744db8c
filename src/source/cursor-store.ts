/**
 * The journal cursor of one journald input, persisted like the file
 * checkpoints: versioned JSON in <state_dir>/checkpoints/<input>.cursor.json,
 * written to a temp file, fsynced, renamed, and the directory fsynced (or the
 * rename may not survive a power loss).
 *
 * commit() is called after every durable batch; writes are coalesced so a busy
 * journal costs at most one write per flush interval, and flush() on stop
 * writes the last one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { FileError } from '../errors.js';
import { mkdirDurable, nodeFs } from '../queue/fs.js';
import { writeFileAtomic } from '../state/atomic-file.js';

const VERSION = 1;

interface CursorFile {
  v: number;
  input: string;
  cursor: string;
  updatedAt: string;
}

export class CursorStore {
  readonly file: string;
  private readonly dir: string;
  private pending: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    stateDir: string,
    private readonly input: string,
    private readonly flushIntervalMs = 1000,
  ) {
    this.dir = join(stateDir, 'checkpoints');
    this.file = join(this.dir, `${encodeURIComponent(input)}.cursor.json`);
  }

  /** The committed cursor, or undefined on the input's first run. A damaged file is an error, not a silent restart. */
  async load(): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new FileError(this.file, `cannot read the journal cursor: ${(err as Error).message}`, undefined, { cause: err });
    }
    let parsed: Partial<CursorFile>;
    try {
      parsed = JSON.parse(text) as Partial<CursorFile>;
    } catch (err) {
      throw new FileError(this.file, `journal cursor file is not JSON: ${(err as Error).message}`, undefined, { cause: err });
    }
    if (parsed.v !== VERSION || typeof parsed.cursor !== 'string') {
      throw new FileError(this.file, `unknown journal cursor file version ${String(parsed.v)}`);
    }
    return parsed.cursor;
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
    // Durable, as the file checkpoints' (checkpoint.ts): the directory is shared, and whichever input
    // makes it first, a power loss must not take it (with start_at: end the journal would skip ahead).
    await mkdirDurable(nodeFs, this.dir, 0o700);
    const body: CursorFile = { v: VERSION, input: this.input, cursor, updatedAt: new Date().toISOString() };
    await writeFileAtomic(this.file, JSON.stringify(body) + '\n');
  }
}

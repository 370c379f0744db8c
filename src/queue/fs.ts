/**
 * The file-system seam of the disk queue: every call that changes or reads
 * disk state goes through this interface, so tests can inject a crash (the
 * process "dies" between two steps), a torn write, or ENOSPC at any step, and
 * the production path is plain node:fs with numeric descriptors.
 */
import * as fs from 'node:fs';
import { dirname } from 'node:path';

export interface QueueStat {
  size: number;
  mode: number;
  uid: number;
  isFile: boolean;
  isDirectory: boolean;
  isSymbolicLink: boolean;
}

export interface QueueFs {
  /** mkdir -p: resolves to the first directory it created (as fs.mkdir with recursive), undefined when none. */
  mkdir(path: string, mode: number): Promise<string | undefined>;
  readdir(path: string): Promise<string[]>;
  /** lstat: a symlink is reported as such, never followed. */
  lstat(path: string): Promise<QueueStat>;
  open(path: string, flags: string, mode?: number): Promise<number>;
  /** Writes all of buf at the current position (append) or at `position`. */
  write(fd: number, buf: Buffer, position?: number): Promise<void>;
  read(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  fsync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  close(fd: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
}

function toStat(s: fs.Stats): QueueStat {
  return {
    size: s.size,
    mode: s.mode,
    uid: s.uid,
    isFile: s.isFile(),
    isDirectory: s.isDirectory(),
    isSymbolicLink: s.isSymbolicLink(),
  };
}

function writeAll(fd: number, buf: Buffer, position: number | undefined, done: (err: Error | null) => void): void {
  let off = 0;
  const step = (): void => {
    const pos = position === undefined ? null : position + off;
    fs.write(fd, buf, off, buf.length - off, pos, (err, n) => {
      if (err) return done(err);
      off += n;
      if (off < buf.length) step();
      else done(null);
    });
  };
  step();
}

/** The real file system. */
export const nodeFs: QueueFs = {
  mkdir: (p, mode) => fs.promises.mkdir(p, { mode, recursive: true }),
  readdir: (p) => fs.promises.readdir(p),
  lstat: async (p) => toStat(await fs.promises.lstat(p)),
  open: (p, flags, mode) =>
    new Promise((resolve, reject) => fs.open(p, flags, mode ?? 0o600, (e, fd) => (e ? reject(e) : resolve(fd)))),
  write: (fd, buf, position) =>
    new Promise((resolve, reject) => writeAll(fd, buf, position, (e) => (e ? reject(e) : resolve()))),
  read: (fd, buf, offset, length, position) =>
    new Promise((resolve, reject) => fs.read(fd, buf, offset, length, position, (e, n) => (e ? reject(e) : resolve(n)))),
  fsync: (fd) => new Promise((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve()))),
  ftruncate: (fd, len) => new Promise((resolve, reject) => fs.ftruncate(fd, len, (e) => (e ? reject(e) : resolve()))),
  close: (fd) => new Promise((resolve, reject) => fs.close(fd, (e) => (e ? reject(e) : resolve()))),
  rename: (a, b) => fs.promises.rename(a, b),
  unlink: (p) => fs.promises.unlink(p),
  chmod: (p, mode) => fs.promises.chmod(p, mode),
};

/** Reads a whole small file through the seam (state file). Returns null when it does not exist. */
export async function readSmallFile(qfs: QueueFs, path: string): Promise<Buffer | null> {
  let fd: number;
  try {
    fd = await qfs.open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const chunks: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const b = Buffer.allocUnsafe(64 * 1024);
      const n = await qfs.read(fd, b, 0, b.length, pos);
      if (n === 0) break;
      chunks.push(b.subarray(0, n));
      pos += n;
    }
    return Buffer.concat(chunks);
  } finally {
    await qfs.close(fd);
  }
}

export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Errors of a directory fsync that leave nothing to do but go on (mkdirDurable). */
const UNSYNCABLE_DIR = new Set(['EACCES', 'EPERM', 'EROFS', 'EINVAL', 'ENOTSUP']);

/**
 * mkdir -p whose result survives a power loss: a new directory's entry is on disk only once its
 * parent is fsynced, so every parent of a directory made here is (from the nearest up to the
 * parent of the first one made). Without it, files fsynced into a new directory (queue segments,
 * the state file) can vanish with it. Existing directories cost nothing.
 */
export async function mkdirDurable(qfs: QueueFs, dir: string, mode: number): Promise<void> {
  const first = await qfs.mkdir(dir, mode);
  if (first === undefined) return;
  const top = dirname(first);
  for (let d = dirname(dir); ; d = dirname(d)) {
    try {
      await fsyncDir(qfs, d);
    } catch (err) {
      // A parent the agent may create in but not read (mode 0711), or one on a file system that
      // cannot sync directories: the directory is made; refusing to start over it would cost more
      // than the power-loss window it leaves (journaling file systems commit the mkdir anyway).
      if (!UNSYNCABLE_DIR.has(errnoCode(err) ?? '')) throw err;
    }
    if (d === top || dirname(d) === d) return;
  }
}

/** Makes the directory's entries (files created, renamed or removed in it) durable. */
export async function fsyncDir(qfs: QueueFs, dir: string): Promise<void> {
  const fd = await qfs.open(dir, 'r');
  try {
    await qfs.fsync(fd);
  } finally {
    await qfs.close(fd);
  }
}

/**
 * Replaces a small state file atomically and durably: write a temp file, fsync
 * it, rename it over the target, fsync the directory (or the rename may not
 * survive a power loss). A crash at any point leaves either the old file or
 * the new one, never a torn one. Used for checkpoints and journal cursors.
 */
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function writeFileAtomic(file: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${file}.tmp`;
  try {
    // Never through whatever is at tmp (a symlink planted in the state directory, a stale file with
    // another mode): remove it, then create tmp afresh, not following a symlink.
    await unlink(tmp).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    const dh = await open(dirname(file), 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (err) {
    // Leave no stale temp file behind; the error that matters is the original one.
    await unlink(tmp).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') process.emitWarning(`cannot remove ${tmp}: ${e.message}`);
    });
    throw err;
  }
}

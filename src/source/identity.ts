/**
 * File identity (the fingerprinter). A file is known by a hash of its first
 * FINGERPRINT_BYTES bytes, not by its path or inode:
 *  - a rename keeps the content, so it keeps the identity;
 *  - a copy made by copytruncate starts with the same bytes, so it is
 *    recognised as the original's content and reading continues in it;
 *  - a reused inode (delete + create) holds other bytes, so it is a new file.
 *
 * Files shorter than FINGERPRINT_BYTES (decision, documented in
 * docs/source.md): they are read at once under a provisional
 * identity "p…" (random per file generation, bound to dev:inode:birthtime);
 * their checkpoint entry records how many head bytes were seen and their hash,
 * so a restart only resumes the entry when the same inode still starts with
 * those bytes. When the file reaches FINGERPRINT_BYTES the identity is
 * upgraded to the fingerprint and the checkpoint entry is re-keyed. Records
 * read before the upgrade carry the provisional identity.
 *
 * Trap: two different files whose first 256 bytes are equal (a fixed banner)
 * look like copies; the source parks the second one and, if the first never
 * gets truncated, reads it under its own identity after a grace period.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/** Bytes hashed into a fingerprint: long enough that timestamped log heads differ. */
export const FINGERPRINT_BYTES = 256;

/** Full identity: sha256 of the first FINGERPRINT_BYTES bytes, first 16 bytes in hex. */
export function fingerprint(head: Buffer): string {
  return createHash('sha256').update(head.subarray(0, FINGERPRINT_BYTES)).digest('hex').slice(0, 32);
}

/** Hash of a (short) head, stored in checkpoints of provisional identities. */
export function headHash(head: Buffer): string {
  return createHash('sha256').update(head).digest('hex').slice(0, 32);
}

/** Provisional identity for a file shorter than FINGERPRINT_BYTES; unique per file generation. */
export function provisionalIdentity(dev: bigint, ino: bigint, btimeNs: bigint): string {
  const h = createHash('sha256').update(`${dev}:${ino}:${btimeNs}:`).update(randomBytes(8)).digest('hex');
  return 'p' + h.slice(0, 31);
}

export function isProvisional(identity: string): boolean {
  return identity.startsWith('p');
}

/** Key of an inode while it is tracked in memory. */
export function inodeKey(dev: bigint, ino: bigint): string {
  return `${dev}:${ino}`;
}

/** True when `prefix` is a prefix of `whole`. */
export function startsWith(whole: Buffer, prefix: Buffer): boolean {
  return prefix.length <= whole.length && whole.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** Reads up to `len` bytes from the start of a file (fewer when the file is shorter). */
export async function readHead(fh: FileHandle, len: number): Promise<Buffer> {
  if (len <= 0) return Buffer.alloc(0);
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === len ? buf : buf.subarray(0, got);
}

/**
 * The queue's state file: the three cursors and the sequence state, one small
 * versioned JSON document. Written atomically: temp file, fsync, rename, fsync
 * the directory (without the last step the rename may not survive a power
 * loss). Bigints are decimal strings. An unknown version is an error, never a
 * guess: a newer agent's state must not be misread by an older one.
 */
import { join } from 'node:path';

import { FileError } from '../errors.js';
import { fsyncDir, type QueueFs, readSmallFile } from './fs.js';

export const STATE_FILE = 'state.json';
export const STATE_TMP = 'state.json.tmp';
export const STATE_VERSION = 1;

/** Sequence state persisted with the queue (see src/seal/README.md). */
export interface SealState {
  /** Session id of the last agent run that reserved seqs (persisted before its first record is written). */
  session?: string;
  /**
   * First seq `session` could seal: records from here on are its own, records
   * below are `priorSession`'s. Without it (a state written by an earlier
   * build) the last durable record is taken to be `session`'s.
   */
  sessionFrom?: bigint;
  /** Session that sealed the last durable record when `session` reserved its first seqs. */
  priorSession?: string;
  /** Last sealed seq known durable (or -1n: none ever). */
  lastSeq: bigint;
  /** Chain of that record, lowercase hex; 64 zeros when none. */
  lastChain: string;
  /** Seqs below this may have been handed out; the next run starts at or above it. Exclusive. */
  reservedUntil: bigint;
}

export interface QueueState {
  written: bigint;
  sent: bigint;
  acked: bigint;
  seal: SealState;
}

export const ZERO_CHAIN = '0'.repeat(64);

export function emptyState(): QueueState {
  return { written: 0n, sent: 0n, acked: 0n, seal: { lastSeq: -1n, lastChain: ZERO_CHAIN, reservedUntil: 0n } };
}

export function serializeState(s: QueueState): Buffer {
  const seal: Record<string, string> = {
    lastSeq: s.seal.lastSeq.toString(),
    lastChain: s.seal.lastChain,
    reservedUntil: s.seal.reservedUntil.toString(),
  };
  if (s.seal.session !== undefined) seal.session = s.seal.session;
  if (s.seal.sessionFrom !== undefined) seal.sessionFrom = s.seal.sessionFrom.toString();
  if (s.seal.priorSession !== undefined) seal.priorSession = s.seal.priorSession;
  return Buffer.from(
    JSON.stringify({
      v: STATE_VERSION,
      written: s.written.toString(),
      sent: s.sent.toString(),
      acked: s.acked.toString(),
      seal,
    }) + '\n',
  );
}

const BIG = /^-?\d{1,30}$/;
const HEX64 = /^[0-9a-f]{64}$/;

export function parseState(file: string, text: Buffer): QueueState {
  let doc: unknown;
  try {
    doc = JSON.parse(text.toString('utf8'));
  } catch (e) {
    throw new FileError(file, `state file is not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new FileError(file, 'state file is not an object');
  const d = doc as Record<string, unknown>;
  if (d.v !== STATE_VERSION) throw new FileError(file, `unknown state file version ${String(d.v)}`);
  const big = (v: unknown, name: string): bigint => {
    if (typeof v !== 'string' || !BIG.test(v)) throw new FileError(file, `bad ${name}`);
    return BigInt(v);
  };
  const seal = d.seal as Record<string, unknown> | undefined;
  if (typeof seal !== 'object' || seal === null) throw new FileError(file, 'missing seal state');
  if (typeof seal.lastChain !== 'string' || !HEX64.test(seal.lastChain)) throw new FileError(file, 'bad seal.lastChain');
  const state: QueueState = {
    written: big(d.written, 'written'),
    sent: big(d.sent, 'sent'),
    acked: big(d.acked, 'acked'),
    seal: {
      lastSeq: big(seal.lastSeq, 'seal.lastSeq'),
      lastChain: seal.lastChain,
      reservedUntil: big(seal.reservedUntil, 'seal.reservedUntil'),
    },
  };
  if (typeof seal.session === 'string') state.seal.session = seal.session;
  if (seal.sessionFrom !== undefined) state.seal.sessionFrom = big(seal.sessionFrom, 'seal.sessionFrom');
  if (typeof seal.priorSession === 'string') state.seal.priorSession = seal.priorSession;
  return state;
}

export async function readState(qfs: QueueFs, dir: string): Promise<QueueState | null> {
  const tmp = join(dir, STATE_TMP);
  // A leftover temp file means the rename never happened: the old state is the valid one.
  try {
    await qfs.unlink(tmp);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const file = join(dir, STATE_FILE);
  const text = await readSmallFile(qfs, file);
  return text === null ? null : parseState(file, text);
}

export async function writeState(qfs: QueueFs, dir: string, s: QueueState): Promise<void> {
  const tmp = join(dir, STATE_TMP);
  const fd = await qfs.open(tmp, 'w', 0o600);
  try {
    try {
      await qfs.write(fd, serializeState(s));
      await qfs.fsync(fd);
    } finally {
      await qfs.close(fd);
    }
  } catch (e) {
    // The old state stays valid. Remove the temp file now: on a full disk, whatever it got holds
    // blocks the queue needs back (readState would remove it too, but only at the next start).
    await qfs.unlink(tmp).catch((cleanup: unknown) => {
      // The write's own error is the one worth reporting; the next start removes a leftover temp file.
      void cleanup;
    });
    throw e;
  }
  await qfs.rename(tmp, join(dir, STATE_FILE));
  await fsyncDir(qfs, dir);
}


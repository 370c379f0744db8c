/**
 * Sealer: session id, sequence and chain for each event, just before the
 * queue. One Sealer per agent run (a new random 128-bit session each start).
 * Sequence numbers are global across sessions and never reused: the Sealer
 * only hands out seqs below a reservation that the queue has persisted
 * (`SequenceSource`); after a crash the next run starts at the reservation and
 * its start event declares the previous run's last durable seq and chain, so
 * the skip is a declared boundary, not a gap. See README.md.
 *
 * seal() must be called in the order records reach the disk: pass it to the
 * queue as `{ seal: () => sealer.seal(parts), size, meta }` and the writer
 * calls it at write time.
 */
import { randomBytes } from 'node:crypto';

import { assembleSyslog, sealedHead } from '../encode/rfc5424.js';
import { LogwardError } from '../errors.js';
import type { RecoveredSealState, SealResult, SequenceSource } from '../queue/disk-queue.js';
import { CHAIN_PREFIX, ChainKey, chainLabel, type ChainRole, chainStep, keyIdOf, ZERO_CHAIN_HEX } from './chain.js';
import type { LossDeclaration, LostSeqs } from './declaration.js';
import type { AssembleSyslog, SyslogParts } from './syslog-parts.js';

export class SequenceError extends LogwardError {
  override readonly name = 'SequenceError';
}

/** What the agent-start event declares about the previous run. */
export interface StartDeclaration {
  /** The new session. */
  session: string;
  /** First seq of the new session (this start event's own seq, when it is sealed first). */
  firstSeq: bigint;
  /** Session of the previous run that sealed anything; undefined at the first start ever. */
  previousSession?: string;
  /** Last durable seq of previous runs; null at the first start ever. */
  lastSeq: bigint | null;
  /** Its chain (hex); 64 zeros at the first start ever. */
  lastChain: string;
}

export interface SealerOptions {
  key: Buffer;
  /** Default: assembleSyslog from src/encode/rfc5424.ts (tests pass a hand-built one). */
  assemble?: AssembleSyslog;
  /** Defaults to keyIdOf(key). */
  keyId?: string;
  /** From DiskQueue.open(): where this run starts. */
  state: RecoveredSealState;
  /** Fixed session id (tests); default: 16 random bytes, hex. */
  session?: string;
  /** Seqs reserved per persisted reservation (default 65536): the most a crash can skip. */
  reserveBlock?: number;
  /**
   * false: no queue persists reservations (`logward convert --syslog`); seqs are
   * then only unique within this run.
   */
  persistent?: boolean;
}

const UNBOUNDED = 1n << 64n;

export class Sealer implements SequenceSource {
  readonly session: string;
  readonly keyId: string;
  private readonly key: Buffer;
  private readonly assemble: AssembleSyslog;
  private readonly block: number;
  private next: bigint;
  private prev: string;
  /** The previous chain, raw; overwritten in place by each seal. */
  private readonly prevRaw: Buffer;
  private readonly ck: ChainKey;
  /** Where sealBytes lays out each message (grown on demand). */
  private buf = Buffer.allocUnsafeSlow(16 * 1024);
  private reservedUntil: bigint;
  private readonly declaration: StartDeclaration;

  constructor(opts: SealerOptions) {
    if (opts.key.length < 32) throw new SequenceError('HMAC key shorter than 32 bytes');
    this.key = opts.key;
    this.assemble = opts.assemble ?? assembleSyslog;
    this.keyId = opts.keyId ?? keyIdOf(opts.key);
    this.session = opts.session ?? randomBytes(16).toString('hex');
    this.block = Math.max(1, opts.reserveBlock ?? 65536);
    this.next = opts.state.nextSeq;
    this.prev = opts.state.lastChain || ZERO_CHAIN_HEX;
    if (!/^[0-9a-f]{64}$/.test(this.prev)) throw new SequenceError('previous chain must be 64 lowercase hex characters');
    this.prevRaw = Buffer.from(this.prev, 'hex');
    this.ck = new ChainKey(opts.key);
    this.reservedUntil = opts.persistent === false ? UNBOUNDED : this.next;
    this.declaration = {
      session: this.session,
      firstSeq: this.next,
      lastSeq: opts.state.lastSeq >= 0n ? opts.state.lastSeq : null,
      lastChain: this.prev,
    };
    if (opts.state.previousSession !== undefined) this.declaration.previousSession = opts.state.previousSession;
  }

  /** For the agent-start event (seal it first, so its seq is firstSeq). */
  startDeclaration(): StartDeclaration {
    return { ...this.declaration };
  }

  /**
   * For the event that declares a lost range (src/seal/declaration.ts): the
   * queue sealed firstSeq..lastSeq and failed to write them. The declaring
   * record must be sealed next (its seq is `seq`, it chains on `lastChain`),
   * so the range must end at the last seq handed out, and its chain must be
   * this sealer's: anything else would declare what did not happen.
   */
  lossDeclaration(lost: LostSeqs): LossDeclaration {
    if (lost.lastSeq !== this.next - 1n || lost.firstSeq > lost.lastSeq || lost.firstSeq < this.declaration.firstSeq) {
      throw new SequenceError(
        `lost range ${lost.firstSeq}..${lost.lastSeq} is not a range of this session ending at the last seq handed out (${this.next - 1n})`,
      );
    }
    if (lost.lastChain !== this.prev) throw new SequenceError(`lost range ${lost.firstSeq}..${lost.lastSeq}: its chain is not the last one sealed`);
    return { session: this.session, seq: this.next, firstSeq: lost.firstSeq, lastSeq: lost.lastSeq, lastChain: this.prev, cause: lost.cause };
  }

  /** Seals one message: the next seq, the chain over its MSG, assembled with the SD parameters. */
  seal(parts: SyslogParts, role: ChainRole = 'record'): SealResult & { message: Buffer; chainBytes: Buffer } {
    if (this.assemble !== assembleSyslog) {
      const r = this.sealString(parts, role);
      return { message: Buffer.from(r.message, 'utf8'), seq: r.seq, chain: r.chain, chainBytes: r.chainBytes };
    }
    const r = this.sealBytes(parts, role);
    return { message: Buffer.from(r.message), seq: r.seq, chain: r.chain, chainBytes: Buffer.from(r.chainBytes) };
  }

  /** seal() with the message as a string. Same seq and chain rules as seal(). */
  sealText(parts: SyslogParts): SealResult & { message: string; chainBytes: Buffer } {
    if (this.assemble !== assembleSyslog) return this.sealString(parts);
    const r = this.sealBytes(parts);
    return { message: r.message.toString('utf8'), seq: r.seq, chain: r.chain, chainBytes: Buffer.from(r.chainBytes) };
  }

  /**
   * seal() for the queue's writer, which copies the result into its frame at
   * once: `message` and `chainBytes` are views of this sealer's buffers and
   * are only valid until the next seal. The message is laid out as bytes once:
   * MSG is encoded where it will sit in the message, the MAC's inner input
   * (K⊕ipad ‖ previous chain ‖ "session:seq:") is written just before it and
   * hashed in place, then the header and SD element overwrite that prefix.
   * Byte for byte what assembleSyslog gives (test/seal/sealer-bytes.test.ts).
   * A custom `assemble` (tests) takes the string path.
   */
  sealBytes(parts: SyslogParts, role: ChainRole = 'record'): SealResult & { message: Buffer; chainBytes: Buffer } {
    if (this.assemble !== assembleSyslog) {
      const r = this.sealString(parts, role);
      return { message: Buffer.from(r.message, 'utf8'), seq: r.seq, chain: r.chain, chainBytes: r.chainBytes };
    }
    const seq = this.checkSeq();
    const msg = parts.msg;
    const label = role === 'record' ? `${this.session}:${seq}:` : chainLabel(this.session, seq, role);
    const head = sealedHead(parts, { session: this.session, seq, keyId: this.keyId });
    const beforeLen = Buffer.byteLength(head.before);
    const headLen = beforeLen + 64 + Buffer.byteLength(head.after);
    const prefixLen = CHAIN_PREFIX + label.length;
    // MSG starts at `at`, with room before it for the longer of the MAC prefix and the head.
    const at = Math.max(prefixLen, headLen);
    const need = at + msg.length * 3;
    if (this.buf.length < need) this.buf = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
    const buf = this.buf;
    const end = at + buf.write(msg, at, 'utf8');
    const p = at - prefixLen;
    this.ck.ipad.copy(buf, p);
    this.prevRaw.copy(buf, p + 64);
    buf.write(label, p + CHAIN_PREFIX, 'latin1');
    const chain = this.ck.mac(buf.subarray(p, end));
    const start = at - headLen;
    buf.write(head.before, start, 'utf8');
    buf.write(chain, start + beforeLen, 'latin1');
    buf.write(head.after, start + beforeLen + 64, 'utf8');
    this.prevRaw.write(chain, 0, 'hex');
    this.advance(seq, chain);
    return { message: buf.subarray(start, end), seq, chain, chainBytes: this.prevRaw };
  }

  /** The string path, through this.assemble. */
  private sealString(parts: SyslogParts, role: ChainRole = 'record'): SealResult & { message: string; chainBytes: Buffer } {
    const seq = this.checkSeq();
    const raw = chainStep(this.key, this.prevRaw, this.session, seq, parts.msg, role);
    const chain = raw.toString('hex');
    const text = this.assemble(parts, { session: this.session, seq, chain, keyId: this.keyId });
    raw.copy(this.prevRaw);
    this.advance(seq, chain);
    return { message: text, seq, chain, chainBytes: raw };
  }

  private checkSeq(): bigint {
    const seq = this.next;
    if (seq >= this.reservedUntil) {
      throw new SequenceError(`seq ${seq} is beyond the persisted reservation (${this.reservedUntil}); seal through the queue`);
    }
    return seq;
  }

  private advance(seq: bigint, chain: string): void {
    this.next = seq + 1n;
    this.prev = chain;
  }

  // SequenceSource: the queue persists reservations before seal() may use them.
  reservationNeeded(n: number): bigint | null {
    if (this.next + BigInt(n) <= this.reservedUntil) return null;
    return this.next + BigInt(Math.max(this.block, n * 2));
  }

  reservationPersisted(upTo: bigint): void {
    if (upTo > this.reservedUntil) this.reservedUntil = upTo;
  }

  nextSeq(): bigint {
    return this.next;
  }

  sessionId(): string {
    return this.session;
  }

  lastChain(): string {
    return this.prev;
  }
}

/**
 * Syslog stream framing.
 *
 * Sending: RFC 5425 / RFC 6587 octet counting only, `MSG-LEN SP MSG`, where
 * MSG-LEN is the BYTE length in decimal without leading zeros. Frames follow
 * each other with no separator. Octet counting is transparent: any byte may
 * appear in MSG, so an embedded LF can never split a record.
 *
 * Receiving (the test/operator receiver): both octet counting and RFC 6587
 * non-transparent LF framing are accepted, decided per frame by its first byte
 * (a digit: octet counted; anything else: up to the next LF), the way rsyslog
 * and most collectors auto-detect. A length that is not a number, has a
 * leading zero, or exceeds maxFrameBytes is a protocol error: the decoder
 * stops and the caller closes the connection (resynchronising on a broken
 * octet stream would invent records).
 */

import { LogwardError } from '../errors.js';

const SP = 0x20;
const LF = 0x0a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Length of the decimal representation of n (n >= 0). */
function decimalLength(n: number): number {
  let len = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    len++;
  }
  return len;
}

/** Bytes the octet-counted frame of a payload of this length takes. */
export function frameLength(payloadBytes: number): number {
  return decimalLength(payloadBytes) + 1 + payloadBytes;
}

/** One octet-counted frame. */
export function encodeFrame(payload: Buffer): Buffer {
  return encodeFrames([payload]);
}

/**
 * Several payloads as one buffer of back-to-back frames: a single allocation,
 * so a batch becomes one socket write (one TLS record run instead of one per line).
 */
export function encodeFrames(payloads: readonly Buffer[]): Buffer {
  return writeFrames(payloads, Buffer.allocUnsafe(framesLength(payloads)));
}

/** Bytes encodeFrames takes for these payloads. */
function framesLength(payloads: readonly Buffer[]): number {
  let total = 0;
  for (const p of payloads) total += frameLength(p.length);
  return total;
}

/**
 * encodeFrames into `out`, which must be exactly framesLength(payloads) long
 * Returns out.
 */
function writeFrames(payloads: readonly Buffer[], out: Buffer): Buffer {
  let at = 0;
  for (const p of payloads) {
    // Per record on the send path: the digits go in byte by byte, and the payload with
    // TypedArray#set, instead of String(n) + a latin1 write and Buffer#copy's argument
    // handling (the bytes are the same).
    at = writeDecimal(out, at, p.length);
    out[at++] = SP;
    out.set(p, at);
    at += p.length;
  }
  if (at !== out.length) throw new RangeError(`frames take ${at} bytes, the output has ${out.length}`);
  return out;
}

/** Writes n (a non-negative integer) in decimal at `at`, no leading zeros; returns the offset after it. */
function writeDecimal(out: Buffer, at: number, n: number): number {
  const end = at + decimalLength(n);
  let i = end;
  do {
    const q = Math.floor(n / 10);
    out[--i] = DIGIT_0 + (n - q * 10);
    n = q;
  } while (n > 0);
  return end;
}

export class FramingError extends LogwardError {
  override readonly name = 'FramingError';
  constructor(
    readonly problem: string,
    /** Byte offset in the connection's stream where the bad frame starts. */
    readonly streamOffset: number,
  ) {
    super(`framing error at stream byte ${streamOffset}: ${problem}`);
  }
}

export interface FrameDecoderOptions {
  /** Largest message accepted, octet-counted or LF-framed (default 1 MiB). */
  maxFrameBytes?: number;
}

/**
 * Streaming decoder. push() returns the messages completed by the chunk. On a
 * malformed stream it returns the messages completed before the bad frame and
 * sets `error`; from then on the decoder is dead (push returns nothing).
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Octet-counted frame in progress: payload length still expected, or -1. */
  private need = -1;
  /** Header digits seen so far of an octet-counted frame, or -1 when not in a header. */
  private headerValue = -1;
  /** True while collecting an LF-framed message. */
  private inLfFrame = false;
  private consumed = 0;
  private failed: FramingError | undefined;

  constructor(opts: FrameDecoderOptions = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? 1024 * 1024;
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** Set once the stream turned out malformed. */
  get error(): FramingError | undefined {
    return this.failed;
  }

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    if (this.failed) return out;
    try {
      this.decode(chunk, out);
    } catch (err) {
      if (err !== this.failed) throw err;
    }
    return out;
  }

  private decode(chunk: Buffer, out: Buffer[]): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.need >= 0) {
        const take = Math.min(this.need, n - i);
        this.hold(chunk.subarray(i, i + take));
        i += take;
        this.need -= take;
        if (this.need === 0) {
          out.push(this.takeHeld());
          this.need = -1;
        }
        continue;
      }
      if (this.inLfFrame) {
        const lf = chunk.indexOf(LF, i);
        const end = lf === -1 ? n : lf;
        if (this.pendingBytes + (end - i) > this.maxFrameBytes) {
          this.fail(`LF-framed message longer than ${this.maxFrameBytes} bytes`);
        }
        this.hold(chunk.subarray(i, end));
        if (lf === -1) {
          i = n;
        } else {
          out.push(this.takeHeld());
          this.inLfFrame = false;
          i = lf + 1;
        }
        continue;
      }
      const b = chunk[i] as number;
      if (this.headerValue >= 0) {
        if (b >= DIGIT_0 && b <= DIGIT_9) {
          this.headerValue = this.headerValue * 10 + (b - DIGIT_0);
          if (this.headerValue > this.maxFrameBytes) {
            this.fail(`frame length exceeds ${this.maxFrameBytes} bytes`);
          }
        } else if (b === SP) {
          this.need = this.headerValue;
          this.headerValue = -1;
          if (this.need === 0) this.fail('frame length 0');
        } else {
          this.fail(`unexpected byte 0x${b.toString(16).padStart(2, '0')} in frame length`);
        }
        this.consumed++;
        i++;
        continue;
      }
      // Start of a frame: decide its framing by the first byte.
      if (b >= DIGIT_0 + 1 && b <= DIGIT_9) {
        this.headerValue = b - DIGIT_0;
        this.consumed++;
        i++;
      } else if (b === DIGIT_0) {
        this.fail('frame length with a leading zero');
      } else if (b === LF) {
        // An empty line between LF-framed messages carries no record.
        this.consumed++;
        i++;
      } else {
        this.inLfFrame = true;
      }
    }
  }

  /** True when the stream ended on a frame boundary. */
  get atBoundary(): boolean {
    return this.need < 0 && this.headerValue < 0 && !this.inLfFrame;
  }

  private hold(part: Buffer): void {
    if (part.length === 0) return;
    this.pending.push(part);
    this.pendingBytes += part.length;
    this.consumed += part.length;
  }

  private takeHeld(): Buffer {
    const msg =
      this.pending.length === 1
        ? Buffer.from(this.pending[0] as Buffer) // copy: the chunk may be pooled and reused
        : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return msg;
  }

  private fail(problem: string): never {
    this.failed = new FramingError(problem, this.consumed);
    throw this.failed;
  }
}

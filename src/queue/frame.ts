/**
 * Record frames of the disk queue (pure). Layout in README.md:
 *   u32 bodyLen | u32 crc32(body) | body(version, flags, id, [chain], [end], input, identity, [cursor], payload)
 * Decoding never trusts a length before checking it against the buffer, and a
 * frame is only accepted when its CRC matches and its fields fit exactly.
 * After damage, `scanFrames` resyncs at the next offset where a whole valid
 * frame starts (cheap pre-checks before the CRC), so intact records after a
 * flipped byte are kept.
 */
import { crc32 } from 'node:zlib';

export const FRAME_VERSION = 1;
/** "LWQSEG", format version 1, reserved byte. */
export const SEGMENT_HEADER = Buffer.from([0x4c, 0x57, 0x51, 0x53, 0x45, 0x47, 0x01, 0x00]);
export const FRAME_HEAD = 8;
/** version + flags + id + inputLen + identityLen */
const MIN_BODY = 1 + 1 + 8 + 2 + 2;
/** Nothing legitimate comes near this (messages are capped at max_message_bytes). */
export const MAX_BODY = 16 * 1024 * 1024;
export const CHAIN_BYTES = 32;

const F_INTERNAL = 1;
const F_SEALED = 2;
const F_END = 4;
const F_CURSOR = 8;

/** Source position after this record; internal = alerts/tamper/overflow/start/stop events. */
export interface QueueRecordMeta {
  input: string;
  identity: string;
  end?: number;
  cursor?: string;
  internal?: boolean;
}

export interface QueueRecord {
  /** Queue position; equals the seal sequence number when the record was sealed. */
  id: bigint;
  /** The sealed RFC 5424 message bytes, exactly as they will be framed and sent. */
  payload: Buffer;
  meta: QueueRecordMeta;
}

/** A decoded frame with where it sits. */
export interface DecodedFrame extends QueueRecord {
  offset: number;
  size: number;
  /** Raw chain bytes when the record was sealed. */
  chain?: Buffer;
}

export function encodeFrame(id: bigint, payload: Buffer | string, meta: QueueRecordMeta, chain?: Buffer): Buffer {
  const payloadLen = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const buf = Buffer.allocUnsafe(frameHeadLength(meta, chain !== undefined) + payloadLen);
  const end = writeFrame(buf, 0, id, payload, payloadLen, meta, chain);
  if (end !== buf.length) throw new RangeError('queue frame length mismatch');
  return buf;
}

/**
 * UTF-8 bytes of a meta string, remembered for the last input and the last identity: every
 * record of a file carries the same two strings, and measuring and encoding them again for each
 * frame (byteLength in frameHeadLength and in writeFrame, then a write) was six native calls a
 * record. The bytes are a private copy, only ever read (copied into frames).
 */
class Utf8Memo {
  private s: string | undefined;
  private bytes: Buffer = Buffer.alloc(0);

  of(s: string): Buffer {
    if (s !== this.s) {
      this.bytes = Buffer.from(s, 'utf8');
      this.s = s;
    }
    return this.bytes;
  }
}

const inputBytes = new Utf8Memo();
const identityBytes = new Utf8Memo();

/** Bytes of a frame before its payload (frame head + body fields), for `writeFrame`'s caller to size its buffer. */
export function frameHeadLength(meta: QueueRecordMeta, sealed: boolean): number {
  const inputLen = inputBytes.of(meta.input).length;
  const identityLen = identityBytes.of(meta.identity).length;
  const cursorLen = meta.cursor === undefined ? -1 : Buffer.byteLength(meta.cursor);
  if (inputLen > 0xffff || identityLen > 0xffff || cursorLen > 0xffff) {
    throw new RangeError('queue record meta field longer than 65535 bytes');
  }
  return (
    FRAME_HEAD +
    MIN_BODY +
    inputLen +
    identityLen +
    (sealed ? CHAIN_BYTES : 0) +
    (meta.end !== undefined ? 8 : 0) +
    (cursorLen >= 0 ? 2 + cursorLen : 0)
  );
}

const MAX_SAFE_ID = BigInt(Number.MAX_SAFE_INTEGER);
const TWO_32 = 2 ** 32;

/**
 * buf.writeBigUInt64LE(id, o) for the ids the queue hands out (far below 2^53): as two u32
 * halves of one Number, without the four BigInt operations (each an allocation) Node's version
 * does per call. Anything else goes through Node's, with its range check.
 */
function writeId(buf: Buffer, id: bigint, o: number): void {
  if (id < 0n || id > MAX_SAFE_ID) {
    buf.writeBigUInt64LE(id, o);
    return;
  }
  const n = Number(id);
  const hi = Math.floor(n / TWO_32);
  buf.writeUInt32LE(n - hi * TWO_32, o);
  buf.writeUInt32LE(hi, o + 4);
}

/**
 * Writes one frame into buf at `at` and returns the offset after it. A string
 * payload is encoded straight into place (UTF-8), so a sealed message is
 * copied once, not assembled, converted and copied again. The caller makes
 * sure there is room: frameHeadLength(meta, sealed) + payloadLen, the
 * payload's UTF-8 byte length.
 */
export function writeFrame(
  buf: Buffer,
  at: number,
  id: bigint,
  payload: Buffer | string,
  payloadLen: number,
  meta: QueueRecordMeta,
  chain?: Buffer,
): number {
  const input = inputBytes.of(meta.input);
  const identity = identityBytes.of(meta.identity);
  const cursorLen = meta.cursor === undefined ? -1 : Buffer.byteLength(meta.cursor);
  if (input.length > 0xffff || identity.length > 0xffff || cursorLen > 0xffff) {
    throw new RangeError('queue record meta field longer than 65535 bytes');
  }
  let flags = 0;
  if (meta.internal) flags |= F_INTERNAL;
  if (chain) flags |= F_SEALED;
  if (meta.end !== undefined) flags |= F_END;
  if (cursorLen >= 0) flags |= F_CURSOR;
  let o = at + FRAME_HEAD;
  buf[o++] = FRAME_VERSION;
  buf[o++] = flags;
  writeId(buf, id, o);
  o += 8;
  if (chain) {
    if (chain.length !== CHAIN_BYTES) throw new RangeError('chain must be 32 bytes');
    buf.set(chain, o);
    o += CHAIN_BYTES;
  }
  if (meta.end !== undefined) {
    buf.writeDoubleLE(meta.end, o);
    o += 8;
  }
  // Copies of the memoized bytes (TypedArray#set): Buffer#write and #copy cost a native call
  // and argument handling each, per record.
  buf.writeUInt16LE(input.length, o);
  o += 2;
  buf.set(input, o);
  o += input.length;
  buf.writeUInt16LE(identity.length, o);
  o += 2;
  buf.set(identity, o);
  o += identity.length;
  if (meta.cursor !== undefined) {
    buf.writeUInt16LE(cursorLen, o);
    o += 2;
    o += buf.write(meta.cursor, o);
  }
  if (typeof payload === 'string') {
    // buf.write stops short when the room is too small: never frame a partial message.
    if (buf.write(payload, o, 'utf8') !== payloadLen) throw new RangeError('no room for the queue record payload');
  } else {
    // Never frame a partial message (what Buffer#copy's short count used to catch).
    if (payload.length !== payloadLen || o + payloadLen > buf.length) throw new RangeError('no room for the queue record payload');
    buf.set(payload, o);
  }
  o += payloadLen;
  const bodyLen = o - at - FRAME_HEAD;
  if (bodyLen > MAX_BODY) throw new RangeError(`queue record of ${bodyLen} bytes exceeds ${MAX_BODY}`);
  buf.writeUInt32LE(bodyLen, at);
  buf.writeUInt32LE(crc32(buf.subarray(at + FRAME_HEAD, o)), at + 4);
  return o;
}

/** Where the fields of the last frame `layoutAt` accepted sit in its buffer (reused: no allocation per frame). */
const at = { id: 0n, flags: 0, chain: 0, end: 0, input: 0, inputLen: 0, identity: 0, identityLen: 0, cursor: 0, cursorLen: 0, payload: 0, frameEnd: 0 };

/**
 * Validates the frame at `off` (whole, CRC, every field within the body) and
 * fills `at` with where its fields are; false if there is no whole valid frame.
 * `checkCrc` false only for bytes that never left memory (see decodePayloadAt).
 */
function layoutAt(buf: Buffer, off: number, checkCrc = true): boolean {
  if (off + FRAME_HEAD + MIN_BODY > buf.length) return false;
  const bodyLen = buf.readUInt32LE(off);
  if (bodyLen < MIN_BODY || bodyLen > MAX_BODY) return false;
  const start = off + FRAME_HEAD;
  const end = start + bodyLen;
  if (end > buf.length) return false;
  if (buf[start] !== FRAME_VERSION) return false;
  if (checkCrc && crc32(buf.subarray(start, end)) !== buf.readUInt32LE(off + 4)) return false;
  const flags = buf[start + 1] ?? 0;
  let o = start + 2;
  at.id = buf.readBigUInt64LE(o);
  o += 8;
  at.flags = flags;
  at.chain = o;
  if (flags & F_SEALED) {
    if (o + CHAIN_BYTES > end) return false;
    o += CHAIN_BYTES;
  }
  at.end = o;
  if (flags & F_END) {
    if (o + 8 > end) return false;
    o += 8;
  }
  if (o + 2 > end) return false;
  const inputLen = buf.readUInt16LE(o);
  o += 2;
  if (o + inputLen + 2 > end) return false;
  at.input = o;
  at.inputLen = inputLen;
  o += inputLen;
  const identityLen = buf.readUInt16LE(o);
  o += 2;
  if (o + identityLen > end) return false;
  at.identity = o;
  at.identityLen = identityLen;
  o += identityLen;
  if (flags & F_CURSOR) {
    if (o + 2 > end) return false;
    const cursorLen = buf.readUInt16LE(o);
    o += 2;
    if (o + cursorLen > end) return false;
    at.cursor = o;
    at.cursorLen = cursorLen;
    o += cursorLen;
  }
  at.payload = o;
  at.frameEnd = end;
  return true;
}

/**
 * Decodes the frame at `off`, or returns null if there is no whole valid frame
 * there. `copy` makes the payload independent of `buf` (for records handed out).
 */
export function decodeFrameAt(buf: Buffer, off: number, copy: boolean): DecodedFrame | null {
  if (!layoutAt(buf, off)) return null;
  const flags = at.flags;
  const meta: QueueRecordMeta = { input: buf.toString('utf8', at.input, at.input + at.inputLen), identity: buf.toString('utf8', at.identity, at.identity + at.identityLen) };
  if (flags & F_END) meta.end = buf.readDoubleLE(at.end);
  if (flags & F_CURSOR) meta.cursor = buf.toString('utf8', at.cursor, at.cursor + at.cursorLen);
  if (flags & F_INTERNAL) meta.internal = true;
  const payload = copy ? Buffer.from(buf.subarray(at.payload, at.frameEnd)) : buf.subarray(at.payload, at.frameEnd);
  const rec: DecodedFrame = { id: at.id, payload, meta, offset: off, size: at.frameEnd - off };
  if (flags & F_SEALED) rec.chain = Buffer.from(buf.subarray(at.chain, at.chain + CHAIN_BYTES));
  return rec;
}

/** A frame's id and payload (a view of the buffer) and where it sits: what a reader that only sends needs. */
export interface FramePayload {
  id: bigint;
  payload: Buffer;
  offset: number;
  size: number;
}

/**
 * decodeFrameAt for a reader that only sends the payload (the sink): the same
 * checks, without decoding the meta fields or copying the chain. `checkCrc`
 * false skips the CRC, for frames read from the buffer they were encoded in
 * (the CRC was computed over those very bytes); the structure is still checked.
 */
export function decodePayloadAt(buf: Buffer, off: number, checkCrc = true): FramePayload | null {
  if (!layoutAt(buf, off, checkCrc)) return null;
  return { id: at.id, payload: buf.subarray(at.payload, at.frameEnd), offset: off, size: at.frameEnd - off };
}

/** A damaged byte range inside a segment: skipped, counted. */
export interface BadRange {
  from: number;
  to: number;
}

export interface ScanResult<T extends FramePayload = DecodedFrame> {
  frames: T[];
  bad: BadRange[];
  /** Offset just past the last whole frame (or bad range) consumed. */
  consumed: number;
  /** True when the scan stopped at an incomplete but so far plausible frame (more bytes may follow). */
  incomplete: boolean;
}

/**
 * Scans frames in buf[from..). With `final`, the buffer ends where the data
 * ends: anything unparseable at the end is a bad range. Without it, a frame
 * cut by the end of the buffer stops the scan (the caller reads more).
 * Frames must carry ids above `afterId`: an id that goes backwards is damage.
 * It stops after `maxFrames` frames, or after the frame whose payload reaches
 * `maxPayloadBytes` (a reader decodes what it hands out, not the whole chunk).
 */
export function scanFrames(
  buf: Buffer,
  from: number,
  final: boolean,
  afterId: bigint,
  copy: boolean,
  maxFrames = Infinity,
  maxPayloadBytes = Infinity,
): ScanResult {
  return scan(buf, from, final, afterId, maxFrames, maxPayloadBytes, (b, off) => decodeFrameAt(b, off, copy));
}

/** scanFrames with decodePayloadAt: frames hold their id and payload only. */
export function scanPayloads(buf: Buffer, from: number, final: boolean, afterId: bigint, maxPayloadBytes = Infinity, checkCrc = true): ScanResult<FramePayload> {
  return scan(buf, from, final, afterId, Infinity, maxPayloadBytes, (b, off) => decodePayloadAt(b, off, checkCrc));
}

function scan<T extends FramePayload>(
  buf: Buffer,
  from: number,
  final: boolean,
  afterId: bigint,
  maxFrames: number,
  maxPayloadBytes: number,
  decode: (buf: Buffer, off: number) => T | null,
): ScanResult<T> {
  const frames: T[] = [];
  const bad: BadRange[] = [];
  let off = from;
  let lastId = afterId;
  let payloadBytes = 0;
  while (off < buf.length && frames.length < maxFrames && payloadBytes < maxPayloadBytes) {
    const f = decode(buf, off);
    if (f && f.id > lastId) {
      frames.push(f);
      lastId = f.id;
      off += f.size;
      payloadBytes += f.payload.length;
      continue;
    }
    if (!final && looksCut(buf, off)) return { frames, bad, consumed: off, incomplete: true };
    // Damage: find the next offset where a whole valid frame starts.
    let next = -1;
    for (let c = off + 1; c + FRAME_HEAD + MIN_BODY <= buf.length; c++) {
      if (buf[c + FRAME_HEAD] !== FRAME_VERSION) continue;
      const len = buf.readUInt32LE(c);
      if (len < MIN_BODY || len > MAX_BODY || c + FRAME_HEAD + len > buf.length) continue;
      if (layoutAt(buf, c) && at.id > lastId) {
        next = c;
        break;
      }
    }
    if (next < 0) {
      if (!final) return { frames, bad, consumed: off, incomplete: true };
      bad.push({ from: off, to: buf.length });
      return { frames, bad, consumed: buf.length, incomplete: false };
    }
    bad.push({ from: off, to: next });
    off = next;
  }
  return { frames, bad, consumed: off, incomplete: false };
}

/** A frame whose header is plausible but whose body runs past the buffer end. */
function looksCut(buf: Buffer, off: number): boolean {
  if (off + FRAME_HEAD > buf.length) return true;
  const len = buf.readUInt32LE(off);
  return len >= MIN_BODY && len <= MAX_BODY && off + FRAME_HEAD + len > buf.length;
}

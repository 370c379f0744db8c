/**
 * The HMAC chain (pure). chain_n = HMAC-SHA256(key, chain_{n-1} (32 raw bytes)
 * ‖ session ‖ ":" ‖ seq ‖ ":" ‖ MSG bytes), lowercase hex. Binding session and
 * seq into the MAC (DESIGN.md's formula has only prev ‖ MSG) means a record
 * cannot be moved to another seq or session without the chain breaking; see
 * README.md. chain_{-1} is 32 zero bytes at the first event ever.
 *
 * The MAC is computed as RFC 2104 spells it, from two one-shot SHA-256 calls
 * over precomputed key blocks (ChainKey): SHA256(K⊕opad ‖ SHA256(K⊕ipad ‖ data)).
 * That is the same value createHmac gives (test/seal/chain.test.ts compares
 * them), without an Hmac object and its update calls per record, which cost
 * more than hashing the ~1.3 KiB message itself.
 */
import { createHash, hash } from 'node:crypto';

export const ZERO_CHAIN_HEX = '0'.repeat(64);
const HEX64 = /^[0-9a-f]{64}$/;

/** SHA-256 block size: HMAC pads (or first hashes) the key to this many bytes. */
export const HMAC_BLOCK = 64;
/** Bytes before the session in the inner hash input: K⊕ipad, then the previous chain. */
export const CHAIN_PREFIX = HMAC_BLOCK + 32;

/** One key's HMAC-SHA256, as two hashes over its precomputed inner and outer blocks. */
export class ChainKey {
  /** K⊕ipad: the caller places it first in the inner hash input (see mac). */
  readonly ipad: Buffer;
  /** K⊕opad ‖ inner digest: the outer hash input, reused for every MAC. */
  private readonly outer: Buffer;

  constructor(key: Buffer) {
    // RFC 2104: a key longer than the block is replaced by its hash; a shorter one is zero-padded.
    const k = key.length > HMAC_BLOCK ? createHash('sha256').update(key).digest() : key;
    this.ipad = Buffer.alloc(HMAC_BLOCK, 0x36);
    this.outer = Buffer.alloc(HMAC_BLOCK + 32, 0x5c);
    for (let i = 0; i < k.length; i++) {
      this.ipad[i] = (this.ipad[i] as number) ^ (k[i] as number);
      this.outer[i] = (this.outer[i] as number) ^ (k[i] as number);
    }
  }

  /**
   * HMAC (lowercase hex) of `padded` minus its first HMAC_BLOCK bytes, which
   * the caller has set to this.ipad: the inner input is then one contiguous
   * buffer and no copy of the message is made here. Hex output throughout,
   * because crypto.hash returning a Buffer costs ~0.5 µs more than a string.
   */
  mac(padded: Buffer): string {
    this.outer.write(hash('sha256', padded, 'hex'), HMAC_BLOCK, 'hex');
    return hash('sha256', this.outer, 'hex');
  }
}

/** ChainKey per key buffer (the agent and the verifier use a handful); checked against a copy in case a key buffer is reused. */
const chainKeys = new WeakMap<Buffer, { copy: Buffer; ck: ChainKey }>();

export function chainKeyOf(key: Buffer): ChainKey {
  const hit = chainKeys.get(key);
  if (hit !== undefined && hit.copy.equals(key)) return hit.ck;
  const ck = new ChainKey(key);
  chainKeys.set(key, { copy: Buffer.from(key), ck });
  return ck;
}

/** Inner-hash input for computeChain/chainStep; grown on demand (single-threaded, used synchronously). */
let scratch = Buffer.allocUnsafeSlow(16 * 1024);

export function computeChain(
  key: Buffer,
  prevChainHex: string,
  session: string,
  seq: bigint,
  msg: Buffer | string,
  role: ChainRole = 'record',
): string {
  if (!HEX64.test(prevChainHex)) throw new RangeError('previous chain must be 64 lowercase hex characters');
  return chainHex(key, prevChainHex, session, seq, msg, role);
}

/**
 * What a sealed record is to the verifier. A record that declares a lost range
 * is MACed with "lost:" after "session:seq:" (domain separation): the agent
 * seals a declaration only when it lost records, and no ordinary record (a
 * log line that quotes, or forges, a declaration's text) can carry a MAC that
 * verifies as one. MSG always starts with "{" or "CEF:", so the two label
 * forms never overlap.
 */
export type ChainRole = 'record' | 'loss_declaration';

/** The MAC input's label between the previous chain and MSG. */
export function chainLabel(session: string, seq: bigint, role: ChainRole): string {
  return role === 'loss_declaration' ? `${session}:${seq}:lost:` : `${session}:${seq}:`;
}

/** computeChain on raw bytes: the sealer keeps the previous chain raw, so no hex round trip per record. */
export function chainStep(key: Buffer, prevChain: Buffer, session: string, seq: bigint, msg: Buffer | string, role: ChainRole = 'record'): Buffer {
  if (prevChain.length !== 32) throw new RangeError('previous chain must be 32 bytes');
  return Buffer.from(chainHex(key, prevChain, session, seq, msg, role), 'hex');
}

function chainHex(key: Buffer, prev: Buffer | string, session: string, seq: bigint, msg: Buffer | string, role: ChainRole): string {
  const ck = chainKeyOf(key);
  const label = chainLabel(session, seq, role);
  // latin1 never takes more bytes than characters; UTF-8 at most 3 per UTF-16 unit.
  const need = CHAIN_PREFIX + label.length + (typeof msg === 'string' ? msg.length * 3 : msg.length);
  if (scratch.length < need) scratch = Buffer.allocUnsafeSlow(Math.max(need, scratch.length * 2));
  const buf = scratch;
  ck.ipad.copy(buf, 0);
  if (typeof prev === 'string') buf.write(prev, HMAC_BLOCK, 'hex');
  else prev.copy(buf, HMAC_BLOCK);
  let o = CHAIN_PREFIX + buf.write(label, CHAIN_PREFIX, 'latin1');
  o += typeof msg === 'string' ? buf.write(msg, o, 'utf8') : msg.copy(buf, o);
  return ck.mac(buf.subarray(0, o));
}

/** First 8 hex chars of SHA-256(key): names the key in each record, so keys can be rotated. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * The HMAC chain (pure). chain_n = HMAC-SHA256(key, chain_{n-1} (32 raw bytes)
 * ‖ session ‖ ":" ‖ seq ‖ ":" ‖ MSG bytes), lowercase hex. Binding session and
 * seq into the MAC (DESIGN.md's formula has only prev ‖ MSG) means a record
 * cannot be moved to another seq or session without the chain breaking; see
 * README.md. chain_{-1} is 32 zero bytes at the first event ever.
 */
import { createHash, createHmac } from 'node:crypto';

export const ZERO_CHAIN_HEX = '0'.repeat(64);
const HEX64 = /^[0-9a-f]{64}$/;

export function computeChain(
  key: Buffer,
  prevChainHex: string,
  session: string,
  seq: bigint,
  msg: Buffer | string,
): string {
  if (!HEX64.test(prevChainHex)) throw new RangeError('previous chain must be 64 lowercase hex characters');
  return chainStep(key, Buffer.from(prevChainHex, 'hex'), session, seq, msg).toString('hex');
}

/** computeChain on raw bytes: the sealer keeps the previous chain raw, so no hex round trip per record. */
export function chainStep(key: Buffer, prevChain: Buffer, session: string, seq: bigint, msg: Buffer | string): Buffer {
  if (prevChain.length !== 32) throw new RangeError('previous chain must be 32 bytes');
  const h = createHmac('sha256', key);
  h.update(prevChain);
  h.update(`${session}:${seq}:`, 'latin1');
  if (typeof msg === 'string') h.update(msg, 'utf8');
  else h.update(msg);
  return h.digest();
}

/** First 8 hex chars of SHA-256(key): names the key in each record, so keys can be rotated. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

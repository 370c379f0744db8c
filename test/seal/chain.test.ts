import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { ChainKey, chainStep, computeChain, HMAC_BLOCK } from '../../src/seal/chain.js';

/** The chain as README.md defines it, with node's own HMAC: what ChainKey must reproduce bit for bit. */
function reference(key: Buffer, prev: Buffer, session: string, seq: bigint, msg: Buffer | string): string {
  const h = createHmac('sha256', key);
  h.update(prev);
  h.update(`${session}:${seq}:`, 'latin1');
  if (typeof msg === 'string') h.update(msg, 'utf8');
  else h.update(msg);
  return h.digest('hex');
}

const MESSAGES: (string | Buffer)[] = [
  '',
  'x',
  '{"message":"Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2"}',
  'ü € 😀 {U+0007}',
  // A lone surrogate: both sides encode it as U+FFFD.
  'a\ud800b',
  'y'.repeat(70_000),
  Buffer.from([0, 1, 2, 0xff, 0xfe]),
  randomBytes(3000),
];

test('the chain from two hashes equals HMAC-SHA256 for keys shorter than, equal to and longer than the block', () => {
  for (const keyLen of [32, 48, HMAC_BLOCK, HMAC_BLOCK + 1, 100, 200]) {
    const key = randomBytes(keyLen);
    const prev = randomBytes(32);
    for (const msg of MESSAGES) {
      for (const [session, seq] of [
        ['ab'.repeat(16), 0n],
        ['s', 18446744073709551615n],
        // Not latin1: the session is hashed as latin1 (the low byte of each unit), as createHmac's update does.
        ['sé€', 42n],
      ] as const) {
        const want = reference(key, prev, session, seq, msg);
        assert.equal(computeChain(key, prev.toString('hex'), session, seq, msg), want, `key ${keyLen} B`);
        assert.equal(chainStep(key, prev, session, seq, msg).toString('hex'), want, `key ${keyLen} B`);
      }
    }
  }
});

test('ChainKey.mac is the HMAC of what follows the ipad block', () => {
  const key = randomBytes(32);
  const ck = new ChainKey(key);
  const data = Buffer.from('chain input');
  const padded = Buffer.concat([ck.ipad, data]);
  assert.equal(ck.mac(padded), createHmac('sha256', key).update(data).digest('hex'));
  assert.equal(ck.mac(padded), createHmac('sha256', key).update(data).digest('hex'), 'reusable');
});

test('a key buffer changed in place is not served from the cache', () => {
  const key = Buffer.alloc(32, 1);
  const prev = Buffer.alloc(32);
  const before = chainStep(key, prev, 's', 1n, 'm').toString('hex');
  key.fill(2);
  assert.notEqual(chainStep(key, prev, 's', 1n, 'm').toString('hex'), before);
  assert.equal(chainStep(key, prev, 's', 1n, 'm').toString('hex'), reference(key, prev, 's', 1n, 'm'));
});

test('computeChain refuses a previous chain that is not 64 lowercase hex', () => {
  assert.throws(() => computeChain(Buffer.alloc(32), 'AB'.repeat(32), 's', 0n, 'm'), RangeError);
  assert.throws(() => chainStep(Buffer.alloc(32), Buffer.alloc(31), 's', 0n, 'm'), RangeError);
});

import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { computeChain, keyIdOf } from '../../src/seal/chain.js';
import { KeyFileError, loadHmacKey } from '../../src/seal/key.js';
import { tempDir } from '../queue/helpers.js';

const RAW = Buffer.from([...Array(32).keys()].map((i) => (i * 37 + 11) & 0xff));

function keyFile(dir: string, name: string, content: Buffer | string, mode = 0o600): string {
  const f = join(dir, name);
  writeFileSync(f, content);
  chmodSync(f, mode);
  return f;
}

test('a key is read as raw bytes, hex or base64, and named by the first 8 hex of its SHA-256', () => {
  const { dir, cleanup } = tempDir('lw-key-');
  try {
    const raw = loadHmacKey(keyFile(dir, 'raw', RAW));
    const hex = loadHmacKey(keyFile(dir, 'hex', RAW.toString('hex') + '\n'));
    const b64 = loadHmacKey(keyFile(dir, 'b64', RAW.toString('base64') + '\n'));
    for (const k of [raw, hex, b64]) assert.deepEqual(k.key, RAW);
    assert.equal(raw.keyId, keyIdOf(RAW));
    assert.match(raw.keyId, /^[0-9a-f]{8}$/);
  } finally {
    cleanup();
  }
});

test('a key file readable by group or others, or shorter than 32 bytes, is refused with a typed error', () => {
  const { dir, cleanup } = tempDir('lw-key-');
  try {
    for (const mode of [0o640, 0o604, 0o644]) {
      const f = keyFile(dir, `m${mode.toString(8)}`, RAW, mode);
      assert.throws(() => loadHmacKey(f), (e: unknown) => e instanceof KeyFileError && e.problem === 'permissions' && e.file === f);
    }
    const short = keyFile(dir, 'short', Buffer.alloc(31, 1));
    assert.throws(() => loadHmacKey(short), (e: unknown) => e instanceof KeyFileError && e.problem === 'too_short');
    assert.throws(() => loadHmacKey(join(dir, 'missing')), (e: unknown) => e instanceof KeyFileError && e.problem === 'unreadable');
  } finally {
    cleanup();
  }
});

test('the chain binds previous chain, session, seq and MSG: changing any one changes it', () => {
  const base = computeChain(RAW, '0'.repeat(64), 'abc', 5n, 'hello');
  assert.match(base, /^[0-9a-f]{64}$/);
  assert.equal(computeChain(RAW, '0'.repeat(64), 'abc', 5n, Buffer.from('hello')), base);
  assert.notEqual(computeChain(RAW, '1'.repeat(64), 'abc', 5n, 'hello'), base);
  assert.notEqual(computeChain(RAW, '0'.repeat(64), 'abd', 5n, 'hello'), base);
  assert.notEqual(computeChain(RAW, '0'.repeat(64), 'abc', 6n, 'hello'), base);
  assert.notEqual(computeChain(RAW, '0'.repeat(64), 'abc', 5n, 'hellO'), base);
  assert.notEqual(computeChain(Buffer.alloc(32, 1), '0'.repeat(64), 'abc', 5n, 'hello'), base);
});

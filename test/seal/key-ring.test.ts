import assert from 'node:assert/strict';
import { test } from 'node:test';

import { keyIdOf } from '../../src/seal/chain.js';
import { KeyFileError, loadHmacKey, loadHmacKeyRing, parseKeyFile } from '../../src/seal/key.js';
import { KEY_A, KEY_B, tempDir, writeKeyFile } from './sealed-stream.js';

const KEY_C = Buffer.from([...Array(48).keys()].map((i) => (i * 53 + 7) & 0xff));

test('a key ring file: the first key signs, every key verifies, comments and blank lines are ignored', () => {
  const { dir, cleanup } = tempDir('lw-ring-');
  try {
    const f = writeKeyFile(
      dir,
      'ring',
      `# logward HMAC keys: the first is current\n${KEY_B.toString('hex')}   # since 2026-03\n\n  # retired, kept to verify older records\n${KEY_A.toString('base64')}\n${KEY_C.toString('base64url')}\n`,
    );
    const ring = loadHmacKeyRing(f);
    assert.deepEqual(ring.current.key, KEY_B);
    assert.equal(ring.current.keyId, keyIdOf(KEY_B));
    assert.deepEqual([...ring.all.keys()], [KEY_B, KEY_A, KEY_C].map(keyIdOf));
    assert.deepEqual(ring.all.get(keyIdOf(KEY_A)), KEY_A);
    const signing = loadHmacKey(f);
    assert.deepEqual(signing, { key: KEY_B, keyId: keyIdOf(KEY_B), file: f }, 'the sealer gets the current key, same shape as before');
  } finally {
    cleanup();
  }
});

test('single-key files: raw bytes, hex, base64, and a one-line passphrase without its trailing newline', () => {
  const raw = Buffer.from([...Array(32).keys()].map((i) => (i * 37 + 11) & 0xff));
  assert.deepEqual(parseKeyFile(raw, 'f'), [raw]);
  assert.deepEqual(parseKeyFile(Buffer.from(raw.toString('hex') + '\n'), 'f'), [raw]);
  assert.deepEqual(parseKeyFile(Buffer.from(raw.toString('base64') + '\n'), 'f'), [raw]);
  const phrase = Buffer.from('correct horse battery staple # and then some more\n');
  assert.deepEqual(parseKeyFile(phrase, 'f'), [phrase.subarray(0, phrase.length - 1)]);
  // The newline is not key material: 31 characters stay 31 bytes (and `logward check` refuses them).
  assert.equal(parseKeyFile(Buffer.from(`${'k'.repeat(31)}\n`), 'f')[0]!.length, 31);
  // Random raw keys may contain LF and '#' bytes: not text, so never a ring.
  const binary = Buffer.from([0x23, 0x0a, ...raw, 0x0a, 0xff]);
  assert.deepEqual(parseKeyFile(binary, 'f'), [binary]);
});

test('a ring with a line that is not a key, a short key or two keys with one id is refused, naming the line', () => {
  const bad = (text: string, problem: string, detail: RegExp): void => {
    assert.throws(
      () => parseKeyFile(Buffer.from(text), 'k'),
      (e: unknown) => e instanceof KeyFileError && e.problem === problem && detail.test(e.message),
      text,
    );
  };
  // A line that is neither hex nor base64 is its text, as a one-line file is (key-ring-text-line.test.ts).
  bad(`${KEY_A.toString('hex')}\nnot a key at all\n`, 'too_short', /line 2: 16 bytes as text/);
  bad(`# only a comment\n`, 'format', /only comments/);
  bad(`${KEY_A.toString('hex')}\n${'ab'.repeat(8)}\n`, 'too_short', /line 2: 16 bytes as text/);
  const { dir, cleanup } = tempDir('lw-ring-');
  try {
    const f = writeKeyFile(dir, 'ring', `${KEY_A.toString('hex')}\n${KEY_B.toString('hex')}\n`, 0o640);
    assert.throws(() => loadHmacKeyRing(f), (e: unknown) => e instanceof KeyFileError && e.problem === 'permissions', 'the permission checks apply to rings');
    const dup = writeKeyFile(dir, 'dup', `${KEY_A.toString('hex')}\n${KEY_A.toString('base64')}\n`);
    assert.equal(loadHmacKeyRing(dup).all.size, 1, 'the same key twice is harmless');
  } finally {
    cleanup();
  }
});

test('one key with a trailing note is a ring of one', () => {
  assert.deepEqual(parseKeyFile(Buffer.from(`${KEY_A.toString('hex')}  # current\n`), 'f'), [KEY_A]);
});

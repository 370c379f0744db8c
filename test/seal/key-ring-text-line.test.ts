/**
 * A key line is read by one rule wherever it stands: alone in the file or in a
 * ring. The case that broke rotation: `openssl rand -hex 16 > hmac.key` (32 hex
 * characters, too short as hex) is 32 raw bytes when alone, and was refused
 * once a new key went above it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileSync } from 'node:fs';

import { runVerify } from '../../src/commands/verify.js';
import { keyIdOf } from '../../src/seal/chain.js';
import { KeyFileError, loadHmacKey, loadHmacKeyRing, parseKeyFile } from '../../src/seal/key.js';
import { agentRun, asLines, KEY_B, tempDir, writeKeyFile } from './sealed-stream.js';
import { Collect } from '../helpers/collect.js';

/** What `openssl rand -hex 16` writes: 32 hex characters and a newline. */
const HEX16_LINE = '3f9a0c57e1b24d68a7c3195e0b8d2f46';

test('a 32-hex-character line is the same 32 raw bytes alone, under a comment and below a new key', () => {
  const alone = parseKeyFile(Buffer.from(`${HEX16_LINE}\n`), 'k');
  assert.deepEqual(alone, [Buffer.from(HEX16_LINE, 'latin1')], 'the meaning of an existing one-line file is unchanged');
  assert.deepEqual(parseKeyFile(Buffer.from(`# ring\n${HEX16_LINE}\n`), 'k'), alone);
  assert.deepEqual(parseKeyFile(Buffer.from(`${HEX16_LINE}\r\n`), 'k'), alone, 'CRLF alone');
  const rotated = parseKeyFile(Buffer.from(`# current\n${KEY_B.toString('hex')}\n# retired 2026-03\r\n${HEX16_LINE}\r\n`), 'k');
  assert.deepEqual(rotated, [KEY_B, ...alone]);
  // A note after a text key is refused: alone in a file, ` # retired 2026-03` would be part of the key.
  assert.throws(
    () => parseKeyFile(Buffer.from(`${KEY_B.toString('hex')}\n${HEX16_LINE}   # retired 2026-03\n`), 'k'),
    (e: unknown) => e instanceof KeyFileError && e.problem === 'format' && /line 2: a text key/.test(e.message),
  );
});

test('a ring line shorter than 32 bytes as text is refused naming the line and its length', () => {
  for (const [line, bytes] of [['ab'.repeat(8), 16], ['not a key at all', 16]] as const) {
    assert.throws(
      () => parseKeyFile(Buffer.from(`${KEY_B.toString('hex')}\n${line}\n`), 'k'),
      (e: unknown) => e instanceof KeyFileError && e.problem === 'too_short' && new RegExp(`line 2: ${bytes} bytes`).test(e.message),
      line,
    );
  }
});

test('a stream sealed with a one-line hex-16 key still verifies after rotating a new key above it', async () => {
  const { dir, cleanup } = tempDir('lw-ring-text-');
  try {
    const before = writeKeyFile(dir, 'hmac.key', `${HEX16_LINE}\n`);
    const oldKey = loadHmacKey(before);
    const run = agentRun(oldKey.key, 5);
    const received = join(dir, 'received.log');
    writeFileSync(received, asLines(run.records));

    const ring = writeKeyFile(dir, 'hmac-rotated.key', `# current since 2026-03\n${KEY_B.toString('hex')}\n# retired 2026-03\n${HEX16_LINE}\n`);
    const loaded = loadHmacKeyRing(ring);
    assert.equal(loaded.current.keyId, keyIdOf(KEY_B), 'the new key signs');
    assert.ok(loaded.all.has(oldKey.keyId), 'the old key keeps its key id');

    const out = new Collect();
    const err = new Collect();
    const code = await runVerify({ keyFile: ring, file: received }, { stdout: out, stderr: err });
    assert.equal(code, 0, out.text + err.text);
  } finally {
    cleanup();
  }
});

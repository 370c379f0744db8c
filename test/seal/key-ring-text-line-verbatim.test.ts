/**
 * Rotation puts a new key above the old file's line. When that line is a text
 * key (neither hex nor base64), the ring may not cut or trim it into another
 * key than the one-line file meant: the old streams would stop verifying while
 * the agent and `logward check` accept the ring. Refusing the line is fine;
 * reading different bytes is not.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileSync } from 'node:fs';

import { runVerify } from '../../src/commands/verify.js';
import { KeyFileError, loadHmacKey, loadHmacKeyRing, parseKeyFile } from '../../src/seal/key.js';
import { agentRun, asLines, KEY_B, tempDir, writeKeyFile } from './sealed-stream.js';
import { Collect } from '../helpers/collect.js';

const NEW_KEY_LINE = KEY_B.toString('hex');

/** One-line key files whose whole line (minus the newline) is the key, as parseKeyFile reads them alone. */
const TEXT_KEY_FILES = [
  'a passphrase that is long enough # and a tail\n',
  'Tr0ub4dor-and-3-more-words-long-enough # prod 2025\n',
  '  correct horse battery staple, long enough  \n',
  'correct horse battery staple long enough\t\n',
];

test('a text key line below a new key is its whole line or refused, never a cut or trimmed other key', () => {
  for (const file of TEXT_KEY_FILES) {
    const [alone] = parseKeyFile(Buffer.from(file, 'latin1'), 'k');
    assert.equal(alone?.toString('latin1'), file.slice(0, -1), `${JSON.stringify(file)} alone is its whole line`);
    let ring: Buffer[] | undefined;
    try {
      ring = parseKeyFile(Buffer.from(`${NEW_KEY_LINE}\n${file}`, 'latin1'), 'k');
    } catch (e) {
      assert.ok(e instanceof KeyFileError && e.problem === 'format' && /line 2: /.test(e.message), String(e));
    }
    if (ring !== undefined) assert.deepEqual(ring[1], alone, `${JSON.stringify(file)} below a new key means another key`);
  }
});

test('rotating a passphrase file with " # " in it never leaves a ring that accepts and then fails the old stream', async () => {
  const { dir, cleanup } = tempDir('lw-ring-verbatim-');
  try {
    const line = 'Tr0ub4dor-and-3-more-words-long-enough # prod 2025';
    const before = writeKeyFile(dir, 'hmac.key', `${line}\n`);
    const run = agentRun(loadHmacKey(before).key, 5);
    const received = join(dir, 'received.log');
    writeFileSync(received, asLines(run.records));

    const ring = writeKeyFile(dir, 'hmac-rotated.key', `# current since 2026-03\n${NEW_KEY_LINE}\n${line}\n`);
    let loaded = true;
    try {
      loadHmacKeyRing(ring);
    } catch (e) {
      assert.ok(e instanceof KeyFileError, String(e));
      loaded = false;
    }
    if (loaded) {
      const out = new Collect();
      const err = new Collect();
      const code = await runVerify({ keyFile: ring, file: received }, { stdout: out, stderr: err });
      assert.equal(code, 0, `the ring loads, but the old stream no longer verifies:\n${out.text}${err.text}`);
    }
  } finally {
    cleanup();
  }
});

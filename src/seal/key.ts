/**
 * Loading the HMAC key. The key proves integrity on the SIEM side, so a key
 * anyone else on the host can read proves nothing: refuse a file readable by
 * group or others, or owned by someone other than us or root. Accepted
 * contents (see README.md): 64+ hex characters, or base64 (standard or url
 * alphabet, padded or not), each optionally followed by a newline; anything
 * else is taken as raw bytes. At least 32 bytes of key after decoding.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';

import { LogwardError } from '../errors.js';
import { keyIdOf } from './chain.js';

export type KeyProblem = 'unreadable' | 'permissions' | 'owner' | 'not_a_file' | 'too_short';

export class KeyFileError extends LogwardError {
  override readonly name = 'KeyFileError';
  constructor(
    readonly file: string,
    readonly problem: KeyProblem,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: HMAC key refused (${problem}): ${detail}`, options);
  }
}

export interface HmacKey {
  key: Buffer;
  keyId: string;
  file: string;
}

export const MIN_KEY_BYTES = 32;

export function decodeKeyText(raw: Buffer): Buffer {
  const text = raw.toString('latin1').replace(/\r?\n$/, '');
  if (text.length >= 64 && text.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(text)) return Buffer.from(text, 'hex');
  if (text.length >= 43 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    const b = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length >= MIN_KEY_BYTES) return b;
  }
  return raw;
}

export function loadHmacKey(file: string): HmacKey {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new KeyFileError(file, 'unreadable', (e as Error).message, { cause: e });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new KeyFileError(file, 'not_a_file', 'not a regular file');
    if ((st.mode & 0o044) !== 0) {
      throw new KeyFileError(file, 'permissions', `mode ${(st.mode & 0o777).toString(8)} lets group or others read it (chmod 600)`);
    }
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
      throw new KeyFileError(file, 'owner', `owned by uid ${st.uid}, not by ${uid} or root`);
    }
    const key = decodeKeyText(readFileSync(fd));
    if (key.length < MIN_KEY_BYTES) {
      throw new KeyFileError(file, 'too_short', `${key.length} bytes, at least ${MIN_KEY_BYTES} needed`);
    }
    return { key, keyId: keyIdOf(key), file };
  } finally {
    closeSync(fd);
  }
}

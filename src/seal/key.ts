/**
 * Loading the HMAC key(s). The key proves integrity on the SIEM side, so a key
 * anyone else on the host can read proves nothing: refuse a file readable by
 * group or others, or owned by someone other than us or root.
 *
 * Contents (see README.md "Key file"). One rule reads a key's text, alone in
 * the file or on a line of a ring: 64+ hex characters (even count) are hex,
 * else 43+ base64 characters (standard or url alphabet) decoding to 32+ bytes
 * are base64, else the text itself is the key, as raw bytes. So the line
 * `openssl rand -hex 16` writes (32 hex characters, too short as hex) is 32
 * raw bytes both alone and in a ring: a host that started with such a file
 * can rotate by putting a new key above it, and its old streams still verify.
 * Which files are rings, decided in this order:
 * 1. The whole file (minus one trailing newline) is one hex or base64 key.
 * 2. A text file with comment lines (`#` first), several key lines, or one
 *    hex or base64 key followed by ` # note`: a key ring. Each non-comment
 *    line is one key (text up to a `#` that starts the line or follows a
 *    blank, blanks around it removed; a text key, neither hex nor base64, must
 *    be its whole line, since alone its note and blanks were key material);
 *    the FIRST is the current (signing) key, the others are kept for
 *    verifying records sealed before a rotation. The comments themselves
 *    never become key material: the whole ring is never one raw key.
 * 3. Anything else (`head -c 32 /dev/urandom`, a one-line passphrase, even
 *    one with ` # ` in it) is the key as raw bytes, as before rings existed.
 * Every key needs at least 32 bytes. Keys are named by keyIdOf (first 8 hex of
 * SHA-256): two different keys with the same id in one ring are refused, since
 * the verifier could not tell which one a record names.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';

import { LogwardError } from '../errors.js';
import { keyIdOf } from './chain.js';

export type KeyProblem = 'unreadable' | 'permissions' | 'owner' | 'not_a_file' | 'too_short' | 'format';

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

export type LoadedKey = HmacKey;

export interface HmacKeyRing {
  /** The signing key: the first key of the file. */
  current: LoadedKey;
  /** Every key of the file by key id, the current one included. */
  all: Map<string, Buffer>;
}

export const MIN_KEY_BYTES = 32;

const HEX_RE = /^[0-9a-fA-F]+$/;
const B64_RE = /^[A-Za-z0-9+/_-]+={0,2}$/;
/** Printable ASCII, TAB, CR, LF: what a hand-written ring consists of. */
const TEXT_RE = /^[\x20-\x7e\t\r\n]*$/;

/** One key written as hex or base64, or undefined when `text` is neither. */
function decodeEncoded(text: string): Buffer | undefined {
  if (text.length >= 64 && text.length % 2 === 0 && HEX_RE.test(text)) return Buffer.from(text, 'hex');
  if (text.length >= 43 && B64_RE.test(text)) {
    const b = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length >= MIN_KEY_BYTES) return b;
  }
  return undefined;
}

/** Single-key decoding (rules 1 and 3 above); kept for callers that hold one key's bytes. */
export function decodeKeyText(raw: Buffer): Buffer {
  return decodeEncoded(raw.toString('latin1').replace(/\r?\n$/, '')) ?? raw;
}

/**
 * The keys of a key file, current first (pure). Throws KeyFileError
 * (`format`, `too_short`) naming the offending line.
 */
export function parseKeyFile(raw: Buffer, file: string): Buffer[] {
  const text = raw.toString('latin1');
  const single = decodeEncoded(text.replace(/\r?\n$/, ''));
  if (single) return [single];
  if (TEXT_RE.test(text)) {
    const lines = text.split('\n');
    const keyLines: { n: number; value: string; verbatim: boolean }[] = [];
    let commentLines = 0;
    let trailingComments = 0;
    lines.forEach((line, i) => {
      const hash = line.search(/(^|\s)#/);
      const value = (hash === -1 ? line : line.slice(0, hash)).trim();
      if (hash !== -1) {
        if (value === '') commentLines++;
        else trailingComments++;
      }
      if (value !== '') keyLines.push({ n: i + 1, value, verbatim: value === line.replace(/\r$/, '') });
    });
    // One line with a trailing "# note" is a ring of one only if it holds a key: a one-line
    // passphrase that happens to contain " #" stays raw bytes, as it always was.
    const oneAnnotatedKey = keyLines.length === 1 && trailingComments > 0 && decodeEncoded(keyLines[0]?.value ?? '') !== undefined;
    if (commentLines > 0 || keyLines.length > 1 || oneAnnotatedKey) {
      if (keyLines.length === 0) throw new KeyFileError(file, 'format', 'no key in the file (only comments)');
      return keyLines.map(({ n, value, verbatim }) => {
        // The single-line rule (decodeKeyText): a ring line must mean what the same line meant alone.
        const encoded = decodeEncoded(value);
        // Alone, a text key is its whole line, ` # ` and blanks included: cut or trimmed here it would be
        // another key, accepted by the agent while the streams sealed before the rotation fail to verify.
        if (encoded === undefined && !verbatim) {
          throw new KeyFileError(
            file,
            'format',
            `line ${n}: a text key (not 64+ hex or 43+ base64 characters) must be alone on its line, with no note and no blanks around it: alone in a file they are part of the key`,
          );
        }
        const k = encoded ?? Buffer.from(value, 'latin1');
        if (k.length < MIN_KEY_BYTES) {
          throw new KeyFileError(
            file,
            'too_short',
            `line ${n}: ${k.length} bytes as text (not 64+ hex or 43+ base64 characters), at least ${MIN_KEY_BYTES} needed`,
          );
        }
        return k;
      });
    }
    // A one-line text key: the newline an editor or `echo` adds is not key material
    // (otherwise a 31-character passphrase would pass as 32 bytes).
    return [Buffer.from(text.replace(/\r?\n$/, ''), 'latin1')];
  }
  return [raw];
}

/** Opens the file and applies the permission and owner checks; returns its bytes. */
function readKeyFile(file: string): Buffer {
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
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Every key of the file (the verifier's view); see the module note for the format. */
export function loadHmacKeyRing(file: string): HmacKeyRing {
  const keys = parseKeyFile(readKeyFile(file), file);
  const all = new Map<string, Buffer>();
  keys.forEach((key, i) => {
    if (key.length < MIN_KEY_BYTES) {
      throw new KeyFileError(file, 'too_short', `${keys.length > 1 ? `key ${i + 1}: ` : ''}${key.length} bytes, at least ${MIN_KEY_BYTES} needed`);
    }
    const id = keyIdOf(key);
    const other = all.get(id);
    if (other && !other.equals(key)) throw new KeyFileError(file, 'format', `key ${i + 1} has the same key id ${id} as an earlier, different key`);
    all.set(id, key);
  });
  const current = keys[0] as Buffer;
  return { current: { key: current, keyId: keyIdOf(current), file }, all };
}

/** The signing key (the first key of the file), for the sealer. */
export function loadHmacKey(file: string): HmacKey {
  return loadHmacKeyRing(file).current;
}

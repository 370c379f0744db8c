/** `logward verify` run in process on stored lines, as the verify tests need it. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { runVerify, type VerifyOptions } from '../../src/commands/verify.js';
import { Collect } from '../helpers/collect.js';
import { KEY_A, writeKeyFile } from '../seal/sealed-stream.js';

export interface Verified {
  code: number;
  /** stdout and stderr, as one text. */
  out: string;
}

let n = 0;

/** Verifies `lines`, written to a new file in `dir`, with `keyFile` (and `--agent` when given). */
export async function verifyLines(dir: string, keyFile: string, lines: readonly string[], agent?: string): Promise<Verified> {
  return verifyLinesWith(dir, keyFile, lines, agent !== undefined ? { agent } : {});
}

/** The same with any of verify's options (`--accept-fresh-start`, `--agent`, …). */
export async function verifyLinesWith(dir: string, keyFile: string, lines: readonly string[], opts: Partial<VerifyOptions>): Promise<Verified> {
  const file = join(dir, `check-${++n}.log`);
  writeFileSync(file, lines.map((l) => l + '\n').join(''));
  const out = new Collect();
  const code = await runVerify({ keyFile, file, ...opts }, { stdout: out, stderr: out });
  return { code, out: out.text };
}

/** The same with KEY_A (the key of test/seal/sealed-stream.ts's streams) in a new case directory under `root`. */
export async function verifyKeyA(root: string, lines: readonly string[], agent?: string): Promise<Verified> {
  const dir = join(root, `case-${++n}`);
  mkdirSync(dir);
  return verifyLines(dir, writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex') + '\n'), lines, agent);
}

/** verifyKeyA with any of verify's options. */
export async function verifyKeyAWith(root: string, lines: readonly string[], opts: Partial<VerifyOptions> = {}): Promise<Verified> {
  return verifyWithKeys(root, lines, [KEY_A], opts);
}

/** Verifies `lines` in a new case directory under `root`, the key file holding `keys` (a ring: one per line). */
export async function verifyWithKeys(root: string, lines: readonly string[], keys: readonly Buffer[], opts: Partial<VerifyOptions> = {}): Promise<Verified> {
  const dir = join(root, `case-${++n}`);
  mkdirSync(dir);
  return verifyLinesWith(dir, writeKeyFile(dir, 'hmac.key', keys.map((k) => k.toString('hex')).join('\n') + '\n'), lines, opts);
}

/**
 * A receiver's daily files (syslog.2026-11-21, -22, … holding `days`' lines) in a new case directory
 * under `root`, verified with KEY_A as one stream in the order given; one file is given alone.
 */
export async function verifyDayFiles(root: string, days: readonly (readonly string[])[], opts: Partial<VerifyOptions> = {}): Promise<Verified & { files: string[] }> {
  const dir = join(root, `case-${++n}`);
  mkdirSync(dir);
  const keyFile = writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex') + '\n');
  const files = days.map((lines, i) => {
    const file = join(dir, `syslog.2026-11-${21 + i}`);
    writeFileSync(file, lines.map((l) => l + '\n').join(''));
    return file;
  });
  const out = new Collect();
  const code = await runVerify({ keyFile, file: files.length === 1 ? (files[0] as string) : files, ...opts }, { stdout: out, stderr: out });
  return { code, out: out.text, files };
}

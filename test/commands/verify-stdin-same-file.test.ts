/**
 * `logward verify day1.log - < day1.log`: stdin that is a file given too is that file given twice,
 * refused as two names of one file are (exit 2, nothing checked): compared by device and inode of
 * fd 0 when stdin is a regular file (redirected from the file, a symlink or a hard link to it).
 * Before, only the files were compared, and day 1 read a second time passed as its own replays.
 */
import assert from 'node:assert/strict';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after as afterAll, test } from 'node:test';

import { runVerify } from '../../src/commands/verify.js';
import { runCli } from '../helpers/cli.js';
import { Collect } from '../helpers/collect.js';
import { after, KEY_A, pipelineRun, tempDir, writeKeyFile } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-stdin-same-');
afterAll(root.cleanup);

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const AGENT = { agent: 'web-01', format: 'ecs' as const };

/** Day 1 and day 2 of one run, each in its own file, and a key file. */
function days(name: string): { keyFile: string; day1: string; day2: string; dir: string } {
  const dir = join(root.dir, name);
  mkdirSync(dir);
  const r1 = pipelineRun(KEY_A, 30, { ...AGENT, at: new Date(Date.UTC(2026, 10, 21, 22)) });
  const r2 = pipelineRun(KEY_A, 10, { ...AGENT, at: new Date(Date.UTC(2026, 10, 22, 9)) }, after(r1));
  const lines = [...r1.records, ...r2.records].map((b) => b.toString() + '\n');
  const day1 = join(dir, 'syslog.2026-11-21');
  const day2 = join(dir, 'syslog.2026-11-22');
  writeFileSync(day1, lines.slice(0, 20).join(''));
  writeFileSync(day2, lines.slice(20).join(''));
  return { keyFile: writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex') + '\n'), day1, day2, dir };
}

/** runVerify in process, stdin read from `stdinPath` through a descriptor of its own, passed as the CLI passes fd 0. */
async function verifyWithStdinFile(keyFile: string, files: string[], stdinPath: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const fd = openSync(stdinPath, 'r');
  try {
    const stdout = new Collect();
    const stderr = new Collect();
    const stdin = Readable.from([readFileSync(stdinPath)]);
    const code = await runVerify({ keyFile, file: files }, { stdout, stderr, stdin, stdinFd: fd });
    return { code, stdout: stdout.text, stderr: stderr.text };
  } finally {
    closeSync(fd);
  }
}

test('via the CLI: stdin redirected from a file also given (verify day1 - < day1) is the file given twice: exit 2, nothing checked', async () => {
  const { keyFile, day1 } = days('cli');
  const r = await runCli(['verify', '--key', keyFile, day1, '-'], { stdinPath: day1 });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.equal(r.stderr, `logward verify: stdin is given twice (the same file as ${day1}, given before it)\n`);
  assert.equal(r.stdout, '', 'nothing checked, nothing printed');
});

test('stdin a symlink or a hard link to a file given, before or after it: exit 2, naming both', async () => {
  const { keyFile, day1, dir } = days('links');
  const sym = join(dir, 'today.log');
  symlinkSync(day1, sym);
  const hard = join(dir, 'hard.log');
  linkSync(day1, hard);
  for (const [files, stdin, problem] of [
    [[day1, '-'], sym, new RegExp(`^logward verify: stdin is given twice \\(the same file as ${esc(day1)}, given before it\\)$`)],
    [['-', day1], hard, new RegExp(`^logward verify: ${esc(day1)} is given twice \\(the same file as stdin, given before it\\)$`)],
    [[sym, '-'], day1, new RegExp(`^logward verify: stdin is given twice \\(the same file as ${esc(sym)}, given before it\\)$`)],
  ] as const) {
    const r = await verifyWithStdinFile(keyFile, [...files], stdin);
    assert.equal(r.code, 2, `${files.join(' ')} < ${stdin}: ${r.stdout}`);
    assert.match(r.stderr.trimEnd(), problem);
    assert.equal(r.stdout, '', 'nothing checked, nothing printed');
  }
});

test('stdin a regular file that is another file than those given is read as before: the next day on stdin is no refusal', async () => {
  const { keyFile, day1, day2 } = days('other');
  const r = await verifyWithStdinFile(keyFile, [day1, '-'], day2);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^NOTE: 2 files checked as one stream, in the order given \\(oldest first\\): ${esc(day1)}, stdin$`, 'm'));
  assert.match(r.stdout, /^intact: 42 records in 2 sessions, 1 declared restart, 0 replays$/m);
});

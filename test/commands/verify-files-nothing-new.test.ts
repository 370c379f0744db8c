/**
 * `logward verify day1 day2`: a file that adds no record to the stream, every record of it an
 * identical replay of one received before, is NOTHING NEW (a failure, naming the file). A copy of
 * day 1 saved as day 2 looked like a day of replays and passed: the deletion of day 2's records
 * it covered went unseen. Replays are still no failure: a resend window at the start of a file,
 * followed by new records, is what at-least-once delivery does, and one file holding records twice
 * reads as it always did.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after as afterAll, test } from 'node:test';

import { runVerify, type VerifyOptions } from '../../src/commands/verify.js';
import { Collect } from '../helpers/collect.js';
import { after, KEY_A, pipelineRun, tempDir, writeKeyFile, type Run } from '../seal/sealed-stream.js';
import { verifyKeyA } from './verify-lines.js';

const root = tempDir('lw-verify-nothing-new-');
afterAll(root.cleanup);

let n = 0;
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const text = (r: Run): string[] => r.records.map((b) => b.toString());
const session = (r: Run): string => r.sealer.session;
const AGENT = { agent: 'web-01', format: 'ecs' as const };

/** Writes each file's lines under its name and verifies them in the order given; `stdin`: lines for a '-' among them. */
async function verifyFiles(
  files: readonly (readonly [string, readonly string[]])[],
  opts: Partial<VerifyOptions> = {},
  stdin?: readonly string[],
): Promise<{ code: number; out: string; paths: string[] }> {
  const dir = join(root.dir, `case-${++n}`);
  mkdirSync(dir);
  const keyFile = writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex') + '\n');
  const paths = files.map(([name, lines]) => {
    if (name === '-') return name;
    const path = join(dir, name);
    writeFileSync(path, lines.map((l) => l + '\n').join(''));
    return path;
  });
  const out = new Collect();
  const input = stdin === undefined ? undefined : Readable.from([Buffer.from(stdin.map((l) => l + '\n').join(''))]);
  const code = await runVerify({ keyFile, file: paths, ...opts }, { stdout: out, stderr: out, ...(input ? { stdin: input } : {}) });
  return { code, out: out.text, paths };
}

/** One agent over three days: a run over two midnights, restarted on day 3 (as test/commands/verify-files.test.ts). */
function threeDays(): { r1: Run; days: [string[], string[], string[]] } {
  const r1 = pipelineRun(KEY_A, 40, { ...AGENT, at: new Date(Date.UTC(2026, 10, 21, 22)) });
  const r2 = pipelineRun(KEY_A, 10, { ...AGENT, at: new Date(Date.UTC(2026, 10, 23, 9)) }, after(r1));
  const lines = [...text(r1), ...text(r2)];
  // Day 1: seqs 0..14; day 2: 15..34; day 3: 35..40 of r1, then r2.
  return { r1, days: [lines.slice(0, 15), lines.slice(15, 35), lines.slice(35)] };
}

const NOTHING_NEW = (file: string, records: number, of: string): RegExp =>
  new RegExp(
    `^NOTHING NEW in ${esc(file)}: its ${records} records of the stream were all received before \\(identical replays of ${esc(of)}\\): ` +
      `a file that adds no record to the stream is a copy of what came before it, `,
    'm',
  );

test('a copy of day 1 saved as day 2 adds no record to the stream: NOTHING NEW names it, exit 1', async () => {
  const { days } = threeDays();
  const r = await verifyFiles([
    ['syslog.2026-11-21', days[0]],
    ['syslog.2026-11-22', days[0]],
  ]);
  assert.equal(r.code, 1, r.out);
  const [day1, day2] = r.paths as [string, string];
  assert.match(r.out, NOTHING_NEW(day2, 15, `${day1} lines 1..15`));
  assert.doesNotMatch(r.out, new RegExp(`NOTHING NEW in ${esc(day1)}`));
  assert.match(r.out, /^FAILED: 1 file with nothing new; 30 records in 1 session, 0 declared restarts, 15 replays$/m);
});

test('a copy standing for a day deleted in the middle: the GAP, and NOTHING NEW says what the file in its place is', async () => {
  const { r1, days } = threeDays();
  const r = await verifyFiles([
    ['syslog.2026-11-21', days[0]],
    ['syslog.2026-11-22', days[0]],
    ['syslog.2026-11-23', days[2]],
  ]);
  assert.equal(r.code, 1, r.out);
  const [day1, day2] = r.paths as [string, string];
  assert.match(r.out, new RegExp(`^GAP session=${session(r1)} seq 15\\.\\.34 \\(20 missing, `, 'm'));
  assert.match(r.out, NOTHING_NEW(day2, 15, `${day1} lines 1..15`));
  assert.match(r.out, /^FAILED: 1 gap \(20 missing\), 1 file with nothing new; /m);
});

test('a resend window at the start of a file, then new records: replays, no finding, intact', async () => {
  const { r1, days } = threeDays();
  // The connection dropped at midnight: day 1's last 5 records are sent again into day 2's file.
  const r = await verifyFiles([
    ['syslog.2026-11-21', days[0]],
    ['syslog.2026-11-22', [...days[0].slice(-5), ...days[1]]],
    ['syslog.2026-11-23', days[2]],
  ]);
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /NOTHING NEW/);
  assert.match(r.out, new RegExp(`^REPLAY session=${session(r1)} seq 10\\.\\.14 \\(5 records identical, at-least-once delivery; ${esc(r.paths[1] as string)} lines 1\\.\\.5\\)$`, 'm'));
  assert.match(r.out, /^intact: 57 records in 2 sessions, 1 declared restart, 5 replays$/m);
});

test('even one new record makes a file part of the stream: a file of replays but its last record is no finding', async () => {
  const { days } = threeDays();
  const r = await verifyFiles([
    ['syslog.2026-11-21', days[0]],
    ['syslog.2026-11-22', [...days[0], days[1][0] as string]],
  ]);
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /NOTHING NEW/);
});

test('several agents: the agent whose records in a file are all copies is NOTHING NEW in its own stream; the other agent, and a file without the agent, are not', async () => {
  const { days } = threeDays();
  const db = pipelineRun(KEY_A, 6, { agent: 'db-01', format: 'ecs', at: new Date(Date.UTC(2026, 10, 21, 23)) });
  const dbLines = text(db);
  // Day 2 holds web-01's own records and, for db-01, nothing but a copy of its day-1 records. Day 3 has no db-01 record.
  const files = [
    ['syslog.2026-11-21', [...days[0], ...dbLines]],
    ['syslog.2026-11-22', [...dbLines.slice(0, 4), ...days[1]]],
    ['syslog.2026-11-23', days[2]],
  ] as const;
  const all = await verifyFiles(files);
  assert.equal(all.code, 1, all.out);
  const [day1, day2] = all.paths as [string, string];
  const dbPart = all.out.slice(all.out.indexOf('AGENT db-01'), all.out.indexOf('AGENT web-01'));
  assert.match(dbPart, NOTHING_NEW(day2, 4, `${day1} lines 16..19`));
  assert.match(all.out, /^agent db-01: FAILED: 1 file with nothing new; 11 records in 1 session, 0 declared restarts, 4 replays$/m);
  assert.match(all.out, /^agent web-01: intact: /m);
  assert.equal(all.out.match(/^NOTHING NEW/gm)?.length, 1, all.out);
  const web = await verifyFiles(files, { agent: 'web-01' });
  assert.equal(web.code, 0, web.out);
  const dbOnly = await verifyFiles(files, { agent: 'db-01' });
  assert.equal(dbOnly.code, 1, dbOnly.out);
  assert.equal(dbOnly.out.match(/^NOTHING NEW in (\S+):/gm)?.join('|'), `NOTHING NEW in ${dbOnly.paths[1]}:`);
});

test('a pipe on stdin cannot be compared with the files, but day 1 piped in after day 1 adds nothing: NOTHING NEW in stdin', async () => {
  const { days } = threeDays();
  const r = await verifyFiles([['syslog.2026-11-21', days[0]], ['-', []]], {}, days[0]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, NOTHING_NEW('stdin', 15, `${r.paths[0]} lines 1..15`));
});

test('one file holding its records twice reads as it always did: replays, intact, no NOTHING NEW', async () => {
  const { days } = threeDays();
  const dir = join(root.dir, 'one-file');
  mkdirSync(dir);
  const r = await verifyKeyA(dir, [...days[0], ...days[0]]);
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /NOTHING NEW/);
  assert.match(r.out, /^REPLAY session=\S+ seq 0\.\.14 \(15 records identical, at-least-once delivery; lines 16\.\.30\)$/m);
  assert.match(r.out, /^intact: 30 records in 1 session, 0 declared restarts, 15 replays$/m);
});

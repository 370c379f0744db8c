/**
 * `logward verify --key K day1 day2 day3`: a receiver's daily files, given
 * oldest first, are read one after the other and checked as one stream.
 * - Records that go on from one file into the next are no gap: a session
 *   that runs over midnight, a restart just after it.
 * - A file left out between two is the gap it is, and the GAP line says
 *   between which records (file and line) the records are missing.
 * - Every finding names the file and the line in it (lines counted from 1 in
 *   each file); with one file the output is what it always was.
 * - Files given newest first: each record of the older file arrives after a
 *   later seq of its session (REORDERED), and a HINT says to give them oldest
 *   first. The order of the files is the operator's word, not sealed: it is
 *   only the order the records were received in.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after as afterAll, test } from 'node:test';

import { runVerify, type VerifyOptions } from '../../src/commands/verify.js';
import { Collect } from '../helpers/collect.js';
import { after, KEY_A, pipelineRun, tempDir, writeKeyFile, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-files-');
afterAll(root.cleanup);

let n = 0;

interface Checked {
  code: number;
  out: string;
  /** The files written, in the order given. */
  files: string[];
}

/** Writes each day's lines to its own daily file and verifies them, in the order given. */
async function verifyDays(days: readonly (readonly string[])[], opts: Partial<VerifyOptions> = {}, names?: readonly string[]): Promise<Checked> {
  const dir = join(root.dir, `case-${++n}`);
  mkdirSync(dir);
  const keyFile = writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex') + '\n');
  const files = days.map((lines, i) => {
    const file = join(dir, names?.[i] ?? `syslog.2026-11-${21 + i}`);
    writeFileSync(file, lines.map((l) => l + '\n').join(''));
    return file;
  });
  const out = new Collect();
  const code = await runVerify({ keyFile, file: files, ...opts }, { stdout: out, stderr: out });
  return { code, out: out.text, files };
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const text = (r: Run): string[] => r.records.map((b) => b.toString());
const session = (r: Run): string => r.sealer.session;
const AGENT = { agent: 'web-01', format: 'ecs' as const };

/** One agent over three days: a run that goes on over two midnights, restarted on day 3. */
function threeDays(): { r1: Run; r2: Run; days: [string[], string[], string[]] } {
  const r1 = pipelineRun(KEY_A, 40, { ...AGENT, at: new Date(Date.UTC(2026, 10, 21, 22)) });
  const r2 = pipelineRun(KEY_A, 10, { ...AGENT, at: new Date(Date.UTC(2026, 10, 23, 9)) }, after(r1));
  const lines = [...text(r1), ...text(r2)];
  // Day 1: seqs 0..14; day 2: 15..34; day 3: 35..40 of r1, then r2 (its start event is line 7).
  return { r1, r2, days: [lines.slice(0, 15), lines.slice(15, 35), lines.slice(35)] };
}

test('daily files given oldest first are one stream: a run going on over midnight, and a restart, are no gap', async () => {
  const { r1, r2, days } = threeDays();
  const r = await verifyDays(days);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`^NOTE: 3 files checked as one stream, in the order given \\(oldest first\\): ${r.files.map(esc).join(', ')}$`, 'm'));
  assert.doesNotMatch(r.out, /GAP|UNANCHORED|UNDECLARED|REORDERED/);
  assert.match(r.out, new RegExp(`^RESTART declared: session ${session(r1)} ended at seq 40, session ${session(r2)} starts at 41$`, 'm'));
  assert.match(r.out, /^intact: 52 records in 2 sessions, 1 declared restart, 0 replays$/m);
});

test('the same days as one file: the verdict and the findings are the same; only the NOTE is added', async () => {
  const { days } = threeDays();
  const split = await verifyDays(days);
  const one = await verifyDays([days.flat()]);
  assert.equal(one.code, split.code);
  assert.equal(split.out, `NOTE: 3 files checked as one stream, in the order given (oldest first): ${split.files.join(', ')}\n${one.out}`);
});

test('a day file left out in the middle of a run is a GAP, named between the last record before it and the first after it', async () => {
  const { r1, days } = threeDays();
  const r = await verifyDays([days[0], days[2]]);
  assert.equal(r.code, 1, r.out);
  const [day1, day3] = r.files as [string, string];
  assert.match(r.out, new RegExp(`^GAP session=${session(r1)} seq 15\\.\\.34 \\(20 missing, between ${esc(day1)} line 15 and ${esc(day3)} line 1\\)$`, 'm'));
  assert.match(r.out, /^FAILED: 1 gap \(20 missing\); 32 records in 2 sessions, 1 declared restart, 0 replays$/m);
});

test('a day file left out that held a restart: the run after it has no start event, and the UNDECLARED RESTART says where each side was read', async () => {
  const r1 = pipelineRun(KEY_A, 10, { ...AGENT, at: new Date(Date.UTC(2026, 10, 21, 22)) });
  const r2 = pipelineRun(KEY_A, 20, { ...AGENT, at: new Date(Date.UTC(2026, 10, 22, 9)) }, after(r1));
  const lines = [...text(r1), ...text(r2)];
  // Day 2 holds r1's last records and r2's start event: left out, nothing declares the boundary.
  const r = await verifyDays([lines.slice(0, 8), lines.slice(15)], {}, ['syslog.2026-11-21', 'syslog.2026-11-23']);
  assert.equal(r.code, 1, r.out);
  const [day1, day3] = r.files as [string, string];
  assert.match(
    r.out,
    new RegExp(
      `^UNDECLARED RESTART session=${session(r2)} \\(first seq received 15, ${esc(day3)} line 1\\) after session=${session(r1)} ` +
        `\\(last seq received 7, ${esc(day1)} line 8\\): no start event declares the boundary$`,
      'm',
    ),
  );
});

test('every finding names the file and the line in it; lines are counted from 1 in each file', async () => {
  const { r1, days } = threeDays();
  const edited = [...days[1]];
  edited[2] = (edited[2] as string).replace('port 22', 'port 23');
  // A record of day 2 sent twice (a replay) and a line of day 3 that does not parse.
  const day3 = [...days[2], days[1][5] as string, 'garbage [logward@32473 session="x"'];
  const r = await verifyDays([days[0], edited, day3]);
  assert.equal(r.code, 1, r.out);
  const [, day2, day3file] = r.files as [string, string, string];
  assert.match(r.out, new RegExp(`^ALTERED session=${session(r1)} seq=17 \\(${esc(day2)} line 3: its chain does not match its content and predecessor\\)$`, 'm'));
  assert.match(r.out, new RegExp(`^REPLAY session=${session(r1)} seq=20 \\(identical, at-least-once delivery; ${esc(day3file)} line 18\\)$`, 'm'));
  assert.match(r.out, new RegExp(`^MALFORMED ${esc(day3file)} line 19: `, 'm'));
});

test('files given newest first: the older file\'s records are REORDERED, and a HINT says to give the files oldest first', async () => {
  const { r1, days } = threeDays();
  const r = await verifyDays([days[1], days[0]], {}, ['syslog.2026-11-22', 'syslog.2026-11-21']);
  assert.equal(r.code, 1, r.out);
  const [day2, day1] = r.files as [string, string];
  assert.match(
    r.out,
    new RegExp(`^HINT: session ${session(r1)}'s records in ${esc(day1)} come before its records in ${esc(day2)} by seq: give the files oldest first `, 'm'),
  );
  assert.match(r.out, new RegExp(`^REORDERED session=${session(r1)} seq=0 \\(${esc(day1)} line 1: arrived after a later seq of its session\\)$`, 'm'));
  assert.match(r.out, /^FAILED: 15 reordered; /m);
});

test('with several agents in the files, each agent\'s findings name the files too', async () => {
  const { days } = threeDays();
  const db = pipelineRun(KEY_A, 4, { agent: 'db-01', format: 'ecs', at: new Date(Date.UTC(2026, 10, 22, 1)) });
  // db-01's run is on day 2, with its second record deleted.
  const day2 = [...days[1].slice(0, 3), ...text(db).filter((_, i) => i !== 2), ...days[1].slice(3)];
  const r = await verifyDays([days[0], day2, days[2]]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /^AGENT db-01$/m);
  assert.match(r.out, new RegExp(`^GAP session=${session(db)} seq=2 \\(1 missing, between ${esc(r.files[1] as string)} line 5 and ${esc(r.files[1] as string)} line 6\\)$`, 'm'));
  assert.match(r.out, /^agent web-01: intact: 52 records in 2 sessions, /m);
});

test('one file given as a list of one: the output is the same as given alone (no NOTE, no file names)', async () => {
  const { days } = threeDays();
  const dir = join(root.dir, `case-${++n}`);
  mkdirSync(dir);
  const keyFile = writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex') + '\n');
  const file = join(dir, 'received.log');
  writeFileSync(file, days[1].map((l) => l + '\n').join(''));
  const outs: string[] = [];
  for (const f of [file, [file]]) {
    const out = new Collect();
    assert.equal(await runVerify({ keyFile, file: f }, { stdout: out, stderr: out }), 0, out.text);
    outs.push(out.text);
  }
  assert.equal(outs[0], outs[1]);
  assert.doesNotMatch(outs[0] as string, /NOTE|received\.log/);
});

test('stdin among the files is named stdin; a file given twice, stdin twice or a file that cannot be read: exit 2 before anything is checked', async () => {
  const { days } = threeDays();
  const dir = join(root.dir, `case-${++n}`);
  mkdirSync(dir);
  const keyFile = writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex') + '\n');
  const day1 = join(dir, 'syslog.2026-11-21');
  writeFileSync(day1, days[0].map((l) => l + '\n').join(''));
  const run = async (file: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> => {
    const stdout = new Collect();
    const stderr = new Collect();
    const code = await runVerify({ keyFile, file }, { stdout, stderr, stdin: Readable.from([Buffer.from(stdin)]) });
    return { code, stdout: stdout.text, stderr: stderr.text };
  };
  // The rest of the run on stdin, after day 1's file.
  const piped = await run([day1, '-'], [...days[1], ...days[2]].map((l) => l + '\n').join(''));
  assert.equal(piped.code, 0, piped.stdout);
  assert.match(piped.stdout, new RegExp(`^NOTE: 2 files checked as one stream, in the order given \\(oldest first\\): ${esc(day1)}, stdin$`, 'm'));
  for (const [files, problem] of [
    [[day1, day1], /is given twice/],
    [['-', day1, '-'], /stdin \(-\) can be read once/],
    [[day1, join(dir, 'syslog.2026-11-22')], /syslog\.2026-11-22: ENOENT/],
  ] as const) {
    const r = await run([...files]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, problem);
    assert.equal(r.stdout, '', 'nothing checked, nothing printed');
  }
});

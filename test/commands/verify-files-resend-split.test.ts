/**
 * `logward verify a b c`: a file of nothing but replays that the stream takes up again right after
 * is a resend, not a copy. The resend window is at least output.resend_window.bytes (4 MiB by
 * default: on a quiet host, hours of records), so a receiver that splits its files by size cuts one
 * into files of nothing but replays while the agent runs on; a connection dropped during its resend
 * sends the window again into the next file; and a host quieter than its monitoring.heartbeat (any
 * positive duration) leaves a time-split file holding only a reconnect's resend. NOTHING NEW failed
 * all of them. A copy the stream does not go on from (a jump after it, a fresh start, nothing after
 * it) still fails, and stdin redirected from a directory is refused as a directory given by name is.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after as afterAll, test } from 'node:test';

import { runVerify, type VerifyOptions } from '../../src/commands/verify.js';
import { runCli } from '../helpers/cli.js';
import { Collect } from '../helpers/collect.js';
import { after, FRESH, KEY_A, pipelineRun, tempDir, writeKeyFile, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-resend-split-');
afterAll(root.cleanup);

let n = 0;
const text = (r: Run): string[] => r.records.map((b) => b.toString());
const AGENT = { agent: 'web-01', format: 'ecs' as const };

/** Writes each file's lines under its name in a new case directory and verifies them in the order given. */
async function verifyFiles(files: readonly (readonly [string, readonly string[]])[], opts: Partial<VerifyOptions> = {}): Promise<{ code: number; out: string; dir: string; keyFile: string; paths: string[] }> {
  const dir = join(root.dir, `case-${++n}`);
  mkdirSync(dir);
  const keyFile = writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex') + '\n');
  const paths = files.map(([name, lines]) => {
    const path = join(dir, name);
    writeFileSync(path, lines.map((l) => l + '\n').join(''));
    return path;
  });
  const out = new Collect();
  const code = await runVerify({ keyFile, file: paths, ...opts }, { stdout: out, stderr: out });
  return { code, out: out.text, dir, keyFile, paths };
}

/** One run, seqs 0..99 (the start event, then 99 log events). */
function run(format: 'ecs' | 'cef' = 'ecs'): string[] {
  return text(pipelineRun(KEY_A, 99, { ...AGENT, format, at: new Date(Date.UTC(2026, 10, 21, 9)) }));
}

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: a resend window longer than a size-split file fills it with replays while the agent runs on: intact, no NOTHING NEW`, async () => {
    const L = run(format);
    // The connection drops after seq 59; the window 20..59 is sent again; the receiver's size limit
    // cuts it: .1 holds 20..49, .2 the rest of the window and the new records 60..99.
    const r = await verifyFiles([
      ['remote.log.0', L.slice(0, 60)],
      ['remote.log.1', L.slice(20, 50)],
      ['remote.log.2', L.slice(50)],
    ]);
    assert.doesNotMatch(r.out, /NOTHING NEW/);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^intact: 140 records in 1 session, 0 declared restarts, 40 replays$/m);
  });
}

test('a connection dropped during its resend sends the window again into the next file: the file cut short is no NOTHING NEW', async () => {
  const L = run();
  // The first resend (20..59) is cut at 44 by a dead connection; the next connection sends 20..59 again, then 60..99.
  const r = await verifyFiles([
    ['capture.1', L.slice(0, 60)],
    ['capture.2', L.slice(20, 45)],
    ['capture.3', [...L.slice(20, 60), ...L.slice(60)]],
  ]);
  assert.doesNotMatch(r.out, /NOTHING NEW/);
  assert.equal(r.code, 0, r.out);
});

test('a quiet host, its heartbeat longer than the receiver file period: an hour holding only a reconnect resend, the next hour going on, is intact', async () => {
  const L = run();
  // Hour 9: seqs 0..6. Hour 10: nothing but the resend after the receiver restarted. Hour 11: seq 7 on.
  const r = await verifyFiles([
    ['remote.2026112109', L.slice(0, 7)],
    ['remote.2026112110', L.slice(0, 7)],
    ['remote.2026112111', L.slice(7)],
  ]);
  assert.doesNotMatch(r.out, /NOTHING NEW/);
  assert.equal(r.code, 0, r.out);
});

test('a restart right after a resend that filled a file: the next file opens with the window again, or with the start declaring the session, intact', async () => {
  const r1 = pipelineRun(KEY_A, 59, { ...AGENT, at: new Date(Date.UTC(2026, 10, 21, 9)) });
  const r2 = pipelineRun(KEY_A, 10, { ...AGENT, at: new Date(Date.UTC(2026, 10, 21, 10)) }, after(r1));
  const L = text(r1);
  // The queue opens at its acknowledged cursor, so the restart sends the window again before its start
  // event; under space pressure the window is only its age, and may have been acknowledged already.
  for (const next of [[...L.slice(40), ...text(r2)], text(r2)]) {
    const r = await verifyFiles([
      ['remote.log.0', L],
      ['remote.log.1', L.slice(20)],
      ['remote.log.2', next],
    ]);
    assert.doesNotMatch(r.out, /NOTHING NEW/);
    assert.equal(r.code, 0, r.out);
  }
});

test('several agents in size-split files: the agent whose records in one file are all its resend, its stream going on in the next, is intact', async () => {
  const web = run();
  const db = text(pipelineRun(KEY_A, 40, { agent: 'db-01', format: 'ecs', at: new Date(Date.UTC(2026, 10, 21, 9)) }));
  // db-01 reconnects: its window 10..29 is sent again while web-01 writes on; the split falls inside it.
  const r = await verifyFiles([
    ['siem.log.0', [...web.slice(0, 30), ...db.slice(0, 30)]],
    ['siem.log.1', [...web.slice(30, 60), ...db.slice(10, 20)]],
    ['siem.log.2', [...db.slice(20), ...web.slice(60)]],
  ]);
  assert.doesNotMatch(r.out, /NOTHING NEW/);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^agent db-01: intact: /m);
});

test('still NOTHING NEW: a copy the stream does not go on from, before an accepted fresh start, or last', async () => {
  const L = run();
  const fresh = text(pipelineRun(KEY_A, 10, { ...AGENT, at: new Date(Date.UTC(2026, 10, 23, 9)) }, FRESH));
  const beforeFresh = await verifyFiles(
    [
      ['syslog.2026-11-21', L.slice(0, 30)],
      ['syslog.2026-11-22', L.slice(0, 30)],
      ['syslog.2026-11-23', fresh],
    ],
    { acceptFreshStarts: 'all' },
  );
  assert.equal(beforeFresh.code, 1, beforeFresh.out);
  assert.match(beforeFresh.out, /^NOTHING NEW in \S+syslog\.2026-11-22: /m);
  const last = await verifyFiles([
    ['syslog.2026-11-21', L.slice(0, 30)],
    ['syslog.2026-11-22', L.slice(0, 30)],
  ]);
  assert.equal(last.code, 1, last.out);
  assert.match(last.out, /^NOTHING NEW in \S+syslog\.2026-11-22: /m);
});

test('via the CLI: stdin redirected from a directory is refused as a directory given by name is (exit 2), not read as an empty file', async () => {
  const L = run();
  const r = await verifyFiles([['syslog.2026-11-21', L]]);
  const dir = join(r.dir, 'syslog.2026-11-22');
  mkdirSync(dir);
  const res = await runCli(['verify', '--key', r.keyFile, r.paths[0] as string, '-'], { stdinPath: dir });
  assert.equal(res.code, 2, res.stdout + res.stderr);
  assert.match(res.stderr, /^logward verify: stdin: EISDIR/);
});

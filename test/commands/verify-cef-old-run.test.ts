/**
 * A CEF daily file that begins inside a run of the old stream, then holds a
 * fresh start (the state directory wiped). Which runs come before the fresh
 * start is what the seal proves (src/seal/verify.ts streamOrder): a run
 * without its start event in the data goes there only when the last record
 * of each of its sessions carries the agent's clock, MAC checked, from before
 * the fresh start. Otherwise it could be a run after it whose start event was
 * deleted with the whole run before it.
 *
 * CEF log events carry no such clock (their rt is the time the line states,
 * which whoever writes the line chooses). The agent's own events do (rt of
 * class id "logward:<action>": when it made them): an old run that ended with
 * a clean stop ends with agent_stopped, which dates it. So such a file passes
 * once the fresh start is accepted, as in ECS. A run that ended otherwise (the
 * agent killed, the host lost) is not dated, and the file still fails.
 *
 * Giving the part before the fresh start and the part from it on as two files
 * to one verify run does not change that: the files of one run are one
 * stream, and their order is the operator's word, not sealed (an editor moves
 * records from one daily file to another as easily as within one). Each part
 * in a run of its own passes, which is what the failure line advises.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after as afterAll, test } from 'node:test';

import { runVerify, type VerifyOptions } from '../../src/commands/verify.js';
import { Collect } from '../helpers/collect.js';
import { stopRun } from '../seal/agent-events.js';
import { after, KEY_A, sealLogLine, tempDir, timedRun, writeKeyFile, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-cef-old-run-');
afterAll(root.cleanup);

let n = 0;

/** Verifies the parts given, each its own file (one part: one file), in one run. */
async function verify(parts: readonly (readonly string[])[], opts: Partial<VerifyOptions> = {}): Promise<{ code: number; out: string }> {
  const dir = join(root.dir, `case-${++n}`);
  mkdirSync(dir);
  const keyFile = writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex') + '\n');
  const files = parts.map((lines, i) => {
    const file = join(dir, `syslog.2026-05-0${i + 2}`);
    writeFileSync(file, lines.map((l) => l + '\n').join(''));
    return file;
  });
  const out = new Collect();
  const code = await runVerify({ keyFile, file: files.length === 1 ? (files[0] as string) : files, ...opts }, { stdout: out, stderr: out });
  return { code, out: out.text };
}

const text = (r: Run): string[] => r.records.map((b) => b.toString());
const session = (r: Run): string => r.sealer.session;
const day = (d: number, h = 0): Date => new Date(Date.UTC(2026, 4, d, h));
const CEF = { agent: 'web-01', format: 'cef' as const };

/** The old stream (two runs, the second stopped cleanly when `stopped`), the state directory wiped, a fresh start and its next run. */
function wiped(stopped: boolean): { o2: Run; f1: Run; f2: Run } {
  const o1 = timedRun(KEY_A, 3, { ...CEF, at: day(1) });
  const o2 = timedRun(KEY_A, 20, { ...CEF, at: day(2) }, after(o1));
  if (stopped) stopRun(o2, { ...CEF, at: day(2, 1) });
  const f1 = timedRun(KEY_A, 4, { ...CEF, at: day(3, 10) });
  const f2 = timedRun(KEY_A, 4, { ...CEF, at: day(3, 12) }, after(f1));
  return { o2, f1, f2 };
}

test('CEF: a file that begins inside an old run that stopped cleanly (agent_stopped carries the agent\'s clock), then a fresh start: FRESH START only; accepted, intact', async () => {
  const { o2, f1, f2 } = wiped(true);
  const old = text(o2).slice(10);
  const fresh = [...text(f1), ...text(f2)];
  for (const parts of [[[...old, ...fresh]], [old, fresh]]) {
    const plain = await verify(parts);
    assert.equal(plain.code, 1, plain.out);
    assert.doesNotMatch(plain.out, /UNDECLARED|GAP|ALTERED/, plain.out);
    assert.match(plain.out, new RegExp(`^UNANCHORED session=${session(o2)} seq=14: `, 'm'));
    assert.match(plain.out, new RegExp(`^FRESH START session=${session(f1)} seq=0 \\(.*line ${parts.length === 1 ? old.length + 1 : 1}\\): its start event declares no previous session`, 'm'));
    assert.match(plain.out, /^FAILED: 1 fresh start \(the stream started over\); /m);
    const ok = await verify(parts, { acceptFreshStarts: [session(f1)] });
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, new RegExp(`^intact: ${old.length + fresh.length} records in 3 sessions, 1 declared restart, 1 accepted fresh start, 0 replays$`, 'm'));
  }
});

test('CEF: an old run that did not stop cleanly is dated by nothing: the file still fails, one file or two in one run; each part in its own run passes', async () => {
  const { o2, f1, f2 } = wiped(false);
  const old = text(o2).slice(10);
  const fresh = [...text(f1), ...text(f2)];
  const advice = `nothing sealed dates it before the fresh start of session ${session(f1)}`;
  const one = await verify([[...old, ...fresh]], { acceptFreshStarts: 'all' });
  assert.equal(one.code, 1, one.out);
  assert.match(one.out, new RegExp(`^UNDECLARED RESTART session=${session(o2)} .*; ${advice} .*: if the file begins inside it, check the part from that fresh start on separately$`, 'm'));
  const two = await verify([old, fresh], { acceptFreshStarts: 'all' });
  assert.equal(two.code, 1, two.out);
  assert.match(
    two.out,
    new RegExp(
      `^UNDECLARED RESTART session=${session(o2)} .*; ${advice} \\(ECS records carry the time the agent read them, CEF only the agent's own events, such as agent_stopped at a clean stop; .*\\): ` +
        `if the first file begins inside it, check the records from that fresh start on in a separate verify run \\(the files of one run are one stream, and their order is not sealed\\)$`,
      'm',
    ),
  );
  // What the line advises: each part on its own.
  const before = await verify([old]);
  assert.equal(before.code, 0, before.out);
  assert.match(before.out, new RegExp(`^UNANCHORED session=${session(o2)} seq=14: `, 'm'));
  const from = await verify([fresh]);
  assert.equal(from.code, 0, from.out);
});

test('CEF: a run after the fresh start whose start event was deleted with the run before it does not pass as the old run, though it ends with a stop event: that clock says after the fresh start', async () => {
  const { o2, f1, f2 } = wiped(true);
  const f3 = timedRun(KEY_A, 4, { ...CEF, at: day(3, 14) }, after(f2));
  const f4 = timedRun(KEY_A, 4, { ...CEF, at: day(3, 16) }, after(f3));
  stopRun(f4, { ...CEF, at: day(3, 17) });
  // f3 deleted whole, and f4's start event: f4's records stored where the old run would be, in the same file or an earlier one.
  const moved = text(f4).slice(1);
  const fresh = [...text(f1), ...text(f2)];
  for (const parts of [[[...moved, ...fresh]], [moved, fresh], [[...text(o2).slice(10), ...moved], fresh]]) {
    const r = await verify(parts, { acceptFreshStarts: 'all' });
    assert.equal(r.code, 1, `${parts.length} file(s): a whole run (session ${session(f3)}) was deleted, yet:\n${r.out}`);
    assert.match(r.out, new RegExp(`^UNDECLARED RESTART session=${session(f4)} `, 'm'));
  }
});

test('CEF: a log line is no clock: a run after the fresh start whose last record is a line stating an old time stays an undeclared restart', async () => {
  const { f1, f2 } = wiped(true);
  const f3 = timedRun(KEY_A, 4, { ...CEF, at: day(3, 14) }, after(f2));
  const f4 = timedRun(KEY_A, 4, { ...CEF, at: day(3, 16) }, after(f3));
  // Written by whoever can write a log the agent reads; its rt is the time the line states (January), its class id its parser's.
  sealLogLine(f4, 'logward 0.1.0 stopping on SIGTERM (session 0)', { ...CEF, read: day(3, 17) });
  assert.match(f4.records.at(-1)?.toString() ?? '', /\|plain:event\|.*\brt=\d+ /);
  const r = await verify([[...text(f4).slice(1), ...text(f1), ...text(f2)]], { acceptFreshStarts: 'all' });
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^UNDECLARED RESTART session=${session(f4)} .*nothing sealed dates it before the fresh start of session ${session(f1)} `, 'm'));
});

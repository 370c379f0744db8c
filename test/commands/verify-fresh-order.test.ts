/**
 * `logward verify` of files where the stream started over (a fresh start: the
 * state directory wiped) and the data does not begin at the first start of the
 * stream:
 *
 * - a daily file that begins inside a session of the old stream, then holds
 *   the fresh start: with the fresh start accepted it is intact (the old
 *   session's beginning is before the file, as in any file that starts
 *   mid-session); without, it fails with FRESH START only. It failed with
 *   UNDECLARED RESTART either way (sessions were put in order by lowest seq,
 *   and the new stream's seqs start at 0 again). Only what is sealed puts the
 *   old session first: its records' read times (ECS event.created) before the
 *   fresh start's. Without them (CEF), or when they say otherwise (a run whose
 *   start event was deleted), the undeclared restart stays.
 * - files concatenated newest first (`cat day2 day1`): the fresh start
 *   reported is the later one by the start events' sealed times, not the one
 *   that happens to be stored second.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after as afterAll, test } from 'node:test';

import { runVerify, type VerifyOptions } from '../../src/commands/verify.js';
import { verifyKeyAWith, type Verified } from './verify-lines.js';
import { Collect } from '../helpers/collect.js';
import { after, KEY_A, tempDir, timedRun, writeKeyFile, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-fresh-order-');
afterAll(root.cleanup);

const verify = (lines: readonly string[], opts: Partial<VerifyOptions> = {}): Promise<Verified> => verifyKeyAWith(root.dir, lines, opts);

const text = (r: Run): string[] => r.records.map((b) => b.toString());
const session = (r: Run): string => r.sealer.session;
const day = (d: number, h = 0): Date => new Date(Date.UTC(2026, 4, d, h));

/** An old stream (two runs), then the state directory wiped: a fresh start and its next run. */
function wiped(format: 'ecs' | 'cef', freshEvents = 4): { o1: Run; o2: Run; f1: Run; f2: Run } {
  const agent = { agent: 'web-01', format };
  const o1 = timedRun(KEY_A, 3, { ...agent, at: day(1) });
  const o2 = timedRun(KEY_A, 20, { ...agent, at: day(2) }, after(o1));
  const f1 = timedRun(KEY_A, freshEvents, { ...agent, at: day(3, 10) });
  const f2 = timedRun(KEY_A, freshEvents, { ...agent, at: day(3, 12) }, after(f1));
  return { o1, o2, f1, f2 };
}

for (const agent of [undefined, 'web-01']) {
  const mode = agent === undefined ? 'one agent' : '--agent web-01';
  test(`${mode}: a daily file that begins inside an old session, then a fresh start: FRESH START only; accepted, intact`, async () => {
    for (const freshEvents of [4, 12]) {
      // With 12 events the new stream's seqs (0..25) run into the old session's (14..24): seqs order nothing across the two.
      const { o2, f1, f2 } = wiped('ecs', freshEvents);
      const lines = [...text(o2).slice(10), ...text(f1), ...text(f2)];
      const base = agent !== undefined ? { agent } : {};
      const plain = await verify(lines, base);
      assert.equal(plain.code, 1, plain.out);
      assert.doesNotMatch(plain.out, /UNDECLARED|GAP|ALTERED/, plain.out);
      assert.match(plain.out, new RegExp(`^UNANCHORED session=${session(o2)} seq=14: `, 'm'));
      assert.match(plain.out, new RegExp(`^FRESH START session=${session(f1)} seq=0 \\(line 12\\): its start event declares no previous session, but this stream holds session ${session(o2)} before it`, 'm'));
      assert.match(plain.out, /^FAILED: 1 fresh start \(the stream started over\); /m);
      for (const acceptFreshStarts of ['all', [session(f1)]] as const) {
        const ok = await verify(lines, { ...base, acceptFreshStarts });
        assert.equal(ok.code, 0, ok.out);
        assert.match(ok.out, new RegExp(`^FRESH START \\(accepted\\) session=${session(f1)} `, 'm'));
        assert.match(ok.out, new RegExp(`^intact: ${lines.length} records in 3 sessions, 1 declared restart, 1 accepted fresh start, 0 replays`, 'm'));
      }
    }
  });
}

test('the same file with the old session deleted at its end is still intact when accepted: the end before a fresh start is unprovable (as documented)', async () => {
  const { o2, f1, f2 } = wiped('ecs');
  const r = await verify([...text(o2).slice(10, 15), ...text(f1), ...text(f2)], { acceptFreshStarts: 'all' });
  assert.equal(r.code, 0, r.out);
});

test('a run after the fresh start whose start event was deleted (a run deleted before it) is no "old session": UNDECLARED RESTART, accepted or not', async () => {
  const { o2, f1, f2 } = wiped('ecs');
  const f3 = timedRun(KEY_A, 4, { agent: 'web-01', format: 'ecs', at: day(3, 14) }, after(f2));
  const f4 = timedRun(KEY_A, 4, { agent: 'web-01', format: 'ecs', at: day(3, 16) }, after(f3));
  // f3 deleted, and f4's start event: f4's records are sealed after the fresh start, so they stay after it.
  for (const head of [[], text(o2).slice(10)]) {
    for (const lines of [
      [...head, ...text(f1), ...text(f2), ...text(f4).slice(1)],
      // Stored first, to pass for the data the file begins inside: the order of the file proves nothing.
      [...text(f4).slice(1), ...head, ...text(f1), ...text(f2)],
    ]) {
      const r = await verify(lines, { acceptFreshStarts: 'all' });
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, new RegExp(`^UNDECLARED RESTART session=${session(f4)} `, 'm'));
    }
  }
});

test('CEF: nothing sealed dates the old session\'s records (rt is the event\'s own time), so the undeclared restart stays, and says so', async () => {
  const { o2, f1, f2 } = wiped('cef');
  const r = await verify([...text(o2).slice(10), ...text(f1), ...text(f2)], { acceptFreshStarts: 'all' });
  assert.equal(r.code, 1, r.out);
  assert.match(
    r.out,
    new RegExp(
      `^UNDECLARED RESTART session=${session(o2)} \\(first seq received 14\\) after session=${session(f2)} \\(last seq received 9\\): no start event declares the boundary; ` +
        `nothing sealed dates it before the fresh start of session ${session(f1)} \\(only ECS records carry the time the agent read them, and a session's first record ` +
        `in the data cannot be checked\\): if the file begins inside it, check the part from that fresh start on separately$`,
      'm',
    ),
  );
});

/** Two days of one agent: day 1 its first start ever and a restart; day 2 the state directory wiped, a fresh start and a restart. */
function twoDays(format: 'ecs' | 'cef'): { day1: Run[]; day2: Run[] } {
  const agent = { agent: 'web-01', format };
  const r1 = timedRun(KEY_A, 4, { ...agent, at: day(1, 8) });
  const r2 = timedRun(KEY_A, 4, { ...agent, at: day(1, 9) }, after(r1));
  const r3 = timedRun(KEY_A, 4, { ...agent, at: day(2, 8) });
  const r4 = timedRun(KEY_A, 4, { ...agent, at: day(2, 9) }, after(r3));
  return { day1: [r1, r2], day2: [r3, r4] };
}

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: cat day2 day1 | verify -: the fresh start reported is day 2's (the later start by sealed time), and accepting it passes`, async () => {
    const { day1, day2 } = twoDays(format);
    const fresh = day2[0] as Run;
    for (const runs of [
      [...day1, ...day2],
      [...day2, ...day1],
    ]) {
      const lines = runs.flatMap(text);
      const r = await verify(lines);
      assert.equal(r.code, 1, r.out);
      assert.equal(r.out.match(/^FRESH START/gm)?.length, 1, r.out);
      assert.match(r.out, new RegExp(`^FRESH START session=${session(fresh)} seq=0 `, 'm'));
      const accepted = await verify(lines, { acceptFreshStarts: [session(fresh)] });
      assert.equal(accepted.code, 0, accepted.out);
      // The same on stdin.
      const out = new Collect();
      const dir = mkdtempSync(join(root.dir, 'stdin-'));
      const keyFile = writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex') + '\n');
      const code = await runVerify(
        { keyFile, file: '-', acceptFreshStarts: [session(fresh)] },
        { stdout: out, stderr: out, stdin: Readable.from([Buffer.from(lines.map((l) => l + '\n').join(''))]) },
      );
      assert.equal(code, 0, out.text);
    }
  });
}

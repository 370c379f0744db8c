/**
 * A receiver's daily file often begins with the tail of a resend: the agent reconnected just after
 * midnight and sent its resend window again, and the first copies of those records are in the day
 * before. Checked alone, such a file holds records below the first one it holds of their session,
 * stored after later ones. That is RESENT (information), not REORDERED: within one file the stored
 * order is the received order, and a resend of what came before the data is what honest delivery
 * does. A record out of place between seqs already received is still REORDERED, and so is a record
 * of an earlier file given after a later one (files given out of order).
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { verifyDayFiles } from './verify-lines.js';
import { KEY_A, pipelineRun, tempDir } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-resent-');
afterAll(root.cleanup);

const verifyDays = (days: readonly (readonly string[])[]): ReturnType<typeof verifyDayFiles> => verifyDayFiles(root.dir, days);

/** One run of 60 records; day 1 ends at seq 40, day 2 holds 41..45, a resend of 36..45, then 46..60. */
function resentAtMidnight(): { session: string; day1: string[]; day2: string[] } {
  const r = pipelineRun(KEY_A, 60, { agent: 'web-01', format: 'ecs', at: new Date(Date.UTC(2026, 10, 21, 23, 50)) });
  const lines = r.records.map((b) => b.toString());
  return { session: r.sealer.session, day1: lines.slice(0, 41), day2: [...lines.slice(41, 46), ...lines.slice(36, 46), ...lines.slice(46)] };
}

test('a daily file checked alone that holds a resend of the day before is intact: RESENT, not REORDERED', async () => {
  const { session, day2 } = resentAtMidnight();
  const r = await verifyDays([day2]);
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /REORDERED/);
  assert.match(r.out, new RegExp(`^RESENT session=${session} seq 36\\.\\.40 \\(5 records lines 6\\.\\.10: below the first record`, 'm'));
  assert.match(r.out, new RegExp(`^REPLAY session=${session} seq 41\\.\\.45 `, 'm'));
  assert.match(r.out, /^UNANCHORED /m);
  assert.match(r.out, /^intact: 30 records in 1 session, 0 declared restarts, 5 replays, 5 resent from before the data$/m);
});

test('the same file checked after the day before: the resend is all replays, and nothing is resent from before the data', async () => {
  const { day1, day2 } = resentAtMidnight();
  const r = await verifyDays([day1, day2]);
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /RESENT|REORDERED/);
  assert.match(r.out, /^intact: 71 records in 1 session, 0 declared restarts, 10 replays$/m);
});

test('a record moved between two seqs already received is still REORDERED', async () => {
  const { session, day2 } = resentAtMidnight();
  // seq 50 moved after seq 55: below a seq received, above the file's first.
  const moved = [...day2];
  const [rec] = moved.splice(19, 1);
  moved.splice(24, 0, rec as string);
  const r = await verifyDays([moved]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^REORDERED session=${session} seq=50 `, 'm'));
});

test('the day before given after the day: its records stay REORDERED (files out of order), not resent', async () => {
  const { session, day1, day2 } = resentAtMidnight();
  const r = await verifyDays([day2, day1]);
  assert.equal(r.code, 1, r.out);
  const [first, second] = r.files as [string, string];
  // Day 1's records (seq 0..35: 36..40 are replays of the resend) come after a later seq, in a later file.
  const reordered = r.out.split('\n').filter((l) => l.startsWith('REORDERED '));
  assert.equal(reordered.length, 36, r.out);
  assert.ok(reordered.every((l) => l.includes(`(${second} line `)), r.out);
  assert.match(r.out, new RegExp(`^REORDERED session=${session} seq=0 `, 'm'));
  // Only the resend inside the day's own file is resent.
  assert.ok(r.out.split('\n').filter((l) => l.startsWith('RESENT ')).every((l) => l.includes(`(5 records ${first} lines 6..10:`)), r.out);
});

/**
 * RESENT (a record below the first one the data holds of its session, stored after it) is what a resend
 * looks like when its first copies are before the data begins. Two shapes of it are not a resend, and
 * stay REORDERED: records below the first among themselves out of seq order (a resend sends its window
 * in seq order: a record below one resent before it was moved), and a session other than the data's
 * first (its first copies came after the records before it in the data, so they are in the data). Found
 * by review: one record moved to the head of the file made a whole session's shuffle RESENT, exit 0;
 * and a session's start event with its first records moved to after its later ones passed.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import type { VerifyOptions } from '../../src/commands/verify.js';
import { verifyDayFiles } from './verify-lines.js';
import { after, KEY_A, pipelineRun, tempDir, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-resent-shape-');
afterAll(root.cleanup);

const text = (r: Run): string[] => r.records.map((b) => b.toString());
const AGENT = { agent: 'web-01', format: 'ecs' as const };

const verifyFiles = (days: readonly (readonly string[])[], opts: Partial<VerifyOptions> = {}): ReturnType<typeof verifyDayFiles> => verifyDayFiles(root.dir, days, opts);

/** One run, seqs 0..99 (the start event, then 99 log events). */
function run(): { session: string; lines: string[] } {
  const r = pipelineRun(KEY_A, 99, { ...AGENT, at: new Date(Date.UTC(2026, 10, 21, 9)) });
  return { session: r.sealer.session, lines: text(r) };
}

test('a session shuffled after one of its records moved to the head of the file is REORDERED, not RESENT', async () => {
  const { session, lines } = run();
  // seq 99 first, then 98, 97, ..., 0: every record is below the first, none in a resend's order.
  const r = await verifyFiles([[lines[99] as string, ...lines.slice(0, 99).reverse()]]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^REORDERED session=${session} seq=0 `, 'm'));
  assert.match(r.out, /^FAILED: 98 reordered; /m);
});

test('two records swapped inside a resend from before the data: the later-stored lower one is REORDERED', async () => {
  const { session, lines } = run();
  // The day begins at 41..45, then the resend 36..45 with 37 and 38 swapped, then 46 on.
  const day = [...lines.slice(41, 46), lines[36], lines[38], lines[37], ...lines.slice(39, 46), ...lines.slice(46)] as string[];
  const r = await verifyFiles([day]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^REORDERED session=${session} seq=37 `, 'm'));
  assert.doesNotMatch(r.out, new RegExp(`^REORDERED session=${session} seq=(36|38|39|40) `, 'm'));
});

test('a restart whose start event and first records are moved after its later ones: REORDERED, whatever file holds the run before', async () => {
  const r1 = pipelineRun(KEY_A, 20, { ...AGENT, at: new Date(Date.UTC(2026, 10, 21, 9)) });
  const r2 = pipelineRun(KEY_A, 39, { ...AGENT, at: new Date(Date.UTC(2026, 10, 21, 10)) }, after(r1));
  const [a, b] = [text(r1), text(r2)];
  // r1: seqs 0..20; r2: its start event at 21, then 22..60. Its 21..40 stored after 41..60.
  const moved = [...b.slice(20), ...b.slice(0, 20)];
  for (const days of [[[...a, ...moved]], [a, moved]]) {
    const r = await verifyFiles(days);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`^REORDERED session=${r2.sealer.session} seq=21 `, 'm'));
    assert.doesNotMatch(r.out, /^RESENT /m);
  }
});

test('still RESENT: a resend cut and sent again, its first copies in seq order across the two', async () => {
  const { session, lines } = run();
  // The day begins at 41..45; a resend of 36..38 is cut, the next connection sends 36..45 again, then 46 on.
  const day = [...lines.slice(41, 46), ...lines.slice(36, 39), ...lines.slice(36, 46), ...lines.slice(46)];
  const r = await verifyFiles([day]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /, 5 resent from before the data$/m);
  assert.match(r.out, new RegExp(`^RESENT session=${session} seq 36\\.\\.38 `, 'm'));
  assert.match(r.out, new RegExp(`^RESENT session=${session} seq 39\\.\\.40 `, 'm'));
});

/**
 * A file of nothing but replays is NOTHING NEW unless the stream takes it up again right after it. A
 * replay is no proof of that: anyone who can edit the files can copy a record of the session to the head
 * of the next one. Taken up is the resend going on to a record new to the stream (replays of that session
 * in seq order up to it) or to a new start declaring that session. Found by review: one replay of seq 0 put
 * before an accepted fresh start passed a daily file replaced by a copy of the day before, exit 0.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import type { VerifyOptions } from '../../src/commands/verify.js';
import { verifyDayFiles } from './verify-lines.js';
import { FRESH, KEY_A, pipelineRun, tempDir, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-taken-up-');
afterAll(root.cleanup);

const text = (r: Run): string[] => r.records.map((b) => b.toString());
const AGENT = { agent: 'web-01', format: 'ecs' as const };

const verifyFiles = (days: readonly (readonly string[])[], opts: Partial<VerifyOptions> = {}): ReturnType<typeof verifyDayFiles> => verifyDayFiles(root.dir, days, opts);

test('a copy of the day before, a replay of its first record put at the head of the next file (a fresh start, accepted): NOTHING NEW', async () => {
  const L = text(pipelineRun(KEY_A, 99, { ...AGENT, at: new Date(Date.UTC(2026, 10, 21, 9)) }));
  const fresh = text(pipelineRun(KEY_A, 10, { ...AGENT, at: new Date(Date.UTC(2026, 10, 23, 9)) }, FRESH));
  // Day 2 held 30..99; replaced by a copy of day 1 (0..29).
  const r = await verifyFiles([L.slice(0, 30), L.slice(0, 30), [L[0] as string, ...fresh]], { acceptFreshStarts: 'all' });
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /^NOTHING NEW in \S+syslog\.2026-11-22: /m);
});

test('a copy, then replays of the session in seq order that never reach a new record of it: NOTHING NEW', async () => {
  const L = text(pipelineRun(KEY_A, 99, { ...AGENT, at: new Date(Date.UTC(2026, 10, 21, 9)) }));
  const fresh = text(pipelineRun(KEY_A, 10, { ...AGENT, at: new Date(Date.UTC(2026, 10, 23, 9)) }, FRESH));
  const r = await verifyFiles([L.slice(0, 30), L.slice(0, 30), [...L.slice(0, 30), ...fresh]], { acceptFreshStarts: 'all' });
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /^NOTHING NEW in \S+syslog\.2026-11-22: /m);
});

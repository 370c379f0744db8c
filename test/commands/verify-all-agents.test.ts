/**
 * `logward verify` without --agent over a SIEM's file holding several agents'
 * streams: each agent's stream is checked on its own, as `--agent ID` checks
 * it, its findings under `AGENT ID` with its own summary line, and the run
 * fails when any agent's stream fails, the last line naming that agent.
 *
 * Checked as one stream (earlier versions), a problem of one agent did fail
 * the file, but a file that begins inside two agents' sessions (any daily
 * file) failed too, and one agent's restart was held against the other
 * agent's session (the finding named the wrong agent's session).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { AgentEnv } from '../helpers/agent.js';
import { twoAgentsStored, type Stored } from './two-agents.js';
import { verifyLines, type Verified } from './verify-lines.js';

const root = mkdtempSync(join(tmpdir(), 'logward-verify-all-agents-'));
after(() => rmSync(root, { recursive: true, force: true }));

let env: AgentEnv;
let all: Stored[];
let runs: Map<string, string[]>;

before(async () => {
  ({ env, all, runs } = await twoAgentsStored(root, 'ecs'));
});

function verify(lines: readonly Stored[]): Promise<Verified> {
  return verifyLines(root, env.keyFile, lines.map((s) => s.line));
}

/** Each (session, seq) once: without the resend window's replays. */
function once(list: readonly Stored[]): Stored[] {
  const seen = new Set<string>();
  return list.filter((s) => {
    const key = `${s.session} ${/\bseq="(\d+)"/.exec(s.line)?.[1]}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The lines `verify` printed for one agent: from its AGENT line to its summary line. */
function section(out: string, agent: string): string {
  const m = new RegExp(`^AGENT ${agent}\\n(?:.*\\n)*?agent ${agent}: .*$`, 'm').exec(out);
  assert.ok(m, `no section for ${agent} in:\n${out}`);
  return m[0];
}

test("a file that begins inside both agents' sessions (a daily file) is intact without --agent, each agent named", async () => {
  const dedup = once(all);
  const cut = dedup.findIndex((s) => s.session === runs.get('web-01')![0]) + 2;
  const r = await verify(dedup.slice(cut));
  // One stream: db-01's session, which begins without its start event, was an UNDECLARED RESTART after web-01's.
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /UNDECLARED/);
  for (const agent of ['db-01', 'web-01']) assert.match(section(r.out, agent), /^UNANCHORED session=/m);
  assert.match(r.out, /^intact: each agent's stream intact \(db-01, web-01\); 2 agents, \d+ records in 4 sessions, 2 declared restarts, 0 replays$/m);
});

test("a gap in one agent's stream fails without --agent: the finding is in that agent's section, and the last line names it", async () => {
  const dedup = once(all);
  const middle = runs.get('web-01')![1]!;
  const k = dedup.findIndex((s) => s.session === middle) + 2;
  const r = await verify(dedup.filter((_, i) => i !== k));
  assert.equal(r.code, 1, r.out);
  assert.match(section(r.out, 'web-01'), new RegExp(`^GAP session=${middle} seq=\\d+ \\(1 missing\\)$`, 'm'));
  assert.match(section(r.out, 'web-01'), /^agent web-01: FAILED: 1 gap \(1 missing\); /m);
  assert.doesNotMatch(section(r.out, 'db-01'), /GAP/);
  assert.match(section(r.out, 'db-01'), /^agent db-01: intact: /m);
  assert.match(r.out, /^FAILED: agent web-01: 1 gap \(1 missing\); intact: db-01; 2 agents, \d+ records in 4 sessions, 2 declared restarts, 0 replays$/m);
});

test("one agent's restart whose previous run is in an earlier file is not held against another agent's session", async () => {
  const dedup = once(all);
  const second = dedup.findIndex((s) => s.session === runs.get('web-01')![1]);
  // web-01's first run was in yesterday's file; db-01's run goes on throughout.
  const r = await verify(dedup.filter((s, i) => s.agent === 'db-01' || i >= second));
  // One stream: UNDECLARED RECORDS of db-01's session, blamed on web-01's declaration.
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /UNDECLARED/);
  assert.match(r.out, /^intact: each agent's stream intact \(db-01, web-01\); /m);
});

test('the whole run deleted in the middle of one agent is a gap in its section, whatever the other agent holds', async () => {
  const [, middle] = runs.get('web-01')!;
  const r = await verify(all.filter((s) => s.session !== middle));
  assert.equal(r.code, 1, r.out);
  assert.match(section(r.out, 'web-01'), new RegExp(`^GAP session=${middle!} seq \\d+\\.\\.\\d+ \\(\\d+ missing\\)$`, 'm'));
  assert.match(r.out, /^FAILED: agent web-01: 1 gap \(\d+ missing\); intact: db-01; /m);
});

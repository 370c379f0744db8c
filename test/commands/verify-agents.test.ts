/**
 * `logward verify` over a SIEM's file that holds several agents' streams, as
 * a central receiver stores them: two real agents (in process) shipping to
 * one receiver, one of them restarted twice. Each agent's seqs start at 0, so
 * the file is only intact when every check that compares a session with "the
 * one before it" stays within its own agent.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { AgentEnv } from '../helpers/agent.js';
import { verifyLines, type Verified } from './verify-lines.js';
import { twoAgentsStored, type Stored } from './two-agents.js';

const root = mkdtempSync(join(tmpdir(), 'logward-verify-agents-'));
after(() => rmSync(root, { recursive: true, force: true }));

function verify(env: AgentEnv, lines: readonly string[], agent?: string): Promise<Verified> {
  return verifyLines(root, env.keyFile, lines, agent);
}

let env: AgentEnv;
/** What the receiver stored, and the sessions of each agent in the order they ran. */
let all: Stored[];
let runs: Map<string, string[]>;

before(async () => {
  ({ env, all, runs } = await twoAgentsStored(root, 'ecs'));
});

/** Each (session, seq) once: without the resend window's replays (a replay of a record cut off by a file boundary arrives below a later seq, as a reorder would). */
function once(list: readonly Stored[]): Stored[] {
  const seen = new Set<string>();
  return list.filter((s) => {
    const key = `${s.session} ${/\bseq="(\d+)"/.exec(s.line)?.[1]}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

test("each agent's stream in a shared file is intact when checked alone with --agent; the other agent's records are skipped and counted", async () => {
  for (const [agent, sessions, restarts] of [
    ['web-01', 3, 2],
    ['db-01', 1, 0],
  ] as const) {
    const r = await verify(env, all.map((s) => s.line), agent);
    assert.equal(r.code, 0, r.out);
    const others = all.filter((s) => s.agent !== agent).length;
    assert.match(r.out, new RegExp(`^intact: \\d+ records in ${sessions} sessions?, ${restarts} declared restarts?, \\d+ replays?, ${others} records of other agents skipped$`, 'm'));
  }
});

test('without --agent, a file of several agents is checked per agent, and a NOTE names the agents', async () => {
  // Checked as one stream (earlier versions, with a HINT naming --agent), one agent's restart was held against the other's sessions.
  const r = await verify(env, all.map((s) => s.line));
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^NOTE: records of 2 agents \(db-01, web-01\): each agent numbers its own, so each agent's stream is checked on its own, as --agent ID checks it; results per agent$/m);
  assert.match(r.out, /^AGENT db-01\n(?:.*\n)*?agent db-01: intact: \d+ records in 1 session, 0 declared restarts, \d+ replays?\nAGENT web-01\n(?:.*\n)*?agent web-01: intact: \d+ records in 3 sessions, 2 declared restarts, \d+ replays\n/m);
  assert.match(r.out, /^intact: each agent's stream intact \(db-01, web-01\); 2 agents, \d+ records in 4 sessions, 2 declared restarts, \d+ replays$/m);
  const none = await verify(env, all.map((s) => s.line), 'web-02');
  assert.equal(none.code, 1);
  assert.match(none.out, /^FAILED: no record sealed with logward@32473 for agent "web-02" in \S+; agents in the file: db-01, web-01$/m);
});

test("a file that starts inside both agents' sessions (yesterday's file held their starts) is intact per agent", async () => {
  const webFirst = runs.get('web-01')![0]!;
  const dedup = once(all);
  // Drop everything before web-01's second record: db-01's start and web-01's start are both cut off.
  const cut = dedup.findIndex((s) => s.session === webFirst) + 2;
  for (const agent of ['web-01', 'db-01']) {
    const r = await verify(env, dedup.slice(cut).map((s) => s.line), agent);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^UNANCHORED session=/m);
  }
});

test("one agent's whole middle run deleted among the other agent's records is a gap of that run", async () => {
  const middle = runs.get('web-01')![1]!;
  const r = await verify(env, all.filter((s) => s.session !== middle).map((s) => s.line), 'web-01');
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^GAP session=${middle} seq \\d+\\.\\.\\d+ \\(\\d+ missing\\)$`, 'm'));
});

test("relabelling a run as another agent hides nothing from the agent's own check: its start event is then missing", async () => {
  const middle = runs.get('web-01')![1]!;
  // The run's start event deleted, the rest of it relabelled "ghost": for web-01 the run is gone.
  const firstOfMiddle = all.findIndex((s) => s.session === middle);
  const lines = all.filter((_, k) => k !== firstOfMiddle).map((s) => (s.session === middle ? s.line.replace('agent="web-01"', 'agent="ghost"') : s.line));
  const r = await verify(env, lines, 'web-01');
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^GAP session=${middle} `, 'm'));
  // And a record of another agent relabelled into web-01's stream is a session nobody declared.
  const dbLine = all.findIndex((s, k) => s.agent === 'db-01' && k > 10);
  const moved = all.map((s, k) => (k === dbLine ? s.line.replace('agent="db-01"', 'agent="web-01"') : s.line));
  const m = await verify(env, moved, 'web-01');
  assert.equal(m.code, 1, m.out);
  assert.match(m.out, /^UNDECLARED RESTART /m);
});

test("a deleted middle run whose successor is relabelled as another agent is still a gap, and the edit is named", async () => {
  // Found by review: the label is outside the MAC, so with run 2 deleted and run 3 relabelled
  // "ghost", web-01's stream ended at run 1 and each agent's check passed. The start event's own
  // agent.id is sealed: run 3's start stays in web-01's stream, declaring run 2, which is missing.
  const [, middle, lastRun] = runs.get('web-01')!;
  const lines = all.filter((s) => s.session !== middle).map((s) => (s.session === lastRun ? s.line.replace('agent="web-01"', 'agent="ghost"') : s.line));
  const web = await verify(env, lines, 'web-01');
  assert.equal(web.code, 1, web.out);
  assert.match(web.out, new RegExp(`^GAP session=${middle!} `, 'm'));
  assert.match(web.out, new RegExp(`^RELABELLED line \\d+ \\(session=${lastRun!}\\): a start event sealed by agent "web-01" labelled "ghost"$`, 'm'));
  for (const agent of ['ghost', 'db-01', undefined]) {
    const r = await verify(env, lines, agent);
    assert.equal(r.code, 1, `${agent ?? '(all)'}: ${r.out}`);
    assert.match(r.out, /^FAILED: .*1 relabelled start event/m);
  }
});

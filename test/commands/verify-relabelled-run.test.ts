/**
 * `logward verify` without --agent checks a file of several agents per agent,
 * grouping records without a start event by their SD label, which is outside
 * the MAC. An editor without the key can delete records in the middle of a
 * run and relabel the rest of it as an agent nobody runs: grouped by label,
 * the real agent's stream then just ends, and the "new agent's" stream starts
 * mid-session (UNANCHORED, information), so the file was reported intact.
 * Checked as one stream (before per-agent checking) the same file failed
 * with the GAP.
 *
 * What does not depend on the label: one session is sealed by one agent
 * (agent.id cannot change while running: src/config/reload.ts), so a session
 * whose records carry two labels was edited; and an ECS record whose MAC
 * verifies on the record before it carries its agent.id inside the MAC, so a
 * run relabelled as a whole (its start event deleted) still names its agent.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { type VerifyOptions } from '../../src/commands/verify.js';
import { verifyKeyAWith, type Verified } from './verify-lines.js';
import { after, KEY_A, pipelineRun, tempDir, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-relabelled-run-');
afterAll(root.cleanup);

const verify = (lines: readonly string[], opts: Partial<VerifyOptions> = {}): Promise<Verified> => verifyKeyAWith(root.dir, lines, opts);

const lines = (r: Run): string[] => r.records.map((b) => b.toString());

/** The SD label edited (the record's MSG, and so its MAC, untouched); null removes it. */
function relabel(line: string, to: string | null): string {
  const out = line.replace(/ agent="[^"]*"/, to === null ? '' : ` agent="${to}"`);
  assert.notEqual(out, line);
  return out;
}

const ecs = (agent: string) => ({ agent, format: 'ecs' as const });

test('a run deleted in the middle of a session, the rest relabelled as an unknown agent: fails without --agent (it failed as one stream), ECS and CEF', async () => {
  for (const format of ['ecs', 'cef'] as const) {
    const web = lines(pipelineRun(KEY_A, 20, { agent: 'web-01', format }));
    // Seqs 8..10 deleted; 11..20 moved to a made-up agent.
    const edited = [...web.slice(0, 8), ...web.slice(11).map((l) => relabel(l, 'ghost'))];
    const r = await verify(edited);
    assert.equal(r.code, 1, `${format}: ${r.out}`);
    assert.doesNotMatch(r.out, /^intact/m);
  }
});

test('the same with the label removed from the rest of the session: fails', async () => {
  const web = lines(pipelineRun(KEY_A, 20, ecs('web-01')));
  const r = await verify([...web.slice(0, 8), ...web.slice(11).map((l) => relabel(l, null))]);
  assert.equal(r.code, 1, r.out);
});

test("in a file of two agents, one agent's session split by relabelling after a deletion: fails, without --agent and with --agent of either", async () => {
  const web = lines(pipelineRun(KEY_A, 20, ecs('web-01')));
  const db = lines(pipelineRun(KEY_A, 20, ecs('db-01')));
  const edited: string[] = [];
  for (let i = 0; i < 21; i++) {
    if (i < 8) edited.push(web[i]!);
    else if (i > 10) edited.push(relabel(web[i]!, 'ghost'));
    edited.push(db[i]!);
  }
  for (const agent of [undefined, 'web-01', 'ghost']) {
    const r = await verify(edited, agent !== undefined ? { agent } : {});
    assert.equal(r.code, 1, `--agent ${agent}: ${r.out}`);
  }
});

test('a whole later run relabelled as an unknown agent, its start event and the end of the run before it deleted: fails without --agent (ECS: its records name their agent inside the MAC)', async () => {
  const r1 = pipelineRun(KEY_A, 10, ecs('web-01'));
  const r2 = pipelineRun(KEY_A, 10, ecs('web-01'), after(r1));
  // Seqs 8..10 of the first run and the second run's start event (seq 11) deleted, the rest of it relabelled.
  const edited = [...lines(r1).slice(0, 8), ...lines(r2).slice(1).map((l) => relabel(l, 'ghost'))];
  const r = await verify(edited);
  assert.equal(r.code, 1, r.out);
  assert.doesNotMatch(r.out, /^intact/m);
});

test('no false alarm: two agents, daily file starting inside both sessions, restarts and replays, stay intact', async () => {
  const w1 = pipelineRun(KEY_A, 6, ecs('web-01'));
  const w2 = pipelineRun(KEY_A, 6, ecs('web-01'), after(w1));
  const d1 = pipelineRun(KEY_A, 6, ecs('db-01'));
  const w = [...lines(w1), ...lines(w2)];
  const d = lines(d1);
  // Starts inside both sessions, with replays of a few records after a reconnect.
  const file = [...w.slice(3, 9), ...d.slice(2), ...w.slice(6, 9), ...w.slice(9)];
  const r = await verify(file);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^intact: each agent's stream intact \(db-01, web-01\); /m);
});

test('CEF: a whole later run relabelled as an unknown agent, its start event and the end of the run before it deleted, fails without --agent', async () => {
  // Every CEF event names its agent in deviceExternalId, inside the MAC: the relabelled run is still web-01's.
  const cef = (agent: string) => ({ agent, format: 'cef' as const });
  const r1 = pipelineRun(KEY_A, 10, cef('web-01'));
  const r2 = pipelineRun(KEY_A, 10, cef('web-01'), after(r1));
  const r = await verify([...lines(r1).slice(0, 8), ...lines(r2).slice(1).map((l) => relabel(l, 'ghost'))]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /^RELABELLED line \d+ \(session=[0-9a-f]+\): a record sealed by agent "web-01" .*labelled "ghost"/m);
});

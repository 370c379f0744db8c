/**
 * verify-agents.test.ts with CEF output: two real agents (in process) shipping
 * CEF to one receiver, one restarted twice. The pipeline's own start event
 * must name its agent inside the MAC (deviceExternalId), or a run deleted in
 * the middle could be hidden by relabelling the next one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { AgentEnv } from '../helpers/agent.js';
import { verifyLines, type Verified } from './verify-lines.js';
import { twoAgentsStored, type Stored } from './two-agents.js';

const root = mkdtempSync(join(tmpdir(), 'logward-verify-agents-cef-'));
after(() => rmSync(root, { recursive: true, force: true }));

function verify(lines: readonly string[], agent?: string): Promise<Verified> {
  return verifyLines(root, env.keyFile, lines, agent);
}

let env: AgentEnv;
let all: Stored[];
let runs: Map<string, string[]>;

before(async () => {
  ({ env, all, runs } = await twoAgentsStored(root, 'cef'));
});

test("every CEF event of the pipeline names its agent in deviceExternalId, start events included", () => {
  const starts = all.filter((s) => / CEF:0\|[^|]*\|[^|]*\|[^|]*\|logward:agent_started\|/.test(s.line));
  assert.ok(starts.length >= 4, `${starts.length} start events`);
  for (const s of all) assert.match(s.line, new RegExp(` deviceExternalId=${s.agent} `));
});

test('a clean CEF file of two agents is intact for each with --agent', async () => {
  for (const [agent, sessions, restarts] of [
    ['web-01', 3, 2],
    ['db-01', 1, 0],
  ] as const) {
    const r = await verify(all.map((s) => s.line), agent);
    assert.equal(r.code, 0, r.out);
    const others = all.filter((s) => s.agent !== agent).length;
    assert.match(r.out, new RegExp(`^intact: \\d+ records in ${sessions} sessions?, ${restarts} declared restarts?, \\d+ replays?, ${others} records of other agents skipped$`, 'm'));
  }
});

test('CEF: a deleted middle run whose successor is relabelled as another agent is still a gap, and the edit is named', async () => {
  const [, middle, lastRun] = runs.get('web-01')!;
  const lines = all.filter((s) => s.session !== middle).map((s) => (s.session === lastRun ? s.line.replace('agent="web-01"', 'agent="ghost"') : s.line));
  const web = await verify(lines, 'web-01');
  assert.equal(web.code, 1, web.out);
  assert.match(web.out, new RegExp(`^GAP session=${middle!} `, 'm'));
  assert.match(web.out, new RegExp(`^RELABELLED line \\d+ \\(session=${lastRun!}\\): a start event sealed by agent "web-01" labelled "ghost"$`, 'm'));
  for (const agent of ['ghost', 'db-01']) {
    const r = await verify(lines, agent);
    assert.equal(r.code, 1, `${agent}: ${r.out}`);
    assert.match(r.out, /^FAILED: .*1 relabelled start event/m);
  }
});

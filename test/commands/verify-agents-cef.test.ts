/**
 * verify-agents.test.ts with CEF output: two real agents (in process) shipping
 * CEF to one receiver, one restarted twice. The pipeline's own start event
 * must name its agent inside the MAC (deviceExternalId), or a run deleted in
 * the middle could be hidden by relabelling the next one.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig, type AgentEnv } from '../helpers/agent.js';
import { verifyLines, type Verified } from './verify-lines.js';

const root = mkdtempSync(join(tmpdir(), 'logward-verify-agents-cef-'));
after(() => rmSync(root, { recursive: true, force: true }));

function verify(lines: readonly string[], agent?: string): Promise<Verified> {
  return verifyLines(root, env.keyFile, lines, agent);
}

interface Stored {
  line: string;
  agent: string;
  session: string;
}

let env: AgentEnv;
let all: Stored[];
const runs = new Map<string, string[]>();

before(async () => {
  env = await makeAgentEnv(join(root, 'env'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const configs = new Map<string, Config>();
  for (const id of ['web-01', 'db-01']) {
    const logs = join(root, `logs-${id}`);
    mkdirSync(logs, { recursive: true });
    const file = writeAgentConfig({ ...env, logs, state: join(root, `state-${id}`) }, port);
    writeFileSync(file, readFileSync(file, 'utf8').replace('id: test-agent', `id: ${id}`).replace('format: ecs', 'format: cef'));
    configs.set(id, await loadConfig(file));
  }
  const log = pino({ level: 'silent' });
  let sent = 0;
  const ship = async (id: string, n: number): Promise<void> => {
    let text = '';
    for (let i = 0; i < n; i++) text += `${id} line ${sent + i} user=alice action=login\n`;
    appendFileSync(join(root, `logs-${id}`, 'app.log'), text);
    const last = `${id} line ${sent + n - 1} `;
    sent += n;
    await until(() => receiver.records.some((r) => r.includes(last)), last);
  };
  const db = new Pipeline(configs.get('db-01')!, { log });
  await db.start();
  await ship('db-01', 5);
  for (let run = 0; run < 3; run++) {
    const web = new Pipeline(configs.get('web-01')!, { log });
    await web.start();
    await ship('web-01', 4);
    await ship('db-01', 3);
    await web.stop();
  }
  await db.stop();
  await receiver.stop();
  all = readFileSync(join(env.dir, 'received.log'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => ({ line, agent: /\bagent="([^"]*)"/.exec(line)?.[1] ?? '', session: /\bsession="([0-9a-f]+)"/.exec(line)?.[1] ?? '' }));
  for (const s of all) {
    const list = runs.get(s.agent) ?? [];
    if (!list.includes(s.session)) list.push(s.session);
    runs.set(s.agent, list);
  }
  assert.equal(runs.get('web-01')?.length, 3, 'web-01 ran three times');
});

test("the pipeline's CEF start events name their agent in deviceExternalId; no other event does", () => {
  const starts = all.filter((s) => / CEF:0\|[^|]*\|[^|]*\|[^|]*\|logward:agent_started\|/.test(s.line));
  assert.ok(starts.length >= 4, `${starts.length} start events`);
  for (const s of starts) assert.match(s.line, new RegExp(` deviceExternalId=${s.agent} `));
  assert.ok(all.filter((s) => s.line.includes('deviceExternalId=')).every((s) => starts.includes(s)));
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

/**
 * A SIEM file as a central receiver stores it: two real agents (in process) shipping to one
 * receiver, db-01 running once throughout and web-01 three times, so their seqs (each from 0)
 * overlap. The verify tests over shared files start from it, in ECS or CEF.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig, type AgentEnv } from '../helpers/agent.js';

export interface Stored {
  line: string;
  agent: string;
  session: string;
}

export interface TwoAgents {
  env: AgentEnv;
  /** Every stored line with the agent and session its SD names, in the order stored. */
  all: Stored[];
  /** Each agent's sessions in the order they ran. */
  runs: Map<string, string[]>;
}

export async function twoAgentsStored(root: string, format: 'ecs' | 'cef'): Promise<TwoAgents> {
  const env = await makeAgentEnv(join(root, 'env'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const configs = new Map<string, Config>();
  for (const id of ['web-01', 'db-01']) {
    const logs = join(root, `logs-${id}`);
    mkdirSync(logs, { recursive: true });
    const file = writeAgentConfig({ ...env, logs, state: join(root, `state-${id}`) }, port);
    writeFileSync(file, readFileSync(file, 'utf8').replace('id: test-agent', `id: ${id}`).replace('format: ecs', `format: ${format}`));
    configs.set(id, await loadConfig(file));
  }
  const log = pino({ level: 'silent' });
  let sent = 0;
  // Each agent's records arrive in order on its connection: its batch's last line stored means all of it is.
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
  const all = readFileSync(join(env.dir, 'received.log'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => ({ line, agent: /\bagent="([^"]*)"/.exec(line)?.[1] ?? '', session: /\bsession="([0-9a-f]+)"/.exec(line)?.[1] ?? '' }));
  const runs = new Map<string, string[]>();
  for (const s of all) {
    const list = runs.get(s.agent) ?? [];
    if (!list.includes(s.session)) list.push(s.session);
    runs.set(s.agent, list);
  }
  assert.equal(runs.get('web-01')?.length, 3, 'web-01 ran three times');
  assert.equal(runs.get('db-01')?.length, 1, 'db-01 ran once');
  return { env, all, runs };
}

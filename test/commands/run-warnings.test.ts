import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { AgentProcess, makeAgentEnv, TestReceiver, writeAgentConfig } from '../helpers/agent.js';

const root = mkdtempSync(join(tmpdir(), 'logward-run-warnings-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a process warning raised while the agent runs is one JSON log line at level warn, never Node plain text', async () => {
  const env = await makeAgentEnv(join(root, 'env'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  // A module of the agent's process that warns on demand, as a source that cannot save its cursor does.
  const probe = join(root, 'warn-on-usr2.mjs');
  writeFileSync(probe, "process.on('SIGUSR2', () => process.emitWarning('journal cursor not saved: EIO', { code: 'LOGWARD_PROBE' }));\n");
  const agent = new AgentProcess(writeAgentConfig(env, port), ['--import', probe]);
  try {
    await agent.waitForLog(/logward started/);
    agent.child.kill('SIGUSR2');
    await agent.waitForLog(/journal cursor not saved: EIO/);
  } finally {
    const end = await agent.stop('SIGTERM');
    assert.equal(end.code, 0, `${JSON.stringify(end)} ${agent.stderr.slice(-3000)}`);
    await receiver.stop();
  }
  const lines = agent.stderr.split('\n').filter((l) => l !== '');
  for (const l of lines) assert.doesNotThrow(() => JSON.parse(l) as unknown, `not a JSON log line: ${l}`);
  const warned = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === 'journal cursor not saved: EIO');
  assert.equal(warned.length, 1);
  assert.equal(warned[0]!.level, 40);
  assert.equal(warned[0]!.code, 'LOGWARD_PROBE');
  assert.equal(warned[0]!.warning, 'Warning');
  assert.equal(warned[0]!.agent, JSON.parse(lines[0]!).agent);
});

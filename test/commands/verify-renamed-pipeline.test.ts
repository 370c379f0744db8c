/**
 * A rename with real agents (in process): agent.id changed in the config
 * between runs, the state dir kept. The pipeline's start events declare the
 * rename (src/seal/agent-name.ts), so `logward verify --agent NEW` holds the
 * new name's stream against the old name's records: a whole run deleted at the
 * rename is a gap, not the end of one stream and the start of another.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline.js';
import { AGENT_NAME_FILE } from '../../src/seal/agent-name.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig, type AgentEnv } from '../helpers/agent.js';
import { verifyLines, type Verified } from './verify-lines.js';

const root = mkdtempSync(join(tmpdir(), 'logward-verify-renamed-pipeline-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Stored {
  line: string;
  agent: string;
  session: string;
}

let env: AgentEnv;
const files = new Map<'ecs' | 'cef', { all: Stored[]; sessions: string[] }>();

function verify(lines: readonly string[], agent: string): Promise<Verified> {
  return verifyLines(root, env.keyFile, lines, agent);
}

before(async () => {
  env = await makeAgentEnv(join(root, 'env'));
  const log = pino({ level: 'silent' });
  for (const format of ['ecs', 'cef'] as const) {
    const receiver = new TestReceiver({ ...env, dir: join(root, `recv-${format}`) });
    mkdirSync(join(root, `recv-${format}`));
    const port = await receiver.start();
    const logs = join(root, `logs-${format}`);
    mkdirSync(logs);
    const state = join(root, `state-${format}`);
    let sent = 0;
    // old, old, then renamed: new, new — one state dir throughout.
    for (const id of ['old', 'old', 'new', 'new']) {
      const file = writeAgentConfig({ ...env, logs, state }, port);
      writeFileSync(file, readFileSync(file, 'utf8').replace('id: test-agent', `id: ${id}`).replace('format: ecs', `format: ${format}`));
      const p = new Pipeline(await loadConfig(file), { log });
      await p.start();
      appendFileSync(join(logs, 'app.log'), `${id} line ${sent} user=alice action=login\n${id} line ${sent + 1} user=alice action=login\n`);
      const last = `${id} line ${sent + 1} `;
      sent += 2;
      await until(() => receiver.records.some((r) => r.includes(last)), last);
      await p.stop();
    }
    await receiver.stop();
    assert.deepEqual(JSON.parse(readFileSync(join(state, AGENT_NAME_FILE), 'utf8')), { agent: 'new', renamedFrom: 'old' });
    const all = readFileSync(join(root, `recv-${format}`, 'received.log'), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((line) => ({ line, agent: /\bagent="([^"]*)"/.exec(line)?.[1] ?? '', session: /\bsession="([0-9a-f]+)"/.exec(line)?.[1] ?? '' }));
    const sessions: string[] = [];
    for (const s of all) if (!sessions.includes(s.session)) sessions.push(s.session);
    assert.equal(sessions.length, 4);
    files.set(format, { all, sessions });
  }
});

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: the first start under the new name declares the rename, and the new name's stream says which it continues`, async () => {
    const { all, sessions } = files.get(format)!;
    const starts = all.filter((s) => s.line.includes('started; session '));
    // (A start event may arrive twice: the resend window replays it after a reconnect.)
    const renamed = new Set(starts.filter((s) => s.line.includes('; renamed from agent old')).map((s) => s.session));
    assert.deepEqual([...renamed], sessions.slice(2), 'both runs of the new name');
    assert.ok(starts.filter((s) => s.agent === 'old').every((s) => !s.line.includes('renamed from')), 'before the rename: as before');
    const r = await verify(all.map((s) => s.line), 'new');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`^RENAMED declared: session ${sessions[2]!} continues the stream of agent "old" \\(session ${sessions[1]!} ended at seq \\d+\\)$`, 'm'));
    assert.equal((await verify(all.map((s) => s.line), 'old')).code, 0);
  });

  test(`${format}: a whole run deleted at the rename is a gap of the new name's stream`, async () => {
    const { all, sessions } = files.get(format)!;
    for (const gone of [sessions[1]!, sessions[2]!]) {
      const r = await verify(all.filter((s) => s.session !== gone).map((s) => s.line), 'new');
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, new RegExp(`^GAP session=${gone} seq \\d+\\.\\.\\d+ \\(\\d+ missing\\)$`, 'm'));
    }
  });
}

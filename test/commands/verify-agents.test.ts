/**
 * `logward verify` over a SIEM's file that holds several agents' streams, as
 * a central receiver stores them: two real agents (in process) shipping to
 * one receiver, one of them restarted twice. Each agent's seqs start at 0, so
 * the file is only intact when every check that compares a session with "the
 * one before it" stays within its own agent.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';

import pino from 'pino';

import { runVerify } from '../../src/commands/verify.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { parseRfc5424 } from '../../src/encode/rfc5424.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig, type AgentEnv } from '../helpers/agent.js';

const root = mkdtempSync(join(tmpdir(), 'logward-verify-agents-'));
after(() => rmSync(root, { recursive: true, force: true }));

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function verify(env: AgentEnv, lines: readonly string[]): Promise<{ code: number; out: string }> {
  const file = join(root, `check-${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(file, lines.map((l) => l + '\n').join(''));
  const stdout = new Collect();
  const stderr = new Collect();
  const code = await runVerify({ keyFile: env.keyFile, file }, { stdout, stderr });
  return { code, out: stdout.text + stderr.text };
}

interface Stored {
  line: string;
  agent: string;
  session: string;
}

/** Each stored line with the agent and session its SD names. */
function stored(receivedFile: string): Stored[] {
  return readFileSync(receivedFile, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const agent = /\bagent="([^"]*)"/.exec(line)?.[1] ?? '';
      const session = /\bsession="([0-9a-f]+)"/.exec(line)?.[1] ?? '';
      return { line, agent, session };
    });
}

let env: AgentEnv;
/** What the receiver stored, and the sessions of each agent in the order they ran. */
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
    writeFileSync(file, readFileSync(file, 'utf8').replace('id: test-agent', `id: ${id}`));
    configs.set(id, await loadConfig(file));
  }
  const log = pino({ level: 'silent' });
  let sent = 0;
  const ship = async (id: string, n: number): Promise<void> => {
    let text = '';
    for (let i = 0; i < n; i++) text += `${id} line ${sent + i} user=alice action=login\n`;
    appendFileSync(join(root, `logs-${id}`, 'app.log'), text);
    sent += n;
    await until(() => receiver.originals().length >= sent, `${sent} lines`);
  };
  // db-01 runs once throughout; web-01 runs three times, so its seqs overlap db-01's.
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
  all = stored(join(env.dir, 'received.log'));
  for (const s of all) {
    const list = runs.get(s.agent) ?? [];
    if (!list.includes(s.session)) list.push(s.session);
    runs.set(s.agent, list);
  }
  assert.equal(runs.get('web-01')?.length, 3, 'web-01 ran three times');
  assert.equal(runs.get('db-01')?.length, 1, 'db-01 ran once');
});

test('a file holding two agents\' streams is intact, and says how many agents it holds', async () => {
  const r = await verify(env, all.map((s) => s.line));
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^intact: \d+ records in 4 sessions of 2 agents, 2 declared restarts, \d+ replays?$/m);
});

test('a file that starts inside both agents\' sessions (yesterday\'s file held their starts) is intact, not an undeclared restart', async () => {
  const webFirst = runs.get('web-01')![0]!;
  // Without the resend window's replays: a replay of a record from before the cut would arrive
  // below a seq already received, which is what a reorder looks like.
  const seen = new Set<string>();
  const once = all.filter((s) => {
    const key = `${s.session} ${/\bseq="(\d+)"/.exec(s.line)?.[1]}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  // Drop everything before web-01's second record: db-01's start and web-01's start are both cut off.
  const cut = once.findIndex((s) => s.session === webFirst) + 2;
  const r = await verify(env, once.slice(cut).map((s) => s.line));
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^UNANCHORED session=/m);
  assert.doesNotMatch(r.out, /UNDECLARED RESTART/);
});

test('one agent\'s whole middle run deleted among the other agent\'s records is a gap of that run', async () => {
  const middle = runs.get('web-01')![1]!;
  const r = await verify(env, all.filter((s) => s.session !== middle).map((s) => s.line));
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^GAP session=${middle} seq \\d+\\.\\.\\d+ \\(\\d+ missing\\)$`, 'm'));
  assert.doesNotMatch(r.out, /UNDECLARED RECORDS|ALTERED/, 'nothing is blamed on db-01');
});

test('a record moved to the other agent by its SD label is an agent mismatch', async () => {
  const i = all.findIndex((s, k) => s.agent === 'web-01' && all[k - 1]?.session === s.session);
  const lines = all.map((s) => s.line);
  lines[i] = lines[i]!.replace('agent="web-01"', 'agent="db-01"');
  const r = await verify(env, lines);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /^AGENT MISMATCH session=\S+ seq=\d+ \(line \d+: its structured data names agent "db-01", its session's records name "web-01"\)$/m);
});

test('a whole run relabelled as a new agent, to hide that the run before it was deleted, is caught by the sealed agent.id', async () => {
  const [, middle, last] = runs.get('web-01')!;
  const lines = all
    .filter((s) => s.session !== middle)
    .map((s) => (s.session === last ? s.line.replace('agent="web-01"', 'agent="web-01b"') : s.line));
  // The relabelled run's events really are web-01's: the MAC vouches for their agent.id.
  const ev = JSON.parse(parseRfc5424(all.find((s) => s.session === last)!.line).msg ?? '{}') as { agent?: { id?: string } };
  assert.equal(ev.agent?.id, 'web-01');
  const r = await verify(env, lines);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`^AGENT MISMATCH session=${last} seq=\\d+ \\(line \\d+: its structured data names agent "web-01b", its sealed event says "web-01"\\)$`, 'm'));
});

/**
 * A start event cut to fit output.max_message_bytes must keep its whole
 * declaration, the rename included ("; renamed from agent OLD", at its end):
 * `logward verify` reads it from the sealed MSG, and without it a run deleted
 * at the rename is in neither name's stream. At the smallest size allowed,
 * 480B, with 255-character agent ids (the longest allowed), real agents (in
 * process) renamed between runs, one state dir throughout.
 *
 * The cut is src/pipeline.ts `fit()`: at 480B it cut `message` and
 * `event.original` of every event to nothing, the start declaration with
 * them, so the new name's first run began "unanchored" and the deleted run was
 * silence. Fixed when fit() keeps the leading declaration of an internal
 * event's message (src/seal/declaration.ts `declarationBytes`).
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig, type AgentEnv } from '../helpers/agent.js';
import { verifyLines, type Verified } from './verify-lines.js';

const root = mkdtempSync(join(tmpdir(), 'logward-verify-start-cut-'));
after(() => rmSync(root, { recursive: true, force: true }));

const OLD = `old-${'o'.repeat(251)}`;
const NEW = `new-${'n'.repeat(251)}`;

interface Stored {
  line: string;
  session: string;
}

let env: AgentEnv;
const files = new Map<'ecs' | 'cef', { all: Stored[]; sessions: string[] }>();

const sessionOf = (line: string): string => /\bsession="([0-9a-f]+)"/.exec(line)?.[1] ?? '';

before(async () => {
  env = await makeAgentEnv(join(root, 'env'));
  const log = pino({ level: 'silent' });
  for (const format of ['ecs', 'cef'] as const) {
    const dir = join(root, `recv-${format}`);
    mkdirSync(dir);
    const receiver = new TestReceiver({ ...env, dir });
    const port = await receiver.start();
    const logs = join(root, `logs-${format}`);
    mkdirSync(logs);
    const state = join(root, `state-${format}`);
    const known = new Set<string>();
    for (const [k, id] of [OLD, OLD, NEW, NEW].entries()) {
      const file = writeAgentConfig({ ...env, logs, state }, port, { output: '  max_message_bytes: 480B' });
      writeFileSync(file, readFileSync(file, 'utf8').replace('id: test-agent', `id: ${id}`).replace('format: ecs', `format: ${format}`));
      const p = new Pipeline(await loadConfig(file), { log });
      await p.start();
      appendFileSync(join(logs, 'app.log'), `${k} line user=alice action=login\n`);
      // Messages are cut at this size: wait for this run's start event and log line by their session.
      await until(() => {
        const mine = receiver.records.map(sessionOf).filter((s) => !known.has(s));
        return mine.length >= 2 && mine.every((s) => s === mine[0]);
      }, `run ${k}`);
      for (const r of receiver.records) known.add(sessionOf(r));
      await p.stop();
    }
    await receiver.stop();
    const all = readFileSync(join(dir, 'received.log'), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((line) => ({ line, session: sessionOf(line) }));
    const sessions: string[] = [];
    for (const s of all) if (!sessions.includes(s.session)) sessions.push(s.session);
    assert.equal(sessions.length, 4);
    files.set(format, { all, sessions });
  }
});

function verify(lines: readonly Stored[], agent?: string): Promise<Verified> {
  return verifyLines(root, env.keyFile, lines.map((s) => s.line), agent);
}

for (const format of ['ecs', 'cef'] as const) {
  test(`${format}: at 480B the start events keep their whole declaration, and the new name's stream says which it continues`, async () => {
    const { all, sessions } = files.get(format)!;
    const starts = all.filter((s) => s.line.includes('started; session '));
    assert.deepEqual(new Set(starts.map((s) => s.session)), new Set(sessions), 'every start event declares');
    for (const s of starts.filter((x) => x.session === sessions[2] || x.session === sessions[3])) assert.ok(s.line.includes(`; renamed from agent ${OLD}`), s.line);
    const r = await verify(all, NEW);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`^RENAMED declared: session ${sessions[2]!} continues the stream of agent "${OLD}" \\(session ${sessions[1]!} ended at seq \\d+\\)$`, 'm'));
    const old = await verify(all, OLD);
    assert.equal(old.code, 0, old.out);
    assert.match(old.out, /^intact: \d+ records in 2 sessions, 1 declared restart, /m);
  });

  test(`${format}: at 480B a whole run deleted at the rename is a gap of the new name's stream`, async () => {
    const { all, sessions } = files.get(format)!;
    for (const gone of [sessions[1]!, sessions[2]!]) {
      const r = await verify(all.filter((s) => s.session !== gone), NEW);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, new RegExp(`^GAP session=${gone} seq \\d+\\.\\.\\d+ \\(\\d+ missing\\)$`, 'm'));
    }
  });
}

/**
 * Stranded suspicions (saved by file inputs no longer configured) are reported registry by registry.
 * A registry that cannot be cleared once its alerts are stored (its write fails: ENOSPC on the state
 * directory, EIO; here a directory sits at its temp name), or a file in the registry directory that
 * cannot be read (EACCES as an unprivileged agent, EIO; here a directory named like a registry), must
 * not keep the other removed inputs' alerts back: they were silently left for the next start, which
 * may be weeks away. What failed is counted and stays saved for the next start.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { parseRfc5424 } from '../../src/encode/rfc5424.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig, type AgentEnv } from '../helpers/agent.js';

const root = mkdtempSync(join(tmpdir(), 'logward-stranded-each-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Alert {
  event?: { action?: string; id?: string };
  file?: { path?: string };
  logward?: { tamper?: { input?: string } };
}

/** Inputs of the truncation alerts received, distinct by event.id (a restart resends what was not acknowledged). */
function alertedInputs(receiver: TestReceiver): string[] {
  const byId = new Map<string | undefined, string>();
  for (const r of receiver.records) {
    const e = JSON.parse(parseRfc5424(r).msg ?? '{}') as Alert;
    if (e.event?.action === 'log_file_truncated') byId.set(e.event.id, e.logward?.tamper?.input ?? '?');
  }
  return [...byId.values()].sort();
}

function configFile(env: AgentEnv, port: number, inputs: string): string {
  const file = writeAgentConfig(env, port, { inputs });
  // A long rescan interval: a truncation's grace outlasts the run, so its suspicion is saved undecided.
  writeFileSync(file, readFileSync(file, 'utf8').replace('rescan_interval: 1s', 'rescan_interval: 60s'));
  return file;
}

const input = (env: AgentEnv, id: string, glob: string): string => `  - id: ${id}\n    type: file\n    paths: ["${env.logs}/${glob}"]\n    parser: auto\n    start_at: beginning\n`;
const hasSuspicions = (file: string): boolean => existsSync(file) && readFileSync(file, 'utf8').includes('"suspicions"');

/** A run with inputs `aaa` and `web`, each of whose logs is truncated before the stop: two registries with a suspicion each. */
async function twoSuspicionsSaved(name: string): Promise<{ env: AgentEnv; receiver: TestReceiver; port: number; checkpoints: string }> {
  const env = await makeAgentEnv(join(root, name));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const checkpoints = join(env.state, 'checkpoints');
  for (const f of ['a.log', 'w.log']) writeFileSync(join(env.logs, f), Array.from({ length: 10 }, (_, i) => `${f} line ${i}\n`).join(''));
  const first = new Pipeline(await loadConfig(configFile(env, port, input(env, 'aaa', 'a.log') + input(env, 'web', 'w.log'))), { log: pino({ level: 'silent' }) });
  await first.start();
  try {
    await until(() => receiver.originals().length === 20, 'the 20 lines');
    for (const f of ['a.log', 'w.log']) truncateSync(join(env.logs, f), 0);
    await until(() => hasSuspicions(join(checkpoints, 'aaa.json')) && hasSuspicions(join(checkpoints, 'web.json')), 'both suspicions saved');
  } finally {
    await first.stop();
  }
  assert.deepEqual(alertedInputs(receiver), []);
  return { env, receiver, port, checkpoints };
}

/** A start whose only input is another one: both registries are stranded. Returns its counter of failures. */
async function startWithoutThem(env: AgentEnv, receiver: TestReceiver, port: number, done: () => boolean): Promise<number> {
  const p = new Pipeline(await loadConfig(configFile(env, port, input(env, 'other', '*.txt'))), { log: pino({ level: 'silent' }) });
  await p.start();
  try {
    await until(() => alertedInputs(receiver).length >= 2 && done(), 'both removed inputs reported', 20_000);
  } finally {
    await p.stop();
  }
  return p.counters.get('source_stranded_suspicions_failed');
}

test('a stranded registry that cannot be cleared does not keep the next one from being reported', { timeout: 120_000 }, async () => {
  const { env, receiver, port, checkpoints } = await twoSuspicionsSaved('clear-fails');
  // aaa.json is reported first (by name) and its rewrite fails: something that is no file sits at its temp name.
  mkdirSync(join(checkpoints, 'aaa.json.tmp', 'x'), { recursive: true });
  const failures = await startWithoutThem(env, receiver, port, () => !hasSuspicions(join(checkpoints, 'web.json')));
  assert.deepEqual(alertedInputs(receiver), ['aaa', 'web']);
  assert.ok(hasSuspicions(join(checkpoints, 'aaa.json')), 'not cleared: the next start reports it again');
  assert.equal(failures, 1);
});

test('a file in the registry directory that cannot be read does not hide the stranded suspicions of the others', { timeout: 120_000 }, async () => {
  const { env, receiver, port, checkpoints } = await twoSuspicionsSaved('read-fails');
  // Listed first, named like a registry, and readFile fails on it.
  mkdirSync(join(checkpoints, '000.json'));
  const failures = await startWithoutThem(env, receiver, port, () => !hasSuspicions(join(checkpoints, 'aaa.json')) && !hasSuspicions(join(checkpoints, 'web.json')));
  assert.deepEqual(alertedInputs(receiver), ['aaa', 'web']);
  assert.equal(failures, 1);
});

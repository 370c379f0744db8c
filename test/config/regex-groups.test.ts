/**
 * A regex parser pattern whose groups name fields the agent sets itself
 * (host.*, event.kind, agent.*, …) would let every line it matches forge the
 * agent's facts; one whose groups name no ECS field could not even start
 * the parser. `logward check` and `logward run` refuse both before anything
 * runs: exit 2, one line per group, naming the pattern's config path. Runs
 * the real CLI, as an operator would.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { CLI, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'logward-regex-groups-'));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'logs'));
const keyFile = join(dir, 'hmac.key');
writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });

/** A config that is fine in every other respect, with `pattern` (single-quoted YAML) as its one input's regex. */
function config(name: string, pattern: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `agent: { id: web-01, state_dir: ${join(dir, `state-${name}`)} }`,
      'inputs:',
      '  - id: app',
      `    paths: ["${join(dir, 'logs')}/*.log"]`,
      '    parser: regex',
      `    pattern: '${pattern}'`,
      'output:',
      '  destination: { protocol: tcp, allow_insecure: true, hosts: ["127.0.0.1:514"] }',
      `integrity: { key_file: ${keyFile} }`,
      'monitoring: { metrics: { listen: "127.0.0.1:0" } }',
      '',
    ].join('\n'),
  );
  return file;
}

const FORGING = String.raw`^(?<timestamp>\S+) (?<host__name>\S+) (?<event__kind>\w+) (?<agent__id>\S+) (?<source__ip>\S+) (?<message>.*)$`;

test('check: groups naming agent-set fields exit 2, one line each at inputs[0].pattern', async () => {
  const file = config('forging', FORGING);
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.deepEqual(lines, [
    `${file}: inputs[0].pattern: group "host__name" names host.name, a field the agent sets itself (a log line must not set it) (line 6)`,
    `${file}: inputs[0].pattern: group "event__kind" names event.kind, a field the agent sets itself (a log line must not set it) (line 6)`,
    `${file}: inputs[0].pattern: group "agent__id" names agent.id, a field the agent sets itself (a log line must not set it) (line 6)`,
    `${file}: invalid — 3 problems`,
  ]);
});

/** `logward run -c file`, stopped (SIGTERM: drain and exit 0) if it is still running after 60 s: an agent that started is a failure, not a hang. */
function run(file: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    const err: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr: Buffer.concat(err).toString('utf8') }));
  });
}

test('run refuses the same config with the same lines before it starts', async () => {
  const file = config('forging-run', FORGING);
  const r = await run(file);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /inputs\[0\]\.pattern: group "host__name" names host\.name, a field the agent sets itself/);
  assert.match(r.stderr, /inputs\[0\]\.pattern: group "event__kind" names event\.kind/);
});

test('check: every other agent-set field a group could name is refused too', async () => {
  for (const group of ['host__hostname', 'host__ip', 'related__user', 'log__file__path', 'logward__input', 'event__severity', 'event__id', 'event__original', 'ecs__version', 'tags', 'log__offset', 'data_stream__dataset']) {
    const file = config(`one-${group}`, String.raw`^(?<${group}>\S+) (?<message>.*)$`);
    const r = await runCli(['check', '-c', file]);
    assert.equal(r.code, 2, `${group}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`inputs\\[0\\]\\.pattern: group "${group}" names ${group.replaceAll('__', '\\.')}, a field the agent sets itself`), group);
  }
});

test('check: a group that is no ECS field is named too (the parser refuses it, so the agent could not start)', async () => {
  const file = config('unknown', String.raw`^(?<ip>\S+) (?<source__ip>\S+) (?<message>.*)$`);
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(`${file}: inputs[0].pattern: group "ip": "ip" is not an ECS field (line 6)\n`), r.stderr);
});

test('check: groups naming ECS fields a line may set, labels, timestamp and message pass', async () => {
  const file = config('good', String.raw`^(?<timestamp>\S+) (?<source__ip>\S+):(?<source__port>\d+) (?<user__name>\S+) (?<labels__team>\w+) (?<message>.*)$`);
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
});

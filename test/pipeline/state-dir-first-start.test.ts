/**
 * The first start makes the state directory itself (durably, mode 0700) before anything is put in
 * it: `logward demo` and a reload run the pipeline without the instance lock that otherwise makes
 * it first.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig } from '../helpers/agent.js';

const root = mkdtempSync(join(tmpdir(), 'logward-statedir-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a pipeline started on a state directory that does not exist makes it, mode 0700, and warns of nothing', { timeout: 60_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'a'));
  assert.equal(existsSync(env.state), false);
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  writeFileSync(join(env.logs, 'app.log'), 'app line 0\n');
  const config = await loadConfig(writeAgentConfig(env, port));
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  const p = new Pipeline(config, { log: pino({ level: 'warn' }, sink) });
  await p.start();
  try {
    await until(() => receiver.records.some((r) => r.includes('app line 0')), 'the line');
  } finally {
    await p.stop();
  }
  assert.equal(statSync(env.state).mode & 0o777, 0o700);
  assert.deepEqual(
    lines.filter((l) => l.level >= 40).map((l) => l.msg),
    [],
    'no warning: the directory was made before it was tightened',
  );
});

/**
 * How often an internal event the queue keeps rejecting is appended again once stop() has begun
 * (Pipeline.appendInternal / internalBackoff). The documented rule: stop() cuts the backoff short
 * once (one more try within the grace), closing the queue cuts it short again, and the next append
 * then fails for good: one retry after stop began, one failure, and no backoff that outlives stop.
 * A wake-up signal that stayed aborted after stop (each backoff ending at once) would instead retry
 * in a tight loop for the whole shutdown grace; one that ignored the queue's closing would leave
 * the event asleep after stop. The disk here takes everything but the one alert, so each try is
 * rejected quickly (its group fails, the loss declaration is written) instead of waiting behind a
 * declaration that cannot be written either.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig } from '../helpers/agent.js';
import { CrashFs } from '../queue/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'logward-internal-retry-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The agent's log lines, parsed (pino writes one JSON object per line). */
class LogLines extends Writable {
  readonly entries: { msg?: string; action?: string; attempt?: number }[] = [];
  private rest = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    const lines = (this.rest + chunk.toString()).split('\n');
    this.rest = lines.pop() ?? '';
    for (const l of lines) if (l.trim() !== '') this.entries.push(JSON.parse(l) as { msg?: string; action?: string; attempt?: number });
    cb();
  }
}

const ACTION = 'config_reload_rejected';

test('an alert the disk never takes, once stop() has begun: appended again exactly once within the grace, then failed once when the queue closes; no backoff outlives stop', { timeout: 60_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'once'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const config = await loadConfig(writeAgentConfig(env, port, { shutdownGrace: '5s' }));
  const fs = new CrashFs();
  const out = new LogLines();
  writeFileSync(join(env.logs, 'app.log'), 'app line 0 user=alice action=login\n');
  // A backoff far longer than the test: only stop() and the queue's closing can end one.
  const p = new Pipeline(config, { log: pino({ level: 'info' }, out), queueFs: fs, internalRetry: { minDelayMs: 600_000, maxDelayMs: 600_000 } });
  const retries = (): number[] => out.entries.filter((e) => e.action === ACTION && e.msg === 'internal event not queued; appending it again').map((e) => e.attempt ?? -1);
  const failures = (): number => out.entries.filter((e) => e.action === ACTION && e.msg === 'internal event not queued').length;
  await p.start();
  let stopped = false;
  // The receiver goes whatever happens: a failed assertion must not leave its server holding the test process.
  after(() => receiver.stop());
  try {
    await until(() => receiver.originals().length >= 1, 'the first line');
    // Every write that holds the alert fails (EIO); the loss declarations and everything else are written.
    fs.fail('write', { times: Number.MAX_SAFE_INTEGER, contains: ACTION });
    p.notify({ action: ACTION, kind: 'alert', category: ['configuration'], type: ['change'], outcome: 'failure', message: 'configuration reload rejected (test)' });
    await until(() => retries().length >= 1, 'the alert waiting in its first backoff');
    assert.deepEqual(retries(), [1], 'one failure before stop, then asleep');
    await p.stop();
    stopped = true;
  } finally {
    if (!stopped) await p.stop();
  }
  // Settled by the time stop() returns: the queue's closing woke the last backoff, and the append
  // after it failed at once (a backoff that outlived stop would still be asleep here).
  assert.equal(failures(), 1, 'given up once, when the queue closed');
  assert.deepEqual(retries(), [1, 2], 'exactly one more try after stop() began (the backoff it cut short)');
  assert.ok(fs.fired.length >= 2, `the alert's writes failed: ${fs.fired.join(', ')}`);
  assert.ok(p.counters.get('internal_events_failed') >= 1);
  await receiver.stop();
  assert.ok(!receiver.actions().includes(ACTION), 'the alert never reached the disk, so never the receiver');
});

test('a reload whose announcement the disk never takes fails its start instead of retrying for ever (SIGTERM waits for that start)', { timeout: 60_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'reload'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const config = await loadConfig(writeAgentConfig(env, port, { shutdownGrace: '5s' }));
  const fs = new CrashFs();
  fs.fail('write', { times: Number.MAX_SAFE_INTEGER, contains: 'config_reloaded' });
  const p = new Pipeline(config, {
    log: pino({ level: 'silent' }),
    queueFs: fs,
    reload: { weakened: [] },
    internalRetry: { minDelayMs: 600_000, maxDelayMs: 600_000 },
  });
  await assert.rejects(p.start(), 'the start fails, and says so');
  assert.ok(fs.fired.length >= 1, 'the announcement was refused by the disk');
  await receiver.stop();
  assert.ok(!receiver.actions().includes('config_reloaded'));
});

test('stop() before start() has opened the queue (SIGTERM at once): start gives up and the queue it opened saves its state', { timeout: 60_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'early-stop'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const config = await loadConfig(writeAgentConfig(env, port));
  const fs = new CrashFs();
  const calls: string[] = [];
  const watched = new Proxy(fs, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (typeof v !== 'function') return v;
      return (...a: unknown[]) => {
        calls.push(`${String(prop)} ${typeof a[0] === 'string' ? a[0] : ''}`);
        return (v as (...x: unknown[]) => unknown).apply(target, a);
      };
    },
  });
  const p = new Pipeline(config, { log: pino({ level: 'silent' }), queueFs: watched });
  await p.stop('stopped before it started');
  await assert.rejects(p.start(), /stopped while starting/);
  // open() ends by laying its space reserve; close() then persists the state (temp file, rename).
  const reserved = calls.map((c) => c.startsWith('open ') && c.endsWith('space.reserve')).lastIndexOf(true);
  const saved = calls.map((c) => c.startsWith('rename ') && c.endsWith('state.json.tmp')).lastIndexOf(true);
  assert.ok(reserved >= 0, 'the queue was opened');
  assert.ok(saved > reserved, `the state was saved after the queue opened: ${calls.slice(reserved).join(' | ')}`);
});

/**
 * End to end through the Pipeline (in process, so the queue's file system can
 * fail on purpose): a segment fsync fails with EIO while lines are shipped.
 * The queue's next record is the queue_records_lost alert that declares the
 * seqs spent on the failed group, the lines are read again, and `logward
 * verify` over what the receiver stored reports the loss as declared and exits
 * 0 — also after a restart of the agent on the same state.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import pino from 'pino';

import { runVerify } from '../../src/commands/verify.js';
import { loadConfig } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline.js';
import { Collect } from '../helpers/collect.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig } from '../helpers/agent.js';
import { CrashFs } from '../queue/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'logward-lost-'));
after(() => rmSync(root, { recursive: true, force: true }));

function lines(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `app line ${i} user=alice action=login\n`;
  return s;
}

async function verifyReceived(file: string, keyFile: string): Promise<{ code: number; out: string }> {
  const stdout = new Collect();
  const stderr = new Collect();
  const code = await runVerify({ keyFile, file }, { stdout, stderr });
  return { code, out: stdout.text + stderr.text };
}

test('a segment fsync failing with EIO in a running pipeline: the loss is declared in the stream, every line still arrives, verify exits 0 (also after a restart)', { timeout: 120_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'eio'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const config = await loadConfig(writeAgentConfig(env, port));
  const log = pino({ level: 'silent' });
  const fs = new CrashFs();
  const received = join(env.dir, 'received.log');
  writeFileSync(join(env.logs, 'app.log'), lines(0, 100));

  const p1 = new Pipeline(config, { log, queueFs: fs });
  await p1.start();
  try {
    await until(() => receiver.originals().length >= 100, 'the first 100 lines');
    fs.fail('fsync');
    appendFileSync(join(env.logs, 'app.log'), lines(100, 300));
    await until(() => new Set(receiver.originals()).size >= 300 && receiver.actions().includes('queue_records_lost'), 'all 300 lines and the declaration');
    assert.equal(fs.fired.length, 1, 'the fault fired once');
  } finally {
    await p1.stop();
  }
  assert.equal(p1.counters.get('queue_lost_declared'), 1);
  assert.ok(p1.counters.get('queue_lost_records') >= 1);
  const alerts = p1.snapshot().recentAlerts.map((a) => a.action);
  assert.ok(alerts.includes('queue_records_lost'), `the declaration is an alert (${alerts.join(', ')})`);
  const actions = receiver.actions();
  assert.ok(!actions.includes('queue_error'), `no second alert for the same failure (${actions.join(', ')})`);

  const first = await verifyReceived(received, env.keyFile);
  assert.equal(first.code, 0, first.out);
  assert.match(first.out, /^LOST declared: session [0-9a-f]{32} seqs? \S+ \(\d+ seqs?\) sealed but never written \(cause EIO; declared by seq \d+, line \d+\)$/m);
  assert.match(first.out, /^intact: \d+ records in 1 session, 0 declared restarts, 1 declared loss \(\d+ seqs?\), \d+ replays?$/m);

  // The next start (a plain file system) continues after everything handed out, declaring the boundary.
  const p2 = new Pipeline(config, { log });
  await p2.start();
  try {
    appendFileSync(join(env.logs, 'app.log'), lines(300, 310));
    await until(() => new Set(receiver.originals()).size >= 310, 'the lines after the restart');
  } finally {
    await p2.stop();
  }
  await receiver.stop();
  const second = await verifyReceived(received, env.keyFile);
  assert.equal(second.code, 0, second.out);
  assert.match(second.out, /^RESTART declared: session \S+ ended at seq \d+, session \S+ starts at \d+$/m);
  assert.match(second.out, /^intact: \d+ records in 2 sessions, 1 declared restart, 1 declared loss \(\d+ seqs?\), \d+ replays?$/m);
});

test('an alert whose write group fails with EIO is appended again and arrives once: a cleared log file and a rejected reload are not lost with the group', { timeout: 120_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'alert'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const config = await loadConfig(writeAgentConfig(env, port));
  const fs = new CrashFs();
  const file = join(env.logs, 'app.log');
  writeFileSync(file, lines(0, 20));
  const p = new Pipeline(config, { log: pino({ level: 'silent' }), queueFs: fs });
  await p.start();
  try {
    await until(() => receiver.originals().length >= 20, 'the first 20 lines');
    // The next group written fails to fsync: it holds the tamper alert for the cleared file.
    fs.fail('fsync');
    truncateSync(file, 0);
    await until(() => receiver.actions().includes('log_file_truncated'), 'the truncation alert');
    assert.equal(fs.fired.length, 1, 'the fault fired');
    fs.fail('fsync');
    p.notify({ action: 'config_reload_rejected', kind: 'alert', category: ['configuration'], type: ['change'], outcome: 'failure', message: 'configuration reload rejected (test)' });
    await until(() => receiver.actions().includes('config_reload_rejected'), 'the reload alert');
    assert.equal(fs.fired.length, 2, 'the second fault fired');
  } finally {
    await p.stop();
  }
  await receiver.stop();
  const actions = receiver.actions();
  assert.equal(actions.filter((a) => a === 'queue_records_lost').length, 2, actions.join(', '));
  assert.equal(actions.filter((a) => a === 'log_file_truncated').length, 1, actions.join(', '));
  assert.equal(actions.filter((a) => a === 'config_reload_rejected').length, 1, actions.join(', '));
  assert.ok(p.counters.get('internal_events_retried') >= 2);
  assert.equal(p.counters.get('internal_events_failed'), 0);
  const v = await verifyReceived(join(env.dir, 'received.log'), env.keyFile);
  assert.equal(v.code, 0, v.out);
});

test('stop cuts short the backoff of an alert the queue keeps rejecting: the alert gets its chance within the shutdown grace and arrives once', { timeout: 120_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'alert-at-stop'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const config = await loadConfig(writeAgentConfig(env, port, { shutdownGrace: '60s' }));
  const fs = new CrashFs();
  writeFileSync(join(env.logs, 'app.log'), lines(0, 20));
  // A backoff far longer than the test: only stop() waking the retry can bring the alert in.
  const p = new Pipeline(config, { log: pino({ level: 'silent' }), queueFs: fs, internalRetry: { minDelayMs: 600_000, maxDelayMs: 600_000 } });
  await p.start();
  let stopped = false;
  try {
    await until(() => receiver.originals().length >= 20, 'the first 20 lines');
    fs.fail('fsync', { times: 1_000 });
    p.notify({ action: 'config_reload_rejected', kind: 'alert', category: ['configuration'], type: ['change'], outcome: 'failure', message: 'configuration reload rejected (test)' });
    await until(() => p.counters.get('internal_events_retried') >= 1, 'the alert waiting in its backoff');
    // The disk heals; the alert sleeps on. Stopping must not wait out (or give up on) its backoff.
    for (const f of fs.faults) f.times = 0;
    await p.stop();
    stopped = true;
  } finally {
    if (!stopped) await p.stop();
  }
  await until(() => receiver.actions().includes('agent_stopped'), 'the stop event');
  await receiver.stop();
  const actions = receiver.actions();
  assert.equal(actions.filter((a) => a === 'config_reload_rejected').length, 1, actions.join(', '));
  assert.ok(actions.indexOf('config_reload_rejected') < actions.indexOf('agent_stopped'), 'the alert is in the stream before the stop event');
  assert.equal(p.counters.get('internal_events_failed'), 0);
  const v = await verifyReceived(join(env.dir, 'received.log'), env.keyFile);
  assert.equal(v.code, 0, v.out);
});

test('an alert the disk never takes: stop still ends, the alert is counted as failed, and nothing retries once the queue is closed', { timeout: 60_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'alert-never'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const config = await loadConfig(writeAgentConfig(env, port, { shutdownGrace: '2s' }));
  const fs = new CrashFs();
  writeFileSync(join(env.logs, 'app.log'), lines(0, 5));
  const p = new Pipeline(config, { log: pino({ level: 'silent' }), queueFs: fs });
  await p.start();
  try {
    await until(() => receiver.originals().length >= 5, 'the first lines');
    fs.fail('fsync', { times: 1_000_000 });
    p.notify({ action: 'config_reload_rejected', kind: 'alert', category: ['configuration'], type: ['change'], outcome: 'failure', message: 'configuration reload rejected (test)' });
    await until(() => p.counters.get('internal_events_retried') >= 1, 'the alert waiting in its backoff');
  } finally {
    // A retry loop that ignored the closed queue would spin here for ever (the test's timeout).
    await p.stop();
  }
  const retried = p.counters.get('internal_events_retried');
  await new Promise((r) => setTimeout(r, 500));
  await receiver.stop();
  assert.equal(p.counters.get('internal_events_retried'), retried, 'no retry after stop');
  assert.equal(p.counters.get('internal_events_failed'), 1, 'the alert is given up once, and counted');
});

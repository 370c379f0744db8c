/**
 * A tamper alert decided just before SIGTERM whose append is still in flight when stop() begins (a
 * slow fsync, or the one more try stop() gives an alert waiting out a backoff) is stored by that
 * stop, within shutdown_grace. Its suspicion must leave the registry with it: the input's last
 * registry write may not come before the alert is stored (or has failed for good), or the registry
 * keeps it as decided-not-stored and the next start raises it again, as a second alert (another
 * event.id) for one truncation, after a clean stop.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { parseRfc5424 } from '../../src/encode/rfc5424.js';
import { Pipeline } from '../../src/pipeline.js';
import { nodeFs, type QueueFs } from '../../src/queue/fs.js';
import { makeAgentEnv, sleep, TestReceiver, until, writeAgentConfig } from '../helpers/agent.js';

const root = mkdtempSync(join(tmpdir(), 'logward-tamper-stop-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The queue's disk, whose writes holding `marker` wait until released (a slow disk under the alert). */
class HeldFs {
  held = 0;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  readonly fs: QueueFs;

  constructor(private readonly marker: string) {
    this.fs = {
      ...nodeFs,
      write: async (fd, buf, position) => {
        if (this.gate !== undefined && buf.includes(this.marker)) {
          this.held++;
          await this.gate;
        }
        return nodeFs.write(fd, buf, position);
      },
    };
  }

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.gate = undefined;
    this.open?.();
  }
}

/** Distinct by event.id: a restart sends again what the destination had not acknowledged (at-least-once). */
function alertIds(receiver: TestReceiver, action: string): string[] {
  const ids = new Set<string>();
  for (const r of receiver.records) {
    const e = JSON.parse(parseRfc5424(r).msg ?? '{}') as { event?: { action?: string; id?: string } };
    if (e.event?.action === action && e.event.id !== undefined) ids.add(e.event.id);
  }
  return [...ids];
}

test('a tamper alert stored by the stop that found it in flight is not raised again at the next start', { timeout: 120_000 }, async () => {
  const env = await makeAgentEnv(join(root, 'in-flight'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  const log = join(env.logs, 'app.log');
  writeFileSync(log, Array.from({ length: 20 }, (_, i) => `app line ${i}\n`).join(''));
  const config = await loadConfig(writeAgentConfig(env, port, { shutdownGrace: '10s' }));
  const registry = join(env.state, 'checkpoints', 'app.json');
  const disk = new HeldFs('log_file_truncated');

  const first = new Pipeline(config, { log: pino({ level: 'silent' }), queueFs: disk.fs });
  await first.start();
  let stopping: Promise<void> | undefined;
  try {
    await until(() => receiver.records.filter((r) => r.includes('app line')).length === 20, 'the 20 lines');
    disk.hold();
    truncateSync(log, 0);
    await until(() => disk.held >= 1, 'the alert decided, its write in flight');
    await until(() => readFileSync(registry, 'utf8').includes('"decided":true'), 'the decided suspicion saved while its alert is not stored');
    stopping = first.stop();
    // The input stops within a poll interval or two; its disk is slow, not failing, and the grace is long.
    await sleep(1500);
    disk.release();
    await stopping;
  } finally {
    disk.release();
    await (stopping ?? first.stop());
  }
  await until(() => alertIds(receiver, 'log_file_truncated').length === 1, 'the alert, stored and sent by the stop');

  const second = new Pipeline(config, { log: pino({ level: 'silent' }) });
  await second.start();
  try {
    // A suspicion restored as decided is raised at the first scan, before the lines that scan finds are read.
    appendFileSync(log, 'after restart\n');
    await until(() => receiver.originals().includes('after restart'), 'the first scan of the second run');
    await sleep(1000);
  } finally {
    await second.stop();
  }
  assert.equal(alertIds(receiver, 'log_file_truncated').length, 1, 'one truncation, one alert: it was stored before the first run ended');
  assert.doesNotMatch(readFileSync(registry, 'utf8'), /"suspicions"/);
});

/**
 * The alerts a file source raises at once (`replaced`, `unreadable`) had no suspicion behind them:
 * when the pipeline rejected one (the queue closing at stop), the source swallowed the rejection,
 * so the alert was neither stored nor counted nor ever raised again. Evidence lost. Now such an
 * alert is kept as a decided suspicion until it is stored: a rejection is counted
 * (source_tamper_alerts_unstored), the checkpoints keep it, and the next start raises it again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSource, type TamperAlert } from '../../src/source/file-source.js';
import { strandedSuspicions } from '../../src/source/checkpoint.js';
import { TamperWatch, type Suspicion } from '../../src/source/tamper.js';
import { Collector, lines, options, tempDir, waitFor } from './file-fixture.js';

const body = (ls: string[]): string => ls.join('\n') + '\n';

test('a replaced alert the pipeline rejects at stop is counted, kept with the checkpoints and raised again by the next start', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const rotated = join(logs, 'app.log.1');
    const live = join(logs, 'app.log');
    writeFileSync(rotated, body(lines('a', 0, 50)));
    const opts = options(dir);

    // Run 1: the alert is raised; the pipeline has not stored it when the stop closes its queue.
    const c1 = new Collector();
    const raised: TamperAlert[] = [];
    let reject: (err: Error) => void = () => undefined;
    const src = new FileSource(opts, {
      emit: c1.emit,
      counters: c1.counters,
      alert: (a) => {
        raised.push(a);
        return new Promise<void>((_resolve, rej) => {
          reject = rej;
        });
      },
    });
    await src.start();
    let stopping: Promise<void> | undefined;
    try {
      await waitFor(() => c1.records.length === 50, 'the rotated file');
      renameSync(rotated, live); // content read before, back at a live name
      await waitFor(() => raised.length === 1, 'the replaced alert');
      assert.equal(raised[0]?.kind, 'replaced');
      stopping = src.stop();
      reject(new Error('queue closed before the alert was stored'));
    } finally {
      await (stopping ?? src.stop());
    }
    await new Promise((r) => setImmediate(r));
    assert.equal(c1.counters.get('source_tamper_alerts_unstored'), 1, 'the rejection is counted');

    // Run 2: raised again, once; stored this time (the pipeline's promise resolves), and then no longer kept.
    const c2 = new Collector();
    const again = new FileSource(opts, { emit: c2.emit, counters: c2.counters, alert: async (a) => c2.alert(a) });
    await again.start();
    try {
      await waitFor(() => c2.alerts.length >= 1, 'the alert raised again');
    } finally {
      await again.stop();
    }
    assert.deepEqual(
      c2.alerts.map((a) => ({ kind: a.kind, path: a.path, identity: a.identity, offset: a.offset })),
      [{ kind: 'replaced', path: live, identity: raised[0]?.identity, offset: raised[0]?.offset }],
    );
    assert.equal(c2.records.length, 0, 'nothing read again');
    const reg = JSON.parse(readFileSync(again.checkpointer.file, 'utf8')) as { suspicions?: unknown[] };
    assert.equal(reg.suspicions, undefined, 'stored: not kept any more');
  } finally {
    cleanup();
  }
});

test('a decided alert restored and raised where raise stores it at once (no promise) leaves the saved suspicions', () => {
  const saved: Suspicion[] = [{ alert: { kind: 'replaced', path: '/var/log/app.log', identity: 'id1', offset: 10 }, deadline: 0, decided: true }];
  const raised: TamperAlert[] = [];
  let kept: Suspicion[] = saved;
  const w: TamperWatch = new TamperWatch(
    1000,
    (a) => void raised.push(a),
    () => true,
    () => {
      kept = w.pending();
    },
  );
  w.restore(saved, 5000);
  assert.deepEqual(raised.map((a) => a.kind), ['replaced']);
  assert.deepEqual(kept, [], 'the checkpoints are told: else they keep it, and every start raises it again');
});

test('a replaced alert kept in the registry of an input no longer configured is reported as it was raised, a suspicion in its grace unchecked', async () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    const suspicions: Suspicion[] = [
      { alert: { kind: 'replaced', path: '/var/log/app.log', identity: 'id1', offset: 10 }, deadline: 0, decided: true },
      { alert: { kind: 'truncated', path: '/var/log/app.log', identity: 'id2', sizeBefore: 9, sizeAfter: 0, offset: 9 }, deadline: 0 },
    ];
    writeFileSync(join(dir, 'checkpoints', 'gone.json'), JSON.stringify({ version: 1, input: 'gone', written: '', entries: {}, suspicions }));
    const stranded = await strandedSuspicions(dir, new Set(['other']));
    assert.deepEqual(
      stranded.flatMap((x) => x.alerts.map((a) => `${a.kind} ${a.identity} ${a.unchecked ?? 'as raised'}`)),
      ['replaced id1 as raised', 'truncated id2 input_removed'],
    );
  } finally {
    cleanup();
  }
});

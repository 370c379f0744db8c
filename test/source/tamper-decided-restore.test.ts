// A deletion the last run confirmed (alert raised, not durable: kill -9) must not be cancelled
// because the writer recreated the path before the restart's first scan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TamperWatch, type Suspicion, type TamperAlert } from '../../src/source/tamper.js';

test('a decided deletion saved before a crash is raised again even if the path is back', async () => {
  // run 1: deletion confirmed, raise never becomes durable (process killed)
  const w1 = new TamperWatch(1000, () => new Promise<void>(() => undefined), () => true);
  w1.pathMissing('/var/log/app.log', 'id1', 100, 0);
  w1.confirm(2000);
  const saved: Suspicion[] = JSON.parse(JSON.stringify(w1.pending()));
  assert.equal(saved.length, 1);
  // run 2: restored, the app has recreated the log before the first scan
  const raised: TamperAlert[] = [];
  const w2 = new TamperWatch(1000, (a) => void raised.push(a), () => true);
  w2.restore(saved, 10_000);
  w2.pathPresent('/var/log/app.log');
  w2.confirm(20_000);
  assert.equal(raised.length, 1, 'the confirmed deletion alert was lost');
  assert.equal(raised[0]?.kind, 'deleted');
});

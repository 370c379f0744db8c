/**
 * A crash loop at start: two runs in a row killed between persisting their
 * first seq reservation and their first durable record. Neither sealed
 * anything, so the next start must still name run 1 as the previous session.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AppendRecord, DiskQueue } from '../../src/queue/disk-queue.js';
import { Sealer } from '../../src/seal/session.js';
import { CrashFs, TEST_KEY, assembleByHand, makeQueue, parts, startMsg, tempDir } from '../queue/helpers.js';

async function run(q: DiskQueue, n: number): Promise<Sealer> {
  const rec = await q.open();
  const s = new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: rec.sealState, reserveBlock: 100 });
  q.attachSequence(s);
  const sealed = (text: string, internal = false): AppendRecord => ({ seal: () => s.seal(parts(text)), size: 200, meta: { input: 'in', identity: 'f', internal } });
  await q.append([sealed(startMsg(s.startDeclaration()), true)]);
  for (let i = 0; i < n; i++) await q.append([sealed(`event ${i}`)]);
  return s;
}

test('two runs in a row killed before their first durable record: the next start still names the run that sealed the last durable record', async () => {
  const { dir, cleanup } = tempDir('lw-rq-');
  try {
    const h1 = makeQueue(dir);
    const s1 = await run(h1.q, 3);
    await h1.q.close();
    const state = () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).seal as { session: string; lastSeq: string };
    // Runs 2 and 3 each killed after reserving seqs (their session is in the state file) and
    // before their start event is durable (the last durable seq is still run 1's).
    let killed = 0;
    for (let k = 0; k < 2; k++) {
      const before = state();
      for (let crashAt = 1; crashAt < 200; crashAt++) {
        // Try in a scratch copy first so that a crash point that does not fit leaves dir untouched.
        const scratch = dir + '-try';
        rmSync(scratch, { recursive: true, force: true });
        cpSync(dir, scratch, { recursive: true });
        const fs = new CrashFs(crashAt);
        const h = makeQueue(scratch, {}, { fs });
        await run(h.q, 0).catch((e: unknown) => assert.ok(fs.crashed, `only the injected crash fails: ${String(e)}`));
        await h.q.close().catch((e: unknown) => assert.ok(e instanceof Error));
        const after = JSON.parse(readFileSync(join(scratch, 'state.json'), 'utf8')).seal as { session: string; lastSeq: string };
        const probe = makeQueue(scratch);
        const r = await probe.q.open();
        await probe.q.close();
        if (after.session !== before.session && r.sealState.lastSeq === BigInt(before.lastSeq) && fs.crashed) {
          rmSync(dir, { recursive: true, force: true });
          cpSync(scratch, dir, { recursive: true });
          rmSync(scratch, { recursive: true, force: true });
          killed++;
          break;
        }
      }
    }
    assert.equal(killed, 2, 'both runs were killed at such a point');
    const h4 = makeQueue(dir);
    const s4 = await run(h4.q, 0);
    await h4.q.close();
    assert.equal(s4.startDeclaration().previousSession, s1.session);
  } finally {
    cleanup();
  }
});

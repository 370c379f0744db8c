/**
 * `logward verify` and a second "no previous session" start in one agent's
 * stream (its state directory lost, or a second sender with its id and key):
 * FRESH START names the record and the session before it, and fails, unless
 * the operator accepts it (acceptFreshStarts). Each agent's own first start
 * in a shared file is no such thing.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after as afterAll, test } from 'node:test';

import { runVerify, type VerifyOptions } from '../../src/commands/verify.js';
import { runCli } from '../helpers/cli.js';
import { Collect } from '../helpers/collect.js';
import { after, KEY_A, pipelineRun, tempDir, writeKeyFile, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-fresh-');
afterAll(root.cleanup);

let n = 0;

async function verify(runs: readonly Run[], opts: Partial<VerifyOptions> = {}): Promise<{ code: number; out: string }> {
  const dir = join(root.dir, `case-${++n}`);
  mkdirSync(dir);
  const keyFile = writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex') + '\n');
  const file = join(dir, 'received.log');
  writeFileSync(file, runs.flatMap((r) => r.records.map((b) => b.toString() + '\n')).join(''));
  const out = new Collect();
  const code = await runVerify({ keyFile, file, ...opts }, { stdout: out, stderr: out });
  return { code, out: out.text };
}

const session = (r: Run): string => r.sealer.session;

function startedOver(agent = 'web-01'): Run[] {
  const r1 = pipelineRun(KEY_A, 3, { agent, format: 'ecs' });
  const r2 = pipelineRun(KEY_A, 3, { agent, format: 'ecs' }, after(r1));
  // The state directory lost: a first start again, seqs from 0.
  const r3 = pipelineRun(KEY_A, 3, { agent, format: 'ecs' });
  return [r1, r2, r3];
}

test('a second first start in one agent stream fails with a FRESH START line naming its record and the session before it', async () => {
  const runs = startedOver();
  const [r1, , r3] = runs as [Run, Run, Run];
  for (const agent of [undefined, 'web-01']) {
    const r = await verify(runs, agent !== undefined ? { agent } : {});
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      new RegExp(
        `^FRESH START session=${session(r3)} seq=0 \\(line 9\\): its start event declares no previous session, but this stream holds session ${session(r1)} before it ` +
          `and shares seqs with session ${session(r1)}: the agent started over \\(its state directory lost or reset, or a second sender with this agent id and key\\), ` +
          `so the end of the stream before it cannot be checked$`,
        'm',
      ),
    );
    assert.match(r.out, /^FAILED: 1 fresh start \(the stream started over\); 12 records in 3 sessions, 1 declared restart, 0 replays$/m);
  }
});

test('accepted by the operator (all, or that session), the fresh start is information: exit 0, counted in the summary', async () => {
  const runs = startedOver();
  for (const acceptFreshStarts of ['all', [session(runs[2] as Run)]] as const) {
    const r = await verify(runs, { acceptFreshStarts });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^FRESH START \(accepted\) session=/m);
    assert.match(r.out, /^intact: 12 records in 3 sessions, 1 declared restart, 1 accepted fresh start, 0 replays$/m);
  }
  const other = await verify(runs, { acceptFreshStarts: [session(runs[0] as Run)] });
  assert.equal(other.code, 1, other.out);
});

test("each agent's own first start in a shared file is no fresh start; one agent starting over is, in its section", async () => {
  const web = pipelineRun(KEY_A, 3, { agent: 'web-01', format: 'ecs' });
  const db = pipelineRun(KEY_A, 3, { agent: 'db-01', format: 'cef' });
  const clean = await verify([web, db]);
  assert.equal(clean.code, 0, clean.out);
  assert.doesNotMatch(clean.out, /FRESH START/);
  const r = await verify([db, ...startedOver('web-01')]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /^AGENT web-01\n(?:.*\n)*?FRESH START session=/m);
  assert.match(r.out, /^FAILED: agent web-01: 1 fresh start \(the stream started over\); intact: db-01; /m);
});

test('the command line takes --accept-fresh-start, repeatable, a session id or "all"', async () => {
  const runs = startedOver();
  const dir = join(root.dir, `case-${++n}`);
  mkdirSync(dir);
  const keyFile = writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex') + '\n');
  const file = join(dir, 'received.log');
  writeFileSync(file, runs.flatMap((r) => r.records.map((b) => b.toString() + '\n')).join(''));
  const plain = await runCli(['verify', '--key', keyFile, file]);
  assert.equal(plain.code, 1, plain.stdout + plain.stderr);
  const one = await runCli(['verify', '--key', keyFile, '--accept-fresh-start', session(runs[0] as Run), '--accept-fresh-start', session(runs[2] as Run), file]);
  assert.equal(one.code, 0, one.stdout + one.stderr);
  assert.match(one.stdout, /^FRESH START \(accepted\) session=/m);
  const all = await runCli(['verify', '--key', keyFile, '--accept-fresh-start', 'all', file]);
  assert.equal(all.code, 0, all.stdout + all.stderr);
});

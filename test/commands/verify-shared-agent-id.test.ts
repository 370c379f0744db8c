/**
 * One agent id used by two senders (a second host given the same agent.id,
 * or a copied state directory). Their records are one "agent stream" to
 * verify, which cannot hold: the verdict stays a failure (an UNDECLARED
 * RESTART, or a FRESH START), and the line now says why when the agent's
 * sealed clock proves it: two sessions of one stream that sealed records at
 * the same time (ECS event.created, MAC checked; one state directory runs one
 * session at a time). It said only "no start event declares the boundary".
 * With a key the file lacks (each host its own key), one line names it
 * besides the FORGED lines. Without sealed times (CEF) nothing is claimed.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { type VerifyOptions } from '../../src/commands/verify.js';
import { verifyWithKeys, type Verified } from './verify-lines.js';
import { keyIdOf } from '../../src/seal/chain.js';
import { after, KEY_A, KEY_B, tempDir, timedRun, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-shared-id-');
afterAll(root.cleanup);

const verify = (lines: readonly string[], keys: readonly Buffer[], opts: Partial<VerifyOptions> = {}): Promise<Verified> =>
  verifyWithKeys(root.dir, lines, keys, opts);

const text = (r: Run): string[] => r.records.map((b) => b.toString());
const session = (r: Run): string => r.sealer.session;
const at = (d: number, h = 0): Date => new Date(Date.UTC(2026, 4, d, h));
const iso = (d: Date, s: number): string => new Date(d.getTime() + s * 1000).toISOString();

/** As a receiver stores two connections: one record of each in turn. */
function interleave(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== undefined) out.push(a[i] as string);
    if (b[i] !== undefined) out.push(b[i] as string);
  }
  return out;
}

/** One host's agent: a first run a day before, and the run the daily file begins inside. */
function host(key: Buffer, format: 'ecs' | 'cef', before: number): Run {
  const first = timedRun(key, before, { agent: 'web-01', format, at: at(1) });
  return timedRun(key, 30, { agent: 'web-01', format, at: at(2) }, after(first));
}

const TWO_SENDERS = `ran at the same time by the agent's clock, which one agent never does: two senders use this agent id \\(another host with the same agent\\.id, or a copy of its state directory\\); give each its own agent\\.id`;

test('two hosts named web-01 with one key, both inside a run when the file begins: the undeclared restart says two senders ran at once', async () => {
  const a = host(KEY_A, 'ecs', 20);
  const b = host(KEY_A, 'ecs', 5);
  // a: seqs 21..51 (the file from 26), b: 6..36 (from 11).
  const r = await verify(interleave(text(a).slice(5), text(b).slice(5)), [KEY_A]);
  assert.equal(r.code, 1, r.out);
  assert.match(
    r.out,
    new RegExp(
      `^UNDECLARED RESTART session=${session(a)} \\(first seq received 26\\) after session=${session(b)} \\(last seq received 36\\): no start event declares the boundary; ` +
        `sessions ${session(b)} \\(records sealed ${iso(at(2), 6)} to ${iso(at(2), 30)}\\) and ${session(a)} \\(${iso(at(2), 6)} to ${iso(at(2), 30)}\\) ${TWO_SENDERS}$`,
      'm',
    ),
  );
  assert.match(r.out, /^FAILED: 1 undeclared restart; /m);
});

test('a second host given the same agent.id today (a fresh start) while the first runs: explained, and not excused by accepting fresh starts', async () => {
  const a = host(KEY_A, 'ecs', 20);
  // Started 10 s into a's run, which goes on for 20 s more.
  const b = timedRun(KEY_A, 30, { agent: 'web-01', format: 'ecs', at: new Date(at(2).getTime() + 10_000) });
  const lines = interleave(text(a).slice(5), text(b));
  for (const opts of [{}, { acceptFreshStarts: 'all' as const }]) {
    const r = await verify(lines, [KEY_A], opts);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`^UNDECLARED RESTART session=${session(a)} .*; sessions ${session(b)} \\(records sealed .*\\) and ${session(a)} \\(.*\\) ${TWO_SENDERS}$`, 'm'));
  }
  // Both hosts new today: two first starts, the later one the FRESH START, with why.
  const c = timedRun(KEY_A, 30, { agent: 'web-01', format: 'ecs', at: new Date(at(2).getTime() + 12_000) });
  const both = await verify(interleave(text(b), text(c)), [KEY_A]);
  assert.equal(both.code, 1, both.out);
  assert.match(both.out, new RegExp(`^FRESH START session=${session(c)} seq=0 \\(line 2\\): .*; sessions ${session(b)} \\(records sealed .*\\) and ${session(c)} \\(.*\\) ${TWO_SENDERS}$`, 'm'));
});

test('each host with its own key: with both keys the same explanation; with one, one line names the key the file lacks', async () => {
  const a = host(KEY_A, 'ecs', 20);
  const b = host(KEY_B, 'ecs', 5);
  const lines = interleave(text(a).slice(5), text(b).slice(5));
  const both = await verify(lines, [KEY_A, KEY_B]);
  assert.equal(both.code, 1, both.out);
  assert.match(both.out, new RegExp(`^UNDECLARED RESTART session=${session(a)} .*${TWO_SENDERS}$`, 'm'));
  const one = await verify(lines, [KEY_A]);
  assert.equal(one.code, 1, one.out);
  assert.match(one.out, new RegExp(`^UNKNOWN KEY id "${keyIdOf(KEY_B)}": 26 records \\(1 session, lines 2\\.\\.52\\) name a key that is not in the key file`, 'm'));
});

test('no false "two senders": a restart whose start event was deleted, and CEF (no sealed read time), claim nothing', async () => {
  const r1 = timedRun(KEY_A, 10, { agent: 'web-01', format: 'ecs', at: at(2) });
  const r2 = timedRun(KEY_A, 10, { agent: 'web-01', format: 'ecs', at: at(2, 1) }, after(r1));
  const deleted = await verify([...text(r1), ...text(r2).slice(1)], [KEY_A]);
  assert.equal(deleted.code, 1, deleted.out);
  assert.match(deleted.out, /^UNDECLARED RESTART .*: no start event declares the boundary$/m);
  const a = host(KEY_A, 'cef', 20);
  const b = host(KEY_A, 'cef', 5);
  const cef = await verify(interleave(text(a).slice(5), text(b).slice(5)), [KEY_A]);
  assert.equal(cef.code, 1, cef.out);
  assert.match(cef.out, /^UNDECLARED RESTART .*: no start event declares the boundary$/m);
});

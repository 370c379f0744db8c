/**
 * verifyStream with several agents' labels (the SD's agent param): sealed by
 * real Sealers, labelled as the agent labels them. The end-to-end cases (two
 * real agents, one receiver's file) are in test/commands/verify-agents.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Sealer } from '../../src/seal/session.js';
import { verifyStream, type SealedEntry } from '../../src/seal/verify.js';
import { TEST_KEY, assembleByHand, parseSealed, parts, startMsg } from '../queue/helpers.js';

interface RunState {
  lastSeq: bigint;
  lastChain: string;
  nextSeq: bigint;
  previousSession?: string;
}

const FRESH: RunState = { lastSeq: -1n, lastChain: '0'.repeat(64), nextSeq: 0n };
const KEYS = new Map([[new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: FRESH }).keyId, TEST_KEY]]);

/** One run of an agent: its start event and `n` records, labelled `agent`; returns them and the state the next run starts from. */
function run(agent: string, from: RunState, n: number): { entries: SealedEntry[]; next: RunState } {
  const s = new Sealer({ key: TEST_KEY, assemble: assembleByHand, state: from });
  s.reservationPersisted(from.nextSeq + BigInt(n) + 1n);
  const msgs = [s.seal(parts(startMsg(s.startDeclaration()))).message];
  for (let i = 0; i < n; i++) msgs.push(s.seal(parts(`${agent} record ${i}`)).message);
  const entries = msgs.map((m) => ({ ...parseSealed(Buffer.from(m)), agent }));
  return { entries, next: { lastSeq: s.nextSeq() - 1n, lastChain: s.lastChain(), nextSeq: s.nextSeq(), previousSession: s.sessionId() } };
}

test('an agent renamed between two runs: the new label\'s first run is checked against the run it declares', () => {
  const a1 = run('web-01', FRESH, 3);
  const a2 = run('web-01', a1.next, 3);
  const a3 = run('web-01.example.net', a2.next, 3);
  const ok = verifyStream([...a1.entries, ...a2.entries, ...a3.entries], KEYS);
  assert.equal(ok.ok, true, JSON.stringify(ok.findings, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
  assert.equal(ok.agents, 2);
  assert.equal(ok.findings.filter((f) => f.kind === 'restart' && f.previousSession !== undefined).length, 2);

  // The renamed run's predecessor lost its tail: found across the rename.
  const cut = verifyStream([...a1.entries, ...a2.entries.slice(0, -1), ...a3.entries], KEYS);
  assert.equal(cut.ok, false);
  assert.deepEqual(
    cut.findings.filter((f) => f.kind === 'gap').map((f) => [f.session, f.missing]),
    [[a2.entries[0]!.session, 1n]],
  );
});

test('two agents\' first runs both start at seq 0 and both anchor on their own start events', () => {
  const a = run('a', FRESH, 4);
  const b = run('b', FRESH, 2);
  const mixed: SealedEntry[] = [];
  for (let i = 0; i < 5; i++) {
    if (a.entries[i]) mixed.push(a.entries[i]!);
    if (b.entries[i]) mixed.push(b.entries[i]!);
  }
  const r = verifyStream(mixed, KEYS);
  assert.equal(r.ok, true);
  assert.equal(r.agents, 2);
  assert.equal(r.sessions, 2);
  assert.equal(r.findings.filter((f) => f.kind === 'restart').length, 2);
});

test('without labels (records of an older agent), one stream as before: a session with no start event after another is an undeclared restart', () => {
  const a1 = run('', FRESH, 3);
  const a2 = run('', a1.next, 3);
  const unlabelled = (es: SealedEntry[]): SealedEntry[] =>
    es.map((e) => {
      const { agent: _drop, ...rest } = e;
      return rest;
    });
  const r = verifyStream([...unlabelled(a1.entries), ...unlabelled(a2.entries.slice(1))], KEYS);
  assert.equal(r.ok, false);
  assert.ok(r.findings.some((f) => f.kind === 'undeclared_restart'));
});

/**
 * Files stuffed with sessions. Whoever can send to the SIEM, or edit what it
 * stored, can write as many sessions as they like without the key: one start
 * event copied under new session ids is a session each (its MAC does not
 * hold: ALTERED), and so is each label a record is copied under (an agent
 * each). verify must still give its verdict, in time proportional to the file:
 * ordering sessions across fresh starts, holding rename declarations against
 * the other agents' sessions, and checking each agent against the others
 * scanned all sessions (or agents) for each one, which took minutes here
 * (20,000 one-record fresh starts: about 12 s of CPU; 20,000 labels: 73 s).
 * The verdicts are unchanged: these files fail, and say why.
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { verifyKeyAWith } from './verify-lines.js';
import { after, KEY_A, pipelineRun, tempDir, timedRun } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-many-');
afterAll(root.cleanup);

const N = 20_000;
const hex = (prefix: string, i: number): string => (prefix + i.toString(16)).padStart(32, '0');
const lines = (out: string, prefix: string): string[] => out.split('\n').filter((l) => l.startsWith(prefix));

test(`${N} one-record sessions, each a first start of its own (the stream started over ${N - 1} times): ${N - 1} FRESH STARTs, in the order of their sealed times; accepted, intact`, async () => {
  const t0 = Date.UTC(2026, 10, 21);
  const runs = Array.from({ length: N }, (_, i) => timedRun(KEY_A, 0, { agent: 'web-01', format: 'ecs', at: new Date(t0 + i * 60_000) }));
  // Stored newest first: the order is the sealed times', not the file's.
  const stored = runs.map((r) => (r.records[0] as Buffer).toString()).reverse();
  const r = await verifyKeyAWith(root.dir, stored);
  assert.equal(r.code, 1, r.out.slice(-2000));
  const fresh = lines(r.out, 'FRESH START ');
  assert.equal(fresh.length, N - 1);
  assert.match(fresh[0] as string, new RegExp(`^FRESH START session=${runs[1]?.sealer.session} seq=0 \\(line ${N - 1}\\): .* holds session ${runs[0]?.sealer.session} before it `));
  assert.match(fresh[N - 2] as string, new RegExp(`^FRESH START session=${runs[N - 1]?.sealer.session} seq=0 \\(line 1\\): .* holds session ${runs[N - 2]?.sealer.session} before it `));
  assert.match(r.out, new RegExp(`^FAILED: ${N - 1} fresh starts \\(the stream started over\\); ${N} records in ${N} sessions, 0 declared restarts, 0 replays$`, 'm'));
  const accepted = await verifyKeyAWith(root.dir, stored, { acceptFreshStarts: 'all' });
  assert.equal(accepted.code, 0, accepted.out.slice(-2000));
  assert.match(accepted.out, new RegExp(`^intact: ${N} records in ${N} sessions, 0 declared restarts, ${N - 1} accepted fresh starts, 0 replays$`, 'm'));
});

test(`${N} fake one-record fresh starts (one start event copied under ${N} session ids and seqs, without the key): each ALTERED, and the stream started over`, async () => {
  const one = timedRun(KEY_A, 0, { agent: 'web-01', format: 'ecs', at: new Date(Date.UTC(2026, 10, 21)) });
  const start = (one.records[0] as Buffer).toString();
  const id = one.sealer.session;
  const stored = Array.from({ length: N }, (_, i) =>
    start
      .split(id)
      .join(hex('a', i))
      .replace('seq="0"', `seq="${i}"`)
      .split('first_seq 0;')
      .join(`first_seq ${i};`),
  );
  const r = await verifyKeyAWith(root.dir, stored);
  assert.equal(r.code, 1);
  assert.equal(lines(r.out, 'ALTERED ').length, N);
  assert.match(r.out, new RegExp(`^FAILED: ${N} altered, ${N - 1} fresh starts \\(the stream started over\\); ${N} records in ${N} sessions, 0 declared restarts, 0 replays$`, 'm'));
});

test(`${N} fake starts declaring a rename from an agent with ${N} sessions (verify --agent): each held against the old name's, and the file fails`, async () => {
  const old = pipelineRun(KEY_A, 2, { agent: 'old', format: 'ecs', at: new Date(Date.UTC(2026, 10, 21)) });
  const renamed = pipelineRun(KEY_A, 1, { agent: 'new', format: 'ecs', at: new Date(Date.UTC(2026, 10, 22)), renamedFrom: 'old' }, after(old));
  const record = (old.records[1] as Buffer).toString();
  const start = (renamed.records[0] as Buffer).toString();
  const stored: string[] = [];
  for (let i = 0; i < N; i++) stored.push(record.split(old.sealer.session).join(hex('a', i)).replace('seq="1"', `seq="${1000 + 2 * i}"`));
  for (let i = 0; i < N; i++) {
    // Each names a previous session nobody received: held against the old name's session right before it by seq.
    const fake = start.split(old.sealer.session).join(hex('c', i)).split(renamed.sealer.session).join(hex('b', i));
    stored.push(fake.replace('seq="3"', `seq="${1001 + 2 * i}"`).split('first_seq 3;').join(`first_seq ${1001 + 2 * i};`));
  }
  const r = await verifyKeyAWith(root.dir, stored, { agent: 'new' });
  assert.equal(r.code, 1);
  assert.equal(lines(r.out, 'RENAMED declared: ').length, N);
  assert.match(r.out, new RegExp(`^FAILED: ${N} altered, ${N - 1} undeclared restarts, ${N} undeclared record ranges; ${N} records in ${N} sessions, ${N} declared restarts, 0 replays, ${N} records of other agents skipped$`, 'm'));
});

test(`one run's records under ${N} agent labels (each agent checked against the others' sessions): SPLIT, and the file fails`, async () => {
  const run = pipelineRun(KEY_A, 1, { agent: 'web-01', format: 'ecs', at: new Date(Date.UTC(2026, 10, 21)) });
  const record = (run.records[1] as Buffer).toString();
  const stored = Array.from({ length: N }, (_, i) => record.replace('agent="web-01"', `agent="a${i}"`));
  const r = await verifyKeyAWith(root.dir, stored);
  assert.equal(r.code, 1);
  assert.match(r.out, new RegExp(`^SPLIT session=${run.sealer.session}: its records are labelled as agents "a0" \\(from line 1\\), "a1" \\(from line 2\\), `, 'm'));
  assert.equal(lines(r.out, 'AGENT ').length, N);
  assert.match(r.out, new RegExp(`^FAILED: 1 session split between agents; intact: a0, a1, a10, .*; ${N} agents, ${N} records in ${N} sessions, 0 declared restarts, 0 replays$`, 'm'));
});

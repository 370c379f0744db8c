import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { RecoveredSealState } from '../../src/queue/disk-queue.js';
import { Sealer } from '../../src/seal/session.js';
import { verifyStream, type Finding, type SealedEntry } from '../../src/seal/verify.js';
import { TEST_KEY, assembleByHand, parseSealed, parts, startMsg } from '../queue/helpers.js';

const FRESH: RecoveredSealState = { lastSeq: -1n, lastChain: '0'.repeat(64), nextSeq: 0n };

function sealerFrom(state: RecoveredSealState = FRESH): Sealer {
  return new Sealer({ key: TEST_KEY, assemble: assembleByHand, state, persistent: false });
}

/** A stream as a receiver would store it: the start event, then n events. */
function stream(n: number, s = sealerFrom()): { entries: SealedEntry[]; raw: Buffer[]; sealer: Sealer } {
  const raw = [s.seal(parts(startMsg(s.startDeclaration()))).message];
  for (let i = 0; i < n; i++) raw.push(s.seal(parts(`event ${i} user=alice src=10.0.0.${i}`)).message);
  return { entries: raw.map(parseSealed), raw, sealer: s };
}

const keys = () => new Map([[sealerFrom().keyId, TEST_KEY]]);
const kinds = (f: Finding[]) => f.map((x) => x.kind).filter((k) => k !== 'restart');

test('an intact stream verifies, the first start declaring nothing before it', () => {
  const { entries } = stream(20);
  const r = verifyStream(entries, keys());
  assert.equal(r.ok, true);
  assert.deepEqual(kinds(r.findings), []);
  assert.equal(r.records, 21);
});

test('deleting every record of one whole run between two others is a gap, though the run it names was never received', () => {
  const a = stream(4);
  const b = stream(3, sealerFrom({ previousSession: a.sealer.session, lastSeq: a.sealer.nextSeq() - 1n, lastChain: a.sealer.lastChain(), nextSeq: a.sealer.nextSeq() }));
  const c = stream(2, sealerFrom({ previousSession: b.sealer.session, lastSeq: b.sealer.nextSeq() - 1n, lastChain: b.sealer.lastChain(), nextSeq: b.sealer.nextSeq() }));
  assert.equal(verifyStream([...a.entries, ...b.entries, ...c.entries], keys()).ok, true);
  const r = verifyStream([...a.entries, ...c.entries], keys());
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.findings.filter((f) => f.kind === 'gap'),
    [{ kind: 'gap', session: b.sealer.session, from: a.sealer.nextSeq(), to: b.sealer.nextSeq() - 1n, missing: BigInt(b.entries.length) }],
  );
  // A stream that starts with the later run (an earlier file was rotated away) has nothing to compare.
  assert.equal(verifyStream(c.entries, keys()).ok, true);
  // A run that sealed nothing, named by an older agent as the previous session: the received run before is checked instead.
  const ghost = 'ab'.repeat(16);
  const d = stream(2, sealerFrom({ previousSession: ghost, lastSeq: a.sealer.nextSeq() - 1n, lastChain: a.sealer.lastChain(), nextSeq: a.sealer.nextSeq() + 100n }));
  assert.equal(verifyStream([...a.entries, ...d.entries], keys()).ok, true);
  assert.deepEqual(kinds(verifyStream([...a.entries.slice(0, -1), ...d.entries], keys()).findings), ['gap']);
});

test('sessions are put in seq order, not file order: storing a later run first does not hide its deleted start event or the runs before it', () => {
  const a = stream(10);
  const b = stream(10, sealerFrom({ previousSession: a.sealer.session, lastSeq: a.sealer.nextSeq() - 1n, lastChain: a.sealer.lastChain(), nextSeq: a.sealer.nextSeq() }));
  const c = stream(10, sealerFrom({ previousSession: b.sealer.session, lastSeq: b.sealer.nextSeq() - 1n, lastChain: b.sealer.lastChain(), nextSeq: b.sealer.nextSeq() }));
  // Honest files stored in another order (two receivers' files concatenated) still verify.
  assert.equal(verifyStream([...c.entries, ...a.entries, ...b.entries], keys()).ok, true);
  // A's tail, all of B, C's start event and four more deleted; what is left of C stored first.
  const r = verifyStream([...c.entries.slice(5), ...a.entries.slice(0, 6)], keys());
  assert.equal(r.ok, false, JSON.stringify(kinds(r.findings)));
  assert.ok(kinds(r.findings).includes('undeclared_restart'));
  // Only the earliest session may begin without a declaration (a stream that starts mid-run).
  assert.deepEqual(kinds(verifyStream([...b.entries.slice(3), ...c.entries], keys()).findings), ['unanchored']);
});

test('a changed byte is reported as altered at that record only', () => {
  const { raw } = stream(10);
  const bad = Buffer.from(raw[5] as Buffer);
  bad[bad.length - 3] = 0x41; // inside MSG
  raw[5] = bad;
  const r = verifyStream(raw.map(parseSealed), keys());
  assert.equal(r.ok, false);
  assert.deepEqual(r.findings.filter((f) => f.kind === 'altered').map((f) => (f.kind === 'altered' ? f.seq : -1n)), [5n]);
  assert.deepEqual(kinds(r.findings), ['altered']);
});

test('a deleted record is reported as a gap', () => {
  const { entries } = stream(10);
  entries.splice(4, 1);
  const r = verifyStream(entries, keys());
  assert.equal(r.ok, false);
  assert.deepEqual(kinds(r.findings), ['gap']);
  const g = r.findings.find((f) => f.kind === 'gap');
  assert.ok(g && g.kind === 'gap' && g.from === 4n && g.to === 4n && g.missing === 1n);
});

test('a swapped pair is reported as a reorder, not as a gap or an edit', () => {
  const { entries } = stream(10);
  const a = entries[3] as SealedEntry;
  entries[3] = entries[4] as SealedEntry;
  entries[4] = a;
  const r = verifyStream(entries, keys());
  assert.equal(r.ok, false);
  assert.deepEqual(kinds(r.findings), ['reorder']);
});

test('an identical replay is counted, not a failure; a replayed seq with other content is altered', () => {
  const { entries } = stream(10);
  const replayed = [...entries, ...entries.slice(6)];
  const r = verifyStream(replayed, keys());
  assert.equal(r.ok, true);
  assert.equal(r.replays, 5);
  const forged = { ...(entries[7] as SealedEntry), msg: 'event 7 user=root' };
  const r2 = verifyStream([...entries, forged], keys());
  assert.equal(r2.ok, false);
  assert.deepEqual(kinds(r2.findings), ['altered']);
});

test('a record under an unknown key is forged; renumbering a record breaks its chain', () => {
  const { entries } = stream(5);
  const other = new Sealer({ key: Buffer.alloc(32, 9), assemble: assembleByHand, state: FRESH, persistent: false });
  const f = parseSealed(other.seal(parts('event x')).message);
  const r = verifyStream([...entries, { ...f, session: (entries[0] as SealedEntry).session, seq: 6n }], keys());
  assert.deepEqual(kinds(r.findings), ['forged']);
  // Hide a deletion by renumbering: seq is under the MAC, so it shows.
  const renumbered = entries.slice(0, 3).concat(entries.slice(4).map((e) => ({ ...e, seq: e.seq - 1n })));
  const r2 = verifyStream(renumbered, keys());
  assert.equal(r2.ok, false);
  assert.ok(kinds(r2.findings).includes('altered'));
});

test('a declared restart links sessions; a lost tail before it is a gap; an undeclared restart is reported', () => {
  const first = stream(5);
  // The second run starts where the first persisted: last seq 5, its chain; a crash skipped to 70.
  const s2 = sealerFrom({ previousSession: first.sealer.session, lastSeq: 5n, lastChain: first.sealer.lastChain(), nextSeq: 70n });
  const second = stream(3, s2);
  const r = verifyStream([...first.entries, ...second.entries], keys());
  assert.equal(r.ok, true, JSON.stringify(kinds(r.findings)));
  assert.equal(r.restarts, 2);
  // The receiver lost the first run's last record: a gap at the boundary.
  const r2 = verifyStream([...first.entries.slice(0, 5), ...second.entries], keys());
  assert.deepEqual(kinds(r2.findings), ['gap']);
  // The start event of the second run was removed.
  const r3 = verifyStream([...first.entries, ...second.entries.slice(1)], keys());
  assert.equal(r3.ok, false);
  assert.ok(kinds(r3.findings).includes('undeclared_restart'));
});

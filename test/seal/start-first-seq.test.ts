/**
 * A start text counts only at its own session and seq: `first_seq` is the
 * start event's own seq (the Sealer hands it out first), and seq is under the
 * MAC. So a record whose text declares another first_seq is not a start event,
 * whatever else it says: a later record quoting its session's start (the
 * agent's own log read back) declares nothing, and a session whose first
 * record is such a text has no start, which is an undeclared restart after
 * another session (and its data "starts inside the session" at the head of a
 * file), never a declared restart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assembleSyslog } from '../../src/encode/rfc5424.js';
import { keyIdOf } from '../../src/seal/chain.js';
import { startText } from '../../src/seal/declaration.js';
import { parseSealedRecord } from '../../src/seal/received.js';
import { Sealer } from '../../src/seal/session.js';
import { verifyStream, type Finding, type SealedEntry } from '../../src/seal/verify.js';
import { VERSION } from '../../src/version.js';
import { after, agentRun, KEY_A, more, SD_ID, sealLine, type Run } from './sealed-stream.js';

const keys = new Map([[keyIdOf(KEY_A), KEY_A]]);

function entries(records: readonly Buffer[]): SealedEntry[] {
  return records.map((b) => {
    const p = parseSealedRecord(b, SD_ID);
    assert.ok(p.ok, p.ok ? '' : p.reason);
    return p.entry;
  });
}

const kinds = (f: readonly Finding[]): string[] => f.map((x) => x.kind).filter((k) => k !== 'restart');

test("a start text whose first_seq is not the record's own seq declares nothing: the session has no start", () => {
  const r1 = agentRun(KEY_A, 3);
  // A sender whose start text names the next seq, not its own (a record sealed before it, or a bug).
  const sealer = new Sealer({ key: KEY_A, state: after(r1), persistent: false, assemble: assembleSyslog });
  const d = sealer.startDeclaration();
  const r2: Run = { sealer, records: [] };
  sealLine(r2, startText({ ...d, firstSeq: d.firstSeq + 1n }, VERSION));
  more(r2, 2);
  const parsed = entries(r2.records);
  assert.equal(parsed[0]?.declares, undefined);
  const r = verifyStream(entries([...r1.records, ...r2.records]), keys);
  assert.equal(r.ok, false);
  assert.deepEqual(kinds(r.findings), ['unanchored', 'undeclared_restart']);
  // At the head of the data it is a record like any other, from inside a session.
  assert.deepEqual(kinds(verifyStream(parsed, keys).findings), ['unanchored']);
});

test("a later record quoting its session's start text (its own session, first_seq) is an ordinary record", () => {
  const run = agentRun(KEY_A, 2);
  sealLine(run, startText(run.sealer.startDeclaration(), VERSION));
  more(run, 2);
  const parsed = entries(run.records);
  assert.ok(parsed[0]?.declares, 'the start event itself declares');
  assert.equal(parsed[3]?.declares, undefined);
  assert.deepEqual(kinds(verifyStream(parsed, keys).findings), []);
  // The data beginning at the quoting record: inside the session, not an altered start.
  assert.deepEqual(kinds(verifyStream(parsed.slice(3), keys).findings), ['unanchored']);
});

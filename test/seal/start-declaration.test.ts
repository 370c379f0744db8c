/**
 * The start declaration: written by startText / startSpec (what src/pipeline.ts
 * sends), read back by received.ts. Without a rename the event is what the
 * pipeline has always sent, byte for byte; the CEF start event names its agent
 * (deviceExternalId) inside the MAC, and the rename is read from the decoded
 * message whatever characters the old agent id holds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { encodeEvent } from '../../src/encode/validate.js';
import { SEVERITY } from '../../src/event/classify.js';
import { InternalEvents, startSpec, type InternalEventSpec } from '../../src/event/internal.js';
import { Counters } from '../../src/monitor/counters.js';
import { readStartText, startText } from '../../src/seal/declaration.js';
import { parseSealedRecord } from '../../src/seal/received.js';
import type { StartDeclaration } from '../../src/seal/session.js';
import { VERSION } from '../../src/version.js';
import { after, FRESH, KEY_A, pipelineRun, SD_ID } from './sealed-stream.js';

const CHAIN = 'c'.repeat(64);
const FIRST: StartDeclaration = { session: 'a'.repeat(32), firstSeq: 0n, lastSeq: null, lastChain: '0'.repeat(64) };
const NEXT: StartDeclaration = { session: 'b'.repeat(32), firstSeq: 65536n, previousSession: 'a'.repeat(32), lastSeq: 41n, lastChain: CHAIN };
const NONE: StartDeclaration = { session: 'b'.repeat(32), firstSeq: 7n, previousSession: 'a'.repeat(32), lastSeq: null, lastChain: CHAIN };

/** The start event spec exactly as src/pipeline.ts built it inline before startSpec (copied, not imported). */
function inlineSpec(decl: StartDeclaration, recovery: { recordsKept: number; bytesCut: number }): InternalEventSpec {
  return {
    action: 'agent_started',
    kind: 'event',
    category: ['process'],
    type: ['start'],
    outcome: 'success',
    severity: SEVERITY.notice,
    message:
      `logward ${VERSION} started; session ${decl.session} first_seq ${decl.firstSeq}; ` +
      (decl.previousSession !== undefined
        ? `previous session ${decl.previousSession} last_seq ${decl.lastSeq ?? 'none'} last_chain ${decl.lastChain}`
        : 'no previous session'),
    fields: {
      'logward.seal.session': decl.session,
      'logward.seal.first_seq': String(decl.firstSeq),
      ...(decl.previousSession !== undefined ? { 'logward.seal.previous_session': decl.previousSession } : {}),
      ...(decl.lastSeq !== null ? { 'logward.seal.previous_last_seq': String(decl.lastSeq) } : {}),
      'logward.seal.previous_last_chain': decl.lastChain,
      'logward.queue.recovered_records': recovery.recordsKept,
      'logward.queue.recovery_bytes_cut': recovery.bytesCut,
    },
  };
}

const ctx = { counters: new Counters(), cef: { vendor: 'logward', product: 'logward', version: VERSION } };
const at = new Date(Date.UTC(2026, 2, 3, 4, 5, 6));

function encoded(spec: InternalEventSpec, format: 'ecs' | 'cef', agent = 'web-01'): string {
  const internal = new InternalEvents({ id: agent, version: VERSION, hostName: 'web-01.example', ecsVersion: '9.4.0', session: 's1' });
  const enc = encodeEvent(internal.make(spec, at), format, ctx);
  assert.ok(enc.valid, enc.payload);
  return enc.payload;
}

test('startSpec without a rename is the spec the pipeline built inline, key order included; startText its message', () => {
  for (const d of [FIRST, NEXT, NONE]) {
    const recovery = { recordsKept: 3, bytesCut: 17 };
    assert.equal(JSON.stringify(startSpec(d, VERSION, recovery)), JSON.stringify(inlineSpec(d, recovery)));
    assert.equal(startText(d, VERSION), inlineSpec(d, recovery).message);
  }
});

test('the start event is byte-identical in ECS and CEF, and its CEF form names the agent after dvchost as every event does', () => {
  for (const d of [FIRST, NEXT]) {
    const recovery = { recordsKept: 0, bytesCut: 0 };
    assert.equal(encoded(startSpec(d, VERSION, recovery), 'ecs'), encoded(inlineSpec(d, recovery), 'ecs'));
    const cef = encoded(startSpec(d, VERSION, recovery), 'cef');
    assert.match(cef, / dvchost=web-01\.example deviceExternalId=web-01 externalId=/);
    // The same event without its seal facts is an event like any other, with the same bytes.
    const plain = inlineSpec(d, recovery);
    const { ['logward.seal.first_seq']: _first, ...rest } = plain.fields ?? {};
    assert.equal(cef, encoded({ ...plain, fields: rest }, 'cef'));
  }
});

test('a CEF agent id with "=" and "\\" is escaped on the wire and read back exactly, as is the ECS one with a quote', () => {
  for (const [format, agent] of [
    ['cef', 'web=01\\a'],
    ['ecs', 'we"b\\01'],
  ] as const) {
    const run = pipelineRun(KEY_A, 1, { agent, format });
    const p = parseSealedRecord(run.records[0]!, SD_ID);
    assert.ok(p.ok);
    assert.equal(p.entry.sealedAgent, agent);
    assert.equal(p.entry.agent, agent, 'the SD label is the same id');
    // Only the start event carries it.
    const q = parseSealedRecord(run.records[1]!, SD_ID);
    assert.ok(q.ok);
    assert.equal(q.entry.sealedAgent, undefined);
  }
  assert.doesNotMatch(pipelineRun(KEY_A, 0, { agent: 'web=01', format: 'cef' }).records[0]!.toString(), /deviceExternalId=web=01/);
});

test('a rename is declared only with a previous session, after the chain, and read back from the decoded message', () => {
  assert.equal(startText(FIRST, VERSION, 'old'), startText(FIRST, VERSION), 'a new stream continues nothing');
  assert.equal(startSpec(FIRST, VERSION, { recordsKept: 0, bytesCut: 0 }, 'old').fields?.['logward.seal.renamed_from'], undefined);
  assert.equal(startText(NEXT, VERSION, 'old'), `${startText(NEXT, VERSION)}; renamed from agent old`);
  assert.deepEqual(readStartText(startText(NEXT, VERSION, 'old'), NEXT.session, NEXT.firstSeq), {
    previousSession: NEXT.previousSession,
    lastSeq: 41n,
    lastChain: CHAIN,
    renamedFrom: 'old',
  });
  const first = pipelineRun(KEY_A, 1, { agent: 'old', format: 'cef' });
  for (const format of ['cef', 'ecs'] as const) {
    for (const old of ['old', 'o"l=d\\x', 'a;b,c}']) {
      const run = pipelineRun(KEY_A, 0, { agent: 'new', format, renamedFrom: old }, after(first));
      const p = parseSealedRecord(run.records[0]!, SD_ID);
      assert.ok(p.ok);
      assert.equal(p.entry.declares?.renamedFrom, old, `${format} ${old}`);
      assert.equal(p.entry.declares?.previousSession, first.sealer.session);
    }
  }
  // Without a rename nothing is read, and the start of a fresh stream declares no previous session.
  const plain = parseSealedRecord(pipelineRun(KEY_A, 0, { agent: 'new', format: 'cef' }, after(first)).records[0]!, SD_ID);
  assert.ok(plain.ok && plain.entry.declares && !('renamedFrom' in plain.entry.declares));
  const fresh = parseSealedRecord(pipelineRun(KEY_A, 0, { agent: 'new', format: 'ecs', renamedFrom: 'old' }, FRESH).records[0]!, SD_ID);
  assert.ok(fresh.ok);
  assert.deepEqual(fresh.entry.declares, { lastSeq: null, lastChain: '0'.repeat(64) });
});

/**
 * The agent's clock as the verifier reads it from inside the MAC
 * (received.ts sealedTimeOf), and reading each MSG once:
 * - ECS: event.created, on every event (the agent sets it when it reads the
 *   line or makes the event; a parser cannot);
 * - CEF: rt of the agent's own events only (class id "logward:<action>": its
 *   start and stop events, heartbeats, alerts), which is when it made them. A
 *   CEF log event's rt is the time its line states: whoever writes the line
 *   chooses it, so it dates nothing;
 * - a MSG that the parse of its record decoded (a start event: its declaration
 *   and agent id) is not decoded again for its agent or its time.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';

import { parseSealedRecord, sealedAgentOf, sealedTimeOf } from '../../src/seal/received.js';
import type { SealedEntry } from '../../src/seal/verify.js';
import { sealAgentEvent, stopRun } from './agent-events.js';
import { KEY_A, pipelineRun, SD_ID, sealLogLine } from './sealed-stream.js';

const AGENT = 'web-01';
const started = new Date(Date.UTC(2026, 10, 21, 8));
const at = (minutes: number): Date => new Date(started.getTime() + minutes * 60_000);

function entry(record: Buffer): SealedEntry {
  const p = parseSealedRecord(record, SD_ID);
  assert.ok(p.ok, p.ok ? '' : p.reason);
  return p.entry;
}

test('ECS: every event carries the agent\'s clock (event.created): the start event, log events, its stop event', () => {
  const run = pipelineRun(KEY_A, 2, { agent: AGENT, format: 'ecs', at: started });
  stopRun(run, { agent: AGENT, format: 'ecs', at: at(30) });
  const times = run.records.map((r) => sealedTimeOf(entry(r).msg));
  // pipelineRun reads its log events one second apart after the start.
  assert.deepEqual(times, [started.getTime(), started.getTime() + 1000, started.getTime() + 2000, at(30).getTime()]);
});

test('CEF: the agent\'s own events carry its clock (rt); a log event carries the time its line states, which dates nothing', () => {
  const cef = { agent: AGENT, format: 'cef' as const };
  const run = pipelineRun(KEY_A, 1, { ...cef, at: started });
  sealAgentEvent(
    run,
    { action: 'agent_heartbeat', kind: 'event', category: ['host'], type: ['info'], message: 'logward heartbeat: read 1, shipped 1; up 600 s' },
    { ...cef, at: at(10) },
  );
  // A line stating an old time: its rt is that time, chosen by whoever wrote the line.
  sealLogLine(run, 'logward 0.1.0 stopping on SIGTERM', { ...cef, read: at(15) });
  stopRun(run, { ...cef, at: at(20) });
  const [start, logEvent, heartbeat, line, stop] = run.records.map((r) => entry(r));
  assert.match(String(logEvent?.msg), /\|rt=\d+ /, 'the log event has an rt: the time its line states');
  assert.deepEqual(
    [start, logEvent, heartbeat, line, stop].map((e) => sealedTimeOf((e as SealedEntry).msg)),
    [started.getTime(), undefined, at(10).getTime(), undefined, at(20).getTime()],
  );
});

test('a start event\'s payload, decoded when its record is parsed, is not decoded again for its agent id or its time', () => {
  const run = pipelineRun(KEY_A, 1, { agent: AGENT, format: 'ecs', at: started });
  const parse = mock.method(JSON, 'parse');
  try {
    const e = entry(run.records[0] as Buffer);
    assert.equal(e.sealedAgent, AGENT);
    assert.deepEqual(sealedAgentOf(e.msg), { agent: AGENT });
    assert.equal(sealedTimeOf(e.msg), started.getTime());
    assert.equal(parse.mock.callCount(), 1, 'one JSON.parse for the declaration, the agent id and the time');
    // An ordinary record is decoded when first asked, once.
    const o = entry(run.records[1] as Buffer);
    assert.equal(parse.mock.callCount(), 1, 'parsing a record that is no start event decodes nothing');
    assert.deepEqual(sealedAgentOf(o.msg), { agent: AGENT });
    assert.equal(sealedTimeOf(o.msg), started.getTime() + 1000);
    assert.equal(parse.mock.callCount(), 2);
  } finally {
    parse.mock.restore();
  }
});

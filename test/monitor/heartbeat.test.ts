import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EcsVersion } from '@elastic/ecs';

import { encodeEvent } from '../../src/encode/validate.js';
import { InternalEvents, type InternalEventSpec } from '../../src/event/internal.js';
import { Counters } from '../../src/monitor/counters.js';
import { Heartbeat } from '../../src/monitor/heartbeat.js';
import type { AgentSnapshot, InputSnapshot } from '../../src/monitor/snapshot.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const MIN = 60_000;

function snapshot(inputs: InputSnapshot[] = [], at = T0): AgentSnapshot {
  return {
    agentId: 'web-01',
    version: '1.2.3',
    startedAt: T0 - 90_000,
    now: at,
    counters: {
      lines_read: 1009,
      frames_written: 997,
      queue_dropped_records: 29,
      events_neutralized: 13,
      events_redacted: 17,
      events_invalid: 19,
      bytes_unread_released: 4099,
      events_truncated: 23,
    },
    inputs,
    queue: { bytes: 65536, records: 41, written: '1041', sent: '1030', acked: '1000', dropped: 29, blocked: false },
    sink: { connected: true, host: 'siem:6514', lastSendAt: at - 1000, reconnects: 0 },
    recentAlerts: [],
    heartbeatMs: MIN,
  };
}

function harness(opts: { intervalMs?: number; silenceAfterMs?: number } = {}) {
  const specs: InternalEventSpec[] = [];
  let current = snapshot();
  const hb = new Heartbeat(
    { intervalMs: opts.intervalMs ?? MIN, silenceAfterMs: opts.silenceAfterMs ?? 15 * MIN },
    { snapshot: () => current, onSpec: (s) => specs.push(s), now: () => T0 },
  );
  return {
    hb,
    specs,
    set(s: AgentSnapshot) {
      current = s;
    },
    actions: () => specs.map((s) => s.action),
  };
}

function shipsAsValidEvent(spec: InternalEventSpec): void {
  const events = new InternalEvents({ id: 'web-01', version: '1.2.3', hostName: 'web-01', ecsVersion: EcsVersion, session: 's1' });
  const counters = new Counters();
  for (const format of ['ecs', 'cef'] as const) {
    const enc = encodeEvent(events.make(spec, new Date(T0)), format, { counters, cef: { vendor: 'logward', product: 'logward', version: '1.2.3' } });
    assert.equal(enc.valid, true, `${spec.action} as ${format}: ${(enc.errors ?? []).join('; ')}`);
  }
}

test('a heartbeat carries the exact counters: read, shipped, queued, dropped, neutralized, redacted, invalid, rotated away unread', () => {
  const h = harness();
  h.hb.tick(T0 + MIN);
  assert.equal(h.specs.length, 1);
  const spec = h.specs[0]!;
  assert.equal(spec.action, 'agent_heartbeat');
  assert.equal(spec.kind, 'event');
  assert.deepEqual(spec.category, ['host']);
  assert.deepEqual(spec.type, ['info']);
  assert.equal(
    spec.message,
    'logward heartbeat: read 1009, shipped 997, queued 11, dropped 29, neutralized 13, redacted 17, invalid 19, rotated away unread 4099 bytes; up 90 s',
  );
  const f = spec.fields!;
  assert.equal(f['logward.heartbeat.read'], 1009);
  assert.equal(f['logward.heartbeat.shipped'], 997);
  assert.equal(f['logward.heartbeat.queued'], 11);
  assert.equal(f['logward.heartbeat.dropped'], 29);
  assert.equal(f['logward.heartbeat.neutralized'], 13);
  assert.equal(f['logward.heartbeat.redacted'], 17);
  assert.equal(f['logward.heartbeat.invalid'], 19);
  assert.equal(f['logward.heartbeat.rotated_away_unread'], 4099);
  assert.equal(f['logward.heartbeat.interval_s'], 60);
  assert.equal(f['logward.heartbeat.queue_bytes'], 65536);
  shipsAsValidEvent(spec);
});

test('counters that never moved are reported as 0, and a heartbeat before the queue opens still ships', () => {
  const h = harness();
  const s = snapshot();
  s.counters = {};
  delete s.queue;
  delete s.sink;
  h.set(s);
  h.hb.tick(T0 + MIN);
  const f = h.specs[0]!.fields!;
  for (const k of ['read', 'shipped', 'queued', 'dropped', 'neutralized', 'redacted', 'invalid', 'rotated_away_unread']) assert.equal(f[`logward.heartbeat.${k}`], 0, k);
  shipsAsValidEvent(h.specs[0]!);
});

test('one heartbeat per interval, none before the first interval, missed beats are not replayed', () => {
  const h = harness();
  h.hb.tick(T0 + MIN - 1);
  assert.equal(h.specs.length, 0);
  h.hb.tick(T0 + MIN);
  h.hb.tick(T0 + MIN + 30_000);
  assert.equal(h.specs.length, 1);
  h.hb.tick(T0 + 2 * MIN);
  assert.equal(h.specs.length, 2);
  // The event loop stalled for ten intervals: one beat, then the schedule restarts.
  h.hb.tick(T0 + 12 * MIN);
  assert.equal(h.specs.length, 3);
  h.hb.tick(T0 + 12 * MIN + 1);
  h.hb.tick(T0 + 13 * MIN - 1);
  assert.equal(h.specs.length, 3);
  h.hb.tick(T0 + 13 * MIN);
  assert.equal(h.specs.length, 4);
  assert.ok(h.specs.every((s) => s.action === 'agent_heartbeat'));
});

test('an input that was active and goes quiet raises one alert per silence period, and a recovery event when it reads again', () => {
  // Heartbeat far away so only silence specs appear.
  const h = harness({ intervalMs: 24 * 60 * MIN, silenceAfterMs: 15 * MIN });
  const lastLine = T0 - 5 * MIN;
  const nginx = (last: number | undefined): InputSnapshot => ({ id: 'nginx', type: 'file', linesRead: 10, ...(last !== undefined ? { lastActivityAt: last } : {}) });

  h.set(snapshot([nginx(lastLine)]));
  h.hb.tick(lastLine + 15 * MIN - 1);
  assert.deepEqual(h.actions(), []);
  h.hb.tick(lastLine + 15 * MIN);
  assert.deepEqual(h.actions(), ['input_silent']);
  const alert = h.specs[0]!;
  assert.equal(alert.kind, 'alert');
  assert.deepEqual(alert.category, ['host']);
  assert.equal(alert.fields!['logward.silence.input'], 'nginx');
  assert.equal(alert.fields!['logward.silence.quiet_s'], 900);
  assert.match(alert.message, /Input nginx \(file\) has read nothing for 900 s/);
  shipsAsValidEvent(alert);

  // Still silent: no repeat, however many ticks.
  for (let i = 1; i <= 20; i++) h.hb.tick(lastLine + 15 * MIN + i * MIN);
  assert.deepEqual(h.actions(), ['input_silent']);

  // A line arrives: one recovery event.
  const resumedAt = lastLine + 40 * MIN;
  h.set(snapshot([nginx(resumedAt)]));
  h.hb.tick(resumedAt + 1000);
  h.hb.tick(resumedAt + 2000);
  assert.deepEqual(h.actions(), ['input_silent', 'input_resumed']);
  const recovery = h.specs[1]!;
  assert.equal(recovery.kind, 'event');
  assert.equal(recovery.fields!['logward.silence.input'], 'nginx');
  assert.equal(recovery.fields!['logward.silence.quiet_s'], 2400);
  shipsAsValidEvent(recovery);

  // Quiet again: a new silence period, a new alert.
  h.hb.tick(resumedAt + 15 * MIN);
  assert.deepEqual(h.actions(), ['input_silent', 'input_resumed', 'input_silent']);
});

test('an input that never read anything is idle, not silent; each input is watched on its own', () => {
  const h = harness({ intervalMs: 24 * 60 * MIN, silenceAfterMs: 15 * MIN });
  h.set(
    snapshot([
      { id: 'never', type: 'file', linesRead: 0 },
      { id: 'busy', type: 'journald', linesRead: 5, lastActivityAt: T0 + 60 * MIN },
      { id: 'quiet', type: 'file', linesRead: 5, lastActivityAt: T0 },
    ]),
  );
  h.hb.tick(T0 + 61 * MIN);
  assert.deepEqual(h.actions(), ['input_silent']);
  assert.equal(h.specs[0]!.fields!['logward.silence.input'], 'quiet');
});

test('an input removed (reload) while silent is forgotten; if it comes back and is quiet, it alerts again', () => {
  const h = harness({ intervalMs: 24 * 60 * MIN, silenceAfterMs: 15 * MIN });
  const quiet: InputSnapshot = { id: 'app', type: 'file', linesRead: 5, lastActivityAt: T0 };
  h.set(snapshot([quiet]));
  h.hb.tick(T0 + 20 * MIN);
  h.set(snapshot([]));
  h.hb.tick(T0 + 21 * MIN);
  h.set(snapshot([quiet]));
  h.hb.tick(T0 + 22 * MIN);
  assert.deepEqual(h.actions(), ['input_silent', 'input_silent']);
});

test('start() runs the heartbeat on a real timer; stop() ends it', async () => {
  const specs: InternalEventSpec[] = [];
  let got: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (got = resolve));
  const hb = new Heartbeat(
    { intervalMs: 20, silenceAfterMs: 15 * MIN },
    {
      snapshot: () => snapshot(),
      onSpec: (s) => {
        specs.push(s);
        got();
      },
    },
  );
  // The heartbeat's timer is unref'd (it never keeps the agent alive on its own); this one keeps the test alive.
  const keepAlive = setInterval(() => undefined, 1000);
  hb.start();
  await first;
  clearInterval(keepAlive);
  hb.stop();
  const n = specs.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(specs.length, n, 'no heartbeat after stop()');
  assert.equal(specs[0]!.action, 'agent_heartbeat');
});

test('a zero or negative interval is refused', () => {
  assert.throws(() => new Heartbeat({ intervalMs: 0, silenceAfterMs: 1 }, { snapshot: () => snapshot(), onSpec: () => undefined }), RangeError);
});

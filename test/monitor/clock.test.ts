/**
 * Clock drift monitor with an injected query function: the state machine
 * (alert once, recover once, one warning per outage), the median, kiss-o'-death
 * handling and a clean stop. The real SNTP path is in sntp.test.ts and the real
 * chronyd in test/interop/chrony.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClockMonitor, median } from '../../src/monitor/clock.js';
import { Counters } from '../../src/monitor/counters.js';
import { SntpError, type SntpResult, type sntpQuery } from '../../src/monitor/sntp.js';
import type { InternalEventSpec } from '../../src/event/internal.js';

type Answer = number | SntpError | Error;

const SERVERS = [
  { host: 'a.example', port: 123 },
  { host: 'b.example', port: 123 },
  { host: 'c.example', port: 1123 },
];

/** Scripted servers: each round, host → offset (ms) or an error to throw. */
function scripted(rounds: Record<string, Answer>[]): { query: typeof sntpQuery; calls: string[] } {
  const calls: string[] = [];
  const query: typeof sntpQuery = async (host, port) => {
    // A host's n-th query reads rounds[n]: skipped rounds do not advance its script.
    const n = calls.filter((c) => c === host).length;
    calls.push(host);
    const a = rounds[n]?.[host];
    await Promise.resolve();
    if (a === undefined) throw new SntpError('timeout', `${host}:${port}`, 'no script');
    if (a instanceof Error) throw a;
    const r: SntpResult = { server: `${host}:${port}`, offsetMs: a, delayMs: 1, stratum: 2, leap: 0, refId: '10.0.0.1', receivedAt: Date.now() };
    return r;
  };
  return { query, calls };
}

function harness(rounds: Record<string, Answer>[], opts: Partial<ConstructorParameters<typeof ClockMonitor>[0]> = {}) {
  const specs: InternalEventSpec[] = [];
  const counters = new Counters();
  const warnings: string[] = [];
  const { query, calls } = scripted(rounds);
  const mon = new ClockMonitor(
    { servers: SERVERS, intervalMs: 60_000, maxOffsetMs: 500, ...opts },
    {
      onSpec: (s) => specs.push(s),
      counters,
      query,
      log: { warn: (_o, m) => warnings.push(m), info: () => undefined },
    },
  );
  return { mon, specs, counters, calls, warnings };
}

const all = (a: Answer, b: Answer = a, c: Answer = a): Record<string, Answer> => ({ 'a.example': a, 'b.example': b, 'c.example': c });
const timeout = (h: string): SntpError => new SntpError('timeout', `${h}:123`, 'no valid reply within 3000 ms');
const actions = (specs: InternalEventSpec[]): string[] => specs.map((s) => s.action);

test('median of an odd count is the middle value, of an even count the mean of the middle two', () => {
  assert.equal(median([10, 900, 20]), 20);
  assert.equal(median([-5, 3]), -1);
  assert.equal(median([7]), 7);
});

test('the measured offset is the median of three servers, so one falseticker cannot raise an alert', async () => {
  const h = harness([all(10, 90_000, 20)]);
  await h.mon.checkNow();
  const st = h.mon.status();
  assert.equal(st.offsetMs, 20);
  assert.equal(st.drifting, false);
  assert.equal(st.synced, true);
  assert.deepEqual(h.specs, []);
  assert.deepEqual(
    st.servers.map((s) => [s.server, s.ok, s.offsetMs]),
    [
      ['a.example:123', true, 10],
      ['b.example:123', true, 90_000],
      ['c.example:1123', true, 20],
    ],
  );
  assert.equal(h.counters.get('clock_checks'), 1);
});

test('drift past the limit raises one alert, stays quiet while drifting, and recovers once', async () => {
  const h = harness([all(0), all(600, 700, 650), all(800), all(-900), all(100), all(50), all(-700)]);
  for (let i = 0; i < 7; i++) await h.mon.checkNow();
  assert.deepEqual(actions(h.specs), ['clock_drift_detected', 'clock_drift_recovered', 'clock_drift_detected']);
  const [alert, recovered, again] = h.specs as [InternalEventSpec, InternalEventSpec, InternalEventSpec];
  assert.equal(alert.kind, 'alert');
  assert.deepEqual(alert.category, ['host']);
  assert.deepEqual(alert.type, ['change']);
  assert.equal(alert.severity, 4); // warning: under 10 × the limit
  assert.equal(alert.fields?.['logward.clock.offset_ms'], 650);
  assert.equal(alert.fields?.['logward.clock.max_offset_ms'], 500);
  assert.deepEqual(alert.fields?.['logward.clock.servers'], ['a.example:123', 'b.example:123', 'c.example:1123']);
  assert.match(alert.message, /650 ms behind NTP time/);
  assert.match(alert.message, /limit 500 ms/);
  assert.match(alert.message, /b\.example:123 \+700 ms/);
  assert.equal(recovered.kind, 'event');
  assert.equal(recovered.action, 'clock_drift_recovered');
  assert.equal(recovered.fields?.['logward.clock.offset_ms'], 100);
  assert.match(again.message, /700 ms ahead of NTP time/);
  assert.equal(h.counters.get('clock_alerts'), 2);
  assert.equal(h.counters.get('clock_checks'), 7);
  assert.equal(h.mon.status().drifting, true);
  assert.equal(h.mon.status().synced, false);
});

test('an offset exactly at the limit is not drift', async () => {
  const h = harness([all(500), all(-500)]);
  await h.mon.checkNow();
  await h.mon.checkNow();
  assert.deepEqual(h.specs, []);
});

test('a drift that grows tenfold raises a new alert with error severity; smaller growth does not', async () => {
  const h = harness([all(600), all(5000), all(6000), all(59_000)]);
  for (let i = 0; i < 4; i++) await h.mon.checkNow();
  assert.deepEqual(actions(h.specs), ['clock_drift_detected', 'clock_drift_detected']);
  assert.equal(h.specs[1]!.fields?.['logward.clock.offset_ms'], 6000);
  assert.equal(h.specs[1]!.severity, 3);
  assert.equal(h.counters.get('clock_alerts'), 2);
});

test('unreachable servers raise one warning per outage and never an alert', async () => {
  const down = all(timeout('a.example'), timeout('b.example'), new SntpError('dns', 'c.example:1123', 'cannot resolve'));
  const h = harness([down, down, down, all(0), down, down]);
  for (let i = 0; i < 6; i++) await h.mon.checkNow();
  assert.deepEqual(actions(h.specs), ['clock_source_unreachable', 'clock_source_unreachable']);
  const w = h.specs[0]!;
  assert.equal(w.kind, 'event');
  assert.deepEqual(w.category, ['host']);
  assert.deepEqual(w.type, ['info']);
  assert.equal(w.outcome, 'failure');
  assert.equal(w.severity, 4);
  assert.match(w.message, /a\.example:123 .*timeout/);
  assert.match(w.message, /c\.example:1123 .*dns/);
  assert.equal(h.counters.get('clock_query_failures'), 15);
  assert.equal(h.counters.get('clock_checks'), 6);
  const st = h.mon.status();
  assert.equal(st.synced, false);
  assert.ok(st.servers.every((s) => !s.ok && s.error !== undefined));
});

test('an outage does not end a drift: the recovery needs a measurement', async () => {
  const down = all(timeout('a.example'));
  const h = harness([all(2000), down, all(0)]);
  for (let i = 0; i < 3; i++) await h.mon.checkNow();
  assert.deepEqual(actions(h.specs), ['clock_drift_detected', 'clock_source_unreachable', 'clock_drift_recovered']);
});

test('one failing server of three: the median of the other two, no warning', async () => {
  const h = harness([all(100, timeout('b.example'), 300)]);
  await h.mon.checkNow();
  assert.equal(h.mon.status().offsetMs, 200);
  assert.deepEqual(h.specs, []);
  assert.equal(h.counters.get('clock_query_failures'), 1);
  assert.equal(h.mon.status().servers[1]!.ok, false);
});

test('a query function that throws something unexpected is counted, not a crash', async () => {
  const h = harness([all(new Error('boom'), new TypeError('bad'), 10)]);
  await h.mon.checkNow();
  assert.equal(h.mon.status().offsetMs, 10);
  assert.equal(h.counters.get('clock_query_failures'), 2);
});

test('an onSpec that throws does not break the monitor', async () => {
  const counters = new Counters();
  const { query } = scripted([all(5000), all(0)]);
  const warnings: string[] = [];
  const mon = new ClockMonitor(
    { servers: SERVERS, intervalMs: 60_000, maxOffsetMs: 500 },
    { onSpec: () => { throw new Error('pipeline closed'); }, counters, query, log: { warn: (_o, m) => warnings.push(m), info: () => undefined } },
  );
  await mon.checkNow();
  await mon.checkNow();
  assert.equal(mon.status().drifting, false);
  assert.ok(warnings.includes('clock event could not be raised'));
});

test('kiss-o\'-death RATE backs the server off, DENY stops querying it', async () => {
  const rate = new SntpError('kiss_of_death', 'a.example:123', "kiss-o'-death RATE", 'RATE');
  const deny = new SntpError('kiss_of_death', 'b.example:123', "kiss-o'-death DENY", 'DENY');
  // Per-host scripts are indexed by how often that host was asked.
  const h = harness([all(rate, deny, 0), all(rate, 0, 0), all(0, 0, 0), all(0, 0, 0), all(0, 0, 0)]);
  for (let i = 0; i < 6; i++) await h.mon.checkNow();
  const count = (host: string): number => h.calls.filter((c) => c === host).length;
  assert.equal(count('c.example'), 6);
  assert.equal(count('b.example'), 1); // denied after the first answer
  // a: round 1 asked (RATE) → round 2 skipped → round 3 asked (RATE) → rounds 4, 5 skipped → round 6 asked (answers)
  assert.equal(count('a.example'), 3);
  assert.equal(h.mon.status().servers[0]!.ok, true);
  assert.match(h.mon.status().servers[1]!.error ?? '', /DENY/);
});

test('with no servers the monitor does nothing and says so', async () => {
  const specs: InternalEventSpec[] = [];
  let called = 0;
  const mon = new ClockMonitor(
    { servers: [], intervalMs: 10, maxOffsetMs: 500 },
    {
      onSpec: (s) => specs.push(s),
      counters: new Counters(),
      query: async () => {
        called++;
        throw new Error('must not be called');
      },
    },
  );
  mon.start();
  await mon.checkNow();
  await new Promise((r) => setTimeout(r, 50));
  await mon.stop();
  assert.equal(called, 0);
  assert.deepEqual(specs, []);
  assert.deepEqual(mon.status(), { enabled: false, servers: [], drifting: false, synced: false });
});

test('start() checks at once and then every interval; stop() aborts the query in flight and ends the loop', async () => {
  const counters = new Counters();
  const specs: InternalEventSpec[] = [];
  let calls = 0;
  let inFlight: AbortSignal | undefined;
  let releaseFirst: (() => void) | undefined;
  const firstCalled = new Promise<void>((r) => (releaseFirst = r));
  const query: typeof sntpQuery = (host, port, opts) => {
    calls++;
    releaseFirst?.();
    if (calls <= 6) {
      // Quick rounds: 2 servers × 3 rounds, all drifting by 5 s (one alert).
      return Promise.resolve({ server: `${host}:${port}`, offsetMs: 5000, delayMs: 1, stratum: 2, leap: 0, refId: 'x', receivedAt: 0 });
    }
    // Then a query that only ends when aborted.
    inFlight = opts?.signal;
    return new Promise((_resolve, reject) => {
      opts?.signal?.addEventListener('abort', () => reject(new SntpError('aborted', `${host}:${port}`, 'query aborted')));
    });
  };
  const mon = new ClockMonitor(
    { servers: SERVERS.slice(0, 2), intervalMs: 5, maxOffsetMs: 500 },
    { onSpec: (s) => specs.push(s), counters, query },
  );
  mon.start();
  await firstCalled;
  const end = Date.now() + 20_000;
  while (inFlight === undefined) {
    if (Date.now() > end) assert.fail('the loop never reached the hanging query');
    await new Promise((r) => setTimeout(r, 5));
  }
  await mon.stop();
  assert.equal(inFlight.aborted, true);
  const after = calls;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(calls, after, 'no query after stop()');
  assert.deepEqual(actions(specs), ['clock_drift_detected']); // the aborted round raised nothing
  assert.equal(counters.get('clock_checks'), 4);
  await mon.checkNow(); // after stop: a no-op, not a query
  assert.equal(calls, after);
});

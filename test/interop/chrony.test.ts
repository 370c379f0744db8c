/**
 * The SNTP client and the drift monitor against a REAL NTP server: chronyd
 * started by the test (see chrony-fixture.ts), once serving our own clock and
 * once under libfaketime serving a clock 5 s ahead.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChronyServer, chronydMissing, faketimeMissing, freeUdpPort } from './chrony-fixture.js';
import { ClockMonitor } from '../../src/monitor/clock.js';
import { Counters } from '../../src/monitor/counters.js';
import { sntpQuery } from '../../src/monitor/sntp.js';
import type { InternalEventSpec } from '../../src/event/internal.js';

const noChrony = chronydMissing();
const noFaketime = noChrony || faketimeMissing();

describe('chronyd on loopback', { skip: noChrony }, () => {
  let dir = '';
  const servers: ChronyServer[] = [];

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'logward-chrony-'));
  });
  after(async () => {
    // Always: a leftover chronyd would outlive the test run.
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function chrony(name: string, fakeShift?: string): Promise<ChronyServer> {
    const d = path.join(dir, name);
    mkdirSync(d);
    const s = new ChronyServer({ dir: d, port: await freeUdpPort(), ...(fakeShift !== undefined ? { fakeShift } : {}) });
    servers.push(s);
    await s.start();
    return s;
  }

  test('a chronyd serving the same clock measures an offset within 50 ms of 0', async () => {
    const s = await chrony('same');
    const r = await sntpQuery('127.0.0.1', s.opts.port, { timeoutMs: 3000 });
    assert.ok(Math.abs(r.offsetMs) <= 50, `offset ${r.offsetMs} ms\n${s.log()}`);
    assert.ok(r.delayMs >= -1 && r.delayMs < 1000, `delay ${r.delayMs} ms`);
    assert.equal(r.stratum, 8);
    assert.notEqual(r.leap, 3);
    assert.equal(r.refId, '127.127.1.1'); // chrony's local reference

    const specs: InternalEventSpec[] = [];
    const counters = new Counters();
    const mon = new ClockMonitor(
      { servers: [{ host: '127.0.0.1', port: s.opts.port }], intervalMs: 60_000, maxOffsetMs: 500, timeoutMs: 3000 },
      { onSpec: (x) => specs.push(x), counters },
    );
    await mon.checkNow();
    await mon.stop();
    assert.deepEqual(specs, []);
    const st = mon.status();
    assert.equal(st.synced, true, JSON.stringify(st));
    assert.ok(Math.abs(st.offsetMs ?? Infinity) <= 50);
    assert.equal(counters.get('clock_query_failures'), 0);
  });

  test('a chronyd under libfaketime +5 s raises exactly one drift alert of about +5000 ms', { skip: noFaketime }, async () => {
    const s = await chrony('shifted', '+5s');
    const specs: InternalEventSpec[] = [];
    const counters = new Counters();
    const mon = new ClockMonitor(
      { servers: [{ host: '127.0.0.1', port: s.opts.port }], intervalMs: 60_000, maxOffsetMs: 500, timeoutMs: 3000 },
      { onSpec: (x) => specs.push(x), counters },
    );
    await mon.checkNow();
    await mon.checkNow(); // still drifting: no second alert
    await mon.stop();
    assert.equal(specs.length, 1, JSON.stringify(specs) + '\n' + s.log());
    const a = specs[0]!;
    assert.equal(a.action, 'clock_drift_detected');
    assert.equal(a.kind, 'alert');
    const offset = a.fields?.['logward.clock.offset_ms'];
    assert.equal(typeof offset, 'number');
    assert.ok(Math.abs((offset as number) - 5000) <= 500, `offset ${String(offset)} ms`);
    assert.deepEqual(a.fields?.['logward.clock.servers'], [`127.0.0.1:${s.opts.port}`]);
    assert.match(a.message, /behind NTP time/); // the server is ahead: our clock is behind
    assert.equal(counters.get('clock_alerts'), 1);
    assert.equal(mon.status().drifting, true);
  });
});

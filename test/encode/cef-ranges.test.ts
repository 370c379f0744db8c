/**
 * CEF typed keys hold only what their type can: the schema's Integer is 32
 * bits, and buildCef leaves out an rt or dvcpid it could not write rather
 * than have the whole event rejected.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { buildCef, type CefEvent } from '../../src/encode/cef.js';
import { createValidators } from '../../src/encode/validate.js';
import type { EcsFields, LogEvent } from '../../src/event/types.js';

const v = createValidators();
const OPTS = { vendor: 'logward', product: 'logward', version: '0.1.0' };

function cef(extension: Record<string, string>): CefEvent {
  return { version: 0, vendor: 'v', product: 'p', deviceVersion: '1', classId: 'c', name: 'n', severity: 3, extension };
}

function logEvent(fields: EcsFields): LogEvent {
  return { fields: { '@timestamp': '2024-05-20T10:13:20.123Z', 'host.name': 'h', ...fields }, source: { input: 'x', identity: 'x' }, severity: 6, classId: 'c', name: 'n' };
}

test('the CEF schema Integer (dvcpid, spid, cnt, in, out, …) is bounded to -2147483648..2147483647, not ten digits', () => {
  const ok = (s: string): boolean => v.validateCef(cef({ dvcpid: s })).ok;
  for (const s of ['0', '1', '2147483647', '-2147483648', '1999999999', '2147483639', '2147483600', '-1']) assert.equal(ok(s), true, s);
  for (const s of ['2147483648', '2147483650', '2147483700', '2147484000', '2147490000', '2147500000', '2148000000', '2150000000', '2200000000', '3000000000', '9999999999', '-2147483649', '01', '1.5', '']) {
    assert.equal(ok(s), false, s);
  }
  // Every value around each digit of the bound.
  for (let k = 0; k <= 9; k++) {
    for (const d of [-2, -1, 0, 1, 2]) {
      const n = 2147483647 + d * 10 ** k;
      assert.equal(ok(String(n)), n <= 2147483647, String(n));
      assert.equal(ok(String(-n)), -n >= -2147483648, String(-n));
    }
  }
  for (const key of ['spid', 'dpid', 'cnt', 'fsize', 'in', 'out']) assert.equal(v.validateCef(cef({ [key]: '4294967295' })).ok, false, key);
});

test('a pid CEF cannot hold leaves dvcpid out; the event stays valid', () => {
  for (const pid of [-5, 2147483648, 1.5]) {
    const x = buildCef(logEvent({ 'process.pid': pid }), OPTS);
    assert.equal(x.extension['dvcpid'], undefined, String(pid));
    assert.equal(v.validateCef(x).ok, true, String(pid));
  }
  assert.equal(buildCef(logEvent({ 'process.pid': 2147483647 }), OPTS).extension['dvcpid'], '2147483647');
  assert.equal(buildCef(logEvent({ 'process.pid': 812 }), OPTS).extension['dvcpid'], '812');
});

test('an @timestamp before 1970 or past 9999 leaves rt out; the event stays valid', () => {
  for (const ts of ['0001-01-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z', '+275760-09-13T00:00:00.000Z']) {
    const x = buildCef(logEvent({ '@timestamp': ts }), OPTS);
    assert.equal(x.extension['rt'], undefined, ts);
    assert.equal(v.validateCef(x).ok, true, ts);
  }
  assert.equal(buildCef(logEvent({ '@timestamp': '1970-01-01T00:00:00.000Z' }), OPTS).extension['rt'], '0');
  assert.equal(buildCef(logEvent({ '@timestamp': '9999-12-31T23:59:59.999Z' }), OPTS).extension['rt'], '253402300799999');
});

/**
 * agent.id -> deviceExternalId on every event, after dvchost: `logward verify`
 * places a start event, and checks each session's SD label, by it (the label is
 * outside the MAC).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { buildCef, encodeCef } from '../../src/encode/cef.js';
import { createValidators } from '../../src/encode/validate.js';
import type { LogEvent } from '../../src/event/types.js';

const opts = { vendor: 'logward', product: 'logward', version: '0.1.0' };

function event(extra: Record<string, string> = {}): LogEvent {
  return {
    fields: {
      '@timestamp': '2026-03-04T05:06:07.000Z',
      message: 'Failed password for root from 203.0.113.7 port 22 ssh2',
      'agent.id': 'web-01',
      'host.name': 'web-01.example',
      'event.id': 'e1',
      ...extra,
    },
    source: { input: 'app', identity: 'f' },
    severity: 6,
    classId: 'c',
    name: 'n',
  };
}

test('an ordinary event names its agent in deviceExternalId too, after dvchost', () => {
  assert.equal(
    encodeCef(event(), opts),
    'CEF:0|logward|logward|0.1.0|c|n|3|rt=1772600767000 dvchost=web-01.example deviceExternalId=web-01 externalId=e1 msg=Failed password for root from 203.0.113.7 port 22 ssh2',
  );
});

test('the start event names its agent after dvchost, and the schema takes it at its longest (255)', () => {
  const long = `a=${'x'.repeat(253)}`;
  const start = buildCef(event({ 'logward.seal.first_seq': '0', 'agent.id': long }), opts);
  assert.deepEqual(Object.keys(start.extension).slice(1, 3), ['dvchost', 'deviceExternalId']);
  assert.equal(start.extension['deviceExternalId'], long);
  assert.ok(createValidators().validateCef(start).ok);
  assert.match(encodeCef(event({ 'logward.seal.first_seq': '0', 'agent.id': long }), opts), new RegExp(` deviceExternalId=a\\\\=x{253} externalId=e1 `));
});

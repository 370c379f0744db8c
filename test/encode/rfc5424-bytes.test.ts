/** The shortcuts rfc5424.ts takes for the sealer's hot path give what the plain definitions give. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assembleSyslog, sealedHead, syslogTimestamp, type SyslogParts } from '../../src/encode/rfc5424.js';

/** syslogTimestamp as defined: Date.parse, toISOString, and "-" unless that is UTC with milliseconds. */
function timestampByDefinition(ts: string): string {
  const ms = Date.parse(ts);
  if (!Number.isFinite(ms)) return '-';
  const iso = new Date(ms).toISOString();
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(iso) ? iso : '-';
}

test('syslogTimestamp returns a canonical @timestamp as is, and everything else as Date.parse + toISOString would', () => {
  const samples = [
    '2026-11-22T10:01:02.000Z',
    '2024-02-29T23:59:59.999Z',
    '2023-02-29T00:00:00.000Z',
    '2100-02-29T00:00:00.000Z',
    '2000-02-29T00:00:00.000Z',
    '2026-04-31T00:00:00.000Z',
    '2026-12-31T24:00:00.000Z',
    '2026-11-22T10:60:00.000Z',
    '2026-11-22T10:00:60.000Z',
    '2026-00-10T00:00:00.000Z',
    '2026-13-10T00:00:00.000Z',
    '2026-01-00T00:00:00.000Z',
    '0000-01-01T00:00:00.000Z',
    '9999-12-31T23:59:59.999Z',
    '2026-11-22T10:01:02Z',
    '2026-11-22T10:01:02.000+01:00',
    '2026-11-22 10:01:02.000Z',
    '２026-11-22T10:01:02.000Z',
    '2026-11-2xT10:01:02.000Z',
    '2026-11-22T1 :01:02.000Z',
    '2026-11-22T10:01:02.00aZ',
    '+２02-11-22T10:01:02.000Z',
    '2026/11/22T10:01:02.000Z',
    'garbage',
    '',
  ];
  // Every day of a leap and a common year, and random instants across 0000..9999.
  for (const year of [2024, 2026]) {
    for (let m = 1; m <= 12; m++) for (let d = 1; d <= 32; d++) samples.push(`${year}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T12:34:56.789Z`);
  }
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 2000; i++) samples.push(new Date(-62167219200000 + rnd() * 315537897599999).toISOString());
  for (const s of samples) assert.equal(syslogTimestamp(s), timestampByDefinition(s), s);
});

const PARTS: SyslogParts = {
  header: '<134>1 2026-11-22T10:01:02.000Z host logward - ECS ',
  sdId: 'logward@32473',
  sdParams: ' agent="a" input="in"',
  otherSd: '[timeQuality tzKnown="1" isSynced="0"]',
  msg: '{"message":"x"}',
};

test('sealedHead around the chain and MSG is the assembled sealed message', () => {
  for (const parts of [PARTS, { ...PARTS, msg: '' }, { ...PARTS, otherSd: '' }]) {
    for (const seal of [
      { session: 'ab'.repeat(16), seq: 42n, keyId: 'k"1', chain: 'c'.repeat(64) },
      { session: 's]', seq: 0, chain: 'd'.repeat(64) },
    ]) {
      const h = sealedHead(parts, seal);
      assert.equal(h.before + seal.chain + h.after + parts.msg, assembleSyslog(parts, seal));
    }
  }
});

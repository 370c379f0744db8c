import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromEpoch, isValidTimeZone, localToUtc, parseTimestampText } from '../../src/parse/time.js';

const iso = (text: string, zone = 'UTC') => parseTimestampText(text, zone)?.date.toISOString();

describe('parseTimestampText', () => {
  test('RFC 3339 and common ISO 8601 spellings', () => {
    assert.equal(iso('2024-05-20T10:13:20Z'), '2024-05-20T10:13:20.000Z');
    assert.equal(iso('2024-05-20t10:13:20z'), '2024-05-20T10:13:20.000Z');
    assert.equal(iso('2024-05-20T10:13:20.5Z'), '2024-05-20T10:13:20.500Z');
    assert.equal(iso('2024-05-20T10:13:20.12Z'), '2024-05-20T10:13:20.120Z');
    assert.equal(iso('2024-05-20T10:13:20.123456789+02:00'), '2024-05-20T08:13:20.123Z');
    assert.equal(iso('2024-05-20T10:13:20,250-0130'), '2024-05-20T11:43:20.250Z');
    assert.equal(iso('2024-05-20 10:13:20Z'), '2024-05-20T10:13:20.000Z');
    assert.equal(iso('2024-05-20T10:13Z'), '2024-05-20T10:13:00.000Z');
    assert.equal(iso('1990-12-31T23:59:60Z'), '1990-12-31T23:59:59.000Z', 'leap second clamps');
  });

  test('zone-less text is read in the given zone and reports it', () => {
    const t = parseTimestampText('2024-07-01T12:00:00', 'Europe/Berlin');
    assert.equal(t?.date.toISOString(), '2024-07-01T10:00:00.000Z');
    assert.equal(t?.zone, 'Europe/Berlin');
    assert.equal(parseTimestampText('2024-07-01T12:00:00Z', 'Europe/Berlin')?.zone, undefined);
  });

  test('epoch seconds and milliseconds as text', () => {
    assert.equal(iso('1716200000'), '2024-05-20T10:13:20.000Z');
    assert.equal(iso('1716200000123'), '2024-05-20T10:13:20.123Z');
    assert.equal(iso('1716200000.25'), '2024-05-20T10:13:20.250Z');
  });

  test('rejects what is not a date-time', () => {
    for (const bad of [
      '', 'yesterday', '2024-05-20', '2024-05-20T1', '2024-05-20T10:13:', '2024-05-20T10:13:20.Z',
      '2024-02-30T00:00:00Z', '2024-05-20T24:00:00Z', '2024-05-20T10:60:00Z', '2024-05-20T10:13:20+25:00',
      '2024-05-20T10:13:20Zjunk', '2024-05-20T10:13:20+02:00:00', '2024/05/20T10:13:20Z', '12345', 'x'.repeat(100),
    ]) {
      assert.equal(parseTimestampText(bad, 'UTC'), undefined, bad);
    }
  });
});

describe('zones', () => {
  test('isValidTimeZone knows IANA names and refuses others', () => {
    assert.equal(isValidTimeZone('Europe/Berlin'), true);
    assert.equal(isValidTimeZone('America/New_York'), true);
    assert.equal(isValidTimeZone('Mars/Olympus_Mons'), false);
  });

  test('localToUtc handles half-hour transitions (Australia/Lord_Howe, +10:30/+11)', () => {
    // 2026-04-05 02:00 LHDT (+11) -> 01:30 LHST (+10:30): 01:45 happens twice.
    const amb = localToUtc('Australia/Lord_Howe', Date.UTC(2026, 3, 5, 1, 45));
    assert.equal(amb?.ambiguous, true);
    assert.equal(new Date(amb!.ms).toISOString(), '2026-04-04T14:45:00.000Z');
  });

  test('fromEpoch treats numbers below 1e11 as seconds and refuses nonsense', () => {
    assert.equal(fromEpoch(0)?.toISOString(), '1970-01-01T00:00:00.000Z');
    assert.equal(fromEpoch(1716200000)?.toISOString(), '2024-05-20T10:13:20.000Z');
    assert.equal(fromEpoch(-1), undefined);
    assert.equal(fromEpoch(Number.NaN), undefined);
    assert.equal(fromEpoch(1e20), undefined);
  });
});

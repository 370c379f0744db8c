/**
 * Syslog lines (RFC 3164, its RFC 3339 variant, RFC 5424) whose time is no
 * event time both encoders can write: before 1970 (CEF's rt is epoch
 * milliseconds, never negative), the year 0000, past 9999-12-31. The header
 * stays parsed (host, program, pid, PRI, structured data, message); the
 * stamp goes to json.timestamp as the line had it, the event is tagged
 * timestamp_invalid and its time is the read time, as the regex parser does.
 * These lines used to ship with an @timestamp CEF cannot carry (the whole
 * event replaced by a schema_invalid stand-in) or ECS refuses (year 10000).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodeCef } from '../../src/encode/cef.js';
import type { ParseContext, ParseResult } from '../../src/event/types.js';
import { parseAuth } from '../../src/parse/auth.js';
import type { ParserName } from '../../src/parse/index.js';
import { parseSyslog } from '../../src/parse/syslog.js';
import { testProcessor, at } from './processor-fixture.js';
import { parsedWellTyped } from './ecs-check.js';

const NOW = new Date('2026-11-22T12:00:00Z');
const ctx: ParseContext = { now: NOW, timeZone: 'UTC' };

function processor(parser: ParserName, format: 'ecs' | 'cef', now: Date = NOW, timeZone = 'UTC'): ReturnType<typeof testProcessor> {
  return testProcessor({ parser, format, timeZone, now: () => now });
}

const src = { input: 'sys', identity: 'fp:1', path: '/var/log/syslog', offset: 0, end: 10 };


function without(r: ParseResult, field: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r.fields)) if (k !== field) out[k] = v;
  return out;
}

const GOOD_5424 = '<38>1 2024-05-20T10:13:20.412Z web01 sshd 4242 ID47 [origin ip="192.0.2.1"] Failed password for root from 203.0.113.7 port 52344 ssh2';
const GOOD_5424_STAMP = '2024-05-20T10:13:20.412Z';
const GOOD_HP = '<38>2024-05-20T10:13:20.412345+02:00 web01 sshd[4242]: Failed password for root from 203.0.113.7 port 52344 ssh2';
const GOOD_HP_STAMP = '2024-05-20T10:13:20.412345+02:00';

/** Stamps no event time can be: [why, RFC 3339 text]. */
const BAD_3339: readonly [string, string][] = [
  ['one second before 1970', '1969-12-31T23:59:59Z'],
  ['1970 local, 1969 UTC', '1970-01-01T00:30:00+01:00'],
  ['the year 0000', '0000-01-01T00:00:00Z'],
  ['before the year 0', '0000-01-01T00:00:00+01:00'],
  ['past 9999-12-31', '9999-12-31T23:59:59-01:00'],
];

describe('RFC 5424 and the RFC 3339 variant: a time outside 1970..9999', () => {
  test('header, structured data and message stay; the stamp is json.timestamp; tag timestamp_invalid', () => {
    for (const [good, goodStamp] of [[GOOD_5424, GOOD_5424_STAMP], [GOOD_HP, GOOD_HP_STAMP]] as const) {
      for (const parse of [parseSyslog, parseAuth]) {
        const ref = parsedWellTyped(parse, good, ctx);
        assert.ok(ref.timestamp);
        for (const [why, stamp] of BAD_3339) {
          const label = `${ref.parser} ${why} in ${good.slice(0, 12)}`;
          const r = parsedWellTyped(parse, good.replace(goodStamp, stamp), ctx);
          assert.equal(r.timestamp, undefined, label);
          assert.equal(r.timezone, undefined, label);
          assert.equal(r.fields['json.timestamp'], stamp, label);
          assert.deepEqual(r.tags, ['timestamp_invalid'], label);
          assert.deepEqual(without(r, 'json.timestamp'), ref.fields, `${label}: host, program, pid, PRI… as in the good line`);
          assert.equal(r.message, ref.message, label);
          assert.equal(r.severity, ref.severity, label);
        }
      }
    }
  });

  test('the edges and a leap second at the very end are event times, as before', () => {
    const t = (stamp: string): ParseResult => parsedWellTyped(parseSyslog, GOOD_5424.replace(GOOD_5424_STAMP, stamp), ctx);
    assert.equal(t('1970-01-01T00:00:00Z').timestamp?.getTime(), 0);
    assert.equal(t('1970-01-01T01:00:00+01:00').timestamp?.getTime(), 0);
    assert.equal(t('9999-12-31T23:59:59.999Z').timestamp?.toISOString(), '9999-12-31T23:59:59.999Z');
    // :60 reads as :59 (as everywhere): still in range.
    const leap = t('9999-12-31T23:59:60Z');
    assert.equal(leap.timestamp?.toISOString(), '9999-12-31T23:59:59.000Z');
    assert.equal(leap.tags, undefined);
    assert.equal(leap.fields['json.timestamp'], undefined);
  });

  test('an unreadable stamp is timestamp_invalid as before, its text kept the same way', () => {
    const r = parsedWellTyped(parseSyslog, GOOD_5424.replace(GOOD_5424_STAMP, '2024-02-30T10:00:00Z'), ctx);
    assert.equal(r.timestamp, undefined);
    assert.deepEqual(r.tags, ['timestamp_invalid']);
    assert.equal(r.fields['json.timestamp'], '2024-02-30T10:00:00Z');
    assert.equal(r.fields['process.pid'], 4242);
    // NILVALUE is no stamp at all: nothing to keep, nothing to tag.
    const nil = parsedWellTyped(parseSyslog, GOOD_5424.replace(GOOD_5424_STAMP, '-'), ctx);
    assert.equal(nil.tags, undefined);
    assert.equal(nil.fields['json.timestamp'], undefined);
  });

  test('such lines ship valid in ECS and CEF with their parse; the time is the read time', () => {
    for (const [good, goodStamp] of [[GOOD_5424, GOOD_5424_STAMP], [GOOD_HP, GOOD_HP_STAMP]] as const) {
      for (const [why, stamp] of BAD_3339) {
        const line = good.replace(goodStamp, stamp);
        const label = `${why} in ${good.slice(0, 12)}`;
        const ecs = processor('syslog', 'ecs');
        const out = ecs.p.process({ bytes: Buffer.from(line), source: src });
        assert.equal(out.valid, true, `${label}: ${out.payload.slice(0, 400)}`);
        const doc = JSON.parse(out.payload) as Record<string, unknown>;
        assert.equal(at(doc, '@timestamp'), NOW.toISOString(), label);
        assert.equal(at(doc, 'json.timestamp'), stamp, label);
        assert.equal(at(doc, 'host.hostname'), 'web01', label);
        assert.equal(at(doc, 'process.name'), 'sshd', label);
        assert.equal(at(doc, 'process.pid'), 4242, label);
        assert.equal(at(doc, 'event.original'), line, label);
        assert.deepEqual(at(doc, 'tags'), ['timestamp_invalid'], label);

        const cef = processor('auth', 'cef');
        const c = cef.p.process({ bytes: Buffer.from(line), source: src });
        assert.equal(c.valid, true, `${label}: ${c.payload}`);
        const cefEv = decodeCef(c.payload);
        assert.equal(cefEv.classId, 'auth:authn_login_fail', label);
        const x = cefEv.extension;
        assert.equal(x['rt'], String(NOW.getTime()), label);
        assert.equal(x['src'], '203.0.113.7', label);
        assert.equal(x['duser'], 'root', label);
        assert.equal(x['dvcpid'], '4242', label);
        assert.equal(x['cs2'], line, label);
        assert.equal(ecs.counters.get('events_invalid') + cef.counters.get('events_invalid'), 0, label);
      }
    }
  });
});

describe('RFC 3164: a year-less stamp that lands before 1970', () => {
  // An appliance whose clock reset to the epoch: its year is 1970, and just after
  // midnight local time east of UTC is still 1969 in UTC.
  const EPOCH_NOW = new Date('1970-01-01T00:10:00Z');
  const LINE = '<86>Jan  1 00:00:05 router sshd[812]: Accepted password for admin from 192.0.2.9 port 40022 ssh2';

  test('the header stays; the stamp is json.timestamp; tag timestamp_invalid', () => {
    const zoned: ParseContext = { now: EPOCH_NOW, timeZone: 'Europe/Berlin' };
    const ref = parsedWellTyped(parseAuth, LINE.replace('Jan  1 00:00:05', 'Jan  1 01:00:05'), zoned);
    assert.equal(ref.timestamp?.toISOString(), '1970-01-01T00:00:05.000Z');
    for (const parse of [parseSyslog, parseAuth]) {
      const r = parsedWellTyped(parse, LINE, zoned);
      assert.equal(r.timestamp, undefined, r.parser);
      assert.equal(r.timezone, undefined, r.parser);
      assert.equal(r.fields['json.timestamp'], 'Jan  1 00:00:05', r.parser);
      assert.deepEqual(r.tags, ['timestamp_invalid'], r.parser);
      assert.equal(r.fields['host.hostname'], 'router', r.parser);
      assert.equal(r.fields['process.pid'], 812, r.parser);
      assert.equal(r.fields['log.syslog.priority'], 86, r.parser);
    }
    const auth = parsedWellTyped(parseAuth, LINE, zoned);
    assert.deepEqual(without(auth, 'json.timestamp'), ref.fields);
  });

  test('an impossible date is timestamp_invalid as before, its text kept the same way', () => {
    const r = parsedWellTyped(parseSyslog, 'Feb 31 10:00:00 h x: y', ctx);
    assert.equal(r.timestamp, undefined);
    assert.deepEqual(r.tags, ['timestamp_invalid']);
    assert.equal(r.fields['json.timestamp'], 'Feb 31 10:00:00');
    assert.equal(r.fields['process.name'], 'x');
  });

  test('ships valid in CEF with its parse; rt is the read time', () => {
    const { p, counters } = processor('auth', 'cef', EPOCH_NOW, 'Europe/Berlin');
    const c = p.process({ bytes: Buffer.from(LINE), source: src });
    assert.equal(c.valid, true, c.payload);
    const x = decodeCef(c.payload).extension;
    assert.equal(x['rt'], String(EPOCH_NOW.getTime()));
    assert.equal(x['src'], '192.0.2.9');
    assert.equal(x['duser'], 'admin');
    assert.equal(counters.get('events_invalid'), 0);
  });
});

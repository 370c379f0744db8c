import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ParseContext } from '../../src/event/types.js';
import { parseSyslog, parseSyslogHeader } from '../../src/parse/syslog.js';
import { assertWellTyped } from './ecs-check.js';

const utc = (now: string, yearHint?: number): ParseContext => ({ now: new Date(now), timeZone: 'UTC', yearHint });
const zoned = (timeZone: string, now = '2026-11-22T12:00:00Z'): ParseContext => ({ now: new Date(now), timeZone });

function iso(line: string, ctx: ParseContext): string | undefined {
  return parseSyslog(line, ctx)?.timestamp?.toISOString();
}

describe('RFC 3164 file lines (rsyslog traditional format)', () => {
  test('splits header, program, pid and message of an auth.log line', () => {
    const r = parseSyslog(
      'Nov 22 10:01:02 web sshd[812]: Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2',
      utc('2026-11-22T12:00:00Z'),
    );
    assert.ok(r);
    assert.equal(r.parser, 'syslog');
    assert.equal(r.timestamp?.toISOString(), '2026-11-22T10:01:02.000Z');
    assert.equal(r.timezone, 'UTC');
    assert.equal(r.message, 'Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2');
    assert.equal(r.severity, undefined, 'no PRI in a file line, no severity');
    assert.deepEqual(r.fields, {
      'host.hostname': 'web',
      'log.syslog.hostname': 'web',
      'process.name': 'sshd',
      'log.syslog.appname': 'sshd',
      'log.syslog.procid': '812',
      'process.pid': 812,
    });
    assertWellTyped(r);
  });

  test('reads a space-padded day and trims the padding sudo puts before its message', () => {
    const r = parseSyslog(
      'May  2 10:15:02 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id',
      utc('2026-05-20T00:00:00Z'),
    );
    assert.ok(r);
    assert.equal(r.timestamp?.toISOString(), '2026-05-02T10:15:02.000Z');
    assert.equal(r.fields['process.name'], 'sudo');
    assert.equal(r.fields['process.pid'], undefined);
    assert.equal(r.message, 'alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id');
  });

  test('accepts tags with slashes, dots and dashes, and non-numeric procids', () => {
    const ctx = utc('2026-05-20T00:00:00Z');
    const a = parseSyslog('May 20 10:00:00 mx postfix/smtpd[1234]: connect from unknown[192.0.2.1]', ctx);
    assert.equal(a?.fields['process.name'], 'postfix/smtpd');
    assert.equal(a?.fields['process.pid'], 1234);
    const b = parseSyslog('May 20 10:00:00 h org.gnome.Shell.desktop[2231]: Window manager warning', ctx);
    assert.equal(b?.fields['process.name'], 'org.gnome.Shell.desktop');
    const c = parseSyslog('May 20 10:00:00 h app[worker-3]: started', ctx);
    assert.equal(c?.fields['log.syslog.procid'], 'worker-3');
    assert.equal(c?.fields['process.pid'], undefined, 'process.pid is a number or absent');
  });

  test('a line without a tag keeps the host and the whole rest as message', () => {
    const r = parseSyslog('May 20 10:00:00 h -- MARK --', utc('2026-05-20T12:00:00Z'));
    assert.ok(r);
    assert.equal(r.fields['host.hostname'], 'h');
    assert.equal(r.fields['process.name'], undefined);
    assert.equal(r.message, '-- MARK --');
  });

  test('maps the PRI of a network 3164 line to facility and severity', () => {
    const r = parseSyslog("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", utc('2026-10-12T00:00:00Z'));
    assert.ok(r);
    assert.equal(r.severity, 2);
    assert.equal(r.fields['log.syslog.priority'], 34);
    assert.equal(r.fields['log.syslog.facility.code'], 4);
    assert.equal(r.fields['log.syslog.facility.name'], 'auth');
    assert.equal(r.fields['log.syslog.severity.code'], 2);
    assert.equal(r.fields['log.syslog.severity.name'], 'Critical');
    assert.equal(r.message, "'su root' failed for lonvick on /dev/pts/8");
    assertWellTyped(r);
  });

  test('returns null for lines that are not syslog', () => {
    const ctx = utc('2026-05-20T00:00:00Z');
    for (const line of ['hello world', 'Foo 20 10:00:00 h x: y', '<999>May 20 10:00:00 h x: y', '2024-05-20 10:00:00,123 INFO x', '', '<13>']) {
      assert.equal(parseSyslog(line, ctx), null, line);
    }
  });

  test('an impossible date keeps the line but tags the timestamp as invalid', () => {
    const r = parseSyslog('Feb 31 10:00:00 h x: y', utc('2026-05-20T00:00:00Z'));
    assert.ok(r);
    assert.equal(r.timestamp, undefined);
    assert.deepEqual(r.tags, ['timestamp_invalid']);
  });
});

describe('RFC 3339 high-precision variant', () => {
  test('reads the zone from the stamp and sets no event.timezone', () => {
    const r = parseSyslog(
      '2024-05-20T10:13:20.412345+02:00 web01 sshd[4242]: Failed password for root from 203.0.113.7 port 52344 ssh2',
      zoned('America/New_York'),
    );
    assert.ok(r);
    assert.equal(r.timestamp?.toISOString(), '2024-05-20T08:13:20.412Z');
    assert.equal(r.timezone, undefined);
    assert.equal(r.fields['process.pid'], 4242);
    assert.equal(r.fields['host.hostname'], 'web01');
  });

  test('accepts a PRI before the stamp (rsyslog forwarding format)', () => {
    const r = parseSyslog('<86>2024-05-20T10:13:20Z web01 CRON[99]: pam_unix(cron:session): session closed for user root', zoned('UTC'));
    assert.equal(r?.fields['log.syslog.facility.name'], 'authpriv');
    assert.equal(r?.fields['log.syslog.severity.name'], 'Informational');
    assert.equal(r?.timestamp?.toISOString(), '2024-05-20T10:13:20.000Z');
  });
});

describe('RFC 5424', () => {
  test('parses the RFC example with MSGID and no SD', () => {
    const r = parseSyslog(
      "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8",
      zoned('UTC'),
    );
    assert.ok(r);
    assert.equal(r.timestamp?.toISOString(), '2003-10-11T22:14:15.003Z');
    assert.deepEqual(r.fields, {
      'log.syslog.priority': 34,
      'log.syslog.facility.code': 4,
      'log.syslog.facility.name': 'auth',
      'log.syslog.severity.code': 2,
      'log.syslog.severity.name': 'Critical',
      'log.syslog.version': '1',
      'host.hostname': 'mymachine.example.com',
      'log.syslog.hostname': 'mymachine.example.com',
      'process.name': 'su',
      'log.syslog.appname': 'su',
      'log.syslog.msgid': 'ID47',
    });
    assert.equal(r.message, "'su root' failed for lonvick on /dev/pts/8");
    assertWellTyped(r);
  });

  test('microsecond stamps with offsets and numeric procid', () => {
    const r = parseSyslog("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.", zoned('UTC'));
    assert.ok(r);
    assert.equal(r.timestamp?.toISOString(), '2003-08-24T12:14:15.000Z');
    assert.equal(r.fields['process.pid'], 8710);
    assert.equal(r.fields['log.syslog.procid'], '8710');
    assert.equal(r.message, "%% It's time to make the do-nuts.");
  });

  test('structured data elements become log.syslog.structured_data.<SD-ID>.<PARAM>', () => {
    const r = parseSyslog(
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
      zoned('UTC'),
    );
    assert.ok(r);
    assert.equal(r.fields['log.syslog.structured_data.exampleSDID@32473.iut'], '3');
    assert.equal(r.fields['log.syslog.structured_data.exampleSDID@32473.eventSource'], 'Application');
    assert.equal(r.fields['log.syslog.structured_data.exampleSDID@32473.eventID'], '1011');
    assert.equal(r.fields['log.syslog.structured_data.examplePriority@32473.class'], 'high');
    assert.equal(r.message, undefined, 'no MSG');
    assertWellTyped(r);
  });

  test('decodes the three SD escapes and keeps any other backslash', () => {
    const r = parseSyslog(
      String.raw`<165>1 2024-05-20T10:13:20.123456+02:00 host1 app - ID47 [exampleSDID@32473 path="C:\\tmp\\a.log" note="say \"hi\" \] done" raw="a\nb"] hello`,
      zoned('UTC'),
    );
    assert.ok(r);
    assert.equal(r.fields['log.syslog.structured_data.exampleSDID@32473.path'], String.raw`C:\tmp\a.log`);
    assert.equal(r.fields['log.syslog.structured_data.exampleSDID@32473.note'], 'say "hi" ] done');
    assert.equal(r.fields['log.syslog.structured_data.exampleSDID@32473.raw'], String.raw`a\nb`);
    assert.equal(r.message, 'hello');
    assert.equal(r.timestamp?.toISOString(), '2024-05-20T08:13:20.123Z');
  });

  test('a repeated SD param becomes an array; dots in names become underscores', () => {
    const r = parseSyslog('<13>1 - - - - - [origin ip="192.0.2.1" ip="192.0.2.2"][x.y@1 a.b="c"] m', zoned('UTC'));
    assert.ok(r);
    assert.deepEqual(r.fields['log.syslog.structured_data.origin.ip'], ['192.0.2.1', '192.0.2.2']);
    assert.equal(r.fields['log.syslog.structured_data.x_y@1.a_b'], 'c');
    assert.equal(r.timestamp, undefined, 'NILVALUE timestamp');
    assert.equal(r.fields['host.hostname'], undefined, 'NILVALUE hostname');
    assertWellTyped(r);
  });

  test('strips the BOM of a UTF-8 MSG, raw or already neutralized', () => {
    assert.equal(parseSyslog('<165>1 2024-05-20T10:13:20Z host1 app - - - \uFEFFCafé ✓', zoned('UTC'))?.message, 'Café ✓');
    assert.equal(parseSyslog('<165>1 2024-05-20T10:13:20Z host1 app - - - {U+FEFF}Café ✓', zoned('UTC'))?.message, 'Café ✓');
  });

  test('malformed SD keeps the line, drops the SD fields and tags it', () => {
    const r = parseSyslog('<13>1 2024-05-20T10:13:20Z h app - - [id a="unterminated] rest', zoned('UTC'));
    assert.ok(r);
    assert.deepEqual(r.tags, ['syslog_sd_malformed']);
    assert.equal(r.message, '[id a="unterminated] rest');
    assert.equal(
      Object.keys(r.fields).some((k) => k.startsWith('log.syslog.structured_data')),
      false,
    );
  });

  test('parseSyslogHeader reports the format and program for other parsers', () => {
    const rec = parseSyslogHeader('<38>1 2024-05-20T10:13:20Z h sshd 77 - - Accepted password for a from 192.0.2.1 port 1 ssh2', zoned('UTC'));
    assert.equal(rec?.format, 'rfc5424');
    assert.equal(rec?.program, 'sshd');
    assert.equal(rec?.message, 'Accepted password for a from 192.0.2.1 port 1 ssh2');
  });
});

describe('year inference for year-less stamps', () => {
  test('a December line read on January 2 belongs to the previous year', () => {
    assert.equal(iso('Dec 31 23:59:59 h x: y', utc('2027-01-02T00:05:00Z')), '2026-12-31T23:59:59.000Z');
  });

  test('a January line read on January 2 belongs to the current year', () => {
    assert.equal(iso('Jan  2 00:01:00 h x: y', utc('2027-01-02T00:05:00Z')), '2027-01-02T00:01:00.000Z');
  });

  test('up to 7 days in the future stays in this year (clock skew), more goes back a year', () => {
    const ctx = utc('2026-11-22T12:00:00Z');
    assert.equal(iso('Nov 29 11:00:00 h x: y', ctx), '2026-11-29T11:00:00.000Z');
    assert.equal(iso('Nov 29 13:00:00 h x: y', ctx), '2025-11-29T13:00:00.000Z');
  });

  test('the year is that of now in the configured zone, not in UTC', () => {
    // 2026-12-31T23:30Z is already 2027-01-01 in Berlin.
    const ctx = zoned('Europe/Berlin', '2026-12-31T23:30:00Z');
    assert.equal(iso('Jan  1 00:20:00 h x: y', ctx), '2026-12-31T23:20:00.000Z');
  });

  test('yearHint overrides the current year', () => {
    assert.equal(iso('Jun 10 08:00:00 h x: y', utc('2026-11-22T12:00:00Z', 2023)), '2023-06-10T08:00:00.000Z');
  });

  test('Feb 29 in a non-leap year steps back to the last leap year and is tagged', () => {
    const r = parseSyslog('Feb 29 12:00:00 h x: y', utc('2027-03-01T00:00:00Z'));
    assert.equal(r?.timestamp?.toISOString(), '2024-02-29T12:00:00.000Z');
    assert.deepEqual(r?.tags, ['timestamp_inferred']);
    const leap = parseSyslog('Feb 29 12:00:00 h x: y', utc('2028-03-01T00:00:00Z'));
    assert.equal(leap?.timestamp?.toISOString(), '2028-02-29T12:00:00.000Z');
    assert.equal(leap?.tags, undefined);
  });

  test('an unknown zone falls back to UTC with a tag instead of throwing', () => {
    const r = parseSyslog('Nov 22 10:01:02 h x: y', zoned('Mars/Olympus_Mons'));
    assert.equal(r?.timestamp?.toISOString(), '2026-11-22T10:01:02.000Z');
    assert.equal(r?.timezone, 'UTC');
    assert.deepEqual(r?.tags, ['timezone_invalid']);
  });
});

describe('DST: wall times read in the zone at that date', () => {
  test('Europe/Berlin winter and summer offsets', () => {
    const ctx = zoned('Europe/Berlin');
    assert.equal(iso('Jan 15 12:00:00 h x: y', ctx), '2026-01-15T11:00:00.000Z');
    assert.equal(iso('Jul 15 12:00:00 h x: y', ctx), '2026-07-15T10:00:00.000Z');
    const r = parseSyslog('Jul 15 12:00:00 h x: y', ctx);
    assert.equal(r?.timezone, 'Europe/Berlin');
  });

  test('Europe/Berlin spring forward (2026-03-29): the skipped 02:30 is read as 03:30 CEST and tagged', () => {
    const ctx = zoned('Europe/Berlin');
    assert.equal(iso('Mar 29 01:59:59 h x: y', ctx), '2026-03-29T00:59:59.000Z');
    const gap = parseSyslog('Mar 29 02:30:00 h x: y', ctx);
    assert.equal(gap?.timestamp?.toISOString(), '2026-03-29T01:30:00.000Z');
    assert.deepEqual(gap?.tags, ['timestamp_nonexistent']);
    assert.equal(iso('Mar 29 03:00:00 h x: y', ctx), '2026-03-29T01:00:00.000Z');
  });

  test('Europe/Berlin fall back (2026-10-25): the repeated 02:30 is its first occurrence and tagged', () => {
    const ctx = zoned('Europe/Berlin');
    const amb = parseSyslog('Oct 25 02:30:00 h x: y', ctx);
    assert.equal(amb?.timestamp?.toISOString(), '2026-10-25T00:30:00.000Z');
    assert.deepEqual(amb?.tags, ['timestamp_ambiguous']);
    assert.equal(iso('Oct 25 01:59:59 h x: y', ctx), '2026-10-24T23:59:59.000Z');
    assert.equal(iso('Oct 25 03:00:00 h x: y', ctx), '2026-10-25T02:00:00.000Z');
    assert.equal(parseSyslog('Oct 25 03:00:00 h x: y', ctx)?.tags, undefined);
  });

  test('America/New_York spring forward (2026-03-08) and fall back (2026-11-01)', () => {
    const ctx = zoned('America/New_York');
    assert.equal(iso('Mar  8 01:30:00 h x: y', ctx), '2026-03-08T06:30:00.000Z');
    const gap = parseSyslog('Mar  8 02:30:00 h x: y', ctx);
    assert.equal(gap?.timestamp?.toISOString(), '2026-03-08T07:30:00.000Z');
    assert.deepEqual(gap?.tags, ['timestamp_nonexistent']);
    assert.equal(iso('Mar  8 03:30:00 h x: y', ctx), '2026-03-08T07:30:00.000Z');
    const amb = parseSyslog('Nov  1 01:30:00 h x: y', ctx);
    assert.equal(amb?.timestamp?.toISOString(), '2026-11-01T05:30:00.000Z', 'first 01:30 is EDT');
    assert.deepEqual(amb?.tags, ['timestamp_ambiguous']);
    assert.equal(iso('Nov  1 00:30:00 h x: y', ctx), '2026-11-01T04:30:00.000Z');
    assert.equal(iso('Nov  1 02:30:00 h x: y', ctx), '2026-11-01T07:30:00.000Z');
  });

  test('zone offsets are cached: many lines in one zone do not format per line', () => {
    const original = Intl.DateTimeFormat.prototype.formatToParts;
    let calls = 0;
    Intl.DateTimeFormat.prototype.formatToParts = function (this: Intl.DateTimeFormat, d?: number | Date) {
      calls++;
      return original.call(this, d);
    };
    try {
      const ctx = zoned('Asia/Kathmandu');
      let first: string | undefined;
      for (let i = 0; i < 2000; i++) {
        const s = String(i % 60).padStart(2, '0');
        const r = parseSyslog(`Nov 20 10:15:${s} h x: y`, ctx);
        first ??= r?.timestamp?.toISOString();
      }
      assert.equal(first, '2026-11-20T04:30:00.000Z', 'Kathmandu is +05:45');
      assert.ok(calls <= 8, `formatToParts called ${calls} times for 2000 lines`);
    } finally {
      Intl.DateTimeFormat.prototype.formatToParts = original;
    }
  });
});

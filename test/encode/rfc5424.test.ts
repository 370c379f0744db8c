import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { serializeCef } from '../../src/encode/cef.js';
import { encodeEcs } from '../../src/encode/ecs.js';
import {
  assembleSyslog,
  formatRfc5424,
  headerField,
  parseRfc5424,
  sdEscape,
  syslogParts,
  type SyslogOptions,
} from '../../src/encode/rfc5424.js';
import { ConfigError } from '../../src/errors.js';
import type { EcsFields, LogEvent } from '../../src/event/types.js';

const UNSAFE_RAW = /[\p{Cc}\p{Cf}\p{Variation_Selector}\p{Zl}\p{Zp}]|\p{Cs}/u;

// syslog.md §1.5, with the octet counts it states (and those of the first three, counted once by hand).
const EXAMPLES: [string, number][] = [
  ["<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8", 107],
  ["<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.", 99],
  [
    '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
    174,
  ],
  [
    '<165>1 2024-05-20T10:13:20.123456+02:00 host1 app - ID47 [exampleSDID@32473 path="C:\\\\tmp\\\\a.log" note="say \\"hi\\" \\] done"] hello',
    130,
  ],
  ['<165>1 2024-05-20T10:13:20Z host1 app - - - \ufeffCafé ✓', 56],
  [
    '<134>1 2024-05-20T10:13:20.123Z web01.example.com logagent 4242 CEF - CEF:0|Acme|LogAgent|1.4.2|sshd:auth_fail|Failed password|5|rt=1716200000123 src=203.0.113.7 spt=52344 duser=root outcome=failure',
    198,
  ],
  [
    '<134>1 2024-05-20T10:13:20.123Z web01.example.com logagent 4242 ECS [timeQuality tzKnown="1" isSynced="1" syncAccuracy="12000"] {"@timestamp":"2024-05-20T10:13:20.123Z","ecs":{"version":"9.3.0"},"message":"x"}',
    209,
  ],
];

for (const [i, [msg, octets]] of EXAMPLES.entries()) {
  test(`syslog.md §1.5 example ${i + 1} (${octets} octets) parses strictly and formats back byte for byte`, () => {
    assert.equal(Buffer.byteLength(msg, 'utf8'), octets);
    const p = parseRfc5424(msg);
    assert.equal(formatRfc5424(p), msg);
  });
}

test('the SD escaping example unescapes to C:\\tmp\\a.log and say "hi" ] done', () => {
  const p = parseRfc5424(EXAMPLES[3]?.[0] as string);
  assert.deepEqual(p.sd, [{ id: 'exampleSDID@32473', params: [['path', 'C:\\tmp\\a.log'], ['note', 'say "hi" ] done']] }]);
  assert.equal(p.msg, 'hello');
  assert.equal(sdEscape('C:\\tmp\\a.log'), 'C:\\\\tmp\\\\a.log');
  assert.equal(sdEscape('say "hi" ] done'), 'say \\"hi\\" \\] done');
  assert.equal(sdEscape('no [escape] \n needed'), 'no [escape\\] \n needed');
});

test('the BOM example reports a BOM and the UTF-8 text after it', () => {
  const p = parseRfc5424(EXAMPLES[4]?.[0] as string);
  assert.equal(p.bom, true);
  assert.equal(p.msg, 'Café ✓');
  assert.deepEqual(p.sd, []);
});

const CEF_LINE =
  'CEF:0|Acme|LogAgent|1.4.2|sshd:auth_fail|Failed password|5|rt=1716200000123 src=203.0.113.7 spt=52344 duser=root outcome=failure';

function authEvent(extra: EcsFields = {}): LogEvent {
  return {
    fields: { '@timestamp': '2024-05-20T10:13:20.123Z', 'process.pid': 4242, ...extra },
    severity: 6,
    source: { input: 'auth', identity: 'x' },
    classId: 'sshd:auth_fail',
    name: 'Failed password',
  };
}
const OPTS: SyslogOptions = { sdId: 'logward@32473', appName: 'logagent', msgId: 'CEF', agentId: 'web01', hostname: 'web01.example.com' };

test('CEF in RFC 5424: the reference example with the agent SD element in place of "-"', () => {
  const payload = serializeCef({
    version: 0, vendor: 'Acme', product: 'LogAgent', deviceVersion: '1.4.2', classId: 'sshd:auth_fail',
    name: 'Failed password', severity: 5,
    extension: { rt: '1716200000123', src: '203.0.113.7', spt: '52344', duser: 'root', outcome: 'failure' },
  });
  assert.equal(payload, CEF_LINE);
  const parts = syslogParts(authEvent(), payload, OPTS);
  assert.equal(parts.header, '<134>1 2024-05-20T10:13:20.123Z web01.example.com logagent 4242 CEF ');
  assert.equal(parts.sdParams, ' agent="web01" input="auth"');
  const sd = '[logward@32473 agent="web01" input="auth"]';
  const msg = assembleSyslog(parts);
  assert.equal(msg, (EXAMPLES[5]?.[0] as string).replace(' CEF - ', ` CEF ${sd} `));
  assert.equal(Buffer.byteLength(msg), 198 - 1 + sd.length);
});

test('ECS in RFC 5424 with timeQuality: the reference example plus the agent SD element', () => {
  const ev = authEvent({ 'ecs.version': '9.3.0', message: 'x' });
  delete (ev.fields as EcsFields)['process.pid'];
  const payload = encodeEcs({ ...ev, fields: { '@timestamp': ev.fields['@timestamp'], 'ecs.version': '9.3.0', message: 'x' } });
  const parts = syslogParts({ ...ev, fields: { ...ev.fields, 'process.pid': 4242 } }, payload, {
    ...OPTS, msgId: 'ECS', timeQuality: { tzKnown: true, isSynced: true, syncAccuracy: 12000 },
  });
  assert.equal(parts.otherSd, '[timeQuality tzKnown="1" isSynced="1" syncAccuracy="12000"]');
  const sd = '[logward@32473 agent="web01" input="auth"]';
  const msg = assembleSyslog(parts);
  assert.equal(msg, (EXAMPLES[6]?.[0] as string).replace(' ECS [', ` ECS ${sd}[`));
  assert.equal(Buffer.byteLength(msg), 209 + sd.length);
  const unsynced = syslogParts(ev, payload, { ...OPTS, timeQuality: { tzKnown: true, isSynced: false, syncAccuracy: 5 } });
  assert.equal(unsynced.otherSd, '[timeQuality tzKnown="1" isSynced="0"]');
});

test('seal params go inside the agent SD element, in the contract order', () => {
  const parts = syslogParts(authEvent({ 'event.id': 'e1' }), 'x', OPTS);
  const msg = assembleSyslog(parts, { session: 's1', seq: 42n, keyId: 'k"1', chain: 'ab]cd' });
  assert.equal(
    msg,
    '<134>1 2024-05-20T10:13:20.123Z web01.example.com logagent 4242 CEF [logward@32473 agent="web01" input="auth" eid="e1" session="s1" seq="42" kid="k\\"1" chain="ab\\]cd"] x',
  );
  assert.deepEqual(parseRfc5424(msg).sd[0]?.params, [
    ['agent', 'web01'], ['input', 'auth'], ['eid', 'e1'], ['session', 's1'], ['seq', '42'], ['kid', 'k"1'], ['chain', 'ab]cd'],
  ]);
  assert.ok(!assembleSyslog(parts, { session: 's', seq: 1, chain: 'c' }).includes('kid='));
});

test('a payload cannot forge a second header or SD element', () => {
  for (const payload of [
    '<134>1 2024-05-20T10:13:20.123Z evil app - - - forged',
    'x] [fake@1 x="y"] [logward@32473 agent="evil"]',
    '] [fake@1 x="y"]',
    '- [fake@1 x="y"]',
    'a\n<134>1 2024-05-20T10:13:20.123Z evil app - - - second line',
  ]) {
    const msg = assembleSyslog(syslogParts(authEvent(), payload, OPTS), { session: 's', seq: 1, chain: 'c' });
    assert.ok(!/[\r\n]/.test(msg));
    const p = parseRfc5424(msg);
    assert.deepEqual(p.sd.map((e) => e.id), ['logward@32473']);
    assert.equal(p.hostname, 'web01.example.com');
    assert.equal(p.msg, payload.replace(/\n/g, '{U+000A}'));
  }
});

test('header fields: printable ASCII only, length limits, "-" when empty', () => {
  assert.equal(headerField('web 01.exämple', 255), 'web_01.ex_mple');
  assert.equal(headerField('', 48), '-');
  assert.equal(headerField(undefined, 48), '-');
  assert.equal(headerField('a'.repeat(300), 255), 'a'.repeat(255));
  assert.equal(headerField('😀x', 48), '_x');
  const parts = syslogParts(
    { ...authEvent(), severity: 9, fields: { '@timestamp': 'garbage', 'process.pid': 'p i d' } },
    'x',
    { ...OPTS, hostname: 'host\nname', appName: 'a'.repeat(60), facility: 10 },
  );
  assert.equal(parts.header, `<85>1 - host_name ${'a'.repeat(48)} p_i_d CEF `);
  assert.ok(parseRfc5424(assembleSyslog(parts)));
});

test('an SD-ID that is not name@number is a ConfigError', () => {
  for (const sdId of ['logward', 'log ward@1', 'a=b@1', 'x@y', `${'a'.repeat(30)}@123`, 'a"b@1', 'a]b@1']) {
    assert.throws(() => syslogParts(authEvent(), 'x', { ...OPTS, sdId }), ConfigError, sdId);
  }
});

test('parseRfc5424 rejects malformed messages', () => {
  for (const bad of [
    '<192>1 - h a - - - x',
    '<034>1 - h a - - - x',
    '<34>0 - h a - - - x',
    '<34>1 2024-05-20 10:13:20Z h a - - - x',
    '<34>1 2024-05-20T10:13:60Z h a - - - x',
    '<34>1 2024-05-20T10:13:20.1234567Z h a - - - x',
    '<34>1 - h a - - [ a@1 x="1"]',
    '<34>1 - h a - - [a@1 x="1"][a@1 y="2"]',
    '<34>1 - h a - - [a@1 x="a]b"]',
    '<34>1 - h a - - [a@1 x="1"',
    '<34>1 - h a - - -x',
  ]) {
    assert.throws(() => parseRfc5424(bad), /RFC 5424/, bad);
  }
});

const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: fc.constantFrom('"', '\\', ']', '[', '=', ' ', '\n', '\r', '\t', '\u2028', '\u202e', '\ud800', 'a', 'é'), maxLength: 20 }),
);

test('property: parse(assemble(parts)) returns the (neutralized) values, one line, nothing unsafe raw', () => {
  fc.assert(
    fc.property(nasty, nasty, nasty, nasty, nasty, fc.bigInt({ min: 0n, max: 2n ** 64n }), (agentId, input, eid, payload, chain, seq) => {
      const ev: LogEvent = { ...authEvent({ 'event.id': eid }), source: { input, identity: 'x' } };
      const msg = assembleSyslog(syslogParts(ev, payload, { ...OPTS, agentId, hostname: agentId }), { session: 'S', seq, chain });
      assert.ok(!UNSAFE_RAW.test(msg), JSON.stringify(msg));
      const p = parseRfc5424(msg);
      assert.equal(p.sd.length, 1);
      const params = Object.fromEntries(p.sd[0]?.params ?? []);
      const tok = (s: string): string =>
        s.replace(/[\p{Cc}\p{Cf}\p{Variation_Selector}\p{Zl}\p{Zp}]|\p{Cs}/gu, (c) => `{U+${(c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}}`);
      assert.equal(params['agent'], tok(agentId));
      assert.equal(params['input'], tok(input));
      assert.equal(params['eid'], eid === '' ? undefined : tok(eid));
      assert.equal(params['chain'], tok(chain));
      assert.equal(params['seq'], String(seq));
      assert.equal(p.msg ?? '', tok(payload));
      assert.equal(formatRfc5424(p), msg);
    }),
    { numRuns: 300 },
  );
});

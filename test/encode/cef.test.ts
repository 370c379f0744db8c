import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import {
  buildCef,
  decodeCef,
  encodeCef,
  normalizeCef,
  serializeCef,
  type CefEvent,
  type CefSeverity,
} from '../../src/encode/cef.js';
import { EncodeError } from '../../src/encode/encode-error.js';
import { createValidators } from '../../src/encode/validate.js';
import type { EcsFields, LogEvent } from '../../src/event/types.js';

/** An independent oracle for "nothing unsafe left raw": Unicode properties, not the module's tables. */
const UNSAFE_RAW = /[\p{Cc}\p{Cf}\p{Variation_Selector}\p{Zl}\p{Zp}]|\p{Cs}/u;

interface Vector {
  n: number;
  vendor?: string;
  product?: string;
  version?: string;
  classId?: string;
  name?: string;
  sev?: CefSeverity;
  ext: [string, string][];
  out: string;
  /** The extension decodeCef must return (after the stated policies); defaults to ext. */
  decoded?: Record<string, string>;
  decodedName?: string;
}

// cef.md §8, all 23 vectors. Inputs are JS strings: '\n' is LF, '\\' one backslash.
const VECTORS: Vector[] = [
  {
    n: 1, classId: 'sshd:auth_fail', name: 'Failed password', sev: 5,
    ext: [['rt', '1716200000123'], ['src', '203.0.113.7'], ['spt', '52344'], ['duser', 'root'], ['outcome', 'failure']],
    out: 'CEF:0|Acme|LogAgent|1.4.2|sshd:auth_fail|Failed password|5|rt=1716200000123 src=203.0.113.7 spt=52344 duser=root outcome=failure',
  },
  { n: 2, name: 'login | failure', sev: 5, ext: [['msg', 'x']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|login \\| failure|5|msg=x' },
  { n: 3, product: 'Log\\Agent', ext: [['msg', 'x']], out: 'CEF:0|Acme|Log\\\\Agent|1.4.2|100|test|3|msg=x' },
  { n: 4, name: 'a=b', ext: [['msg', 'x']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|a=b|3|msg=x' },
  { n: 5, ext: [['msg', 'a|b|c']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|test|3|msg=a|b|c' },
  { n: 6, ext: [['fname', 'C:\\Temp\\x.log']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|test|3|fname=C:\\\\Temp\\\\x.log' },
  {
    n: 7, ext: [['request', 'https://h.example/p?x=1&y=2']],
    out: 'CEF:0|Acme|LogAgent|1.4.2|100|test|3|request=https://h.example/p?x\\=1&y\\=2',
  },
  { n: 8, ext: [['msg', 'line1\nline2']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|test|3|msg=line1\\nline2' },
  { n: 9, ext: [['msg', 'a\r\nb']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|test|3|msg=a\\r\\nb' },
  {
    n: 10, name: 'two\nlines\rhere', ext: [['msg', 'x']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|two lines here|3|msg=x',
    decodedName: 'two lines here',
  },
  {
    n: 11, name: 'Connexion échouée', ext: [['suser', 'José'], ['msg', '日本語 ✓ 🚀']],
    out: 'CEF:0|Acme|LogAgent|1.4.2|100|Connexion échouée|3|suser=José msg=日本語 ✓ 🚀',
  },
  {
    n: 12, ext: [['suser', ''], ['msg', 'kept'], ['cs1', ''], ['cs1Label', '']],
    out: 'CEF:0|Acme|LogAgent|1.4.2|100|test|3|msg=kept', decoded: { msg: 'kept' },
  },
  { n: 13, version: '', name: 'heartbeat', sev: 0, ext: [], out: 'CEF:0|Acme|LogAgent||100|heartbeat|0|' },
  { n: 14, name: 'a\\|b', ext: [['msg', 'x']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|a\\\\\\|b|3|msg=x' },
  { n: 15, name: 'path\\', ext: [['msg', 'x']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|path\\\\|3|msg=x' },
  { n: 16, ext: [['msg', 'x\\=y']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|test|3|msg=x\\\\\\=y' },
  { n: 17, ext: [['msg', 'C:\\new']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|test|3|msg=C:\\\\new' },
  {
    n: 18, classId: 'ids:1', name: 'Intrusion', sev: 'Very-High', ext: [['src', '198.51.100.9']],
    out: 'CEF:0|Acme|LogAgent|1.4.2|ids:1|Intrusion|Very-High|src=198.51.100.9',
  },
  {
    n: 19, ext: [['msg', 'user admin logged in'], ['suser', 'admin']],
    out: 'CEF:0|Acme|LogAgent|1.4.2|100|test|3|msg=user admin logged in suser=admin',
  },
  {
    n: 20, classId: 'app:login', name: 'Login', ext: [['cs1Label', 'Session Hash'], ['cs1', 'sha256:9f86d081']],
    out: 'CEF:0|Acme|LogAgent|1.4.2|app:login|Login|3|cs1Label=Session Hash cs1=sha256:9f86d081',
  },
  {
    n: 21, name: 'a\tb', ext: [['msg', 'c\td']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|a b|3|msg=c d',
    decoded: { msg: 'c d' }, decodedName: 'a b',
  },
  {
    n: 22, ext: [['msg', 'ok dst=10.0.0.1 act=allow']],
    out: 'CEF:0|Acme|LogAgent|1.4.2|100|test|3|msg=ok dst\\=10.0.0.1 act\\=allow',
  },
  { n: 23, ext: [['msg', 'red{U+001B}[31mtext']], out: 'CEF:0|Acme|LogAgent|1.4.2|100|test|3|msg=red{U+001B}[31mtext' },
];

function vectorEvent(v: Vector): CefEvent {
  return {
    version: 0,
    vendor: v.vendor ?? 'Acme',
    product: v.product ?? 'LogAgent',
    deviceVersion: v.version ?? '1.4.2',
    classId: v.classId ?? '100',
    name: v.name ?? 'test',
    severity: v.sev ?? 3,
    extension: Object.fromEntries(v.ext),
  };
}

for (const v of VECTORS) {
  test(`cef.md vector #${v.n}: exact line, and decodeCef returns the input`, () => {
    const ev = vectorEvent(v);
    assert.equal(serializeCef(ev), v.out);
    const back = decodeCef(v.out);
    assert.deepEqual(back, {
      ...ev,
      name: v.decodedName ?? ev.name,
      extension: v.decoded ?? Object.fromEntries(v.ext),
    });
  });
}

function ev(over: Partial<CefEvent>): CefEvent {
  return { ...vectorEvent({ n: 0, ext: [['msg', 'x']], out: '' }), ...over };
}

test('keys that are not [A-Za-z0-9]+ are rejected by the serializer and the schema', () => {
  const validators = createValidators();
  for (const key of ['bad key', 'a=b', 'x|y', '', 'über']) {
    const e = ev({ extension: { [key]: 'v' } });
    assert.throws(() => serializeCef(e), EncodeError, JSON.stringify(key));
    assert.equal(validators.validateCef(e).ok, false, JSON.stringify(key));
  }
});

test('consumer-owned keys and requestCookies are refused by the schema', () => {
  const validators = createValidators();
  for (const key of ['agt', 'ahost', 'art', 'av', 'agentZoneURI', 'customerURI', 'requestCookies']) {
    const r = validators.validateCef(ev({ extension: { [key]: 'v' } }));
    assert.equal(r.ok, false, key);
  }
  assert.equal(validators.validateCef(ev({ extension: { cs1: 'v' } })).ok, false, 'cs1 without cs1Label');
  assert.equal(validators.validateCef(ev({ extension: { cs1Label: 'l', cs1: 'v' } })).ok, true);
});

test('severities outside 0..10 and the five words are rejected', () => {
  const validators = createValidators();
  for (const sev of [11, -1, 2.5, 'critical', 'very-high'] as CefSeverity[]) {
    assert.throws(() => serializeCef(ev({ severity: sev })), EncodeError, String(sev));
    assert.equal(validators.validateCef(ev({ severity: sev })).ok, false, String(sev));
  }
  for (const sev of [0, 10, 'Unknown', 'Low', 'Medium', 'High', 'Very-High'] as CefSeverity[]) {
    assert.equal(validators.validateCef(ev({ severity: sev })).ok, true, String(sev));
  }
});

test('typed keys: port 70000, IPv4 999.1.1.1 and ::1 in src are rejected; IPv6 in c6a2 is accepted', () => {
  const validators = createValidators();
  assert.equal(validators.validateCef(ev({ extension: { spt: '70000' } })).ok, false);
  assert.equal(validators.validateCef(ev({ extension: { src: '999.1.1.1' } })).ok, false);
  assert.equal(validators.validateCef(ev({ extension: { src: '::1' } })).ok, false);
  assert.equal(validators.validateCef(ev({ extension: { rt: 'yesterday' } })).ok, false);
  assert.equal(validators.validateCef(ev({ extension: { c6a2Label: 'source.ip', c6a2: '2001:db8::1' } })).ok, true);
  assert.equal(validators.validateCef(ev({ extension: { spt: '65535', src: '10.0.0.1', rt: '1716200000123' } })).ok, true);
});

test('act is cut to 63 and msg to 1023 code points before escaping', () => {
  const act = 'é'.repeat(100);
  const msg = '🚀='.repeat(2500); // 5000 code points, each "=" escaped on the wire
  const line = serializeCef(ev({ extension: { act, msg } }));
  const back = decodeCef(line);
  assert.equal(back.extension['act'], 'é'.repeat(63));
  assert.equal([...(back.extension['msg'] as string)].length, 1023);
  assert.equal(back.extension['msg'], msg.slice(0, 1023 + 512)); // 512 astral chars = 1024 units, 511 "="
  assert.ok(!line.endsWith('\\'), 'an escape is never cut in half');
});

test('a key named like an Object member (constructor, toString) is cut at 1023 like any other string key', () => {
  const long = 'a'.repeat(1500);
  for (const key of ['constructor', 'toString', 'hasOwnProperty']) {
    const back = decodeCef(serializeCef(ev({ extension: { [key]: long } })));
    assert.equal(back.extension[key], 'a'.repeat(1023), key);
  }
});

test('header fields are cut to 63/63/31/1023/512 code points', () => {
  const long = '\\|'.repeat(600);
  const back = decodeCef(serializeCef(ev({ vendor: long, product: long, deviceVersion: long, classId: long, name: long })));
  assert.equal(back.vendor, long.slice(0, 63));
  assert.equal(back.product, long.slice(0, 63));
  assert.equal(back.deviceVersion, long.slice(0, 31));
  assert.equal(back.classId, long.slice(0, 1023));
  assert.equal(back.name, long.slice(0, 512));
});

const HOSTILE = ['a|b', 'a\\b', 'x\\', '\\|', 'a=b', 'msg=ok act=allow', ' k=v', 'a\r\nb', 'l1\nl2', '\\n', 'x\\=y', '|||', '==', 'a\\\\=b c=d'];

test('hostile corpus in every header field and extension value decodes to exactly the (policied) input', () => {
  for (const h of HOSTILE) {
    const e = ev({
      vendor: h, product: h, deviceVersion: h, classId: h, name: h,
      extension: { msg: h, suser: h, request: h, cs1Label: h, cs1: h, act: h },
    });
    const line = serializeCef(e);
    assert.ok(!/[\r\n]/.test(line), JSON.stringify(line));
    const back = decodeCef(line);
    assert.deepEqual(back, normalizeCef(e), h);
    // The injection never creates a key: exactly the keys we wrote.
    assert.deepEqual(Object.keys(back.extension), ['msg', 'suser', 'request', 'cs1Label', 'cs1', 'act']);
    assert.equal(back.extension['msg'], h.replace(/^ +| +$/g, ''));
    assert.equal(back.name, h.replace(/[\r\n\t]/g, ' '));
  }
});

test('decodeCef rejects what the encoder cannot produce', () => {
  for (const bad of [
    'CEF:0|a|b|c|d|e|5', // six pipes
    'CEF:0|a|b|c|d|e|11|',
    'CEF:0|a|b|c|d|e|very-high|',
    'CEF:0|a\\x|b|c|d|e|5|',
    'CEF:0|a|b|c|d|e|5|msg=a=b',
    'CEF:0|a|b|c|d|e|5|msg=a\\|b',
    'CEF:0|a|b|c|d|e|5|msg=a b c=d msg=e',
    'CEF:0|a|b|c|d|e|5|bad key=x',
    'CEF:0|a|b|c|d|e|5|msg=a\nb',
    'LEEF:0|a|b|c|d|e|5|',
  ]) {
    assert.throws(() => decodeCef(bad), /CEF/, bad);
  }
});

const hostileChar = fc.constantFrom(
  '\\', '|', '=', '\n', '\r', '\t', ' ', 'a', 'Z', '0', 'é', '日', '😀', '\u2028', '\u2029', '\u0085', '\u202e',
  '\u200b', '\ufeff', '\u0000', '\u001b', '\u007f', '\ud800', '\udc00', '{', '"', ']',
);
const hostileString = fc.oneof(fc.string({ unit: hostileChar, maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
const keys = ['msg', 'suser', 'duser', 'act', 'request', 'cs1', 'cs1Label', 'reason', 'externalId', 'fname'];

test('round trip: decodeCef(serializeCef(x)) equals normalizeCef(x), and no raw control or invisible survives', () => {
  fc.assert(
    fc.property(
      fc.record({
        vendor: hostileString, product: hostileString, deviceVersion: hostileString, classId: hostileString,
        name: hostileString, severity: fc.integer({ min: 0, max: 10 }),
        values: fc.array(hostileString, { minLength: keys.length, maxLength: keys.length }),
      }),
      (r) => {
        const e: CefEvent = {
          version: 0, vendor: r.vendor, product: r.product, deviceVersion: r.deviceVersion, classId: r.classId,
          name: r.name, severity: r.severity,
          extension: Object.fromEntries(keys.map((k, i) => [k, r.values[i] as string])),
        };
        const line = serializeCef(e);
        assert.ok(!UNSAFE_RAW.test(line), JSON.stringify(line));
        assert.deepEqual(decodeCef(line), normalizeCef(e));
      },
    ),
    { numRuns: 400 },
  );
});

const BASE: EcsFields = {
  '@timestamp': '2024-05-20T10:13:20.123Z',
  'source.ip': '203.0.113.7',
  'source.port': 52344,
  'user.name': 'root',
  'event.outcome': 'failure',
};
function logEvent(fields: EcsFields, severity = 4): LogEvent {
  return {
    fields, severity, source: { input: 'system', identity: 'x' }, classId: 'sshd:auth_fail', name: 'Failed password',
  };
}
const OPTS = { vendor: 'Acme', product: 'LogAgent', version: '1.4.2' };

test('ECS mapping: the target of an authentication is duser; syslog warning maps to CEF 5', () => {
  const line = encodeCef(logEvent({ ...BASE, 'event.category': ['authentication'] }), OPTS);
  assert.equal(
    line,
    'CEF:0|Acme|LogAgent|1.4.2|sshd:auth_fail|Failed password|5|rt=1716200000123 src=203.0.113.7 spt=52344 duser=root outcome=failure cat=authentication',
  );
});

test('ECS mapping: outside authentication user.name is the acting suser and user.effective.name the duser', () => {
  const x = decodeCef(encodeCef(logEvent({ ...BASE, 'user.effective.name': 'admin', 'event.category': ['process'] }), OPTS));
  assert.equal(x.extension['suser'], 'root');
  assert.equal(x.extension['duser'], 'admin');
});

test('ECS mapping: IPv6 source goes to c6a2 with its label, never to src', () => {
  const x = decodeCef(encodeCef(logEvent({ ...BASE, 'source.ip': '2001:db8::7', 'destination.ip': 'fe80::1' }), OPTS));
  assert.equal(x.extension['src'], undefined);
  assert.equal(x.extension['c6a2'], '2001:db8::7');
  assert.equal(x.extension['c6a2Label'], 'source.ip');
  assert.equal(x.extension['c6a3'], 'fe80::1');
  assert.equal(createValidators().validateCef(buildCef(logEvent({ ...BASE, 'source.ip': '2001:db8::7' }), OPTS)).ok, true);
});

test('ECS mapping: web, process, ids, tags and original all land in their keys', () => {
  const fields: EcsFields = {
    ...BASE,
    'destination.ip': '10.0.0.2', 'destination.port': 443, 'event.action': 'login', 'http.request.method': 'POST',
    'url.original': '/login?next=/admin', 'http.response.status_code': 401, 'user_agent.original': 'curl/8.0',
    'http.request.referrer': 'https://x.example/', 'host.name': 'web-01', 'process.name': 'nginx', 'process.pid': 77,
    'log.file.path': '/var/log/nginx/access.log', 'event.id': 'a'.repeat(32), message: 'POST /login 401',
    tags: ['a', 'b'], 'event.original': 'raw line', 'event.dataset': 'nginx.access', 'http.request.cookie': 'secret',
  };
  const x = decodeCef(encodeCef(logEvent(fields), OPTS)).extension;
  assert.deepEqual(x, {
    rt: '1716200000123', src: '203.0.113.7', spt: '52344', dst: '10.0.0.2', dpt: '443', suser: 'root', act: 'login',
    outcome: 'failure', requestMethod: 'POST', request: '/login?next=/admin', cn1Label: 'http.response.status_code',
    cn1: '401', requestClientApplication: 'curl/8.0', requestContext: 'https://x.example/', dvchost: 'web-01',
    deviceProcessName: 'nginx', dvcpid: '77', filePath: '/var/log/nginx/access.log', externalId: 'a'.repeat(32),
    msg: 'POST /login 401', cs1Label: 'tags', cs1: 'a,b', cs2Label: 'event.original', cs2: 'raw line',
    cs4Label: 'event.dataset', cs4: 'nginx.access',
  });
  assert.ok(!('requestCookies' in x));
});

test('a multiline message becomes one CEF line with \\n escapes', () => {
  const message = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad=1';
  const line = encodeCef(logEvent({ ...BASE, message, 'event.original': message }), OPTS);
  assert.equal(line.split('\n').length, 1);
  assert.ok(line.includes('msg=Traceback (most recent call last):\\n  File "x.py", line 1\\nValueError: bad\\=1'));
  assert.equal(decodeCef(line).extension['msg'], message);
});

test('a custom label is omitted when its value is omitted, and kept with it otherwise, every time', () => {
  // Run twice: what the policies know about a key is remembered after the first event.
  for (let round = 0; round < 2; round++) {
    const n = normalizeCef(
      ev({ extension: { cs1Label: 'tags', cs1: '   ', cn1Label: 'http.response.status_code', cn1: '401', c6a2Label: 'source.ip', msg: 'm' } }),
    );
    assert.deepEqual(n.extension, { cn1Label: 'http.response.status_code', cn1: '401', msg: 'm' }, `round ${round}`);
    assert.throws(() => normalizeCef(ev({ extension: { 'cs1 Label': 'x' } })), EncodeError);
  }
});

/**
 * A match that a rule rejects (its value is no secret) must not hide the secrets inside that
 * value from the other rules. "session=4111 1111 1111 1111" used to ship the card in clear:
 * the key/value rule took "session=4111", rejected the four-character value (a session id is
 * longer), and the scan went on after it, where twelve digits are too few for the card rule.
 * The same consumption hid an SSN or a card after "cvv=", a JWT or an AWS key id in a PWD path,
 * and "--password=x" after a command-line flag whose value is the next flag ("--ask-pass").
 * A rejected match is now scanned again from its value's start; on a hostile line the rescans
 * stay linear (long rejected values draw on a per-line budget).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRedactor, createReferenceRedactor, REDACT_KINDS, type RedactKind } from '../../src/sanitize/redact.js';
import { luhnValid } from './luhn.js';

const ALL = { builtin: [...REDACT_KINDS], custom: [] };
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

test('the reported leak: a card after session= is masked (credentials and card families)', () => {
  for (const builtin of [['credentials', 'pan'], [...REDACT_KINDS]] as RedactKind[][]) {
    const r = createRedactor({ builtin, custom: [] });
    assert.deepEqual(r.redact('session=4111 1111 1111 1111'), { text: 'session=[REDACTED:pan]', redactions: 1, kinds: ['pan'] });
    assert.equal(
      r.redact('Nov 22 10:00:05 web-01 sshd[2214]: pam_unix(sshd:session): session=4111 1111 1111 1111 opened for user bob(uid=1000)').text,
      'Nov 22 10:00:05 web-01 sshd[2214]: pam_unix(sshd:session): session=[REDACTED:pan] opened for user bob(uid=1000)',
    );
  }
});

test('a secret inside a value a key/value rule rejects is masked by its own rule', () => {
  const r = createRedactor(ALL);
  const cases: [string, string][] = [
    // Session keys reject values under 8 characters: the first group of a grouped card.
    ['PHPSESSID=4111 1111 1111 1111; path=/', 'PHPSESSID=[REDACTED:pan]; path=/'],
    ['sshd[2219]: session_id=5555 5555 5555 4444 from 192.0.2.44 port 5123', 'sshd[2219]: session_id=[REDACTED:pan] from 192.0.2.44 port 5123'],
    ['sess=4111.1111.1111.1111', 'sess=[REDACTED:session_token]'], // one value, long enough: a session id
    ['session=12 session=4111 1111 1111 1111', 'session=12 session=[REDACTED:pan]'],
    // cvv keys reject all but 3-4 digit values.
    ['cvv=4111111111111111', 'cvv=[REDACTED:pan]'],
    ['{"cvv":"4111 1111 1111 1111","amount":12}', '{"cvv":"[REDACTED:pan]","amount":12}'],
    ['203.0.113.9 - - [22/Nov/2024:10:00:00 +0000] "GET /pay?cvv=4111111111111111&x=1 HTTP/1.1" 200 5', '203.0.113.9 - - [22/Nov/2024:10:00:00 +0000] "GET /pay?cvv=[REDACTED:pan]&x=1 HTTP/1.1" 200 5'],
    ['cvv=123-45-6789', 'cvv=[REDACTED:ssn]'],
    ['authorization=none&cvv=4111111111111111', 'authorization=none&cvv=[REDACTED:pan]'],
    // PWD rejects a path: what the path holds is still looked at.
    [
      'Nov 22 10:01:02 web01 sudo:    alice : TTY=pts/0 ; PWD=/srv/claims/123-45-6789 ; USER=root ; COMMAND=/usr/bin/ls',
      'Nov 22 10:01:02 web01 sudo:    alice : TTY=pts/0 ; PWD=/srv/claims/[REDACTED:ssn] ; USER=root ; COMMAND=/usr/bin/ls',
    ],
    [`PWD=/tmp/${JWT} ; USER=root`, 'PWD=/tmp/[REDACTED:jwt] ; USER=root'],
    ['PWD=/srv/AKIAIOSFODNN7EXAMPLE ; USER=root', 'PWD=/srv/[REDACTED:aws_access_key] ; USER=root'],
    // A value-only rule that rejects (a non-token "ghs_..." word) hides no AWS key id after "_".
    ['ghs_notatoken_AKIAIOSFODNN7EXAMPLE', 'ghs_notatoken_[REDACTED:aws_access_key]'],
    // A card rule match that fails Luhn hides no card in its later groups.
    ['ref 1234 4111 1111 1111 1111 ok', 'ref 1234 [REDACTED:pan] ok'],
  ];
  for (const [line, want] of cases) assert.equal(r.redact(line).text, want, line);
});

test('a command-line flag whose value is the next flag hides neither that flag nor its secret', () => {
  const r = createRedactor(ALL);
  const cases: [string, string][] = [
    [
      'Nov 22 10:01:02 web01 sudo: alice : COMMAND=/usr/bin/ansible-playbook site.yml --ask-pass --password=S3cr3tPassw0rd',
      'Nov 22 10:01:02 web01 sudo: alice : COMMAND=/usr/bin/ansible-playbook site.yml --ask-pass --password=[REDACTED:password]',
    ],
    ['app --password --token abc123secret', 'app --password --token [REDACTED:token]'],
    ['app --no-store-token --api-key=AKIAIOSFODNN7EXAMPLE', 'app --no-store-token --api-key=[REDACTED:api_key]'],
    ['app --password --password --password hunter2x', 'app --password --password --password [REDACTED:password]'],
    ['htpasswd -B f u token=abc123secret', 'htpasswd -B f u token=[REDACTED:token]'],
  ];
  for (const [line, want] of cases) assert.equal(r.redact(line).text, want, line);
});

test('a masked value that ends with the first group of a grouped card takes the whole card', () => {
  // Found while testing the rescans: "--pass session=4111 1111 1111 1111" masked "session=4111" as
  // the password and left twelve card digits in clear (the widening only looked at a value that
  // begins a card).
  const r = createRedactor(ALL);
  const cases: [string, string][] = [
    ['app --password session=4111 1111 1111 1111 end', 'app --password [REDACTED:password] end'],
    ['X-Api-Key: k=4111 1111 1111 1111 x', 'X-Api-Key: [REDACTED:api_key] x'],
    ['password=abc/3782 822463 10005 ok', 'password=[REDACTED:password] ok'],
    ['token=ab:5555-5555-5555-4444', 'token=[REDACTED:token]'], // one value: the dashes are in it
    // Glued to a word: the card rule alone refuses it, but after a mask the whole card goes (it
    // used to leave twelve card digits in clear, like "token=foo_4111 1111 1111 1111"; see
    // redact-digit-runs). Not Luhn-valid: as before.
    ['password=abc4111 1111 1111 1111', 'password=[REDACTED:password]'],
    ['password=x/4111 1111 1111 1112', 'password=[REDACTED:password] 1111 1111 1112'],
  ];
  for (const [line, want] of cases) assert.equal(r.redact(line).text, want, line);
  // With the card family off the mask is the value alone.
  const off = createRedactor({ builtin: ['password', 'credentials', 'api_keys'], custom: [] });
  assert.equal(off.redact('app --password session=4111 1111 1111 1111 end').text, 'app --password [REDACTED:password] 1111 1111 1111 end');
});

test('cards after other keys, in JSON and in query strings, are masked (these already were)', () => {
  const r = createRedactor(ALL);
  const cases: [string, string][] = [
    ['id=4111 1111 1111 1111', 'id=[REDACTED:pan]'],
    ['token=4111-1111-1111-1111', 'token=[REDACTED:token]'],
    ['ref: 4111111111111111', 'ref: [REDACTED:pan]'],
    ['{"session":"4111 1111 1111 1111"}', '{"session":"[REDACTED:session_token]"}'],
    ['GET /x?session=4111111111111111&x=1 HTTP/1.1', 'GET /x?session=[REDACTED:session_token]&x=1 HTTP/1.1'],
  ];
  for (const [line, want] of cases) assert.equal(r.redact(line).text, want, line);
});

test('rejected authorization and bearer matches hide nothing after them', () => {
  // Their rejected values (a placeholder, one word of letters) cannot hold a secret's start; the
  // secret after them is the next match, before and after the fix.
  const r = createRedactor(ALL);
  const cases: [string, string][] = [
    ['Authorization: Bearer null 4111 1111 1111 1111', 'Authorization: Bearer null [REDACTED:pan]'],
    [`Authorization: Bearer undefined ${JWT}`, `Authorization: Bearer undefined [REDACTED:jwt]`],
    ['"authorization":"denied","cvv":"4111 1111 1111 1111"', '"authorization":"denied","cvv":"[REDACTED:pan]"'],
    ['authorization=none&session=12&password=hunter2', 'authorization=none&session=12&password=[REDACTED:password]'],
    ['X-Api-Key: null 123-45-6789', 'X-Api-Key: null [REDACTED:ssn]'],
  ];
  for (const [line, want] of cases) assert.equal(r.redact(line).text, want, line);
});

test('values rejected as no secret still pass unchanged when they hold none', () => {
  const r = createRedactor(ALL);
  for (const line of [
    'Nov 22 10:01:02 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx',
    'Nov 22 10:00:05 web-01 sshd[2214]: session=42 pid=31337 port=52114 uid=1000',
    'GET /api/v1/orders?session=7&request_id=1234567890&page=2 HTTP/1.1',
    '{"session":"abc","authorization":"denied","cvv":"n/a","ts":"2024-11-22T10:00:00.123Z"}',
    'pg_dump --no-password --host=db.example --port=5432 --dbname=shop',
    'app --password - --port 8080',
    'X-Api-Key: [FILTERED] sid=1 session=null token=***',
    'mysql -P3306 -h db.example',
    'ghs_notatoken_value port 22 pid 4111',
  ]) {
    assert.deepEqual(r.redact(line), { text: line, redactions: 0 }, line);
  }
});

/** A random Luhn-valid Visa or Mastercard number: contiguous or in groups of four. */
const card = fc
  .tuple(fc.constantFrom('4', '51', '55'), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 14, maxLength: 14 }), fc.constantFrom('', ' ', '-', '.'))
  .map(([prefix, rest, sep]) => {
    const body = (prefix + rest.join('')).slice(0, 15);
    for (let check = 0; check <= 9; check++) {
      const d = body + String(check);
      if (luhnValid(d)) return { digits: d, text: sep === '' ? d : (d.match(/.{4}/g) ?? []).join(sep) };
    }
    throw new Error('unreachable: one check digit always fits');
  });

test('property: a card after any key whose value rules reject never survives, screened or not', () => {
  const r = createRedactor(ALL);
  const reference = createReferenceRedactor(ALL);
  const keys = ['session=', 'sess=', 'PHPSESSID=', 'session_id: "', 'cvv=', 'CVC2=', '"cvv":"', 'PWD=/srv/', 'pwd=~/', '--ask-pass --password=', 'session=1 id='];
  const around = fc.constantFrom('', 'sshd[2211]: ', '203.0.113.9 - - "GET /?', '{"a":1,');
  const after = fc.constantFrom('', ' ok', '"', '&x=1', ' port 22', ';');
  fc.assert(
    fc.property(around, fc.constantFrom(...keys), card, after, (before, key, c, tail) => {
      const line = `${before}${key}${c.text}${tail}`;
      const out = r.redact(line);
      assert.deepEqual(out, reference.redact(line));
      assert.ok(!out.text.replace(/[ .-]/g, '').includes(c.digits.slice(4)), `${JSON.stringify(line)} -> ${JSON.stringify(out.text)}`);
      assert.ok(out.redactions >= 1);
    }),
    { numRuns: 2_000 },
  );
});

test('the exec loop and String.prototype.replace agree on rescans of rejected values (card family off)', () => {
  const opts = { builtin: REDACT_KINDS.filter((k) => k !== 'pan'), custom: [] };
  const loop = createReferenceRedactor(opts);
  const replace = createReferenceRedactor(opts, 'string-replace');
  for (const line of [
    'app --password --token abc123secret and --ask-pass --password=S3cr3t x',
    'PWD=/srv/claims/123-45-6789 ; PWD=/home/a',
    'htpasswd -B f u token=abc123secret',
    'session=12 token=abc',
    '--pass --pass --pass --pass hunter2x',
  ]) {
    assert.deepEqual(loop.redact(line), replace.redact(line), line);
    assert.ok(loop.redact(line).redactions >= 1, line);
  }
});

test('hostile: 64 KiB lines of rejected key/value pairs finish, and a card after them is still masked', { timeout: 60_000 }, () => {
  const r = createRedactor(ALL);
  const kib = 64 * 1024;
  const fill = (unit: string): string => unit.repeat(Math.ceil(kib / unit.length));
  const shapes = [
    fill('session=1 '),
    fill('session='),
    fill('session=12'),
    fill('cvv='), // one bare value holding every later key: each nested match runs to the end
    fill('cvv=x'),
    fill('PWD=/'),
    fill('"cvv":"'),
    fill('"cvv":"x",'),
    fill('--pass '),
    fill('--password --'),
    fill('PWD=/a/session=1/'),
    fill('4111 '),
    fill('1234 '),
    fill('ghs_x_'),
    fill('Authorization: none '),
    `cvv=${fill('4')}`,
    `PWD=/${fill('a/')}`,
  ];
  for (const s of shapes) {
    assert.equal(typeof r.redact(s).text, 'string');
    // Masked by the card rule, or inside another mask: after "--pass " the card's first group ends
    // a password value ("session=4111") whose mask takes the card; an authorization header's value
    // runs to the end of the line.
    const out = r.redact(`${s} session=4111 1111 1111 1111 end`).text;
    assert.match(out.slice(-50), /(?: session=\[REDACTED:pan\] end| \[REDACTED:password\] end|: none \[REDACTED:authorization\])$/, `${s.slice(0, 20)}…: ${out.slice(-60)}`);
    assert.ok(!out.includes('1111 1111 1111'), s.slice(0, 20));
  }
});

// ---- a spent rescan budget fails closed ----------------------------------------------------------
// Found by review: nested turned-down values ("cvv=cvv=…") spend a line's rescan budget in a few
// hundred bytes of a URL an attacker chose; one more long turned-down value ("cvv='" runs to the
// next quote or the end of the line) then hid the victim's cookie and card logged after it.

function chain(m: number): string {
  return `${'cvv='.repeat(m)}x`;
}

test('a crafted URL that spends the rescan budget cannot hide the cookie and card logged after it', () => {
  const r = createRedactor(ALL);
  for (const m of [50, 60, 70, 80, 100, 150, 200]) {
    for (const pad of [0, 500, 20_000]) {
      const url = `/s?q=${chain(m)}&a=${chain(m >> 1)}&b=${chain(m >> 2)}&c=${chain(m >> 3)}&r=cvv='`;
      const line = `203.0.113.9 - - [22/Nov/2026:10:00:00 +0000] "GET ${url} HTTP/1.1" 200 512 "-" "Mozilla/5.0${' '.repeat(pad)}" "PHPSESSID=abcdef0123456789abcdef; card=4111 1111 1111 1111"`;
      const out = r.redact(line).text;
      assert.ok(!out.includes('4111 1111 1111 1111') && !out.includes('1111 1111 1111'), `m=${m} pad=${pad}: card shipped`);
      assert.ok(!out.includes('abcdef0123456789abcdef'), `m=${m} pad=${pad}: session id shipped`);
    }
  }
});

test('the same on a JSON line: neither the original nor a parsed value keeps the password', () => {
  const r = createRedactor(ALL);
  const line = `{"path":"/s?q=${chain(100)}&a=${chain(50)}&b=${chain(25)}&c=${chain(12)}&r=cvv='","db_password":"hunter2hunter2","msg":"x"}`;
  const out = r.redact(line).text;
  assert.ok(!out.includes('hunter2hunter2'), out.slice(-120));
});

test('the unscanned mask agrees with the reference redactor and an ordinary line never gets it', () => {
  const r = createRedactor(ALL);
  const ref = createReferenceRedactor(ALL);
  const crafted = `GET /s?q=${chain(100)}&a=${chain(50)}&r=cvv='${'z'.repeat(40)} password=hunter2`;
  // The budget is spent here and the branch fails closed (a budget never spent passed every other test).
  assert.ok(r.redact(crafted).text.includes('[REDACTED:unscanned]'), r.redact(crafted).text.slice(-120));
  assert.equal(r.redact(crafted).text, ref.redact(crafted).text);
  const sudo = 'Nov 22 10:01:02 web sudo:   alice : TTY=pts/0 ; PWD=/home/alice/projects/some/long/working/directory/tree ; USER=root ; COMMAND=/usr/bin/true';
  assert.equal(r.redact(sudo).text, sudo);
});

// ---- a turned-down value keeps its prefix scanned ----------------------------------------------
// Found by review: a URL, curl -u or smbclient -U whose password was already a mask ("***") kept
// the user part as it was, and the scan resumed at the value: a token in the user part shipped.

test('a token in the user part of a URL, curl -u or smbclient -U is masked when the password is already masked', () => {
  const GHP = 'ghp_1234567890abcdefghijklmnopqrstuvwxyz12';
  const cases: [string, string][] = [
    [`git clone https://${GHP}:***@github.com/o/r.git`, 'git clone https://[REDACTED:github_token]:***@github.com/o/r.git'],
    ['curl -u AKIAIOSFODNN7EXAMPLE:*** https://x', 'curl -u [REDACTED:aws_access_key]:*** https://x'],
    [`smbclient -U ${GHP}%*** //srv/share`, 'smbclient -U [REDACTED:github_token]%*** //srv/share'],
    [`x https://${GHP}:[FILTERED]@h session=4111 1111 1111 1111`, 'x https://[REDACTED:github_token]:[FILTERED]@h session=[REDACTED:pan]'],
  ];
  const r = createRedactor(ALL);
  const ref = createReferenceRedactor(ALL);
  for (const [line, want] of cases) {
    assert.equal(r.redact(line).text, want, line);
    assert.equal(ref.redact(line).text, want, `reference: ${line}`);
  }
  // A user part with no secret is left as it is.
  const plain = 'git clone https://bob:***@github.com/o/r.git';
  assert.equal(r.redact(plain).text, plain);
});

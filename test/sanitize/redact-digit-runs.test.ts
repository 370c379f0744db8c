/**
 * Cards among other numbers, and cards cut by a credential value. Three items of the
 * redactor's last review:
 *
 * 1. Digit-heavy lines (vmstat/iostat/ss rows, counters, versions, phone numbers,
 *    epoch timestamps) pass unchanged, and a card among such numbers is still masked.
 *    A card is found only where a digit group starts: never inside a group, also not
 *    inside the digits that follow a colour code's "ESC[" (the card rule let a card
 *    start after any character that followed "{U+001B}[", so "{U+001B}[14111 1111 1111
 *    1111" masked "4111 …" out of the five-digit group "14111" — and only without the
 *    pre-screen, which looks at group starts: the two redactors disagreed).
 * 2. A credential value that ends with a grouped card's first group ("token=foo_4111
 *    1111 1111 1111") takes the whole card: the value stops at the first space and left
 *    twelve card digits in clear, because the card rule refuses a card glued to a word.
 * 3. The card rule's decimal-comma exception: after a number with a decimal point
 *    ("10.0.0.17,", "12.3456,") a comma is a column separator, not a decimal comma (the
 *    look-behind for the point read only two digits back: "12.3456,4111…" shipped the
 *    card); and a full stop after the fraction digits no longer turns a decimal into a
 *    card ("Wert=0,4532015112830366." was masked).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRedactor } from '../../src/sanitize/redact.js';
import { luhnValid } from './luhn.js';
import { fast, red } from './both-redactors.js';


// ---- 1. digit-heavy lines -------------------------------------------------

test('a card is found only at the start of a digit group, also after a colour code', () => {
  const cases: [string, string][] = [
    // The colour code's "m" ends it: a card may start right after it.
    ['{U+001B}[1m4111 1111 1111 1111', '{U+001B}[1m[REDACTED:pan]'],
    ['{U+001B}[1;32m5555555555554444{U+001B}[0m', '{U+001B}[1;32m[REDACTED:pan]{U+001B}[0m'],
    // Digits right after "ESC[" are its parameters, one group: "14111" is no card's first group.
    ['{U+001B}[14111 1111 1111 1111', '{U+001B}[14111 1111 1111 1111'],
    ['{U+001B}[1;14111111111111111 x', '{U+001B}[1;14111111111111111 x'],
    ['{U+001B}[2K14111 1111 1111 1111', '{U+001B}[2K14111 1111 1111 1111'],
    // A ";" ends a parameter, so what follows one starts a group.
    ['{U+001B}[1;4111 1111 1111 1111', '{U+001B}[1;[REDACTED:pan]'],
    // Inside a group, as before.
    ['x 14111 1111 1111 1111', 'x 14111 1111 1111 1111'],
    ['x 44111111111111111 y', 'x 44111111111111111 y'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('digit-heavy benign lines pass unchanged: vmstat, iostat, ss, /proc, counters, versions, phones, epochs', () => {
  const lines = [
    // vmstat
    'procs -----------memory---------- ---swap-- -----io---- -system-- ------cpu-----',
    ' r  b   swpd   free   buff  cache   si   so    bi    bo   in   cs us sy id wa st',
    ' 1  0      0 5432108 204812 4528840    0    0     3    18  112  245  3  1 96  0  0',
    ' 3  1   5120 4111111 111111 4111111    0    0  1111  4111 4111 1111 25  5 70  0  0',
    '     16318412 K total memory',
    '       4111111 K used memory',
    // iostat -x
    'avg-cpu:  %user   %nice %system %iowait  %steal   %idle',
    '           3.12    0.00    1.05    0.20    0.00   95.63',
    'sda              1.23    4.56     45.67    123.45     0.01     0.52   0.81  10.24    0.42    1.80   0.01    37.13    27.07   0.35   0.06',
    'nvme0n1        411.11   111.11  4111.11  1111.11     0.00    41.11   0.00  41.11    0.41    1.11   0.45    10.00     9.99   0.50  26.10',
    // ss
    'ESTAB 0      0      10.0.0.5:22      203.0.113.9:52114',
    '\t cubic wscale:7,7 rto:204 rtt:0.292/0.118 ato:40 mss:1448 pmtu:1500 rcvmss:1448 advmss:1448 cwnd:10 bytes_sent:4111 bytes_acked:4112 ' +
      'bytes_received:3880 segs_out:41 segs_in:56 send 396.7Mbps lastsnd:2236 lastrcv:2236 lastack:2236 pacing_rate 793.3Mbps rcv_space:14480 minrtt:0.052',
    'TCP:   2345 (estab 112, closed 2201, orphaned 0, timewait 2200)',
    // /proc and friends
    'cpu  4705 356 584 3699176 23060 0 277 0 0 0',
    'intr 12345678 9 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 4111 1111 1111 1112',
    ' 259       0 nvme0n1 236245 80731 16396330 43872 1138823 1048431 41546352 1309283 0 1106612 1391268 0 0 0 0 78412 38113',
    'Tcp: 1 200 120000 -1 40596 16418 5336 1234 12 5541871 5297563 3127 0 6425 0',
    ' 16630948 16630948 31070465',
    'Reading: 6 Writing: 179 Waiting: 106',
    // counters in runs of four-digit groups (none has four consecutive groups that make a card)
    'stats 6605 4562 4925 9606 6386 2795',
    'counters rx 1024 2048 4096 8192 tx 1111 2222 3333 4444 drops 0000 0001',
    'histogram 0001 0002 0004 0008 0016 0032 0064 0128 0256 0512 1024 2048 4096',
    'ports 2049 3306 5432 6379 8080 8443 9090 9200',
    // versions and addresses
    'openssl 3.0.13 30 Jan 2024 kernel 6.8.0-49-generic #49-Ubuntu SMP PREEMPT_DYNAMIC',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.85 Safari/537.36',
    'build 4.1111.1111.1111 rev 5.5555.5555.4444.1',
    'inet6 fe80::4111:1111:1111:1111/64 scope link',
    // phone numbers
    'call +1 (555) 123-4567, +44 20 7946 0958, +49 30 123456789, +61 4 1234 5678, 0800 555 0100, +1-202-555-0143',
    'sms to +33 6 12 34 56 78 and +1 415 555 2671 ok',
    // timestamps: epoch seconds, milliseconds, microseconds, nanoseconds
    'ts=1732269600123 took=4111ms start=1732269600 end=1732269600.123456 ns=1732269600123456789',
    '1732269600123 1732269600124 1732269600125 1732269600126',
    '2024-11-22T10:00:00.123456789Z 1732269600123456 4111 ms',
    // IBAN (groups of four; not a card by issuer, length and Luhn)
    'IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX',
  ];
  for (const line of lines) assert.equal(red(line), line, line);
});

test('cards among digit-heavy content are masked', () => {
  const cases: [string, string][] = [
    ['order 12 4111 1111 1111 1111', 'order 12 [REDACTED:pan]'],
    ['amount 0.50 4111111111111111', 'amount 0.50 [REDACTED:pan]'],
    ['stats rx 1234 card 4111 1111 1111 1111 tx 99', 'stats rx 1234 card [REDACTED:pan] tx 99'],
    ['ts=1732269600123 pan=4111111111111111 amount=12.50', 'ts=1732269600123 pan=[REDACTED:pan] amount=12.50'],
    ['1732269600123 4111 1111 1111 1111 1227', '1732269600123 [REDACTED:pan] 1227'],
    ['2024-11-22T10:00:00.123Z,1732269600123,5555555555554444,12/27,59.90', '2024-11-22T10:00:00.123Z,1732269600123,[REDACTED:pan],12/27,59.90'],
    ['+1 555 0100 4111-1111-1111-1111 ok', '+1 555 0100 [REDACTED:pan] ok'],
    ['ver 1.2.3 card 5500 0000 0000 0004', 'ver 1.2.3 card [REDACTED:pan]'],
    ['id 12345 3782 822463 10005 ok', 'id 12345 [REDACTED:pan] ok'],
    [' 1  0      0 4111111111111111 204812 4528840    0    0', ' 1  0      0 [REDACTED:pan] 204812 4528840    0    0'],
    ['cpu0 4111 1111 1111 1111 2311 0 138', 'cpu0 [REDACTED:pan] 2311 0 138'],
    ['row 1111 1234 6011 1111 1111 1117 end', 'row 1111 1234 [REDACTED:pan] end'],
    ['10.0.0.5:4111 6011.1111.1111.1117', '10.0.0.5:4111 [REDACTED:pan]'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('four groups inside a longer run that make a card are masked, like a card after an order number', () => {
  // A decision, not an accident: "ref 1234 4111 1111 1111 1111" is a card after a number (and must be
  // masked, redact-rejected-kv), and a run of counters whose groups three to six pass issuer, length and
  // Luhn cannot be told from it. Such runs pass only when no four consecutive groups make a card.
  assert.equal(red('stats 6605 4562 4925 9606 6386 2794'), 'stats 6605 4562 [REDACTED:pan]');
  assert.equal(red('ref 1234 4111 1111 1111 1111 ok'), 'ref 1234 [REDACTED:pan] ok');
});

/** A random valid card of the issuers the rule knows, written in one of its shapes. */
const card = fc
  .tuple(
    fc.constantFrom('4', '51', '55', '2221', '6011', '37'),
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 16, maxLength: 16 }),
    fc.constantFrom(' ', '-', '.', ''),
  )
  .map(([prefix, rest, sep]) => {
    const len = prefix === '37' ? 15 : 16;
    const body = (prefix + rest.join('')).slice(0, len - 1);
    let digits = '';
    for (let c = 0; c <= 9 && digits === ''; c++) if (luhnValid(body + String(c))) digits = body + String(c);
    const sizes = len === 15 ? [4, 6, 5] : [4, 4, 4, 4];
    const parts: string[] = [];
    let at = 0;
    for (const n of sizes) {
      parts.push(digits.slice(at, at + n));
      at += n;
    }
    return parts.join(sep);
  });

test('property: on digit-heavy lines, every card mask starts and ends at a digit-group boundary, and both redactors agree', () => {
  const digits = (min: number, max: number): fc.Arbitrary<string> =>
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((a) => a.join(''));
  const piece = fc.oneof(
    { weight: 6, arbitrary: digits(1, 7) },
    { weight: 3, arbitrary: card },
    { weight: 6, arbitrary: fc.constantFrom(' ', ' ', '  ', '-', '.', ',', ':', '/', '\t', '{U+0009}') },
    { weight: 2, arbitrary: fc.constantFrom('{U+001B}[', 'm', ';', '{U+001B}[0m', 'x', '_', 'v', 'K', '.5') },
  );
  fc.assert(
    fc.property(fc.array(piece, { minLength: 1, maxLength: 14 }), (pieces) => {
      const line = pieces.join('');
      const out = red(line);
      // Before a mask: no digit, and no word character but the letter that ends a control sequence.
      for (const m of out.matchAll(/\[REDACTED:pan\]/g)) {
        const before = out.slice(0, m.index);
        assert.ok(!/[0-9a-z_]$/i.test(before) || /\{U\+001B\}\[[0-9;?]{0,40}[a-z]$/i.test(before), `${JSON.stringify(line)} -> ${JSON.stringify(out)}`);
      }
      assert.doesNotMatch(out, /\[REDACTED:pan\][0-9a-z_]/i, `${JSON.stringify(line)} -> ${JSON.stringify(out)}`);
    }),
    { numRuns: 5_000 },
  );
});

test('a control sequence with up to 40 parameter characters ends before a card (the property found one of 17)', () => {
  assert.equal(red('{U+001B}[40000000000000020v4000 0000 0000 0002'), '{U+001B}[40000000000000020v[REDACTED:pan]');
});

// ---- 2. a credential value that ends with a card's first group -----------------------

test('a masked value ending with the first group of a grouped card takes the whole card', () => {
  const cases: [string, string][] = [
    ['token=foo_4111 1111 1111 1111', 'token=[REDACTED:token]'],
    ['token=foo_4111 1111 1111 1111 tail', 'token=[REDACTED:token] tail'],
    ['X-Api-Key: foo_4111 1111 1111 1111 tail', 'X-Api-Key: [REDACTED:api_key] tail'],
    // Glued to letters: the card rule alone would refuse it ("abc4111…" is inside a word), but the
    // value is masked already and twelve digits of a card must not follow the mask.
    ['password=abc4111 1111 1111 1111', 'password=[REDACTED:password]'],
    ['api_key=T0k3n5555 5555 5555 4444, next', 'api_key=[REDACTED:api_key], next'],
    ['--password hunter4111 1111 1111 1111 --verbose', '--password [REDACTED:password] --verbose'],
    // A Basic credential stops at "-" and ".": so does the card's first group.
    ['Authorization: Basic abc4111-1111-1111-1111', 'Authorization: Basic [REDACTED:basic_auth]'],
    ['Authorization: Basic dXNlcjpwYXNz3782.822463.10005 ok', 'Authorization: Basic [REDACTED:basic_auth] ok'],
    // With the card's security code after it, as the card rule takes it.
    ['token=foo_4111 1111 1111 1111 123 ok', 'token=[REDACTED:token] ok'],
    ['session_id=abcdefgh4111 1111 1111 1111', 'session_id=[REDACTED:session_token]'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('digits after a masked value that make no card with its last group are left as they are', () => {
  const cases: [string, string][] = [
    ['token=foo_4111 1111 1111 1112', 'token=[REDACTED:token] 1111 1111 1112'], // Luhn fails
    ['token=foo_14111 1111 1111 1111', 'token=[REDACTED:token] 1111 1111 1111'], // a five-digit group: no card's first
    ['token=foo_4111 port 22 pid 4111', 'token=[REDACTED:token] port 22 pid 4111'],
    ['token=abc 1111 1111 1111 1111', 'token=[REDACTED:token] 1111 1111 1111 1111'], // no digits in the value
    ['token=41 1111 1111 1111 1111', 'token=[REDACTED:token] 1111 1111 1111 1111'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
  // With the card family off the mask is the value alone.
  const off = createRedactor({ builtin: ['password', 'credentials', 'api_keys'], custom: [] });
  assert.equal(off.redact('token=foo_4111 1111 1111 1111').text, 'token=[REDACTED:token] 1111 1111 1111');
});

test('property: no seven consecutive digits of a card survive after a credential value that ends with its first group', () => {
  const keys = ['token=', 'password=', 'api_key=', 'X-Api-Key: ', 'X-Auth-Token: ', '--password ', '--token ', 'Authorization: Basic ', 'session_id=abcd'];
  // Every junk piece is made of characters the values of all those keys take.
  const junk = fc.constantFrom('', 'abc', 'T0k3n', 'dXNlcjpwYXNz', 'a+b', 'x/', 'Zq3m/');
  const gluedJunk = fc.constantFrom('foo_', 'k=', 'a-b.', 'x:', 'v1.', 'id-');
  fc.assert(
    fc.property(fc.constantFrom(...keys), fc.oneof(junk, gluedJunk), card, fc.constantFrom('', ' tail', ', next', ' port 22', '"', ' 123'), (key, j, c, tail) => {
      // The Basic scheme's value stops at characters outside base64; those would leave a separate word.
      if (key.startsWith('Authorization') && /[^a-z0-9+/]/i.test(j)) return;
      const line = `req ${key}${j}${c}${tail}`;
      const out = red(line);
      const cardDigits = c.replace(/\D/g, '');
      const outDigits = out.replace(/[ .-]/g, '');
      for (let i = 0; i + 7 <= cardDigits.length; i++) {
        const window = cardDigits.slice(i, i + 7);
        assert.ok(!outDigits.includes(window) || `${key}${j}${tail}`.replace(/[ .-]/g, '').includes(window), `${JSON.stringify(line)} -> ${JSON.stringify(out)}`);
      }
    }),
    { numRuns: 4_000 },
  );
});

// ---- 3. the decimal comma -------------------------------------------------------------

test('after a number with a decimal point, a comma is a column separator: the card after it is masked', () => {
  const cases: [string, string][] = [
    // An address's last part of one, two or three digits.
    ['2026-11-22T10:00:00Z,10.0.0.7,4111111111111111', '2026-11-22T10:00:00Z,10.0.0.7,[REDACTED:pan]'],
    ['2026-11-22T10:00:00Z,10.0.0.17,4111111111111111', '2026-11-22T10:00:00Z,10.0.0.17,[REDACTED:pan]'],
    ['src 192.168.10.254,5555555555554444', 'src 192.168.10.254,[REDACTED:pan]'],
    ['v1.12,4111111111111111', 'v1.12,[REDACTED:pan]'],
    // A decimal with four places: a number with a point in it has no decimal comma.
    ['x 12.3456,4111111111111111', 'x 12.3456,[REDACTED:pan]'],
    ['lat 48.8583701,4111111111111111', 'lat 48.8583701,[REDACTED:pan]'],
  ];
  for (const [line, want] of cases) assert.equal(red(line), want, line);
});

test('a decimal comma still is one: sixteen fraction digits after "0," pass, also before a full stop', () => {
  for (const line of [
    'Wert=0,4532015112830366',
    'Wert=0,4532015112830366 x 3,14',
    'Summe 12,4111111111111111 EUR',
    'a 1 b 3,4111111111111111',
    // A full stop after the number changes nothing (it was masked: the exception required the digits
    // to be followed by neither a digit nor a dot).
    'Wert=0,4532015112830366.',
    'Wert=0,4532015112830366. Danke',
    'id 1001,4111111111111111.',
    'x 0,4532015112830366.5',
  ]) {
    assert.equal(red(line), line, line);
  }
});

// ---- the scans stay linear ------------------------------------------------------------

test('long adversarial lines of digit groups, decimal commas and cut cards are redacted whole', { timeout: 120_000 }, () => {
  // Asserted on the output only (never on time): every repetition is handled, none skipped.
  const n = 20_000;
  const groups = fast.redact('4111 1111 1111 1111 '.repeat(n));
  assert.equal(groups.redactions, n);
  assert.equal(groups.text, '[REDACTED:pan] '.repeat(n));
  const columns = '12.3456,4111111111111111 '.repeat(n);
  const cols = fast.redact(columns);
  assert.equal(cols.redactions, n);
  assert.equal(cols.text, '12.3456,[REDACTED:pan] '.repeat(n));
  // A long digit run before every comma (the look-behind reads back over it).
  const longRuns = `${'1'.repeat(5000)}.${'2'.repeat(5000)},4111111111111111 `.repeat(50);
  assert.equal(fast.redact(longRuns).redactions, 50);
  const decimals = 'Wert=0,4532015112830366 EUR '.repeat(n);
  assert.equal(fast.redact(decimals).redactions, 0);
  const cut = 'token=foo_4111 1111 1111 1111 '.repeat(n);
  const c = fast.redact(cut);
  assert.equal(c.redactions, n);
  assert.equal(c.text, 'token=[REDACTED:token] '.repeat(n));
  const colour = '{U+001B}[14111 1111 1111 1111 '.repeat(n);
  assert.equal(fast.redact(colour).redactions, 0);
  const colourM = '{U+001B}[1m4111 1111 1111 1111 '.repeat(n);
  assert.equal(fast.redact(colourM).redactions, n);
});

/**
 * The pre-screen (trigger words, separator checks) and the hand-written replace
 * loop are optimizations: on any text the redactor must give exactly what the
 * full combined regex gives, and that loop exactly what String.prototype.replace
 * gives (compared with the card family off: only the loop can widen a mask over
 * a card number that a masked value began).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRedactor, createReferenceRedactor, REDACT_KINDS } from '../../src/sanitize/redact.js';

// Fragments of keys, separators, token prefixes, digit shapes and filler, so that
// random concatenations hit rules, near misses and overlaps between rules.
const PIECES = [
  'pass', 'password', 'PWD', 'pwd', 'secret', 'sshpass -p ', 'sshpass', '://', 'https://u:', '@h', 'mysql ', ' -p', '-pS3cr3t', 'mariadb',
  'Authorization', 'authorization: ', 'Bearer ', 'bearer ', 'basic ', 'cookie', 'Cookie: ', 'Set-Cookie: ', 'sess', 'session_id', 'PHPSESSID',
  'sid', 'connect.sid', 'token', 'access_token', 'auth-token', 'X-Auth-Token: ', 'x-api-key: ', 'eyJhbGciOiJIUzI1NiJ9', '.eyJzdWIiOiIxMjM0In0',
  '.abc', 'curl -u ', 'curl', '--user ', 'key', 'apikey', 'api_key', 'Api-Key', 'subscription-key', 'secret_access_key', 'SecretAccessKey',
  'AccountKey=', 'SharedAccessKey=', 'monkey', 'publickey', 'AKIA', 'ASIAABCDEFGHIJKLMNOP', 'AIza', 'ya29.', '?sig=', 'ghp_', 'github_pat_',
  'glpat-', 'xoxb-', 'hooks.slack.com/services/', 'sk_live_', 'whsec_', 'npm_', 'sk-', 'sk-proj-', 'SG.', 'private key',
  '-----BEGIN RSA PRIVATE KEY-----', '-----END RSA PRIVATE KEY-----', '4111111111111111', '4111 1111 1111 1111', '4111-1111-1111-1111', '4111.1111.1111.1111', '3782.822463.10005',
  '378282246310005', '123-45-6789', '078-05-1120', '2', '4', '1', '9', '=', ' = ', ':', ': ', '"', "'", '\\"', '%3d', '%3D', '%26', '=>',
  '--', '--password ', '--token ', '--api-key ', ' ', ' ', '\t', '-', '_', '.', ',', ';', '&', '/', '~', '[', ']', '{', '}', '{U+0001}',
  '{0xE9}', '[FILTERED]', '***', 'abcdefghijklmnop', 'ABCDEFGHIJKLMNOP1234', 'Zq3mQk0J4mXc6v2yL1oAq9xPZbDk7rE5sUuW', 'x', 'Q', 'é', '\u2028',
  // whole secrets of every rule, so that each one's own pre-screen condition is exercised
  'https://u:pw1@h', 'password=hunter2', '"password":"x1"', "'passwd': 'x2'", 'pwd=x3', 'PWD=/home/x', '--password s3', '--api-key k1',
  'mysql -u r -pS3', 'sshpass -p S4', 'curl -u a:b5 ', 'Authorization: Bearer abcdefghijklmnopqrstu', 'authorization=xyz123',
  'Cookie: a=b6', 'x-api-key: abc123', 'X-Auth-Token: t7', 'api_key=abc', 'subscription-key=k8', 'token%3Dabc',
  'AccountKey=abcdefghijklmnopqrstuvwxyz', 'aws_secret_access_key=abcdefghijklmnopqrstuvwxyz', '?sig=abcdefghijklmnopqrst',
  'session_id=abcdefghij', 'hooks.slack.com/services/T000/B000/XXXXXXXX', 'xoxb-1234567890-abc',
  // escapes of control characters before numbers, the SSN label, glued token shapes (a letter piece before)
  '%09', '%19', '%0A', '\\x09', '\\u0019', 'ssn-', 'SSN.', 'ssn_', 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9', 'IOSFODNN7EXAMPLE',
  '123456789012-1234567890123-', '4eC39HqLyjWDarjtT1zdp7dc',
];

test('property: the pre-screened redactor and the unscreened reference agree on any text', () => {
  const opts = { builtin: [...REDACT_KINDS], custom: [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }] };
  const fast = createRedactor(opts);
  const reference = createReferenceRedactor(opts);
  const text = fc.array(fc.constantFrom(...PIECES, 'EMP-123456'), { minLength: 1, maxLength: 16 }).map((a) => a.join(''));
  fc.assert(
    fc.property(text, (s) => {
      assert.deepEqual(fast.redact(s), reference.redact(s));
    }),
    { numRuns: 20_000 },
  );
});

test('property: the exec loop masks exactly what String.prototype.replace masks (card family off)', () => {
  const opts = { builtin: REDACT_KINDS.filter((k) => k !== 'pan'), custom: [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }] };
  const loop = createReferenceRedactor(opts);
  const replace = createReferenceRedactor(opts, 'string-replace');
  const text = fc.array(fc.constantFrom(...PIECES, 'EMP-123456'), { minLength: 1, maxLength: 16 }).map((a) => a.join(''));
  fc.assert(
    fc.property(text, (s) => {
      assert.deepEqual(loop.redact(s), replace.redact(s));
    }),
    { numRuns: 10_000 },
  );
});

test('everyday lines that only look like triggers run no rule, and still agree with the reference', () => {
  const opts = { builtin: [...REDACT_KINDS], custom: [] };
  const fast = createRedactor(opts);
  const reference = createReferenceRedactor(opts);
  const lines = [
    'Nov 22 10:01:02 web01 sshd[800]: Failed password for invalid user alice from 203.0.1.2 port 1024 ssh2',
    'Nov 22 10:01:02 web01 sshd[801]: Accepted publickey for bob from 203.0.1.3 port 1025 ssh2: ED25519 SHA256:Zq3mQk0J4mXc6v2yL1oAq9xPZbDk7rE5sUuWn8hT2fY',
    '203.0.1.5 - carol [22/Nov/2026:10:01:02 +0100] "POST /api/login HTTP/1.1" 401 53 "https://shop.example.com/" "python-requests/2.32.3"',
    'Nov 22 10:01:02 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx',
  ];
  for (const line of lines) {
    assert.deepEqual(fast.redact(line), { text: line, redactions: 0 });
    assert.deepEqual(reference.redact(line), { text: line, redactions: 0 });
  }
});

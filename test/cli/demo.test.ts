import assert from 'node:assert/strict';
import { test } from 'node:test';

import { runCli } from '../helpers/cli.js';

test('logward demo shows events, both attack alerts and a verified stream, then exits 0', { timeout: 120_000 }, async () => {
  const r = await runCli(['demo']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /ALERT {2}credential-stuffing: 10 matching events for source\.ip 203\.0\.113\.9/);
  assert.match(r.stdout, /ALERT {2}password-spraying: 5 distinct user\.name values for source\.ip 198\.51\.100\.77/);
  assert.match(r.stdout, /^intact: \d+ records in 1 session/m);
  assert.match(r.stdout, /26 of 26 log lines arrived as events/);
  // The injection attempt is shown as evidence, never as a forged record or a terminal escape.
  assert.match(r.stdout, /user=x\{U\+000D\}Nov 22 10:00:41/);
  assert.match(r.stdout, /\{U\+001B\}\[32madmin\{U\+001B\}\[0m \{U\+202E\}gnp\.exe/);
  assert.doesNotMatch(r.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  // The secrets in the sample logs never reach the receiver, hence never the screen.
  for (const secret of ['4111 1111 1111 1111', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0']) assert.ok(!r.stdout.includes(secret), secret);
  assert.equal(r.stderr, '', 'no warnings on a clean run');
});

/**
 * sudo escapes neither PWD nor the command, so a line with more than one
 * USER= or COMMAND= cannot say which are sudo's: such a line is tagged
 * sudo_ambiguous and keeps only what it can tell.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeCef } from '../../src/encode/cef.js';
import type { ParseContext, ParseResult } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';
import { parseAuth, parseAuthMessage } from '../../src/parse/auth.js';
import { RecordProcessor } from '../../src/processor.js';
import { assertWellTyped } from './ecs-check.js';

const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'UTC' };
const HIDDEN = 'alice : TTY=pts/0 ; PWD=/tmp/x ; USER=nobody ; COMMAND=/usr/bin/id ; USER=root ; COMMAND=/bin/sh';
const PROCESS = ['process.command_line', 'process.args', 'process.executable', 'process.working_directory'];

function auth(message: string): ParseResult {
  const line = `May 20 10:13:20 host sudo:    ${message}`;
  const r = parseAuth(line, ctx);
  assert.ok(r, line);
  assertWellTyped(r, line);
  return r;
}

test('two USER= and two COMMAND=: no effective user, no process fields, tagged sudo_ambiguous, message kept', () => {
  const r = auth(HIDDEN);
  assert.equal(r.fields['user.name'], 'alice');
  assert.equal(r.fields['user.effective.name'], undefined);
  for (const k of PROCESS) assert.equal(r.fields[k], undefined, k);
  assert.equal(r.fields['process.name'], 'sudo', 'the process that logged, from the syslog header');
  assert.deepEqual(r.tags, ['sudo_ambiguous']);
  assert.equal(r.message, HIDDEN);
  assert.equal(r.fields['event.action'], 'authz_admin');
  assert.deepEqual(r.fields['related.user'], ['alice']);
});

test('from the journal the same line carries the same tag, and the event gets it', () => {
  const f = parseAuthMessage('sudo', HIDDEN);
  assert.ok(f);
  assert.deepEqual(f['tags'], ['sudo_ambiguous']);
  assert.equal(f['user.effective.name'], undefined);
  const p = new RecordProcessor({
    agentId: 'A1', parser: 'auto', format: 'cef', cef: { vendor: 'logward', product: 'logward' },
    redact: { builtin: ['password'], custom: [] }, maxLineBytes: 4096, counters: new Counters(), timeZone: 'UTC',
    host: { name: 'h', ips: [] }, now: () => new Date('2026-11-22T12:00:00Z'),
  });
  const journal = p.process({ bytes: Buffer.from(HIDDEN), source: { input: 'sys', identity: 'journal:m', cursor: 'c' }, fields: { 'process.name': 'sudo' } });
  assert.ok((journal.event.fields['tags'] as string[]).includes('sudo_ambiguous'));
  const file = p.process({ bytes: Buffer.from(`May 20 10:13:20 host sudo:    ${HIDDEN}`), source: { input: 'auth', identity: 'fp:1', path: '/var/log/auth.log', offset: 0 } });
  const x = decodeCef(file.payload).extension;
  assert.equal(x['duser'], undefined, 'no guessed run-as user');
  assert.equal(x['cs1'], 'sudo_ambiguous');
});

test('one COMMAND= and two USER= before it: the command is known, the run-as user and PWD are not', () => {
  const r = auth('alice : TTY=pts/0 ; PWD=/tmp/x ; USER=nobody ; USER=root ; COMMAND=/bin/sh -i');
  assert.equal(r.fields['user.effective.name'], undefined);
  assert.equal(r.fields['process.working_directory'], undefined);
  assert.equal(r.fields['process.command_line'], '/bin/sh -i');
  assert.deepEqual(r.tags, ['sudo_ambiguous']);
});

test('a reason planted in PWD does not turn a root shell into a failed login', () => {
  const r = auth('alice : TTY=pts/0 ; PWD=/tmp ; 3 incorrect password attempts ; USER=root ; COMMAND=/bin/sh');
  assert.equal(r.fields['event.action'], 'authz_admin');
  assert.equal(r.fields['event.outcome'], 'success');
  assert.equal(r.fields['user.effective.name'], 'root');
  assert.equal(r.fields['process.executable'], '/bin/sh');
  assert.equal(r.fields['process.working_directory'], undefined, 'the PWD held " ; "');
  assert.deepEqual(r.tags, ['sudo_ambiguous']);
});

test('a second PWD= hides the working directory', () => {
  const r = auth('alice : TTY=pts/0 ; PWD=/home/alice ; PWD=/etc ; USER=root ; COMMAND=/usr/bin/id');
  assert.equal(r.fields['process.working_directory'], undefined);
  assert.equal(r.fields['user.effective.name'], 'root');
  assert.deepEqual(r.tags, ['sudo_ambiguous']);
});

test("a USER= after the one COMMAND= is the command's text: unambiguous, untagged", () => {
  const r = auth('alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/echo ; USER=x');
  assert.equal(r.fields['user.effective.name'], 'root');
  assert.equal(r.fields['process.command_line'], '/bin/echo ; USER=x');
  assert.equal(r.fields['process.working_directory'], '/home/alice');
  assert.equal(r.tags, undefined);
});

test('ordinary sudo lines are untagged and unchanged', () => {
  const r = auth('alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; TSID=000001 ; COMMAND=/usr/bin/systemctl restart nginx');
  assert.equal(r.fields['user.effective.name'], 'root');
  assert.equal(r.fields['process.working_directory'], '/home/alice');
  assert.equal(r.fields['process.executable'], '/usr/bin/systemctl');
  assert.equal(r.tags, undefined);
  assert.equal(parseAuthMessage('sudo', 'alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id')?.['tags'], undefined);
});

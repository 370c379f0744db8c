import assert from 'node:assert/strict';
import { test } from 'node:test';

import { runCli } from '../helpers/cli.js';

/** Exit 2 and exactly one line on stderr, naming the problem, nothing on stdout. */
async function usageError(args: string[], says: RegExp): Promise<void> {
  const r = await runCli(args, { input: 'Nov 22 10:01:02 web sshd[812]: hello\n' });
  assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${args.join(' ')}: one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0] ?? '', says);
  assert.equal(r.stdout, '');
}

test('--parser regex without --regex says that it needs a pattern (exit 2, one line)', async () => {
  await usageError(['convert', '-p', 'regex'], /^logward: --parser regex needs --regex <pattern>$/);
  await usageError(['convert', '--parser', 'regex', '--format', 'cef'], /^logward: --parser regex needs --regex <pattern>$/);
});

test('--regex with any parser but regex is refused rather than ignored (exit 2, one line)', async () => {
  // Without -p the parser is auto: the pattern would silently not be used.
  await usageError(['convert', '--regex', '^(?<message>.*)$'], /^logward: --regex is only used with --parser regex \(the parser is auto\)$/);
  await usageError(['convert', '-p', 'syslog', '--regex', '^(?<message>.*)$'], /^logward: --regex is only used with --parser regex \(the parser is syslog\)$/);
});

test('every failed command line prints something on stderr', async () => {
  for (const args of [[], ['nosuchcommand'], ['convert', '--bogus'], ['convert', '-p', 'nope'], ['convert', 'a', 'b'], ['check'], ['verify']]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')} -> ${r.code} ${r.stderr}`);
    assert.notEqual(r.stderr.trim(), '', `${args.join(' ') || '(no arguments)'} exits 2 with nothing on stderr`);
  }
});

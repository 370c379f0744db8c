/**
 * `logward verify A B`: a file given twice exits 2 (it would pass as one long replay of itself).
 * "Twice" is the same file, not the same spelling of its path: a symlink or a hard link to a file
 * given before names the same file (review of 9e49e05: only resolve(path) was compared, so a daily
 * file replaced by a link to the day before read as that day's replays and the run passed).
 */
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after as afterAll, test } from 'node:test';

import { runVerify } from '../../src/commands/verify.js';
import { Collect } from '../helpers/collect.js';
import { KEY_A, pipelineRun, tempDir, writeKeyFile } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-same-file-');
afterAll(root.cleanup);

test('a symlink or a hard link to a file given before is the file given twice: exit 2, nothing checked', async () => {
  const r = pipelineRun(KEY_A, 20, { agent: 'web-01', format: 'ecs', at: new Date(Date.UTC(2026, 10, 21, 22)) });
  const keyFile = writeKeyFile(root.dir, 'hmac.key', KEY_A.toString('hex') + '\n');
  const dir = join(root.dir, 'siem');
  mkdirSync(dir);
  const day1 = join(dir, 'syslog.2026-11-21');
  writeFileSync(day1, r.records.map((b) => b.toString() + '\n').join(''));
  const sym = join(dir, 'syslog.2026-11-22');
  symlinkSync(day1, sym);
  const hard = join(dir, 'syslog.2026-11-23');
  linkSync(day1, hard);
  for (const files of [[day1, sym], [day1, hard], [sym, hard]]) {
    const stdout = new Collect();
    const stderr = new Collect();
    const code = await runVerify({ keyFile, file: files }, { stdout, stderr });
    assert.equal(code, 2, `${files.join(' ')}: ${stdout.text}`);
    assert.match(stderr.text, /is given twice/);
    assert.equal(stdout.text, '', 'nothing checked, nothing printed');
  }
});

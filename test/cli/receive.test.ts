import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, test } from 'node:test';

import { makeTestPki } from '../helpers/certs.js';
import { CLI } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'logward-receive-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('logward receive stores each octet-counted frame as one line and stops cleanly on SIGTERM', async () => {
  const pki = await makeTestPki(dir);
  const out = join(dir, 'received.log');
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'receive', '--listen', '127.0.0.1:0', '--cert', pki.serverCert, '--key', pki.serverKey, '--out', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`receiver exited ${code}: ${stderr}`)));
  });

  const messages = ['<134>1 2026-11-22T10:00:00.000Z web app - - - first', '<134>1 2026-11-22T10:00:01.000Z web app - - - second with a\nnewline', 'x'.repeat(60 * 1024)];
  await new Promise<void>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: readFileSync(pki.ca), servername: 'localhost' }, () => {
      const frames = messages.map((m) => `${Buffer.byteLength(m)} ${m}`).join('');
      s.end(frames, () => resolve());
    });
    s.on('error', reject);
  });

  // Wait until the receiver has written all three lines, then stop it.
  for (let i = 0; i < 200; i++) {
    let text = '';
    try {
      text = readFileSync(out, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text.split('\n').length > messages.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const code = await new Promise<number | null>((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', (c) => resolve(c));
    child.kill('SIGTERM');
  });
  assert.equal(code, 0, stderr);
  const lines = readFileSync(out, 'utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 3, 'one line per frame; an LF inside a record cannot split it');
  assert.equal(lines[0], messages[0]);
  assert.equal(lines[2], messages[2]);
  assert.match(stderr, /stopped; 3 records/);
});

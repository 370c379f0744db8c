import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Checkpointer } from '../../src/source/checkpoint.js';
import { FileError } from '../../src/errors.js';
import { tempDir } from './file-fixture.js';

const meta = { path: '/var/log/app.log', dev: '2049', inode: '12345678901234567' };

test('checkpoints survive a restart and offsets only move forward', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cp = new Checkpointer({ stateDir: join(dir, 'state'), inputId: 'nginx', expiryMs: 60_000 });
    assert.equal(await cp.load(), false, 'no registry on the first run');
    cp.advance('abc', 100, meta);
    cp.advance('abc', 50, meta);
    await cp.stop();
    const again = new Checkpointer({ stateDir: join(dir, 'state'), inputId: 'nginx', expiryMs: 60_000 });
    assert.equal(await again.load(), true);
    assert.equal(again.get('abc')?.offset, 100);
    assert.equal(again.get('abc')?.inode, '12345678901234567', '64-bit inodes kept exact as strings');
    const body = JSON.parse(readFileSync(again.file, 'utf8')) as { version: number };
    assert.equal(body.version, 1);
  } finally {
    cleanup();
  }
});

test('state directory is 0700 and the registry 0600', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cp = new Checkpointer({ stateDir: join(dir, 'state'), inputId: 'a/b', expiryMs: 60_000 });
    await cp.load();
    cp.advance('x', 1, meta);
    await cp.flush();
    assert.equal(statSync(join(dir, 'state')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'state', 'checkpoints')).mode & 0o777, 0o700);
    assert.equal(statSync(cp.file).mode & 0o777, 0o600);
    assert.ok(cp.file.endsWith('a%2Fb.json'), 'input id cannot escape the directory');
  } finally {
    cleanup();
  }
});

test('recover raises an offset from the queue tail and never lowers it', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cp = new Checkpointer({ stateDir: dir, inputId: 'i', expiryMs: 60_000 });
    await cp.load();
    cp.advance('id1', 500, meta);
    cp.recover('id1', 400);
    assert.equal(cp.get('id1')?.offset, 500);
    cp.recover('id1', 900);
    assert.equal(cp.get('id1')?.offset, 900);
    cp.recover('id2', 70);
    assert.equal(cp.get('id2')?.offset, 70);
  } finally {
    cleanup();
  }
});

test('entries not seen for checkpoint_expiry are dropped at the next flush', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let now = 1_000_000;
    const cp = new Checkpointer({ stateDir: dir, inputId: 'i', expiryMs: 1000, now: () => now });
    await cp.load();
    cp.advance('old', 10, meta);
    now += 500;
    cp.advance('young', 10, meta);
    now += 700;
    await cp.flush();
    assert.equal(cp.get('old'), undefined);
    assert.equal(cp.get('young')?.offset, 10);
  } finally {
    cleanup();
  }
});

test('an unknown registry version is refused, not overwritten', async () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    const file = join(dir, 'checkpoints', 'i.json');
    writeFileSync(file, JSON.stringify({ version: 99, entries: {} }));
    const cp = new Checkpointer({ stateDir: dir, inputId: 'i', expiryMs: 1000 });
    await assert.rejects(cp.load(), FileError);
    assert.match(readFileSync(file, 'utf8'), /"version":99/);
  } finally {
    cleanup();
  }
});

test('rekey moves a provisional entry to its fingerprint', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cp = new Checkpointer({ stateDir: dir, inputId: 'i', expiryMs: 60_000 });
    await cp.load();
    cp.advance('pabc', 42, { ...meta, headLen: 42, headHash: 'h' });
    cp.rekey('pabc', 'ffff');
    assert.equal(cp.get('pabc'), undefined);
    assert.equal(cp.get('ffff')?.offset, 42);
    assert.equal(cp.get('ffff')?.headHash, undefined);
  } finally {
    cleanup();
  }
});

test('abandon leaves the last flushed state on disk (what kill -9 leaves)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cp = new Checkpointer({ stateDir: dir, inputId: 'i', expiryMs: 60_000 });
    await cp.load();
    cp.advance('a', 10, meta);
    await cp.flush();
    cp.advance('a', 20, meta);
    await cp.abandon();
    const again = new Checkpointer({ stateDir: dir, inputId: 'i', expiryMs: 60_000 });
    await again.load();
    assert.equal(again.get('a')?.offset, 10);
  } finally {
    cleanup();
  }
});

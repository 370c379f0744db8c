/**
 * What the registry adds to an offset: a hash of the bytes before it (from the reader's memory,
 * hashed when the registry is written), and the tamper suspicions still in their grace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Checkpointer } from '../../src/source/checkpoint.js';
import { headHash } from '../../src/source/identity.js';
import type { Suspicion } from '../../src/source/tamper.js';
import { tempDir } from './file-fixture.js';

const meta = { path: '/var/log/app.log', dev: '2049', inode: '77' };
const bytes = (n: number, fill = 'x'): Buffer => Buffer.from(fill.repeat(n));

async function reloaded(dir: string): Promise<Checkpointer> {
  const cp = new Checkpointer({ stateDir: dir, inputId: 'i', expiryMs: 60_000 });
  await cp.load();
  return cp;
}

test('the bytes before an offset are hashed into the registry when it is written, and follow a rekey', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cp = await reloaded(dir);
    cp.advance('pabc', 300, { ...meta, tail: { end: 300, bytes: bytes(256, 'a') } });
    cp.advance('pabc', 400, meta); // no bytes held for 400: the tail of 300 stays, still before the offset
    cp.rekey('pabc', 'ffff');
    await cp.stop();
    const e = (await reloaded(dir)).get('ffff');
    assert.deepEqual([e?.offset, e?.tailEnd, e?.tailLen, e?.tailHash], [400, 300, 256, headHash(bytes(256, 'a'))]);
  } finally {
    cleanup();
  }
});

test('a tail of fewer bytes (just after a resume) does not replace a longer one, until it covers as many', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cp = await reloaded(dir);
    cp.advance('f', 1000, { ...meta, tail: { end: 1000, bytes: bytes(256) } });
    await cp.flush();
    cp.advance('f', 1010, { ...meta, tail: { end: 1010, bytes: bytes(10, 'b') } });
    await cp.flush();
    assert.deepEqual([cp.get('f')?.tailEnd, cp.get('f')?.tailLen], [1000, 256]);
    cp.advance('f', 1300, { ...meta, tail: { end: 1300, bytes: bytes(256, 'c') } });
    await cp.flush();
    assert.deepEqual([cp.get('f')?.tailEnd, cp.get('f')?.tailHash], [1300, headHash(bytes(256, 'c'))]);
  } finally {
    cleanup();
  }
});

test('suspicions are saved with the registry only when there are some, and unreadable ones are dropped at load', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cp = await reloaded(dir);
    cp.advance('f', 10, meta);
    await cp.flush();
    assert.equal('suspicions' in JSON.parse(readFileSync(cp.file, 'utf8')), false, 'the file as before when there is none');
    const s: Suspicion = { alert: { kind: 'truncated', path: '/var/log/app.log', identity: 'f', sizeBefore: 10, sizeAfter: 0, offset: 10 }, deadline: 5 };
    cp.setSuspicions([s]);
    await cp.stop();
    const body = JSON.parse(readFileSync(cp.file, 'utf8')) as { suspicions: unknown[] };
    body.suspicions.push({ alert: { kind: 'replaced', path: '/x', identity: 'g' }, deadline: 1 }, { alert: { kind: 'deleted', path: 7 }, deadline: 1 }, null);
    writeFileSync(cp.file, JSON.stringify(body));
    assert.deepEqual((await reloaded(dir)).suspicions, [s]);
  } finally {
    cleanup();
  }
});

/** src/seal/agent-name.ts: the agent id the state dir's stream was sealed under, across runs. */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { AGENT_NAME_FILE, AgentNames } from '../../src/seal/agent-name.js';
import { tempDir } from './sealed-stream.js';

const root = tempDir('lw-agent-name-');
after(root.cleanup);

/** A fresh state dir (its parent exists, as the agent requires). */
function stateDir(name: string): string {
  const d = join(root.dir, name);
  mkdirSync(d);
  return d;
}

/** One agent start: what it declares, then the save after its start event. */
async function start(dir: string, id: string, previousSession = true): Promise<string | undefined> {
  const names = await AgentNames.load(dir);
  assert.equal(names.problem, undefined);
  const renamed = previousSession ? names.renamedFrom(id) : undefined;
  await names.save(id, renamed);
  return renamed;
}

test('a rename is declared from the first start under the new id on, until the next rename or a new stream', async () => {
  const s = stateDir('state-a');
  assert.equal(await start(s, 'old', false), undefined, 'first start ever');
  assert.equal(await start(s, 'old'), undefined, 'same id: nothing to declare');
  assert.equal(await start(s, 'new'), 'old', 'renamed');
  assert.equal(await start(s, 'new'), 'old', 'a later start of the new id still links back');
  assert.deepEqual(JSON.parse(readFileSync(join(s, AGENT_NAME_FILE), 'utf8')), { agent: 'new', renamedFrom: 'old' });
  assert.equal(await start(s, 'old'), 'new', 'renamed back');
  assert.equal(await start(s, 'newer'), 'old');
  assert.equal(await start(s, 'newer', false), undefined, 'a new stream (no previous session) continues nothing');
  assert.equal(await start(s, 'newer'), undefined, 'and the rename is forgotten with it');
});

test('a start that crashed before saving: the next start declares the rename again', async () => {
  const s = stateDir('state-b');
  await start(s, 'old', false);
  const crashed = await AgentNames.load(s);
  assert.equal(crashed.renamedFrom('new'), 'old');
  // (sealed its start event, then died before save)
  assert.equal(await start(s, 'new'), 'old');
});

test('an unusable file is ignored with the reason, and replaced by the next save; a missing state dir is a reason too', async () => {
  const s = stateDir('state-c');
  for (const bad of ['{not json', '[]', '{"agent":""}', '{"agent":"a b"}', '{"agent":"x","renamedFrom":7}', 'null']) {
    writeFileSync(join(s, AGENT_NAME_FILE), bad);
    const names = await AgentNames.load(s);
    assert.match(names.problem ?? '', /agent-name\.json: /, bad);
    assert.equal(names.renamedFrom('new'), undefined, bad);
  }
  const names = await AgentNames.load(s);
  await names.save('new', undefined);
  assert.deepEqual(JSON.parse(readFileSync(join(s, AGENT_NAME_FILE), 'utf8')), { agent: 'new' });
  const gone = await AgentNames.load(join(root.dir, 'no-such-dir', 'x'));
  assert.equal(gone.problem, undefined, 'ENOENT: simply nothing known');
  const notDir = join(root.dir, 'a-file');
  writeFileSync(notDir, '');
  assert.match((await AgentNames.load(notDir)).problem ?? '', /ENOTDIR/);
});

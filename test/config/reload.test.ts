import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadConfigText } from '../../src/config/load.js';
import { immutableChanges, weakenedControls } from '../../src/config/reload.js';

const base = `
agent: { id: web-01, state_dir: /tmp/logward-reload-test }
inputs:
  - { id: auth, type: file, paths: ["/var/log/auth.log"], parser: auth }
  - { id: nginx, type: file, paths: ["/var/log/nginx/access.log"], parser: nginx }
processing:
  redact: { builtin: [pan, password, api_keys], custom: [{ name: emp, pattern: 'EMP-\\d{6}' }] }
output: { destination: { protocol: tls, hosts: ["siem:6514"], ca: /etc/ssl/ca.pem, pin_sha256: ["${'AB:'.repeat(31)}AB"] } }
alerts:
  - { name: credential-stuffing, when: { event.outcome: failure }, group_by: source.ip, threshold: 10, window: 60s }
`;

async function load(text: string) {
  return loadConfigText(text, '/etc/logward/logward.yaml', { checkFiles: false });
}

test('an unchanged config weakens nothing', async () => {
  const a = await load(base);
  const b = await load(base);
  assert.deepEqual(weakenedControls(a, b), []);
  assert.deepEqual(immutableChanges(a, b), []);
});

test('removing a redaction, changing a threshold or dropping an input is reported, each on its own line', async () => {
  const a = await load(base);
  const b = await load(
    base
      .replace('[pan, password, api_keys]', '[pan, api_keys]')
      .replace("custom: [{ name: emp, pattern: 'EMP-\\d{6}' }]", 'custom: []')
      .replace('threshold: 10', 'threshold: 5')
      .replace(/\n {2}- \{ id: nginx.*\n/, "\n"),
  );
  const w = weakenedControls(a, b);
  assert.ok(w.some((l) => /redaction password removed/.test(l)), w.join('\n'));
  assert.ok(w.some((l) => /custom redaction emp removed/.test(l)));
  assert.ok(w.some((l) => /credential-stuffing: threshold 10 -> 5/.test(l)));
  assert.ok(w.some((l) => /input nginx removed/.test(l)));
  assert.equal(w.length, 4);
});

test('dropping pinning or switching to drop_oldest is reported', async () => {
  const a = await load(base);
  const b = await load(base.replace(/, pin_sha256: \[[^\]]*\]/, '').replace('output: {', 'output: { buffer: { when_full: drop_oldest },'));
  const w = weakenedControls(a, b);
  assert.ok(w.some((l) => /pinning removed/.test(l)), w.join('\n'));
  assert.ok(w.some((l) => /drop_oldest/.test(l)));
});

test('agent.id and state_dir cannot change live', async () => {
  const a = await load(base);
  const b = await load(base.replace('id: web-01', 'id: web-02').replace('/tmp/logward-reload-test', '/tmp/other'));
  const c = immutableChanges(a, b);
  assert.equal(c.length, 2);
  assert.match(c[0]!, /agent\.id cannot change/);
  assert.match(c[1]!, /agent\.state_dir cannot change/);
});

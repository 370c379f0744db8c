import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'logward-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('an invalid config exits 2 with one line per problem, each naming its config path', async () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    [
      'agent: { id: web-01, state_dir: ' + join(dir, 'state') + ' }',
      'inputs:',
      '  - { id: a, type: file, paths: ["/var/log/*.log"], parser: nginxx }',
      'output:',
      '  destinaton: {}',
      '  destination: { protocol: tcp, hosts: ["siem:514"] }',
      'monitoring: { heartbeat: 5 minutes }',
    ].join('\n'),
  );
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n').filter((l) => !/invalid — /.test(l));
  assert.ok(lines.some((l) => l.includes('inputs[0].parser')), r.stderr);
  assert.ok(lines.some((l) => l.includes('output.destinaton')), r.stderr);
  assert.ok(lines.some((l) => l.includes('monitoring.heartbeat')), r.stderr);
  assert.ok(lines.some((l) => l.includes('allow_insecure')), r.stderr);
  assert.ok(lines.every((l) => l.startsWith(file)), 'every line names the file');
});

test('a missing config file exits 2', async () => {
  const r = await runCli(['check', '-c', join(dir, 'nope.yaml')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nope\.yaml/);
});

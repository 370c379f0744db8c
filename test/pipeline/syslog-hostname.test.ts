/**
 * RFC 5424 HOSTNAME names the machine the message comes from: every record the
 * agent ships has the host name there (made printable), never agent.id, which
 * travels in the structured data's `agent` parameter (and agent.id in ECS).
 * The config documentation (schema description, hence the README table, and
 * the example config) must say so, not that agent.id is part of the HOSTNAME.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { parseRfc5424 } from '../../src/encode/rfc5424.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, SD_ID, TestReceiver, until, writeAgentConfig } from '../helpers/agent.js';

const root = mkdtempSync(join(tmpdir(), 'logward-hostname-'));
after(() => rmSync(root, { recursive: true, force: true }));

const AGENT_ID = 'test-agent'; // what writeAgentConfig sets

test('every shipped record has the host name as RFC 5424 HOSTNAME and agent.id in its structured data', { timeout: 60_000 }, async () => {
  // RFC 5424 HOSTNAME is PRINTUSASCII, at most 255 characters.
  const expected = [...hostname()].map((c) => (/^[\x21-\x7e]$/.test(c) ? c : '_')).join('').slice(0, 255);
  assert.notEqual(expected, AGENT_ID, 'the test needs an agent id that differs from the host name');
  const env = await makeAgentEnv(join(root, 'run'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  after(() => receiver.stop());
  writeFileSync(join(env.logs, 'app.log'), 'app line 0 user=alice action=login\n');
  const p = new Pipeline(await loadConfig(writeAgentConfig(env, port)), { log: pino({ level: 'silent' }) });
  await p.start();
  try {
    await until(() => receiver.originals().length >= 1, 'the log line');
  } finally {
    await p.stop();
  }
  assert.ok(receiver.records.length >= 2, 'the start event and the line, at least');
  for (const r of receiver.records) {
    const m = parseRfc5424(r);
    assert.equal(m.hostname, expected);
    const sd = m.sd.find((e) => e.id === SD_ID);
    assert.ok(sd, r.slice(0, 200));
    assert.deepEqual(sd.params.filter(([k]) => k === 'agent'), [['agent', AGENT_ID]]);
    const doc = JSON.parse(m.msg ?? '{}') as { agent?: { id?: string }; host?: { name?: string } };
    assert.equal(doc.agent?.id, AGENT_ID);
    assert.equal(doc.host?.name, hostname());
  }
});

/** A YAML block with its comment markers and line breaks folded into single spaces. */
function folded(text: string): string {
  return text.replace(/#/g, ' ').replace(/\s+/g, ' ');
}

test('the config documentation says the HOSTNAME is the host name, not agent.id', () => {
  const schema = JSON.parse(readFileSync(new URL('../../schemas/config.schema.json', import.meta.url), 'utf8')) as {
    properties: { agent: { properties: { id: { description: string } } } };
  };
  const example = readFileSync(new URL('../../examples/logward.yaml', import.meta.url), 'utf8');
  const exampleAgent = folded(example.slice(example.indexOf('\nagent:'), example.indexOf('state_dir:')));
  for (const [where, text] of [['schema agent.id', schema.properties.agent.properties.id.description], ['examples/logward.yaml agent.id', exampleAgent]] as const) {
    const sentence = /[^.;(]*HOSTNAME[^.;)]*/.exec(text)?.[0] ?? '';
    assert.match(sentence, /host name/, `${where}: ${text}`);
    assert.match(text, /agent(=| parameter)/, `${where} names where agent.id travels: ${text}`);
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { renderReport } from '../../src/config/check.js';
import { inspectConfigText } from '../../src/config/load.js';
import { MINIMAL_CONFIG } from './fixtures.js';

const FILE = 'test.yaml';

async function check(alerts: string): Promise<{ ok: boolean; lines: readonly string[] }> {
  return renderReport(await inspectConfigText(`${MINIMAL_CONFIG}alerts:\n${alerts}`, FILE));
}

const errors = (r: { lines: readonly string[] }): string[] => r.lines.filter((l) => !l.includes(': warning: '));

test('a misspelled event.category in a rule that replaces a built-in one makes the config invalid, with one line and a suggestion', async () => {
  const r = await check('  - { name: credential-stuffing, when: { event.category: authentcation, event.outcome: failure }, group_by: source.ip, threshold: 10, window: 1m }\n');
  assert.equal(r.ok, false, r.lines.join('\n'));
  assert.deepEqual(errors(r), [
    'test.yaml: alerts[0].when["event.category"]: "authentcation" is not an allowed value of event.category, no event ever carries it, so the rule never matches it; did you mean "authentication"? (line 6)',
  ]);
});

test('a value outside the allowed list is found in event.outcome, event.kind and event.type, in a list too, at its own index', async () => {
  const r = await check(
    [
      '  - { name: a, when: { event.outcome: failur }, threshold: 3, window: 1m }',
      '  - { name: b, when: { event.kind: evnt, event.type: [start, denid] }, threshold: 3, window: 1m }',
      '',
    ].join('\n'),
  );
  assert.equal(r.ok, false);
  assert.deepEqual(errors(r), [
    'test.yaml: alerts[0].when["event.outcome"]: "failur" is not an allowed value of event.outcome, no event ever carries it, so the rule never matches it; did you mean "failure"? (line 6)',
    'test.yaml: alerts[1].when["event.kind"]: "evnt" is not an allowed value of event.kind, no event ever carries it, so the rule never matches it; did you mean "event"? (line 7)',
    'test.yaml: alerts[1].when["event.type"][1]: "denid" is not an allowed value of event.type, no event ever carries it, so the rule never matches it; did you mean "denied"? (line 7)',
  ]);
});

test('any other field with an ECS allowed list is checked too, and with no close value the allowed ones are listed', async () => {
  const r = await check('  - { name: a, when: { host.entity.type: spaceship }, threshold: 3, window: 1m }\n');
  assert.equal(r.ok, false);
  const [line] = errors(r);
  assert.match(line ?? '', /^test\.yaml: alerts\[0\]\.when\["host\.entity\.type"\]: "spaceship" is not an allowed value of host\.entity\.type, no event ever carries it, so the rule never matches it; allowed: [a-z_]+(, [a-z_]+)+ \(line 6\)$/);
});

test('allowed values, and values of fields without an allowed list, stay accepted', async () => {
  const r = await check(
    [
      '  - { name: credential-stuffing, when: { event.category: [authentication, iam], event.outcome: failure, event.kind: event }, group_by: source.ip, threshold: 5, window: 1m }',
      '  - { name: b, when: { http.response.status_code: [401, "403"], event.action: whatever_it_is }, threshold: 3, window: 1m }',
      '',
    ].join('\n'),
  );
  assert.equal(r.ok, true, r.lines.join('\n'));
  assert.deepEqual(errors(r), []);
});

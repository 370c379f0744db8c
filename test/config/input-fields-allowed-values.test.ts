import assert from 'node:assert/strict';
import { test } from 'node:test';

import { renderReport } from '../../src/config/check.js';
import { inspectConfigText } from '../../src/config/load.js';
import { MINIMAL_CONFIG } from './fixtures.js';

const FILE = 'test.yaml';

async function check(fields: string): Promise<{ ok: boolean; lines: readonly string[] }> {
  const inputs = `inputs:\n  - id: app\n    type: file\n    paths: ["/var/log/app/*.log"]\n    fields: ${fields}\n`;
  return renderReport(await inspectConfigText(`${MINIMAL_CONFIG}${inputs}`, FILE));
}

const errors = (r: { lines: readonly string[] }): string[] => r.lines.filter((l) => !l.includes(': warning: '));

test('an input field outside its ECS allowed list is a config error: every event of the input would ship as a schema_invalid stand-in', async () => {
  const r = await check('{ event.outcome: Failure, event.category: custom }');
  assert.equal(r.ok, false, r.lines.join('\n'));
  assert.deepEqual(errors(r), [
    'test.yaml: inputs[0].fields["event.outcome"]: "Failure" is not an allowed value of event.outcome, so every event of this input would fail the ECS schema and ship as a schema_invalid stand-in; did you mean "failure"? (line 9)',
    'test.yaml: inputs[0].fields["event.category"]: "custom" is not an allowed value of event.category, so every event of this input would fail the ECS schema and ship as a schema_invalid stand-in; ' +
      errors(r)[1]!.split('schema_invalid stand-in; ')[1],
  ]);
  assert.match(errors(r)[1]!, /stand-in; (did you mean "[a-z_]+"\?|allowed: [a-z_]+(, [a-z_]+)+) \(line 9\)$/);
});

test('input fields with allowed values, and fields without a list, are accepted', async () => {
  const r = await check('{ event.outcome: failure, event.category: web, service.name: shop, labels.team: 7 }');
  assert.deepEqual(errors(r).filter((l) => l.includes('fields')), [], r.lines.join('\n'));
});

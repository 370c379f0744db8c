import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { EcsFlat, EcsVersion } from '@elastic/ecs';

import { currentEcsModule, GENERATED, renderEcsModule } from '../../scripts/ecs-data.js';
import { ECS_ALLOWED_VALUES, ECS_FIELDS, ECS_VERSION } from '../../src/ecs/generated.js';

test('src/ecs/generated.ts is exactly what the installed @elastic/ecs yields (npm run ecs-data)', () => {
  assert.equal(readFileSync(GENERATED, 'utf8'), currentEcsModule(), 'src/ecs/generated.ts is out of date with @elastic/ecs: run `npm run ecs-data`');
});

test('the generated table agrees with EcsFlat field by field: names in order, types, array flags, allowed values', () => {
  const flat = EcsFlat as unknown as Record<string, { type: string; normalize?: string[]; allowed_values?: { name: string; expected_event_types?: string[] }[] }>;
  assert.equal(ECS_VERSION, EcsVersion);
  assert.deepEqual(Object.keys(ECS_FIELDS), Object.keys(flat));
  for (const [name, def] of Object.entries(flat)) {
    const spec = ECS_FIELDS[name]!;
    assert.equal(spec.type, def.type, name);
    assert.equal(spec.array === true, def.normalize?.includes('array') === true, `${name} array`);
    const allowed = def.allowed_values?.map((v) => ({ name: v.name, ...(v.expected_event_types ? { expected_event_types: v.expected_event_types } : {}) }));
    assert.deepEqual(Object.hasOwn(ECS_ALLOWED_VALUES, name) ? ECS_ALLOWED_VALUES[name] : undefined, allowed, `${name} allowed_values`);
  }
  assert.deepEqual(Object.keys(ECS_ALLOWED_VALUES).filter((k) => !Object.hasOwn(flat, k)), []);
});

test('the generator refuses a table without the categorization enums', () => {
  assert.throws(() => renderEcsModule({ 'event.kind': { type: 'keyword' } }, '0.0.0'), /no allowed_values for event\.kind/);
  assert.throws(() => renderEcsModule({ 'event.kind': {} }, '0.0.0'), /event\.kind\.type is not a string/);
});

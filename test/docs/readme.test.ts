import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { README, regenerate } from '../../scripts/readme-tables.js';
import { describeSchema } from '../../src/config/describe.js';

const text = readFileSync(README, 'utf8');

test('the README documents every config key with its default, exactly as the schema says (npm run docs)', () => {
  assert.equal(text, regenerate(text), 'README.md is out of date with the schema or the built-in rules: run `npm run docs`');
  for (const k of describeSchema()) assert.ok(text.includes(`| \`${k.path}\` |`), k.path);
});

test('the README starts with the install+run command and the test command', () => {
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
  assert.equal(blocks[0], 'npm install && npx logward demo');
  assert.equal(blocks[1], 'npm test');
});

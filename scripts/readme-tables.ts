/**
 * Regenerates the README blocks that must match the code: every config key
 * with its default (from schemas/config.schema.json) and the built-in alert
 * rules. `npm run docs` writes them; test/docs/readme.test.ts fails when the
 * README is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

import { configKeysMarkdown } from '../src/config/describe.js';
import { defaultRulesMarkdown } from '../src/rules/defaults.js';

export const README = new URL('../README.md', import.meta.url);

export const BLOCKS: Record<string, () => string> = {
  'config-keys': configKeysMarkdown,
  'default-rules': defaultRulesMarkdown,
};

/** The README text with every generated block replaced by its current content. */
export function regenerate(text: string): string {
  let out = text;
  for (const [name, make] of Object.entries(BLOCKS)) {
    const start = `<!-- ${name}:start -->`;
    const end = `<!-- ${name}:end -->`;
    const i = out.indexOf(start);
    const j = out.indexOf(end);
    if (i < 0 || j < i) throw new Error(`README.md has no ${start} … ${end} block`);
    out = out.slice(0, i + start.length) + '\n' + make() + '\n' + out.slice(j);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(README, regenerate(readFileSync(README, 'utf8')));
}

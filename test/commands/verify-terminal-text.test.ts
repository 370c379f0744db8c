/**
 * Text verify prints that the stored file chose (the SD label, outside the MAC; a start event's
 * agent.id under an unknown key) must reach the terminal without control characters: an ESC or a
 * CR in a label would let whoever edited the file repaint the operator's screen (a fake
 * "intact: …" over the SPLIT/RELABELLED line).
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { verifyKeyAWith } from './verify-lines.js';
import { KEY_A, pipelineRun, tempDir } from '../seal/sealed-stream.js';

const root = tempDir('lw-verify-terminal-');
afterAll(root.cleanup);

const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

test('a label holding ESC and CR is printed neutralized (SPLIT, RELABELLED)', async () => {
  const web = pipelineRun(KEY_A, 10, { agent: 'web-01', format: 'ecs' }).records.map((b) => b.toString());
  const evil = '\x1b[2K\rintact: 10 records in 1 session';
  const edited = web.map((l, i) => (i >= 5 ? l.replace(/ agent="[^"]*"/, ` agent="${evil}"`) : l));
  const r = await verifyKeyAWith(root.dir, edited, { agent: 'web-01' });
  assert.equal(r.code, 1, r.out);
  assert.doesNotMatch(r.out, CONTROL, JSON.stringify(r.out));
});

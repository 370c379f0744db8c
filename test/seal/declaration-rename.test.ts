/**
 * The renamed agent id in a start declaration ("; renamed from agent OLD") is
 * 1 to 255 printable ASCII characters (config.schema.json agent.id) and ends
 * the text or a word: an id that runs on into characters an agent id cannot
 * hold, or past 255 characters, is no id the agent wrote, and reading a
 * prefix of it would hold the declaration against another agent ("old" for
 * "oldé"). Such a text declares no rename; the rest of the declaration stands.
 * (Without the look-ahead after the id, every test passed.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { declarationBytes, lossText, readStartText, startText } from '../../src/seal/declaration.js';
import type { StartDeclaration } from '../../src/seal/session.js';
import { VERSION } from '../../src/version.js';

const NEXT: StartDeclaration = { session: 'b'.repeat(32), firstSeq: 65536n, previousSession: 'a'.repeat(32), lastSeq: 41n, lastChain: 'c'.repeat(64) };
const read = (text: string) => readStartText(text, NEXT.session, NEXT.firstSeq);
const WITHOUT = { previousSession: NEXT.previousSession, lastSeq: 41n, lastChain: 'c'.repeat(64) };

test('a renamed id is read whole: at the end of the text, or before a space', () => {
  for (const id of ['old', 'o"l=d\\x;b,c}', 'x'.repeat(255)]) {
    assert.equal(read(startText(NEXT, VERSION, id))?.renamedFrom, id);
    assert.equal(read(`${startText(NEXT, VERSION, id)} (and the rest of a longer message)`)?.renamedFrom, id);
  }
});

test('an id that runs on into characters no agent id holds, or past 255 characters, is no rename, never a prefix of it', () => {
  for (const tail of ['é', '\u00a0x', '\n', '\t', '\u0000', '\u202e']) {
    const d = read(startText(NEXT, VERSION, 'old') + tail);
    assert.deepEqual(d, WITHOUT, JSON.stringify(tail));
  }
  assert.deepEqual(read(startText(NEXT, VERSION, 'x'.repeat(256))), WITHOUT);
  assert.deepEqual(read(startText(NEXT, VERSION, 'x'.repeat(300))), WITHOUT);
});

test('declarationBytes: the whole leading declaration of an internal message, rename included; 0 for anything else', () => {
  const FIRST: StartDeclaration = { session: 'a'.repeat(32), firstSeq: 0n, lastSeq: null, lastChain: '0'.repeat(64) };
  const long = `old-${'o'.repeat(251)}`;
  for (const text of [startText(FIRST, VERSION), startText(NEXT, VERSION), startText(NEXT, VERSION, long), startText(NEXT, VERSION, 'o"l=d\\x')]) {
    assert.equal(declarationBytes(text), Buffer.byteLength(text), text);
    // What a cut must keep is exactly what the reader reads back.
    assert.deepEqual(read(text.slice(0, declarationBytes(text))), read(text));
  }
  const loss = lossText({ session: 'b'.repeat(32), seq: 43n, firstSeq: 40n, lastSeq: 42n, lastChain: 'c'.repeat(64), cause: 'EIO' }, VERSION);
  assert.equal(declarationBytes(`${loss} (queue write failed: EIO: i/o error, fsync); 3 records not queued, their sources read them again`), Buffer.byteLength(loss));
  for (const other of ['', 'log file truncated: /var/log/app.log', `quoted: ${startText(NEXT, VERSION)}`]) assert.equal(declarationBytes(other), 0, other);
});

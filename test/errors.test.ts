import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { errorLine, oneLine } from '../src/errors.js';

describe('one line for the journal', () => {
  it('joins a multi-line message into one line, each former line kept', () => {
    assert.equal(oneLine('flock: cannot lock\n  Bad file descriptor\r\n\nretry later\n'), 'flock: cannot lock; Bad file descriptor; retry later');
  });

  it('collapses blank runs within a line and trims the ends', () => {
    assert.equal(oneLine('  a \t  b  '), 'a b');
  });

  it('turns every line separator into the joiner, not only LF', () => {
    assert.equal(oneLine('a\u2028b\u0085c\u2029d'), 'a; b; c; d');
  });

  it('never passes a terminal escape or a bidi override through', () => {
    const line = oneLine('open /var/log/\u001b[2Jevil\u202Etxt.log: EACCES');
    assert.equal(line, 'open /var/log/{U+001B}[2Jevil{U+202E}txt.log: EACCES');
    assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
  });

  it('caps a long text and says it was cut', () => {
    const line = oneLine('x'.repeat(500), 40);
    assert.equal(line.length, 40);
    assert.ok(line.endsWith('…'));
    assert.equal(oneLine('x'.repeat(40), 40), 'x'.repeat(40));
  });

  it('takes the message of an error, without its stack, and the text of anything else thrown', () => {
    const err = new Error('queue open failed:\n/var/lib/logward/queue: ENOSPC');
    assert.equal(errorLine(err), 'queue open failed: /var/lib/logward/queue: ENOSPC');
    assert.equal(errorLine('plain string\nthrown'), 'plain string; thrown');
    assert.equal(errorLine(42), '42');
  });
});

describe('oneLine on a long input', () => {
  it('a long blank run is cut before the patterns, and the cut says so', () => {
    const s = oneLine('x' + ' '.repeat(100_000) + 'tail', 300);
    assert.ok(s.length <= 300);
    assert.ok(s.endsWith('…'), s);
  });
});

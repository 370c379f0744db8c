import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EventIdDeriver } from '../../src/event/id.js';

test('a re-read line gets the same event.id', () => {
  const a = new EventIdDeriver('web-01');
  const b = new EventIdDeriver('web-01');
  const src = { input: 'nginx', identity: 'fp:0123abcd', offset: 4096 };
  assert.equal(a.derive(src), b.derive({ ...src }));
});

test('event.id differs by agent, by identity, by offset and by cursor', () => {
  const d = new EventIdDeriver('web-01');
  const ids = new Set([
    d.derive({ input: 'i', identity: 'fp:1', offset: 0 }),
    d.derive({ input: 'i', identity: 'fp:1', offset: 1 }),
    d.derive({ input: 'i', identity: 'fp:2', offset: 0 }),
    new EventIdDeriver('web-02').derive({ input: 'i', identity: 'fp:1', offset: 0 }),
    d.derive({ input: 'j', identity: 'journal:m', cursor: 's=1;i=1' }),
    d.derive({ input: 'j', identity: 'journal:m', cursor: 's=1;i=2' }),
  ]);
  assert.equal(ids.size, 6);
});

test('event.id fits CEF externalId (40 characters) for any realistic offset', () => {
  const d = new EventIdDeriver('web-01');
  assert.ok(d.derive({ input: 'i', identity: 'x', offset: Number.MAX_SAFE_INTEGER }).length <= 40);
  assert.ok(d.derive({ input: 'i', identity: 'x', cursor: 'c'.repeat(500) }).length <= 40);
});

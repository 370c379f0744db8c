/**
 * A destination the sink gave up on is an event in the SIEM that says why:
 * a write that never drained, or (quiet stream) bytes never acknowledged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sinkSpec } from '../../src/event/signals.js';

test('a connection that acknowledged nothing is reported as such, with its cause', () => {
  const spec = sinkSpec({ type: 'dead_connection', host: 'siem.example:6514', stalledMs: 30_000, cause: 'unacked' });
  assert.ok(spec);
  assert.equal(spec.action, 'destination_stalled');
  assert.match(spec.message, /siem\.example:6514 acknowledged nothing for 30 s; destroyed, the resend window will be replayed/);
  assert.equal(spec.fields?.['error.type'], 'unacked');
});

test('a connection that did not drain is reported as before', () => {
  const spec = sinkSpec({ type: 'dead_connection', host: 'siem.example:6514', stalledMs: 30_000, cause: 'no_drain' });
  assert.ok(spec);
  assert.match(spec.message, /did not drain for 30 s/);
  assert.equal(spec.fields?.['error.type'], 'no_drain');
});

test('a refused destination is destination_unreachable, not a TLS verification failure', () => {
  const spec = sinkSpec({ type: 'connect_failure', host: 'siem.example:6514', reason: 'refused', detail: 'ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:6514' });
  assert.ok(spec);
  assert.equal(spec.action, 'destination_unreachable');
  assert.equal(spec.message, 'Cannot reach the destination siem.example:6514: refused (ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:6514); events stay queued');
  assert.equal(spec.fields?.['error.type'], 'refused');
});

test('a tcp connection reset after it was made stays a disconnect for the agent log only', () => {
  assert.equal(sinkSpec({ type: 'connect_failure', host: 'siem.example:601', reason: 'reset', detail: 'the peer closed the connection' }), null);
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { assembleSyslog, type SealParams, type SyslogParts } from '../../src/encode/rfc5424.js';
import { chainStep } from '../../src/seal/chain.js';
import { Sealer } from '../../src/seal/session.js';

const STATE = { lastSeq: 41n, lastChain: 'ab'.repeat(32), nextSeq: 42n };

function parts(msg: string, extra: Partial<SyslogParts> = {}): SyslogParts {
  return {
    header: '<134>1 2026-11-22T10:01:02.000Z host logward 812 ECS ',
    sdId: 'logward@32473',
    sdParams: ' agent="agent-1" input="app" eid="e1"',
    otherSd: '',
    msg,
    ...extra,
  };
}

const CASES: SyslogParts[] = [
  parts('{"message":"Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2"}'),
  parts(''),
  parts('ü € 😀 non-ASCII in MSG'),
  parts('x', { sdParams: ' agent="agent-ü" input="äpp"', header: '<13>1 - - logward - ECS ' }),
  parts('after a timeQuality', { otherSd: '[timeQuality tzKnown="1" isSynced="0"]' }),
  // Larger than the sealer's initial buffer: it grows.
  parts('y'.repeat(40_000)),
  parts('€'.repeat(20_000)),
  parts('short again'),
];

test('sealBytes gives byte for byte the assembled message, and the same chain, as the string path', () => {
  const key = randomBytes(32);
  const session = 'cd'.repeat(16);
  const bytes = new Sealer({ key, state: STATE, persistent: false, session });
  // Another function than assembleSyslog: the sealer takes its string path (assemble, then encode).
  const viaString = new Sealer({ key, state: STATE, persistent: false, session, assemble: (p: SyslogParts, s?: SealParams) => assembleSyslog(p, s) });
  let prev = Buffer.from(STATE.lastChain, 'hex');
  for (const p of CASES) {
    const a = bytes.sealBytes(p);
    const b = viaString.sealText(p);
    assert.equal(a.seq, b.seq);
    assert.equal(a.chain, b.chain);
    assert.ok(a.message.equals(Buffer.from(b.message, 'utf8')), `message for ${p.msg.slice(0, 20)}`);
    assert.equal(a.chainBytes.toString('hex'), a.chain);
    // The chain is the documented one, over the UTF-8 bytes of MSG.
    assert.equal(chainStep(key, prev, session, a.seq, p.msg).toString('hex'), a.chain);
    prev = Buffer.from(a.chain, 'hex');
  }
  assert.equal(bytes.lastChain(), viaString.lastChain());
  assert.equal(bytes.nextSeq(), viaString.nextSeq());
});

test('seal, sealText and sealBytes continue one chain, and seal hands out buffers of its own', () => {
  const key = randomBytes(48);
  const a = new Sealer({ key, state: STATE, persistent: false, session: 's1' });
  const b = new Sealer({ key, state: STATE, persistent: false, session: 's1' });
  const r1 = a.seal(parts('one'));
  const r2 = a.sealText(parts('two'));
  const r3 = a.sealBytes(parts('three'));
  const want = [b.sealBytes(parts('one')), b.sealBytes(parts('two')), b.sealBytes(parts('three'))].map((r) => r.chain);
  assert.deepEqual([r1.chain, r2.chain, r3.chain], want);
  // The next sealBytes reuses the sealer's buffers: what seal() returned must not change.
  const before = Buffer.from(r1.message);
  const chainBefore = Buffer.from(r1.chainBytes);
  a.sealBytes(parts('four, which overwrites the scratch'));
  assert.ok(r1.message.equals(before));
  assert.ok(r1.chainBytes.equals(chainBefore));
  assert.equal(r2.message, r2.message.toString());
});

/**
 * Review (hostile): the sealed time streamOrder trusts on a CEF record is `rt`
 * of any record that has a start declaration (`sealedTimeOf`: `e.declares !==
 * undefined`). But `declares` is read from the MSG text (received.ts
 * startDeclaration: the start text naming the record's own session and seq),
 * and a log line can hold that text: someone who can write a line the agent
 * reads (an sshd "Invalid user …" name, `logger`, an application log) and who
 * reads the session id and the current seq from the SIEM. In CEF a log
 * event's `rt` is the time the line states (@timestamp), not the agent's
 * clock. checkedAt accepts such a record by its MAC on the record before it,
 * so timeAt returns the line's own time.
 *
 * With it, a run after a fresh start passes for "the old stream the file
 * begins inside": it goes first, unchecked, and a whole run deleted before it
 * is never seen. Here: f1 (fresh start, the one the operator accepts), f2, f3;
 * the line is sealed in f3. Deleted: the whole run f2 and f3's records after
 * the line (the end of the stream). `verify --accept-fresh-start f1` says
 * intact; it must fail (f3's start declares f2, which is not there).
 */
import assert from 'node:assert/strict';
import { after as afterAll, test } from 'node:test';

import { type VerifyOptions } from '../../src/commands/verify.js';
import { verifyKeyAWith, type Verified } from './verify-lines.js';
import { encodeEvent } from '../../src/encode/validate.js';
import { syslogParts } from '../../src/encode/rfc5424.js';
import type { LogEvent } from '../../src/event/types.js';
import { Counters } from '../../src/monitor/counters.js';
import { VERSION } from '../../src/version.js';
import { after, KEY_A, SD_ID, tempDir, timedRun, type Run } from '../seal/sealed-stream.js';

const root = tempDir('lw-review-cef-line-time-');
afterAll(root.cleanup);

const verify = (lines: readonly string[], opts: Partial<VerifyOptions> = {}): Promise<Verified> => verifyKeyAWith(root.dir, lines, opts);

const text = (r: Run): string[] => r.records.map((b) => b.toString());
const day = (d: number, h = 0): Date => new Date(Date.UTC(2026, 4, d, h));
const AGENT = 'web-01';

/** Seals one CEF log event read from a line (as timedRun seals its events) onto a run. */
function sealCefLine(run: Run, message: string, stated: Date, read: Date): void {
  const ctx = { counters: new Counters(), cef: { vendor: 'logward', product: 'logward', version: VERSION } };
  const ev: LogEvent = {
    fields: {
      '@timestamp': stated.toISOString(),
      message,
      'event.id': `ev-line-${run.records.length}`,
      'event.kind': 'event',
      'event.created': read.toISOString(),
      'agent.id': AGENT,
      'host.name': 'host-1',
    },
    source: { input: 'app', identity: 'f1' },
    severity: 6,
    classId: 'test',
    name: 'test',
  };
  const enc = encodeEvent(ev, 'cef', ctx);
  assert.ok(enc.valid, String(enc.payload));
  const parts = syslogParts(ev, enc.payload, { sdId: SD_ID, msgId: 'CEF', agentId: AGENT, hostname: AGENT });
  run.records.push(Buffer.from(run.sealer.sealBytes(parts).message));
}

function stream(): { f1: Run; f2: Run; f3: Run; line: number } {
  const agent = { agent: AGENT, format: 'cef' as const };
  const f1 = timedRun(KEY_A, 3, { ...agent, at: day(3, 10) });
  const f2 = timedRun(KEY_A, 3, { ...agent, at: day(3, 12) }, after(f1));
  const f3 = timedRun(KEY_A, 3, { ...agent, at: day(3, 14) }, after(f2));
  // A line someone wrote, naming f3's session and the seq it will be sealed at, and stating an old time.
  const seq = f3.sealer.nextSeq();
  const line = f3.records.length;
  sealCefLine(f3, `Invalid user logward 9 started; session ${f3.sealer.session} first_seq ${seq}; no previous session from 203.0.113.9`, day(1), day(3, 15));
  // The run goes on after it.
  for (let i = 0; i < 3; i++) sealCefLine(f3, `Accepted publickey for bob from 10.1.0.${i} port 22 ssh2`, day(3, 16), day(3, 16));
  return { f1, f2, f3, line };
}

test('the intact stream passes (the line changes nothing)', async () => {
  const { f1, f2, f3 } = stream();
  const lines = [...text(f1), ...text(f2), ...text(f3)];
  for (const opts of [{}, { acceptFreshStarts: [f1.sealer.session] }]) {
    const r = await verify(lines, opts);
    assert.equal(r.code, 0, r.out);
  }
});

test('CEF: a log line holding a start text is not the agent\'s clock: a run deleted before the run that holds it is still a failure', async () => {
  const { f1, f2, f3, line } = stream();
  // f2 deleted whole; f3 cut after the line (the end of the stream). Where they are stored does not matter.
  const tampered = [...text(f1), ...text(f3).slice(0, line + 1)];
  assert.ok(f2.records.length > 0);
  const r = await verify(tampered, { acceptFreshStarts: [f1.sealer.session] });
  assert.equal(r.code, 1, `a whole run (session ${f2.sealer.session}) was deleted, yet:\n${r.out}`);
  assert.match(r.out, new RegExp(`^GAP session=${f2.sealer.session} `, 'm'), r.out);
});

test('CEF: the same without --accept-fresh-start names the first start of the stream, f1, as the FRESH START (it is not one)', async () => {
  const { f1, f3, line } = stream();
  const r = await verify([...text(f1), ...text(f3).slice(0, line + 1)]);
  assert.equal(r.code, 1, r.out);
  assert.doesNotMatch(r.out, new RegExp(`^FRESH START session=${f1.sealer.session} `, 'm'), r.out);
});

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { after as afterAll, test } from 'node:test';

import { runVerify, type VerifyOptions } from '../../src/commands/verify.js';
import { keyIdOf } from '../../src/seal/chain.js';
import { encodeFrames } from '../../src/sink/framing.js';
import { Collect } from '../helpers/collect.js';
import { AgentProcess, makeAgentEnv, TestReceiver, until, writeAgentConfig } from '../helpers/agent.js';
import { makeTestPki } from '../helpers/certs.js';
import { runCli } from '../helpers/cli.js';
import { RsyslogReceiver, rsyslogMissing } from '../interop/rsyslog-fixture.js';
import { after, agentRun, asLines, KEY_A, KEY_B, loseAndDeclare, more, tempDir, writeKeyFile } from '../seal/sealed-stream.js';
import { freePort } from '../sink/util.js';

const root = tempDir('lw-verify-');
afterAll(root.cleanup);
let n = 0;

interface Outcome {
  code: number;
  out: string;
  err: string;
}

async function verifyData(data: Buffer, keys: Buffer[] = [KEY_A], extra: Partial<VerifyOptions> = {}): Promise<Outcome> {
  const dir = join(root.dir, `case-${++n}`);
  mkdirSync(dir);
  const keyFile = writeKeyFile(dir, 'hmac.key', keys.map((k) => k.toString('hex')).join('\n') + '\n');
  const file = join(dir, 'received.log');
  writeFileSync(file, data);
  return verifyFile(file, keyFile, extra);
}

async function verifyFile(file: string, keyFile: string, extra: Partial<VerifyOptions> = {}, stdin?: Readable): Promise<Outcome> {
  const stdout = new Collect();
  const stderr = new Collect();
  const code = await runVerify({ keyFile, file, ...extra }, { stdout, stderr, ...(stdin ? { stdin } : {}) });
  return { code, out: stdout.text, err: stderr.text };
}

const summaryOf = (o: Outcome): string => o.out.trim().split('\n').pop() ?? '';

test('an intact stream exits 0 with a summary of records and sessions', async () => {
  const run = agentRun(KEY_A, 20);
  const o = await verifyData(asLines(run.records));
  assert.equal(o.code, 0, o.out + o.err);
  assert.equal(summaryOf(o), 'intact: 21 records in 1 session, 0 declared restarts, 0 replays');
  assert.match(o.out, new RegExp(`^START declared: session ${run.sealer.session} starts at 0 \\(no previous session\\)$`, 'm'));
});

test('one changed byte exits 1 naming the session and sequence of that record only', async () => {
  const run = agentRun(KEY_A, 10);
  const data = asLines(run.records);
  const line7 = data.indexOf(run.records[7]!);
  const at = data.indexOf('Failed password', line7) + 7; // "Failed p" -> "Failed P"
  data[at] = 0x50;
  const o = await verifyData(data);
  assert.equal(o.code, 1, o.out);
  const findings = o.out.split('\n').filter((l) => /^(ALTERED|GAP|REORDERED|FORGED|UNDECLARED)/.test(l));
  assert.deepEqual(findings, [`ALTERED session=${run.sealer.session} seq=7 (line 8: its chain does not match its content and predecessor)`]);
  assert.match(summaryOf(o), /^FAILED: 1 altered; 11 records/);
});

test('a changed byte in the seal itself is reported too (malformed, or the chain breaks)', async () => {
  const run = agentRun(KEY_A, 5);
  const data = asLines(run.records);
  const at = data.indexOf(' seq="3"') + 6;
  data[at] = 0x34; // seq="4": a duplicate seq with another chain
  const o = await verifyData(data);
  assert.equal(o.code, 1, o.out);
  assert.match(o.out, /GAP session=\S+ seq=3 \(1 missing\)/);
  assert.match(o.out, /ALTERED session=\S+ seq=4 \(line [45]/);
});

test('a deleted record is a GAP naming the missing sequence', async () => {
  const run = agentRun(KEY_A, 10);
  const recs = [...run.records];
  recs.splice(4, 1);
  const o = await verifyData(asLines(recs));
  assert.equal(o.code, 1);
  assert.match(o.out, new RegExp(`^GAP session=${run.sealer.session} seq=4 \\(1 missing\\)$`, 'm'));
  const three = [...run.records];
  three.splice(4, 3);
  const o3 = await verifyData(asLines(three));
  assert.match(o3.out, new RegExp(`^GAP session=${run.sealer.session} seq 4..6 \\(3 missing\\)$`, 'm'));
  assert.match(summaryOf(o3), /^FAILED: 1 gap \(3 missing\)/);
});

test('two swapped records are REORDERED, not an edit or a gap', async () => {
  const run = agentRun(KEY_A, 10);
  const recs = [...run.records];
  [recs[3], recs[4]] = [recs[4]!, recs[3]!];
  const o = await verifyData(asLines(recs));
  assert.equal(o.code, 1);
  assert.match(o.out, new RegExp(`^REORDERED session=${run.sealer.session} seq=3 \\(line 5: arrived after a later seq of its session\\)$`, 'm'));
  assert.doesNotMatch(o.out, /^(GAP|ALTERED)/m);
});

test('identical replays (at-least-once delivery) are counted, folded into runs, and the stream is intact', async () => {
  const run = agentRun(KEY_A, 10);
  const recs = [...run.records.slice(0, 8), ...run.records.slice(5, 8), ...run.records.slice(8), run.records[2]!];
  const o = await verifyData(asLines(recs));
  assert.equal(o.code, 0, o.out);
  const s = run.sealer.session;
  assert.match(o.out, new RegExp(`^REPLAY session=${s} seq 5..7 \\(3 records identical, at-least-once delivery; lines 9..11\\)$`, 'm'));
  assert.match(o.out, new RegExp(`^REPLAY session=${s} seq=2 \\(identical, at-least-once delivery; line 15\\)$`, 'm'));
  assert.equal(summaryOf(o), 'intact: 15 records in 1 session, 0 declared restarts, 4 replays');
});

test('an agent restart declared by its start event is reported as declared, exit 0', async () => {
  const r1 = agentRun(KEY_A, 5);
  const r2 = agentRun(KEY_A, 5, after(r1, 65530n)); // a crash skips up to a reservation block
  const r3 = agentRun(KEY_A, 2, after(r2));
  const o = await verifyData(asLines([...r1.records, ...r2.records, ...r3.records]));
  assert.equal(o.code, 0, o.out);
  assert.match(o.out, new RegExp(`^RESTART declared: session ${r1.sealer.session} ended at seq 5, session ${r2.sealer.session} starts at 65536$`, 'm'));
  assert.match(o.out, new RegExp(`^RESTART declared: session ${r2.sealer.session} ended at seq 65541, session ${r3.sealer.session} starts at 65542$`, 'm'));
  assert.equal(summaryOf(o), 'intact: 15 records in 3 sessions, 2 declared restarts, 0 replays');
});

test('a restart whose start event was deleted exits 1 as an undeclared restart', async () => {
  const r1 = agentRun(KEY_A, 5);
  const r2 = agentRun(KEY_A, 5, after(r1));
  const o = await verifyData(asLines([...r1.records, ...r2.records.slice(1)]));
  assert.equal(o.code, 1, o.out);
  assert.match(o.out, new RegExp(`^UNDECLARED RESTART session=${r2.sealer.session} \\(first seq received 7\\) after session=${r1.sealer.session} \\(last seq received 5\\)`, 'm'));
});

test('a file that starts inside a session (an older file rotated away) is intact, its first record unanchored', async () => {
  const run = agentRun(KEY_A, 8);
  const o = await verifyData(asLines(run.records.slice(3)));
  assert.equal(o.code, 0, o.out);
  assert.match(o.out, new RegExp(`^UNANCHORED session=${run.sealer.session} seq=3: the data starts inside this session`, 'm'));
  assert.equal(summaryOf(o), 'intact: 6 records in 1 session, 0 declared restarts, 0 replays');
});

test('a lost tail of a session shows as a GAP against the next start declaration', async () => {
  const r1 = agentRun(KEY_A, 5);
  const r2 = agentRun(KEY_A, 2, after(r1));
  const o = await verifyData(asLines([...r1.records.slice(0, 4), ...r2.records]));
  assert.equal(o.code, 1);
  assert.match(o.out, new RegExp(`^GAP session=${r1.sealer.session} seq 4..5 \\(2 missing\\)$`, 'm'));
});

test('a lost range declared by the agent (a queue write that failed) is reported as LOST declared, exit 0, and counted in the summary', async () => {
  const run = agentRun(KEY_A, 5); // 0..5
  loseAndDeclare(run, 3); // 6..8 sealed and never written, 9 declares them
  more(run, 2);
  const o = await verifyData(asLines(run.records));
  assert.equal(o.code, 0, o.out);
  const s = run.sealer.session;
  assert.match(o.out, new RegExp(`^LOST declared: session ${s} seq 6..8 \\(3 seqs\\) sealed but never written \\(cause EIO; declared by seq 9, line 7\\)$`, 'm'));
  assert.doesNotMatch(o.out, /^GAP/m);
  assert.equal(summaryOf(o), 'intact: 9 records in 1 session, 0 declared restarts, 1 declared loss (3 seqs), 0 replays');
  // Across a restart, with a second loss of one seq.
  const r2 = agentRun(KEY_A, 2, after(run));
  loseAndDeclare(r2, 1);
  const o2 = await verifyData(asLines([...run.records, ...r2.records]));
  assert.equal(o2.code, 0, o2.out);
  assert.match(o2.out, new RegExp(`^LOST declared: session ${r2.sealer.session} seq=15 \\(1 seq\\) sealed but never written`, 'm'));
  assert.equal(summaryOf(o2), 'intact: 13 records in 2 sessions, 1 declared restart, 2 declared losses (4 seqs), 0 replays');
});

test('a gap no declaration covers still fails next to a declared one: records deleted at the receiver are not excused', async () => {
  const run = agentRun(KEY_A, 5);
  loseAndDeclare(run, 2); // 6..7 lost, 8 declares
  more(run, 3);
  const recs = [...run.records];
  recs.splice(5, 1); // seq 5, right before the declared range, deleted
  recs.splice(7, 1); // seq 10, after the declaration, deleted
  const o = await verifyData(asLines(recs));
  assert.equal(o.code, 1, o.out);
  const s = run.sealer.session;
  assert.match(o.out, new RegExp(`^GAP session=${s} seq=5 \\(1 missing\\)$`, 'm'));
  assert.match(o.out, new RegExp(`^GAP session=${s} seq=10 \\(1 missing\\)$`, 'm'));
  assert.match(o.out, new RegExp(`^LOST declared: session ${s} seq 6..7 `, 'm'));
  assert.match(summaryOf(o), /^FAILED: 2 gaps \(2 missing\); 8 records in 1 session, 0 declared restarts, 1 declared loss \(2 seqs\), 0 replays$/);
});

test('a lost-range declaration with a wrong chain, or contradicted by what was received, exits 1', async () => {
  const wrong = agentRun(KEY_A, 4);
  loseAndDeclare(wrong, 2, (d) => ({ ...d, lastChain: '0'.repeat(64) }));
  const o = await verifyData(asLines(wrong.records));
  assert.equal(o.code, 1, o.out);
  assert.match(o.out, /^GAP session=\S+ seq 5..6 \(2 missing\)$/m);
  assert.match(o.out, /^ALTERED session=\S+ seq=7 \(line 6: its chain does not match its content and predecessor\)$/m);
  assert.doesNotMatch(o.out, /^LOST declared/m);

  const run = agentRun(KEY_A, 4);
  const gone = loseAndDeclare(run, 2); // 5..6 lost, 7 declares
  const o2 = await verifyData(asLines([...run.records.slice(0, 5), ...gone, ...run.records.slice(5)]));
  assert.equal(o2.code, 1, o2.out);
  assert.match(o2.out, /^LOST MISMATCH session=\S+ seq=7 \(line 8: declares seq 5..6 lost, but seq 6, inside it, was received\)$/m);
  assert.match(summaryOf(o2), /^FAILED: 1 lost-range declaration not matching the stream; /);
});

test('key rotation: records sealed with the old key verify when the key file holds both; without it they are FORGED', async () => {
  const r1 = agentRun(KEY_A, 4);
  const r2 = agentRun(KEY_B, 4, after(r1));
  const data = asLines([...r1.records, ...r2.records]);
  const both = await verifyData(data, [KEY_B, KEY_A]);
  assert.equal(both.code, 0, both.out);
  assert.match(summaryOf(both), /^intact: 10 records in 2 sessions, 1 declared restart/);
  const newOnly = await verifyData(data, [KEY_B]);
  assert.equal(newOnly.code, 1);
  const forged = newOnly.out.split('\n').filter((l) => l.startsWith('FORGED'));
  assert.equal(forged.length, 5);
  assert.equal(forged[0], `FORGED session=${r1.sealer.session} seq=0 (line 1: unknown key id "${keyIdOf(KEY_A)}" not in the key file)`);
});

test('a record sealed with an unknown key inside a valid stream is FORGED', async () => {
  const run = agentRun(KEY_A, 6);
  const intruder = agentRun(KEY_B, 3, { previousSession: run.sealer.session, lastSeq: 6n, lastChain: run.sealer.lastChain(), nextSeq: 7n });
  const forged = Buffer.from(intruder.records[2]!.toString('latin1').replaceAll(intruder.sealer.session, run.sealer.session), 'latin1');
  const o = await verifyData(asLines([...run.records, forged]));
  assert.equal(o.code, 1);
  assert.match(o.out, new RegExp(`^FORGED session=${run.sealer.session} seq=9 \\(line 8: unknown key id "${keyIdOf(KEY_B)}"`, 'm'));
});

test('raw octet-counted frames are detected and verified; a changed byte names the frame', async () => {
  const r1 = agentRun(KEY_A, 6);
  const r2 = agentRun(KEY_A, 3, after(r1));
  const frames = encodeFrames([...r1.records, ...r2.records]);
  const o = await verifyData(frames);
  assert.equal(o.code, 0, o.out);
  assert.match(summaryOf(o), /^intact: 11 records in 2 sessions, 1 declared restart/);
  const bad = Buffer.from(frames);
  bad[bad.indexOf('Failed password', bad.indexOf(r1.records[3]!)) + 1] = 0x41;
  const ob = await verifyData(bad);
  assert.equal(ob.code, 1);
  assert.match(ob.out, /^ALTERED session=\S+ seq=3 \(frame 4:/m);
  const truncated = await verifyData(frames.subarray(0, frames.length - 5));
  assert.equal(truncated.code, 1);
  assert.match(truncated.out, /^UNREADABLE frame 11: the data ends inside this frame/m);
  const forcedLines = await verifyData(frames, [KEY_A], { format: 'lines' });
  assert.equal(forcedLines.code, 1, '--format lines on a capture reads nothing sealed per line');
});

/** rsyslog's and syslog-ng's file formats that keep the structured data, built as they write them. */
function asTemplate(records: Buffer[], template: 'protocol23' | 'syslog-ng-sdata'): Buffer {
  return Buffer.concat(
    records.map((r) => {
      const s = r.toString('latin1');
      const m = /^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(s)!;
      const rest = s.slice(m[0].length);
      if (template === 'protocol23') return Buffer.from(`<${m[1]}>1 ${m[2]} ${m[3]} ${m[4]} ${m[5]} ${m[6]} ${rest}\n`, 'latin1');
      const tag = m[5] === '-' ? m[4] : `${m[4]}[${m[5]}]`;
      return Buffer.from(`${m[2]!.replace(/\.\d+Z$/, '+00:00')} ${m[3]} ${tag}: ${rest}\n`, 'latin1');
    }),
  );
}

test('rsyslog RSYSLOG_SyslogProtocol23Format and a syslog-ng "$MSGHDR$SDATA $MSG" file verify like raw lines', async () => {
  const r1 = agentRun(KEY_A, 4);
  const r2 = agentRun(KEY_A, 4, after(r1));
  for (const t of ['protocol23', 'syslog-ng-sdata'] as const) {
    const data = asTemplate([...r1.records, ...r2.records], t);
    const o = await verifyData(data);
    assert.equal(o.code, 0, `${t}: ${o.out}`);
    const bad = Buffer.from(data);
    bad[bad.indexOf('Failed password', bad.indexOf(`seq="2"`)) + 2] = 0x41;
    const ob = await verifyData(bad);
    assert.match(ob.out, /^ALTERED session=\S+ seq=2 \(line 3:/m, t);
  }
});

test('other hosts\' lines are counted as foreign (listed with --verbose); an unreadable line of ours is MALFORMED', async () => {
  const run = agentRun(KEY_A, 4);
  const foreign = Buffer.from('<13>1 2026-01-02T03:04:05Z db-02 postgres 77 - - connection received\nJan  2 03:04:05 mail postfix[12]: connect from x\n');
  const data = Buffer.concat([asLines(run.records.slice(0, 2)), foreign, Buffer.from('\n'), asLines(run.records.slice(2))]);
  const o = await verifyData(data);
  assert.equal(o.code, 0, o.out);
  assert.equal(summaryOf(o), 'intact: 5 records in 1 session, 0 declared restarts, 0 replays, 2 foreign lines skipped');
  assert.doesNotMatch(o.out, /^FOREIGN/m);
  const v = await verifyData(data, [KEY_A], { verbose: true });
  assert.match(v.out, /^FOREIGN line 3: no logward@32473 structured data$/m);
  assert.match(v.out, /^FOREIGN line 4: /m);
  const broken = Buffer.from(data);
  broken[broken.indexOf(' chain="', broken.indexOf('seq="3"')) + 8] = 0x47; // "G": not hex
  const b = await verifyData(broken);
  assert.equal(b.code, 1);
  assert.match(b.out, new RegExp(`^MALFORMED line 7 \\(session=${run.sealer.session} seq=3\\): chain is not 64 lowercase hex characters$`, 'm'));
  assert.match(b.out, /^GAP session=\S+ seq=3 \(1 missing\)$/m);
});

test('a file whose template dropped the structured data fails with a hint saying why', async () => {
  const run = agentRun(KEY_A, 3);
  // RSYSLOG_FileFormat, exactly as rsyslog 8.2302 writes an RFC 5424 record.
  const lines = run.records.map((r) => {
    const s = r.toString('latin1');
    const m = /^<\d+>1 (\S+) (\S+) (\S+) (\S+) \S+ /.exec(s)!;
    return `${m[1]} ${m[2]} ${m[4] === '-' ? m[3] : `${m[3]}[${m[4]}]`} ${s.slice(s.indexOf('] {') + 2)}\n`;
  });
  const o = await verifyData(Buffer.from(lines.join(''), 'latin1'));
  assert.equal(o.code, 1);
  assert.match(o.out, /^HINT: 4 lines look like logward events without their structured data/m);
  assert.match(summaryOf(o), /^FAILED: no record sealed with logward@32473 in .*received\.log \(4 foreign lines\)$/);
});

test('bad arguments exit 2: a key file others can read, a missing key or input, a bad SD-ID or format', async () => {
  const dir = join(root.dir, 'args');
  mkdirSync(dir);
  const data = join(dir, 'r.log');
  writeFileSync(data, asLines(agentRun(KEY_A, 1).records));
  const loose = writeKeyFile(dir, 'loose.key', KEY_A.toString('hex'), 0o644);
  const good = writeKeyFile(dir, 'good.key', KEY_A.toString('hex'));
  const cases: [Partial<VerifyOptions> & { keyFile: string; file: string }, RegExp][] = [
    [{ keyFile: loose, file: data }, /HMAC key refused \(permissions\)/],
    [{ keyFile: join(dir, 'none.key'), file: data }, /HMAC key refused \(unreadable\)/],
    [{ keyFile: good, file: join(dir, 'missing.log') }, /missing\.log: ENOENT/],
    [{ keyFile: good, file: dir }, /EISDIR/],
    [{ keyFile: good, file: data, sdId: 'no at sign' }, /--sd-id/],
    [{ keyFile: good, file: data, format: 'json' as 'auto' }, /--format/],
  ];
  for (const [o, why] of cases) {
    const r = await verifyFile(o.file, o.keyFile, o);
    assert.equal(r.code, 2, JSON.stringify(o));
    assert.match(r.err, why);
  }
  const ok = await verifyFile('-', good, {}, Readable.from([readFileSync(data)]));
  assert.equal(ok.code, 0, 'RECEIVED "-" reads stdin');
});

test('end to end: logward run into a receiver, restarted in between; tampering is caught', { timeout: 120_000 }, async () => {
  const env = await makeAgentEnv(join(root.dir, 'e2e'));
  const receiver = new TestReceiver(env);
  const port = await receiver.start();
  const config = writeAgentConfig(env, port);
  const log = join(env.logs, 'auth.log');
  try {
    for (let run = 0; run < 2; run++) {
      const agent = new AgentProcess(config);
      try {
        await agent.waitForLog(/logward started/);
        for (let i = 0; i < 5; i++) appendFileSync(log, `Jan  2 03:04:0${i} web sshd[1]: Failed password for root from 203.0.113.${run * 10 + i} port 22 ssh2\n`);
        await until(() => receiver.originals().length >= (run + 1) * 5, 'lines delivered');
        if (run === 1) {
          // Far more than the resend window, spread over time: whatever a reconnect under load
          // replays, most of these arrive exactly once.
          for (let burst = 0; burst < 6; burst++) {
            let text = '';
            for (let i = 0; i < 50; i++) text += `Jan  2 03:05:0${burst} web sshd[2]: Failed password for root from 203.0.113.1${burst}${i % 10} port ${1000 + burst * 50 + i} ssh2\n`;
            appendFileSync(log, text);
            await new Promise((r) => setTimeout(r, 500));
          }
          await until(() => new Set(receiver.originals()).size >= 310, 'the bursts delivered');
        }
      } finally {
        assert.equal((await agent.stop('SIGTERM')).code, 0, agent.stderr.slice(-2000));
      }
    }
  } finally {
    await receiver.stop();
  }
  const received = join(env.dir, 'received.log');
  const o = await verifyFile(received, env.keyFile);
  assert.equal(o.code, 0, o.out);
  assert.match(o.out, /^RESTART declared: session [0-9a-f]+ ended at seq \d+, session [0-9a-f]+ starts at \d+$/m);
  assert.match(summaryOf(o), /^intact: \d+ records in 2 sessions, 1 declared restart/);

  const lines = readFileSync(received, 'latin1').split('\n').filter(Boolean);
  const seqOf = (l: string): string => /seq="(\d+)"/.exec(l)![1]!;
  // A restart replays the resend window (at-least-once): tamper with a record that arrived once.
  const once = (l: string): boolean => lines.filter((x) => x.includes(` seq="${seqOf(l)}" `)).length === 1;
  const target = lines.findIndex((l, i) => l.includes('203.0.113.1') && once(l) && lines[i + 1] !== undefined && lines[i + 1]!.includes('203.0.113.1') && once(lines[i + 1]!));
  assert.ok(target >= 0, 'a record received exactly once, followed by another');
  const write = (ls: string[]): string => {
    const f = join(env.dir, `tampered-${++n}.log`);
    writeFileSync(f, ls.join('\n') + '\n', 'latin1');
    return f;
  };
  const edited = [...lines];
  edited[target] = edited[target]!.replace('203.0.113.1', '203.0.113.9');
  const e = await verifyFile(write(edited), env.keyFile);
  assert.equal(e.code, 1);
  assert.match(e.out, new RegExp(`^ALTERED session=\\S+ seq=${seqOf(lines[target]!)} `, 'm'));
  const deleted = lines.filter((_l, i) => i !== target);
  const d = await verifyFile(write(deleted), env.keyFile);
  assert.equal(d.code, 1);
  assert.match(d.out, new RegExp(`^GAP session=\\S+ seq=${seqOf(lines[target]!)} \\(1 missing\\)$`, 'm'));
  const swapped = [...lines];
  [swapped[target], swapped[target + 1]] = [swapped[target + 1]!, swapped[target]!];
  const s = await verifyFile(write(swapped), env.keyFile);
  assert.equal(s.code, 1);
  assert.match(s.out, new RegExp(`^REORDERED session=\\S+ seq=${seqOf(lines[target]!)} `, 'm'));
});

const rsyslogSkip = rsyslogMissing();

test('real rsyslog: %rawmsg%, RSYSLOG_SyslogProtocol23Format and an SD-keeping template verify; RSYSLOG_FileFormat is explained', { skip: rsyslogSkip, timeout: 60_000 }, async () => {
  const dir = join(root.dir, 'rsyslog');
  mkdirSync(dir);
  const pki = await makeTestPki(dir);
  const port = await freePort();
  const files = { p23: join(dir, 'p23.log'), sd: join(dir, 'sd.log'), fileFormat: join(dir, 'fileformat.log'), traditional: join(dir, 'traditional.log') };
  const rsyslog = new RsyslogReceiver({
    dir,
    port,
    ca: pki.ca,
    cert: pki.serverCert,
    key: pki.serverKey,
    extraOutputs: [
      { file: files.p23, template: 'RSYSLOG_SyslogProtocol23Format' },
      { file: files.sd, string: '%TIMESTAMP:::date-rfc3339% %HOSTNAME% %syslogtag% %STRUCTURED-DATA% %msg%\n' },
      { file: files.fileFormat, template: 'RSYSLOG_FileFormat' },
      { file: files.traditional, template: 'RSYSLOG_TraditionalFileFormat' },
    ],
  });
  await rsyslog.start();
  const r1 = agentRun(KEY_A, 10);
  const r2 = agentRun(KEY_A, 10, after(r1, 100n));
  const records = [...r1.records, ...r2.records];
  try {
    await new Promise<void>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(pki.ca), servername: 'localhost' }, () => {
        s.end(encodeFrames(records), () => resolve());
      });
      s.on('error', reject);
    });
    await rsyslog.waitForStored(records.length);
  } finally {
    await rsyslog.stop('SIGTERM');
  }
  const keyFile = writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex'));
  for (const f of [rsyslog.outFile, files.p23, files.sd]) {
    const o = await verifyFile(f, keyFile);
    assert.equal(o.code, 0, `${f}:\n${o.out}\n${readFileSync(f, 'utf8').slice(0, 600)}`);
    assert.equal(summaryOf(o), 'intact: 22 records in 2 sessions, 1 declared restart, 0 replays', f);
  }
  for (const f of [files.fileFormat, files.traditional]) {
    const o = await verifyFile(f, keyFile);
    assert.equal(o.code, 1, f);
    assert.match(o.out, /^HINT: 22 lines look like logward events without their structured data/m, f);
  }
  const p23 = readFileSync(files.p23);
  p23[p23.indexOf('Failed password', p23.indexOf('seq="4"')) + 3] = 0x41;
  writeFileSync(files.p23, p23);
  const bad = await verifyFile(files.p23, keyFile);
  assert.equal(bad.code, 1);
  assert.match(bad.out, /^ALTERED session=\S+ seq=4 \(line 5:/m);
});

test('via the CLI: logward verify prints findings and exits 1 on a gap', async (t) => {
  // Until the lead wires the command, `verify --help` falls through to the root help (exit 0, no --key).
  const help = await runCli(['verify', '--help']);
  if (help.code !== 0 || !help.stdout.includes('--key')) {
    t.skip('`logward verify` is not wired into src/cli.ts yet');
    return;
  }
  const dir = join(root.dir, 'cli');
  mkdirSync(dir);
  const keyFile = writeKeyFile(dir, 'hmac.key', KEY_A.toString('hex'));
  const run = agentRun(KEY_A, 5);
  const ok = join(dir, 'ok.log');
  writeFileSync(ok, asLines(run.records));
  const good = await runCli(['verify', '--key', keyFile, ok]);
  assert.equal(good.code, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /^intact: 6 records in 1 session/m);
  const gap = join(dir, 'gap.log');
  writeFileSync(gap, asLines([...run.records.slice(0, 2), ...run.records.slice(3)]));
  const bad = await runCli(['verify', '--key', keyFile, gap]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^GAP session=\S+ seq=2 \(1 missing\)$/m);
  const usage = await runCli(['verify', '--key', join(dir, 'nope'), ok]);
  assert.equal(usage.code, 2);
});

/**
 * `logward run` tailing files into a REAL rsyslog TLS receiver, which is
 * stopped for 30 s (SIGTERM in one run, SIGKILL in the other) while 200,000
 * lines are written. Counted from what rsyslog stored, never from the sender.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { parseRfc5424 } from '../../src/encode/rfc5424.js';
import { loadHmacKey } from '../../src/seal/key.js';
import { parseReceivedLine } from '../../src/seal/received.js';
import { verifyStream, type SealedEntry } from '../../src/seal/verify.js';
import { AgentProcess, makeAgentEnv, SD_ID, sleep, until, writeAgentConfig } from '../helpers/agent.js';
import { freePort } from '../sink/util.js';
import { RsyslogReceiver, rsyslogMissing } from './rsyslog-fixture.js';

const skip = rsyslogMissing();
const root = mkdtempSync(join(tmpdir(), 'logward-run-rsyslog-'));
after(() => rmSync(root, { recursive: true, force: true }));

const TOTAL = 200_000;
const OUTAGE_MS = 30_000;

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`rsyslog ${signal}ed for 30 s while 200,000 lines are written: every line delivered, in order per file`, { skip, timeout: 300_000 }, async () => {
    const env = await makeAgentEnv(join(root, signal));
    const port = await freePort();
    const rsyslog = new RsyslogReceiver({ dir: env.dir, port, ca: env.pki.ca, cert: env.pki.serverCert, key: env.pki.serverKey });
    await rsyslog.start();
    // The DESIGN default resend window (4 MiB, 30 s): what a killed receiver accepted but never stored is replayed.
    const agent = new AgentProcess(writeAgentConfig(env, port, { resendWindow: '{ bytes: 4MiB, age: 30s }' }));
    try {
      await agent.waitForLog(/logward started/);
      const files = ['a.log', 'b.log'].map((f) => join(env.logs, f));
      let written = 0;
      const writer = (async () => {
        while (written < TOTAL) {
          const chunk = ['', ''];
          for (let i = 0; i < 1000 && written < TOTAL; i++, written++) chunk[written % 2] += `${written % 2 ? 'b' : 'a'} ${written} ${'x'.repeat(100)}\n`;
          appendFileSync(files[0]!, chunk[0]!);
          appendFileSync(files[1]!, chunk[1]!);
          await sleep(20);
        }
      })();
      await sleep(500);
      await rsyslog.stop(signal);
      await sleep(OUTAGE_MS);
      await rsyslog.start();
      await writer;
      const distinct = (): number => new Set(originals(rsyslog)).size;
      await until(() => rsyslog.storedCount() >= TOTAL && distinct() >= TOTAL, `all ${TOTAL} lines stored by rsyslog`, 180_000);
      assert.equal((await agent.stop('SIGTERM')).code, 0, agent.stderr.slice(-3000));
      await sleep(500);
      await rsyslog.stop('SIGTERM');

      const got = originals(rsyslog);
      assert.equal(new Set(got).size, TOTAL, 'every line delivered');
      const seen = new Set<string>();
      const next = { a: 0, b: 1 };
      for (const l of got) {
        if (seen.has(l)) continue;
        seen.add(l);
        const [file, n] = l.split(' ');
        const k = file as 'a' | 'b';
        assert.equal(Number(n), next[k], `first copies arrive in file order (${l.slice(0, 20)})`);
        next[k] += 2;
      }
      const key = await loadHmacKey(env.keyFile);
      const entries: SealedEntry[] = rsyslog.storedRecords().map((r) => {
        const p = parseReceivedLine(r.toString('utf8'), SD_ID);
        assert.ok(p.ok);
        return p.entry;
      });
      const v = verifyStream(entries, new Map([[key.keyId, key.key]]));
      assert.equal(v.ok, true, JSON.stringify(v.findings.slice(0, 5), (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
      const duplicates = got.length - TOTAL;
      // Duplicates come only from replaying the resend window after the reconnect(s).
      assert.ok(duplicates <= 4 * 1024 * 1024 / 100, `duplicates (${duplicates}) within one resend window`);
    } finally {
      await agent.stop('SIGKILL');
      await rsyslog.stop('SIGKILL');
    }
  });
}

function originals(r: RsyslogReceiver): string[] {
  const out: string[] = [];
  for (const rec of r.storedRecords()) {
    const ev = JSON.parse(parseRfc5424(rec.toString('utf8')).msg ?? '{}') as { event?: { original?: string; module?: string } };
    if (ev.event?.module !== 'logward' && typeof ev.event?.original === 'string') out.push(ev.event.original.split(' ').slice(0, 2).join(' '));
  }
  return out;
}

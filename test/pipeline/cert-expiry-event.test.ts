/**
 * A running agent whose client certificate and whose destination's certificate
 * both expire within 30 days ships two certificate_expiring alerts that pass
 * its own schema: the SIEM gets event.action certificate_expiring (ECS) / act
 * (CEF), not schema_invalid stand-ins that a rule on the action never sees,
 * and the heartbeat's "invalid" count stays 0 for them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import pino from 'pino';

import { loadConfig } from '../../src/config/load.js';
import { decodeCef } from '../../src/encode/cef.js';
import { parseRfc5424 } from '../../src/encode/rfc5424.js';
import { Pipeline } from '../../src/pipeline.js';
import { makeAgentEnv, TestReceiver, until, writeAgentConfig } from '../helpers/agent.js';
import { issue, makeCa } from '../helpers/certs.js';

const root = mkdtempSync(join(tmpdir(), 'logward-cert-expiry-'));
after(() => rmSync(root, { recursive: true, force: true }));

const DAY = 24 * 60 * 60 * 1000;

interface Shipped {
  action: string | undefined;
  tags: string;
  /** ECS only: the tls object. */
  tls?: unknown;
}

function shipped(record: string, format: 'ecs' | 'cef'): Shipped {
  const msg = parseRfc5424(record).msg ?? '';
  if (format === 'ecs') {
    const doc = JSON.parse(msg) as { event?: { action?: string }; tags?: string[]; tls?: unknown };
    return { action: doc.event?.action, tags: (doc.tags ?? []).join(','), tls: doc.tls };
  }
  const cef = decodeCef(msg);
  return { action: cef.extension['act'], tags: cef.extension['cs1'] ?? '' };
}

for (const format of ['ecs', 'cef'] as const) {
  test(`certificates expiring within 30 days reach the destination as valid certificate_expiring alerts (${format})`, { timeout: 60_000 }, async () => {
    const env = await makeAgentEnv(join(root, format));
    const ca = await makeCa('expiry test CA');
    const notAfter = new Date(Date.now() + 10 * DAY);
    const [server, client] = await Promise.all([
      issue(ca, { cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server', notAfter }),
      issue(ca, { cn: 'logward-agent', dns: ['logward-agent'], usage: 'client', notAfter }),
    ]);
    const put = (name: string, text: string): string => {
      const file = join(env.dir, name);
      writeFileSync(file, text, { mode: 0o600 });
      return file;
    };
    const pki = { ...env.pki, ca: put('soon-ca.pem', ca.cert), serverCert: put('soon-server.pem', server.cert), serverKey: put('soon-server.key', server.key) };
    const receiver = new TestReceiver({ ...env, pki });
    const port = await receiver.start();
    after(() => receiver.stop());
    const file = writeAgentConfig({ ...env, pki }, port);
    const clientCert = put('soon-client.pem', client.cert);
    const clientKey = put('soon-client.key', client.key);
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace('format: ecs', `format: ${format}`)
        .replace('    dead_after: 5s', `    dead_after: 5s\n    cert: ${clientCert}\n    key: ${clientKey}`),
    );
    const p = new Pipeline(await loadConfig(file), { log: pino({ level: 'silent' }) });
    await p.start();
    let got: Shipped[];
    try {
      // The start event and the two alerts raised while it was being written: whatever the alerts became.
      await until(() => receiver.records.length >= 3, 'three records');
    } finally {
      await p.stop();
      got = receiver.records.map((r) => shipped(r, format));
    }
    assert.deepEqual(got.filter((s) => s.tags.includes('schema_invalid')), [], 'no internal event was shipped as a schema_invalid stand-in');
    assert.ok(got.every((s) => s.action !== undefined), 'every record names its action');
    const alerts = got.filter((s) => s.action === 'certificate_expiring');
    assert.equal(alerts.length, 2);
    assert.equal(p.counters.get('events_invalid'), 0);
    if (format === 'ecs') {
      const whose = alerts.map((a) => Object.keys(a.tls as object)[0]).sort();
      assert.deepEqual(whose, ['client', 'server']);
      const expected = notAfter.toISOString().slice(0, 19);
      for (const a of alerts) {
        const side = Object.values(a.tls as object)[0] as { x509: { not_after: string } };
        assert.equal(side.x509.not_after.slice(0, 19), expected);
      }
    }
  });
}

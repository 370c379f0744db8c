/**
 * The webhook against a real HTTPS server on 127.0.0.1 with a certificate
 * from the test's own CA.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Counters } from '../../src/monitor/counters.js';
import { RuleEngine, type RuleAlert } from '../../src/rules/engine.js';
import { WebhookSender, WebhookUrlError, checkWebhookUrl, maskUrl, type WebhookDeps } from '../../src/rules/webhook.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { ev, rule, until } from './helpers.js';

interface Hit {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

interface Hook {
  server: Server;
  url: string;
  hits: Hit[];
  /** Status per request, in order; the last one repeats. */
  statuses: number[];
  /** Body of each response. */
  responseBody: string;
  /** When set, requests are held until release() is called. */
  hold: boolean;
  release(): void;
  close(): Promise<void>;
}

let dir: string;
let pki: TestPki;
let ca: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'logward-webhook-'));
  pki = await makeTestPki(dir);
  ca = readFileSync(pki.ca, 'utf8');
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function hook(statuses: number[] = [200]): Promise<Hook> {
  const held: (() => void)[] = [];
  const h: Hook = {
    server: createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }),
    url: '',
    hits: [],
    statuses,
    responseBody: 'ok',
    hold: false,
    release: () => held.splice(0).forEach((f) => f()),
    close: () =>
      new Promise<void>((resolve) => {
        h.release();
        h.server.closeAllConnections();
        h.server.close(() => resolve());
      }),
  };
  h.server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const i = h.hits.length;
      h.hits.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString() });
      const answer = (): void => {
        res.statusCode = h.statuses[Math.min(i, h.statuses.length - 1)] as number;
        res.end(h.responseBody);
      };
      if (h.hold) held.push(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => h.server.listen(0, '127.0.0.1', resolve));
  h.url = `https://127.0.0.1:${(h.server.address() as AddressInfo).port}/hooks/T0/B0/secret-token?key=secret-key`;
  return h;
}

const fast = { retries: 3, minDelayMs: 5, maxDelayMs: 20 };

function sender(over: Partial<WebhookDeps> = {}): { s: WebhookSender; counters: Counters; logged: unknown[] } {
  const counters = new Counters();
  const logged: unknown[] = [];
  const s = new WebhookSender({ counters, ca, retry: fast, log: { warn: (obj, msg) => logged.push([obj, msg]) }, ...over });
  return { s, counters, logged };
}

const settled = (c: Counters) => c.get('webhook_sent') + c.get('webhook_failed') + c.get('webhook_cancelled');

function alertOf(rule = 'credential-stuffing'): RuleAlert {
  return {
    rule,
    groupKey: { 'source.ip': '203.0.113.9' },
    count: 3,
    threshold: 3,
    windowMs: 1000,
    firstEventId: 'a',
    lastEventId: 'b',
    firstAt: '2026-11-22T10:00:00.000Z',
    lastAt: '2026-11-22T10:00:00.500Z',
  };
}

describe('webhook delivery', () => {
  test('each firing reaches the hook as exactly one JSON POST of the alert', async () => {
    const h = await hook();
    const { s, counters } = sender({ agent: { id: 'web-01', hostName: 'web-01' } });
    const alerts: RuleAlert[] = [];
    let now = 0;
    const engine = new RuleEngine([rule({ name: 'r', threshold: 3, webhook: h.url })], { counters, onAlert: (a) => alerts.push(a), now: () => now, webhook: s });
    for (const ip of ['203.0.113.9', '198.51.100.7']) {
      for (let i = 0; i < 10; i++) {
        engine.observe(ev({ 'event.outcome': 'failure', 'source.ip': ip }, `${ip}-${i}`));
        now++;
      }
    }
    assert.equal(alerts.length, 2);
    await until(() => settled(counters) === 2, 'two deliveries');
    await engine.stop();
    assert.equal(counters.get('webhook_sent'), 2);
    assert.equal(h.hits.length, 2);
    const bodies = h.hits.map((x) => JSON.parse(x.body) as Record<string, unknown>);
    for (const hit of h.hits) {
      assert.equal(hit.method, 'POST');
      assert.equal(hit.contentType, 'application/json');
      assert.equal(hit.url, '/hooks/T0/B0/secret-token?key=secret-key');
    }
    assert.deepEqual(bodies.map((b) => (b['groupKey'] as Record<string, string>)['source.ip']).sort(), ['198.51.100.7', '203.0.113.9']);
    const first = bodies.find((b) => (b['groupKey'] as Record<string, string>)['source.ip'] === '203.0.113.9') as Record<string, unknown>;
    assert.equal(first['rule'], 'r');
    assert.equal(first['count'], 3);
    assert.equal(first['firstEventId'], '203.0.113.9-0');
    assert.equal(first['lastEventId'], '203.0.113.9-2');
    assert.deepEqual(first['agent'], { id: 'web-01', hostName: 'web-01' });
    assert.equal(first['webhook'], undefined, 'the hook URL is not echoed in the body');
    await h.close();
  });

  test('500 then 200: retried and delivered once', async () => {
    const h = await hook([500, 200]);
    const { s, counters } = sender();
    s.send(h.url, alertOf());
    await until(() => settled(counters) === 1, 'delivery');
    assert.equal(counters.get('webhook_sent'), 1);
    assert.equal(counters.get('webhook_attempts_failed'), 1);
    assert.equal(h.hits.length, 2);
    assert.equal(h.hits[0]?.body, h.hits[1]?.body);
    await s.stop();
    await h.close();
  });

  test('400: not retried, counted as failed, logged without the secret parts of the URL', async () => {
    const h = await hook([400]);
    const { s, counters, logged } = sender();
    s.send(h.url, alertOf());
    await until(() => settled(counters) === 1, 'delivery');
    assert.equal(h.hits.length, 1);
    assert.equal(counters.get('webhook_failed'), 1);
    assert.equal(counters.get('webhook_sent'), 0);
    const text = JSON.stringify(logged);
    assert.match(text, /HTTP 400/);
    assert.ok(text.includes('127.0.0.1'));
    assert.ok(!text.includes('secret'), text);
    await s.stop();
    await h.close();
  });

  test('a large response body is read up to a cap and discarded', async () => {
    const h = await hook([200]);
    h.responseBody = 'x'.repeat(1024 * 1024);
    const { s, counters } = sender();
    s.send(h.url, alertOf());
    await until(() => settled(counters) === 1, 'delivery');
    assert.equal(counters.get('webhook_sent'), 1);
    await s.stop();
    await h.close();
  });

  test('server down: retried, then counted as failed; the engine keeps working meanwhile', async () => {
    const h = await hook();
    const url = h.url;
    await h.close(); // nothing listens on the port any more
    const { s, counters, logged } = sender();
    const alerts: RuleAlert[] = [];
    let now = 0;
    const engine = new RuleEngine([rule({ name: 'r', threshold: 1, webhook: url })], { counters, onAlert: (a) => alerts.push(a), now: () => now, webhook: s });
    engine.observe(ev({ 'event.outcome': 'failure', 'source.ip': '203.0.113.9' }));
    for (let i = 0; i < 100; i++) {
      engine.observe(ev({ 'event.outcome': 'failure', 'source.ip': `10.0.0.${i}` }));
      now++;
    }
    assert.equal(alerts.length, 101, 'every alert is raised while deliveries are failing');
    await until(() => settled(counters) === 100, 'all deliveries settled');
    assert.equal(counters.get('webhook_failed'), 100);
    assert.equal(counters.get('webhook_dropped'), 1, 'one over the 100 pending');
    assert.equal(counters.get('webhook_attempts_failed'), 400, 'first attempt + 3 retries each');
    assert.ok(!JSON.stringify(logged).includes('secret'));
    assert.match(JSON.stringify(logged), /ECONNREFUSED/);
    await engine.stop();
  });

  test('a hook whose certificate is not trusted is never sent to', async () => {
    const h = await hook();
    const { s, counters, logged } = sender({ ca: undefined, retry: { retries: 0, minDelayMs: 1, maxDelayMs: 1 } });
    s.send(h.url, alertOf());
    await until(() => settled(counters) === 1, 'delivery');
    assert.equal(counters.get('webhook_failed'), 1);
    assert.equal(h.hits.length, 0);
    assert.match(JSON.stringify(logged), /certificate/i);
    await s.stop();
    await h.close();
  });

  test('http:// is refused, and the error shows no credentials', () => {
    const { s, counters } = sender();
    assert.throws(() => s.send('http://user:pw@127.0.0.1:9/hook?token=abc', alertOf()), (err: unknown) => {
      assert.ok(err instanceof WebhookUrlError);
      assert.ok(!err.message.includes('pw') && !err.message.includes('abc'), err.message);
      return true;
    });
    assert.throws(() => checkWebhookUrl('not a url'), WebhookUrlError);
    assert.equal(settled(counters), 0);
    assert.equal(maskUrl('https://user:pw@hooks.example.com:8443/T/B/tok?x=1'), 'https://hooks.example.com:8443/…');
  });

  test('stop cancels waiting retries and aborts a hung request after its grace, then drops new calls', async () => {
    const h = await hook([200]);
    h.hold = true;
    const { s, counters } = sender({ stopGraceMs: 50, maxPending: 2, retry: { retries: 5, minDelayMs: 60_000, maxDelayMs: 60_000 } });
    s.send(h.url, alertOf('one'));
    s.send(h.url, alertOf('two'));
    s.send(h.url, alertOf('three'));
    assert.equal(counters.get('webhook_dropped'), 1, 'beyond maxPending');
    await until(() => h.hits.length === 2, 'both requests at the server');
    await s.stop();
    assert.equal(s.pendingCount, 0);
    assert.equal(counters.get('webhook_cancelled'), 2);
    s.send(h.url, alertOf('four'));
    assert.equal(counters.get('webhook_dropped'), 2, 'after stop');
    await h.close();
  });

  test('stop does not wait for a retry due in a minute', async () => {
    const h = await hook([503]);
    const { s, counters } = sender({ retry: { retries: 5, minDelayMs: 60_000, maxDelayMs: 60_000 } });
    s.send(h.url, alertOf());
    await until(() => counters.get('webhook_attempts_failed') === 1, 'first attempt');
    await s.stop();
    assert.equal(counters.get('webhook_cancelled'), 1);
    assert.equal(h.hits.length, 1);
    await h.close();
  });
});

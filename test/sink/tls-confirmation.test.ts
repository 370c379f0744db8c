/**
 * TLS 1.3 with a client certificate: the connector waits for the server to
 * confirm (its session ticket) before handing the connection over. Bytes the
 * server sends during that wait are discarded like any it sends later, and
 * counted in bytes_received_discarded like those. Whatever the connector
 * listened to during the handshake is no longer listened to once the
 * connection is handed over.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import { Counters } from '../../src/monitor/counters.js';
import { CertExpiryWatch } from '../../src/sink/cert-expiry.js';
import { createTlsConnector } from '../../src/sink/tls.js';
import { makeTestPki } from '../helpers/certs.js';
import { listenLocal, sinkOptions, tempDir, until } from './util.js';

test('bytes the server sends while the TLS 1.3 confirmation is awaited are counted as received and discarded', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const greeting = Buffer.from('server says hello before anything else');
  const server = tls.createServer(
    {
      cert: readFileSync(pki.serverCert),
      key: readFileSync(pki.serverKey),
      ca: readFileSync(pki.ca),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (s) => {
      s.on('error', () => undefined);
      // Written as soon as the server accepted our certificate: it travels with the session ticket.
      s.write(greeting);
    },
  );
  const port = await listenLocal(t, server);
  const counters = new Counters();
  const connect = createTlsConnector(
    sinkOptions({ hosts: [], caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey }),
    new CertExpiryWatch(() => undefined),
    counters,
  );
  for (let i = 0; i < 5; i++) {
    const before = counters.get('bytes_received_discarded');
    const conn = await connect({ host: 'localhost', port, label: 'rx' });
    assert.equal(conn.tlsVersion, 'TLSv1.3');
    // What arrives after the hand-over is the session's to count; the test stands in for it.
    let after = 0;
    conn.socket.on('data', (d: Buffer) => (after += d.length));
    await until(() => counters.get('bytes_received_discarded') - before + after === greeting.length, `all ${greeting.length} bytes accounted for (connection ${i})`, 5_000);
    conn.socket.destroy();
  }
});

test('the connector leaves none of its listeners on the sockets it hands over (early data, tickets, errors), connection after connection', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const EVENTS = ['data', 'session', 'secureConnect', 'error', 'close', 'end'] as const;
  const counts = (s: net.Socket): Record<string, number> => Object.fromEntries(EVENTS.map((e) => [e, s.listenerCount(e)]));
  const modes = [
    // Handed over on the server's ticket; the early-data listener was on meanwhile.
    { name: 'TLS 1.3 with a client certificate', version: 'TLSv1.3', clientCert: true },
    // Handed over at 'secureConnect', before the server's ticket arrives.
    { name: 'TLS 1.3 without a client certificate', version: 'TLSv1.3', clientCert: false },
    { name: 'TLS 1.2 with a client certificate', version: 'TLSv1.2', clientCert: true },
  ] as const;
  for (const mode of modes) {
    const server = tls.createServer(
      {
        cert: readFileSync(pki.serverCert),
        key: readFileSync(pki.serverKey),
        ca: readFileSync(pki.ca),
        requestCert: mode.clientCert,
        rejectUnauthorized: true,
        minVersion: mode.version,
        maxVersion: mode.version,
      },
      (s) => {
        s.on('error', () => undefined);
        s.write('hello');
      },
    );
    const port = await listenLocal(t, server);
    const client = mode.clientCert ? { certFile: pki.clientCert, keyFile: pki.clientKey } : {};
    const connect = createTlsConnector(sinkOptions({ hosts: [], caFile: pki.ca, ...client }), new CertExpiryWatch(() => undefined), new Counters());
    // What Node itself keeps on a connected socket nobody else listens to (its own handshake listeners
    // go right after 'secureConnect').
    const raw = tls.connect({
      host: 'localhost',
      port,
      ca: readFileSync(pki.ca),
      ...(mode.clientCert ? { cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) } : {}),
    });
    const own = await new Promise<Record<string, number>>((resolve) => raw.once('secureConnect', () => setImmediate(() => resolve(counts(raw)))));
    raw.destroy();
    for (let i = 0; i < 10; i++) {
      const conn = await connect({ host: 'localhost', port, label: 'rx' });
      assert.equal(conn.tlsVersion, mode.version);
      assert.deepEqual(counts(conn.socket), own, `${mode.name}, connection ${i}`);
      conn.socket.destroy();
    }
  }
});

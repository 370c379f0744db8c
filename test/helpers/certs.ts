/**
 * Test PKI made on the fly with selfsigned (pure JS over WebCrypto, EC P-256
 * so it is fast): a CA, server and client certificates signed by it, and the
 * bad cases the sink must refuse (expired, wrong name, foreign CA). Keys are
 * throwaway test keys written into the test's own temp dir, never committed.
 */

import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { issue, makeCa, type Issued, type KeyPair } from '../../src/demo/pki.js';

export { issue, makeCa, type Issued, type KeyPair };

const DAY = 24 * 60 * 60 * 1000;

export interface TestPki {
  ca: string;
  /** Server certificate for "localhost" and 127.0.0.1, and its key. */
  serverCert: string;
  serverKey: string;
  serverFingerprint256: string;
  /** Client certificate (clientAuth) for mutual TLS, and its key. */
  clientCert: string;
  clientKey: string;
  /** Server certificate that expired yesterday (same CA). */
  expiredCert: string;
  expiredKey: string;
  /** Server certificate for another name only ("other.example"). */
  wrongNameCert: string;
  wrongNameKey: string;
  /** A second CA, and a server certificate for localhost/127.0.0.1 under it. */
  otherCa: string;
  otherServerCert: string;
  otherServerKey: string;
  /** Client certificate from the other CA (a receiver trusting only `ca` rejects it). */
  otherClientCert: string;
  otherClientKey: string;
}

function put(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

export async function makeTestPki(dir: string): Promise<TestPki> {
  const ca = await makeCa();
  const otherCa = await makeCa('some other CA');
  const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const [server, client, expired, wrongName, otherServer, otherClient] = await Promise.all([
    issue(ca, { cn: 'localhost', ...local, usage: 'server' }),
    issue(ca, { cn: 'logward-agent', dns: ['logward-agent'], usage: 'client' }),
    issue(ca, {
      cn: 'localhost',
      ...local,
      usage: 'server',
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    }),
    issue(ca, { cn: 'other.example', dns: ['other.example'], usage: 'server' }),
    issue(otherCa, { cn: 'localhost', ...local, usage: 'server' }),
    issue(otherCa, { cn: 'intruder', dns: ['intruder'], usage: 'client' }),
  ]);
  return {
    ca: put(dir, 'ca.pem', ca.cert),
    serverCert: put(dir, 'server.pem', server.cert),
    serverKey: put(dir, 'server.key', server.key),
    serverFingerprint256: server.fingerprint256,
    clientCert: put(dir, 'client.pem', client.cert),
    clientKey: put(dir, 'client.key', client.key),
    expiredCert: put(dir, 'expired.pem', expired.cert),
    expiredKey: put(dir, 'expired.key', expired.key),
    wrongNameCert: put(dir, 'wrong-name.pem', wrongName.cert),
    wrongNameKey: put(dir, 'wrong-name.key', wrongName.key),
    otherCa: put(dir, 'other-ca.pem', otherCa.cert),
    otherServerCert: put(dir, 'other-server.pem', otherServer.cert),
    otherServerKey: put(dir, 'other-server.key', otherServer.key),
    otherClientCert: put(dir, 'other-client.pem', otherClient.cert),
    otherClientKey: put(dir, 'other-client.key', otherClient.key),
  };
}

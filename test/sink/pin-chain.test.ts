/**
 * pin_sha256 matches any certificate of the server's chain: the leaf, an
 * intermediate the server presents, or the CA the chain was verified against
 * (README/schema). A pin that matches none still fails during the handshake,
 * with pin_mismatch, before any application byte is written.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import { SyslogReceiver } from '../../src/sink/receiver.js';
import { SyslogSink } from '../../src/sink/sink.js';
import { chainFingerprints } from '../../src/sink/tls.js';
import { issue, makeCa, makeTestPki } from '../helpers/certs.js';
import { MemorySource } from './fake-source.js';
import { failures, harness, sinkOptions, tempDir, until } from './util.js';

const SECRET = 'pinned-secret-payload';

function records(): Buffer[] {
  return [1, 2].map((i) => Buffer.from(`<134>1 - h logward - - - ${SECRET} ${i}`));
}

interface Chain {
  rootFile: string;
  /** Leaf followed by the intermediate, as the server presents them. */
  serverChainFile: string;
  serverKeyFile: string;
  fp: { root: string; intermediate: string; leaf: string };
}

async function makeChain(dir: string): Promise<Chain> {
  const root = await makeCa('logward test root CA');
  const intermediate = await makeCa('logward test intermediate CA', root);
  const leaf = await issue(intermediate, { cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
  const rootFile = path.join(dir, 'root.pem');
  const serverChainFile = path.join(dir, 'chain.pem');
  const serverKeyFile = path.join(dir, 'leaf.key');
  writeFileSync(rootFile, root.cert);
  writeFileSync(serverChainFile, `${leaf.cert.trimEnd()}\n${intermediate.cert.trimEnd()}\n`);
  writeFileSync(serverKeyFile, leaf.key, { mode: 0o600 });
  return {
    rootFile,
    serverChainFile,
    serverKeyFile,
    fp: {
      root: new X509Certificate(root.cert).fingerprint256,
      intermediate: new X509Certificate(intermediate.cert).fingerprint256,
      leaf: leaf.fingerprint256,
    },
  };
}

async function deliverWithPin(
  t: { after: (fn: () => unknown) => void },
  dir: string,
  server: { cert: string; key: string },
  caFile: string,
  pin: string,
): Promise<{ rx: SyslogReceiver; h: ReturnType<typeof harness>; src: MemorySource; received: Buffer[] }> {
  const received: Buffer[] = [];
  const rx = new SyslogReceiver({ host: '127.0.0.1', port: 0, ...server, out: path.join(dir, `out-${pin.slice(0, 8)}`), onRecord: (m) => received.push(m) });
  const { port } = await rx.start();
  t.after(() => rx.stop());
  const src = new MemorySource();
  src.push(...records());
  const h = harness();
  const sink = new SyslogSink(sinkOptions({ hosts: [`localhost:${port}`], caFile, pinSha256: [pin] }), src, h.deps);
  t.after(() => sink.stop(0));
  await sink.start();
  return { rx, h, src, received };
}

test('a pin of the intermediate, of the root CA, or of the leaf is accepted when the server presents leaf + intermediate', async (t) => {
  const dir = tempDir(t);
  const chain = await makeChain(dir);
  const server = { cert: chain.serverChainFile, key: chain.serverKeyFile };
  for (const [which, fp] of Object.entries(chain.fp)) {
    // Pins are accepted in any case and without colons too.
    const pin = which === 'root' ? fp.replace(/:/g, '').toLowerCase() : fp;
    const { h, received } = await deliverWithPin(t, dir, server, chain.rootFile, pin);
    await until(() => received.length === 2 || failures(h.events).length > 0, `delivery with the ${which} pinned`);
    assert.deepEqual(failures(h.events), [], `pin of the ${which}`);
    assert.deepEqual(received, records());
  }
});

test('a pin of the CA is accepted when the server presents only its leaf (the CA comes from the trust store)', async (t) => {
  const dir = tempDir(t);
  const pki = await makeTestPki(dir);
  const caFp = new X509Certificate(readFileSync(pki.ca)).fingerprint256;
  const { h, received } = await deliverWithPin(t, dir, { cert: pki.serverCert, key: pki.serverKey }, pki.ca, caFp);
  await until(() => received.length === 2 || failures(h.events).length > 0, 'delivery with the CA pinned');
  assert.deepEqual(failures(h.events), []);
  assert.deepEqual(received, records());
});

test('a pin that matches no certificate of the chain fails with pin_mismatch before any application byte', async (t) => {
  const dir = tempDir(t);
  const chain = await makeChain(dir);
  // A certificate from another CA: valid elsewhere, in no way part of this chain.
  const foreign = await issue(await makeCa('unrelated CA'), { cn: 'localhost', dns: ['localhost'], usage: 'server' });
  const { rx, h, src } = await deliverWithPin(
    t,
    dir,
    { cert: chain.serverChainFile, key: chain.serverKeyFile },
    chain.rootFile,
    foreign.fingerprint256,
  );
  await until(() => failures(h.events).length >= 2, 'two failed attempts');
  const f = failures(h.events);
  assert.deepEqual(new Set(f.map((e) => e.reason)), new Set(['pin_mismatch']), JSON.stringify(f[0]));
  assert.match(f[0]?.detail ?? '', /matches none/);
  assert.equal(rx.stats().bytes, 0, 'no application byte reached the receiver');
  assert.equal(rx.stats().records, 0);
  assert.equal(src.sent, 0n, 'nothing was written to the socket');
  assert.ok(!h.events.some((e) => e.type === 'connected'));
});

/** A PeerCertificate as Node hands it to checkServerIdentity, reduced to what the pin walk reads. */
function peer(pem: string, issuer?: tls.PeerCertificate): tls.DetailedPeerCertificate {
  const x = new X509Certificate(pem);
  const p = { fingerprint256: x.fingerprint256, raw: x.raw } as tls.DetailedPeerCertificate;
  if (issuer) p.issuerCertificate = issuer as tls.DetailedPeerCertificate;
  return p;
}

test('the pin walk follows only links whose issuer really signed the child, and ends at self-references and loops', async () => {
  const root = await makeCa('walk root');
  const intermediate = await makeCa('logward test intermediate CA', root);
  const leaf = await issue(intermediate, { cn: 'localhost', dns: ['localhost'], usage: 'server' });
  const fp = (pem: string): string => new X509Certificate(pem).fingerprint256;

  // Root linked to itself, as Node does for a self-signed root.
  const rootPeer = peer(root.cert);
  rootPeer.issuerCertificate = rootPeer;
  assert.deepEqual(chainFingerprints(peer(leaf.cert, peer(intermediate.cert, rootPeer))), [fp(leaf.cert), fp(intermediate.cert), fp(root.cert)]);

  // A leaf of another CA "linked" to a public copy of the pinned CA: the signature does not verify, nothing above the leaf counts.
  // Same name as the real intermediate: only the signature check can tell them apart.
  const other = await issue(await makeCa('logward test intermediate CA'), { cn: 'localhost', dns: ['localhost'], usage: 'server' });
  assert.deepEqual(chainFingerprints(peer(other.cert, peer(intermediate.cert, rootPeer))), [fp(other.cert)]);

  // A loop (intermediate -> root -> intermediate) ends at the certificate seen before.
  const i = peer(intermediate.cert);
  const r = peer(root.cert, i);
  i.issuerCertificate = r;
  assert.deepEqual(chainFingerprints(peer(leaf.cert, i)), [fp(leaf.cert), fp(intermediate.cert), fp(root.cert)]);
});

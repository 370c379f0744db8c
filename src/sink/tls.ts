/**
 * RFC 5425 client connections (node:tls).
 *
 * Invariants:
 * - The chain is always verified against the configured CA file:
 *   rejectUnauthorized is hard-wired to true and there is no option to turn it
 *   off. A failed check never falls back to anything: the attempt fails with a
 *   reason (see classify.ts) and the sink retries later.
 * - The name checked is server_name when set, else the host entry's own name;
 *   tls.checkServerIdentity checks IP SANs when that name is an IP literal.
 *   SNI is only sent for DNS names (RFC 6066 forbids IP literals there).
 * - Pins (SHA-256 of the DER certificate) are checked inside
 *   checkServerIdentity, i.e. during the handshake, before any byte is sent.
 *   A pin may match any certificate of the server's chain: the leaf, an
 *   intermediate it presents, or the CA it chains to from the trust store
 *   (Node's getPeerCertificate(true) walk, which checkServerIdentity gets).
 *   Each link of that walk must carry the parent's valid signature over the
 *   child, so a pinned certificate counts only when its key really vouches
 *   for the leaf: presenting a public copy of a pinned CA next to a leaf from
 *   another CA matches nothing.
 * - CA, certificate and key are read from disk on every connect, so rotated
 *   files take effect at the next reconnect without a restart.
 * - Connect plus handshake must finish within deadAfterMs: a plaintext server
 *   that silently waits for a syslog frame would otherwise hang us forever.
 *
 * Trap (TLS 1.3): the client's 'secureConnect' fires when IT has finished the
 * handshake, before the server has looked at our client certificate. A
 * rejection arrives afterwards, as an alert ('error') or just a close ('end',
 * what a Node server does), and whatever was written in between is discarded
 * by the server's TLS layer although write() "succeeded". Two defences:
 * 1. With TLS 1.3 and a client certificate, the connection is only handed
 *    over once the server confirmed it: servers (OpenSSL, GnuTLS) send their
 *    NewSessionTicket after accepting the client's Finished, which Node
 *    reports as 'session'. A close or alert before that is a failed attempt,
 *    reason client_cert_rejected, and nothing was written. A server that sends
 *    no tickets is accepted after CONFIRM_WAIT_MS.
 * 2. If a rejection still comes after the hand-over, the sink treats a
 *    connection that fails right after it was made as a failed attempt (with
 *    backoff), and the next connection resumes from the queue's replay
 *    position; nothing written on such a connection is taken as delivered.
 */

import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { ConnectFailure, PIN_MISMATCH_CODE, classifyConnectError } from './classify.js';
import type { CertExpiryWatch } from './cert-expiry.js';
import { discardIncoming } from './discard.js';
import type { Counters } from '../monitor/counters.js';
import type { HostTarget } from './failover.js';
import type { SinkOptions } from './types.js';

export interface StreamConnection {
  readonly socket: net.Socket;
  readonly target: HostTarget;
  /** "TLSv1.3", "TLSv1.2"; absent for plain TCP. */
  readonly tlsVersion?: string;
}

export type StreamConnector = (target: HostTarget) => Promise<StreamConnection>;

/** How long to wait for a TLS 1.3 server's session ticket (its acceptance of our certificate). */
export const CONFIRM_WAIT_MS = 1000;

/** Lower-case hex without separators or a "sha-256:"/"sha256:" prefix. */
export function normalizeFingerprint(fp: string): string {
  return fp
    .trim()
    .replace(/^sha-?256:/i, '')
    .replace(/[:\s]/g, '')
    .toLowerCase();
}

/** Longer chains than this are not walked for pins (real ones have 2-4 certificates). */
const MAX_PIN_CHAIN = 10;

/**
 * SHA-256 fingerprints of the leaf and of each issuer above it, as far as every
 * link is a verified signature. The leaf comes first (its pin needs no walk).
 * The walk stops at a self-issued root (Node links it to itself), at any
 * certificate seen before, and after MAX_PIN_CHAIN certificates. Throws when
 * a certificate Node handed over does not parse.
 */
export function chainFingerprints(leaf: tls.PeerCertificate): string[] {
  const out = [leaf.fingerprint256];
  const seen = new Set(out);
  let child = leaf;
  let childX509: X509Certificate | undefined;
  while (out.length < MAX_PIN_CHAIN) {
    const parent = (child as Partial<tls.DetailedPeerCertificate>).issuerCertificate;
    if (!parent || !parent.fingerprint256 || seen.has(parent.fingerprint256)) break;
    childX509 ??= new X509Certificate(child.raw);
    const parentX509 = new X509Certificate(parent.raw);
    if (!childX509.checkIssued(parentX509) || !childX509.verify(parentX509.publicKey)) break;
    out.push(parent.fingerprint256);
    seen.add(parent.fingerprint256);
    child = parent;
    childX509 = parentX509;
  }
  return out;
}

/** checkServerIdentity for a fixed expected name plus optional SHA-256 pins. */
export function makeServerIdentityCheck(
  expectedName: string,
  pinsSha256: readonly string[],
): (hostname: string, cert: tls.PeerCertificate) => Error | undefined {
  const pins = new Set(pinsSha256.map(normalizeFingerprint));
  return (_hostname, cert) => {
    const nameError = tls.checkServerIdentity(expectedName, cert);
    if (nameError) return nameError;
    if (pins.size === 0 || pins.has(normalizeFingerprint(cert.fingerprint256))) return undefined;
    let chain = [cert.fingerprint256];
    let note = '';
    try {
      chain = chainFingerprints(cert);
    } catch (walkErr) {
      // Fail closed: only what was walked before the error (the leaf) can match, and it did not.
      note = `; the chain above the leaf could not be read: ${(walkErr as Error).message}`;
    }
    if (chain.some((fp) => pins.has(normalizeFingerprint(fp)))) return undefined;
    const err = new Error(
      `the server's certificate chain (sha256 ${chain.join(', ')}) matches none of the ${pins.size} configured pin(s)${note}`,
    ) as NodeJS.ErrnoException;
    err.code = PIN_MISMATCH_CODE;
    return err;
  };
}

interface TlsMaterial {
  ca: Buffer | string[];
  cert?: Buffer;
  key?: Buffer;
}

async function readMaterial(file: string, what: string, host: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new ConnectFailure(host, 'credentials', `cannot read ${what} ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function loadMaterial(opts: SinkOptions, host: string): Promise<TlsMaterial> {
  // `ca: system`: Node's bundled Mozilla roots, still verified; never "no verification".
  let ca: Buffer | string[];
  if (opts.systemCa) ca = [...tls.rootCertificates];
  else if (!opts.caFile) throw new ConnectFailure(host, 'credentials', 'no CA file configured');
  else ca = await readMaterial(opts.caFile, 'CA file', host);
  if (!opts.certFile && !opts.keyFile) return { ca };
  if (!opts.certFile || !opts.keyFile) {
    throw new ConnectFailure(host, 'credentials', 'client certificate and key must be configured together');
  }
  const [cert, key] = await Promise.all([
    readMaterial(opts.certFile, 'client certificate', host),
    readMaterial(opts.keyFile, 'client key', host),
  ]);
  return { ca, cert, key };
}

/** `counters`: bytes the server sends while the TLS 1.3 confirmation is awaited go to bytes_received_discarded. */
export function createTlsConnector(opts: SinkOptions, expiry: CertExpiryWatch, counters?: Counters): StreamConnector {
  return async (target) => {
    const material = await loadMaterial(opts, target.label);
    if (material.cert) {
      try {
        const x = new X509Certificate(material.cert);
        expiry.check('client', { fingerprint256: x.fingerprint256, subject: x.subject, notAfter: x.validTo });
      } catch (err) {
        throw new ConnectFailure(target.label, 'credentials', `client certificate ${opts.certFile}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    const expectedName = opts.serverName ?? target.host;
    return new Promise<StreamConnection>((resolve, reject) => {
      let socket: tls.TLSSocket;
      try {
        socket = tls.connect({
          host: target.host,
          port: target.port,
          servername: net.isIP(expectedName) ? undefined : expectedName,
          ca: material.ca,
          cert: material.cert,
          key: material.key,
          minVersion: 'TLSv1.2',
          rejectUnauthorized: true,
          checkServerIdentity: makeServerIdentityCheck(expectedName, opts.pinSha256),
        });
      } catch (err) {
        // Bad PEM in ca/cert/key makes tls.connect throw synchronously.
        reject(new ConnectFailure(target.label, 'credentials', (err as Error).message, { cause: err }));
        return;
      }
      let settled = false;
      /** Removes the early-data listener (set while the TLS 1.3 confirmation is awaited). */
      let stopDiscarding: (() => void) | undefined;
      // Every listener the connector added goes: the session adds its own, and a connection handed
      // over before the server's ticket would otherwise keep these closures until a ticket comes.
      const cleanup = (): void => {
        settled = true;
        clearTimeout(timer);
        socket.off('secureConnect', onSecure);
        socket.off('error', onError);
        socket.off('close', onClose);
        socket.off('end', onClose);
        socket.off('session', onSession);
        socket.off('session', onConfirmed);
        stopDiscarding?.();
      };
      const fail = (f: ConnectFailure): void => {
        if (settled) return;
        cleanup();
        socket.destroy();
        reject(f);
      };
      const onError = (err: Error): void => {
        const { reason, detail } = classifyConnectError(err, awaitingConfirmation);
        fail(new ConnectFailure(target.label, reason, detail, { cause: err }));
      };
      const onClose = (): void => {
        fail(
          awaitingConfirmation
            ? new ConnectFailure(
                target.label,
                'client_cert_rejected',
                'the server closed the connection right after the TLS 1.3 handshake instead of confirming it: it did not accept our client certificate',
              )
            : new ConnectFailure(target.label, 'handshake_aborted', 'connection closed during the TLS handshake'),
        );
      };
      const onSecure = (): void => {
        if (settled) return;
        if (!socket.authorized) {
          // Unreachable with rejectUnauthorized: true; kept so that no future edit can send unverified.
          fail(new ConnectFailure(target.label, 'unknown_ca', String(socket.authorizationError)));
          return;
        }
        const peer = socket.getPeerCertificate();
        if (peer && peer.valid_to) {
          expiry.check(
            'server',
            { fingerprint256: peer.fingerprint256, subject: String(peer.subject?.CN ?? ''), notAfter: peer.valid_to },
            target.label,
          );
        }
        const tlsVersion = socket.getProtocol() ?? undefined;
        if (tlsVersion !== 'TLSv1.3' || !material.cert || confirmed) {
          handOver(tlsVersion);
          return;
        }
        awaitingConfirmation = true;
        clearTimeout(timer);
        timer = setTimeout(() => handOver(tlsVersion), Math.min(CONFIRM_WAIT_MS, opts.deadAfterMs));
        timer.unref();
        onConfirmed = () => setImmediate(() => handOver(tlsVersion));
        // Hand over outside OpenSSL's read callback: a write from inside it was observed to get lost.
        socket.once('session', onConfirmed);
        // 'end' and the ticket are only seen while the socket reads. Application data the server
        // sends meanwhile is discarded like any it sends later, and counted the same way.
        stopDiscarding = discardIncoming(socket, counters);
      };
      let onConfirmed = (): void => undefined;
      const handOver = (tlsVersion: string | undefined): void => {
        if (settled) return;
        cleanup();
        resolve({ socket, target, ...(tlsVersion ? { tlsVersion } : {}) });
      };
      // A ticket can arrive in the same read as the end of the handshake.
      let confirmed = false;
      const onSession = (): void => {
        confirmed = true;
      };
      socket.once('session', onSession);
      let awaitingConfirmation = false;
      let timer = setTimeout(() => {
        fail(
          socket.connecting
            ? new ConnectFailure(target.label, 'timeout', `no TCP connection within ${opts.deadAfterMs} ms`)
            : new ConnectFailure(
                target.label,
                'handshake_timeout',
                `no TLS handshake within ${opts.deadAfterMs} ms (a plaintext server waiting for data looks like this)`,
              ),
        );
      }, opts.deadAfterMs);
      timer.unref();
      socket.once('secureConnect', onSecure);
      socket.on('error', onError);
      socket.once('close', onClose);
      socket.once('end', onClose);
    });
  };
}

/**
 * Throwaway certificates for `logward demo` (and the tests): a CA and
 * certificates signed by it, EC P-256 via selfsigned (pure JS over WebCrypto,
 * fast). Written only into a private temp directory; never meant for real use.
 */

import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface Issued extends KeyPair {
  /** SHA-256 of the DER certificate, "AB:CD:…" like tls.PeerCertificate.fingerprint256. */
  fingerprint256: string;
}

const DAY = 24 * 60 * 60 * 1000;

/** A CA: self-signed, or an intermediate when `issuer` signs it. */
export async function makeCa(cn = 'logward demo CA', issuer?: KeyPair): Promise<KeyPair> {
  const r = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...(issuer ? { ca: issuer } : {}),
    notBeforeDate: new Date(Date.now() - DAY),
    notAfterDate: new Date(Date.now() + 365 * DAY),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: r.cert, key: r.private };
}

export interface IssueOptions {
  cn: string;
  dns?: string[];
  ips?: string[];
  /** Default: both serverAuth and clientAuth. */
  usage?: 'server' | 'client' | 'both';
  notBefore?: Date;
  notAfter?: Date;
}

export async function issue(ca: KeyPair, o: IssueOptions): Promise<Issued> {
  const altNames = [
    ...(o.dns ?? []).map((value) => ({ type: 2 as const, value })),
    ...(o.ips ?? []).map((ip) => ({ type: 7 as const, ip })),
  ];
  const usage = o.usage ?? 'both';
  const r = await generate([{ name: 'commonName', value: o.cn }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca,
    notBeforeDate: o.notBefore ?? new Date(Date.now() - DAY),
    notAfterDate: o.notAfter ?? new Date(Date.now() + 365 * DAY),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: usage !== 'client', clientAuth: usage !== 'server' },
      ...(altNames.length > 0 ? [{ name: 'subjectAltName' as const, altNames }] : []),
    ],
  });
  return { cert: r.cert, key: r.private, fingerprint256: new X509Certificate(r.cert).fingerprint256 };
}

/** Files of a ready-made PKI in `dir`. */

/**
 * Turns whatever node:net / node:tls / OpenSSL threw into one reason an
 * operator can act on. The reason is what the tls_failure / connect_failure
 * event and the log carry; the original message goes into `detail`. Reasons
 * saying the host could not be reached (isNoConnection) are never a TLS failure.
 *
 * Traps: OpenSSL alert codes name the alert the PEER sent (ERR_SSL_..._ALERT_*),
 * so an "alert unknown ca" from the server means the server did not trust OUR
 * client certificate, while UNABLE_TO_VERIFY_LEAF_SIGNATURE means we did not
 * trust the server. A plaintext peer either answers with bytes that are not a
 * TLS record (WRONG_VERSION_NUMBER / PACKET_LENGTH_TOO_LONG), closes on our
 * ClientHello (handshake_aborted), or says nothing (handshake_timeout).
 */

import { LogwardError } from '../errors.js';
import type { ConnectFailureReason } from './types.js';

/** A failed connection attempt, or a connection that failed right after its handshake. */
export class ConnectFailure extends LogwardError {
  override readonly name = 'ConnectFailure';
  constructor(
    readonly host: string,
    readonly reason: ConnectFailureReason,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${host}: ${reason}: ${detail}`, options);
  }
}

/** Code our checkServerIdentity uses for a fingerprint that matches no pin. */
export const PIN_MISMATCH_CODE = 'ERR_LOGWARD_PIN_MISMATCH';

const BY_CODE: Readonly<Record<string, ConnectFailureReason>> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not_yet_valid',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown_ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown_ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'unknown_ca',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown_ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown_ca',
  CERT_UNTRUSTED: 'unknown_ca',
  INVALID_CA: 'unknown_ca',
  CERT_SIGNATURE_FAILURE: 'bad_certificate',
  CERT_REVOKED: 'bad_certificate',
  CERT_REJECTED: 'bad_certificate',
  INVALID_PURPOSE: 'bad_certificate',
  ERR_TLS_CERT_ALTNAME_INVALID: 'hostname_mismatch',
  [PIN_MISMATCH_CODE]: 'pin_mismatch',
  ERR_SSL_WRONG_VERSION_NUMBER: 'not_tls',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'not_tls',
  ERR_SSL_HTTP_REQUEST: 'not_tls',
  ERR_SSL_RECORD_LAYER_FAILURE: 'not_tls',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'client_cert_rejected',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'client_cert_rejected',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'client_cert_rejected',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'client_cert_rejected',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'client_cert_rejected',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: 'client_cert_rejected',
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: 'client_cert_rejected',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'protocol_version',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'protocol_version',
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: 'protocol_version',
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EPIPE: 'reset',
};

function codeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Reason for a connection error. `handshakeDone` tells a reset during the
 * handshake (the peer refused to speak TLS with us) from one afterwards.
 */
export function classifyConnectError(
  err: unknown,
  handshakeDone: boolean,
): { reason: ConnectFailureReason; detail: string } {
  if (err instanceof ConnectFailure) return { reason: err.reason, detail: err.detail };
  const code = codeOf(err);
  const detail = code ? `${code}: ${messageOf(err)}` : messageOf(err);
  const known = code === undefined ? undefined : BY_CODE[code];
  if (known) return { reason: known, detail };
  if (code === 'ECONNRESET') {
    // Node reports "socket disconnected before secure TLS connection was established" as ECONNRESET.
    return { reason: handshakeDone ? 'reset' : 'handshake_aborted', detail };
  }
  if (code?.startsWith('ERR_SSL_') && code.includes('_ALERT_')) {
    // After secureConnect (TLS 1.3) the only alert a server sends is about our certificate.
    return { reason: handshakeDone ? 'client_cert_rejected' : 'other', detail };
  }
  return { reason: 'other', detail };
}

/**
 * Reasons where the destination could not be reached (refused, no answer
 * to the connect or to keepalives, no route, no address): nothing TLS judged
 * failed, so nothing about certificates is to blame. 'reset' is not one: the
 * peer accepted the connection, and may have ended it over our certificate.
 */
const NO_CONNECTION: ReadonlySet<ConnectFailureReason> = new Set<ConnectFailureReason>(['refused', 'timeout', 'unreachable', 'dns']);

export function isNoConnection(reason: ConnectFailureReason): boolean {
  return NO_CONNECTION.has(reason);
}

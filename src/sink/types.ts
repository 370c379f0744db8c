/**
 * The sink's contract with the rest of the agent: what it is configured with,
 * where it reads frames from (the disk queue, adapted by the pipeline) and what
 * it reports.
 *
 * Positions are record ids. A position always means "everything up to and
 * including this id is handled"; readFrom(p) returns records AFTER p.
 */

import type { Counters } from '../monitor/counters.js';

export type SinkProtocol = 'tls' | 'tcp' | 'udp';

export interface SinkOptions {
  protocol: SinkProtocol;
  /** tcp and udp are refused unless this is true. */
  allowInsecure: boolean;
  /** "host:port" or "[v6]:port", failover in order; the sink returns to the first when it is back. */
  hosts: string[];
  /** Name checked against the server certificate instead of each host entry's name. */
  serverName?: string;
  /** Trust anchors (PEM). Required for tls; re-read on every connect. */
  caFile?: string;
  /** `ca: system`: verify against Node's bundled root certificates instead of a CA file. */
  systemCa?: boolean;
  /** Client certificate and key (PEM) for mutual TLS; re-read on every connect. */
  certFile?: string;
  keyFile?: string;
  /** SHA-256 fingerprints of acceptable server certificates (hex, colons optional, any case). */
  pinSha256: string[];
  /**
   * A connection that does not drain, whose written bytes stay unacknowledged
   * (Linux), or that does not finish its handshake for this long is destroyed.
   */
  deadAfterMs: number;
  retry: { minDelayMs: number; maxDelayMs: number };
  /** Coalesce frames into writes of about this size (default DEFAULT_MAX_BATCH_BYTES, 256 KiB). */
  maxBatchBytes?: number;
  /** While on a secondary host, how often to probe the first (default: retry.maxDelayMs, at least 1 s). */
  probePrimaryMs?: number;
  /**
   * How long a session must last to prove its host healthy (default: max(10 s, retry.minDelayMs);
   * not configurable, tests shorten it). A session that ends sooner is a failed attempt of its
   * host: the backoff continues and the next attempt starts at the next host.
   */
  healthyAfterMs?: number;
}

/** Implemented by the disk queue (the pipeline adapts it). */
export interface FrameSource {
  /** Id of the last record that must NOT be sent again (the acknowledged cursor); resume after it. */
  replayPosition(): bigint;
  /**
   * A new connection starts: the position to resume after (the acknowledged
   * cursor), and what earlier connections sent but had not acknowledged is
   * forgotten, so it can never be acknowledged later by age. Absent: the sink
   * uses replayPosition().
   */
  rewind?(): bigint;
  /** Records with id > position, in order, about maxBytes of payload (at least one record if any). */
  readFrom(position: bigint, maxBytes: number): Promise<{ id: bigint; payload: Buffer }[]>;
  /** Resolves when a record with id > position exists. */
  waitForData(position: bigint): Promise<void>;
  /** Everything up to and including this id was handed to the socket. */
  markSent(position: bigint): void;
}

/** Why a connection attempt (or a freshly made connection) failed. */
export type ConnectFailureReason =
  | 'expired'
  | 'not_yet_valid'
  | 'unknown_ca'
  | 'hostname_mismatch'
  | 'pin_mismatch'
  | 'bad_certificate'
  | 'not_tls'
  | 'client_cert_rejected'
  | 'protocol_version'
  | 'handshake_timeout'
  | 'handshake_aborted'
  | 'credentials'
  | 'refused'
  | 'timeout'
  | 'unreachable'
  | 'dns'
  | 'reset'
  | 'other';

export type SinkEvent =
  | { type: 'connected'; host: string; protocol: SinkProtocol; tlsVersion?: string }
  | { type: 'disconnected'; host: string; reason: string }
  /** The TLS handshake or verification failed (only with protocol tls, never for a reason isNoConnection() accepts). */
  | { type: 'tls_failure'; host: string; reason: ConnectFailureReason; detail: string }
  /** Any other failed attempt: the host could not be reached (any protocol), or tcp's connection failed. */
  | { type: 'connect_failure'; host: string; reason: ConnectFailureReason; detail: string }
  | {
      type: 'dead_connection';
      host: string;
      stalledMs: number;
      /** no_drain: a write did not drain; unacked: written bytes were never acknowledged (quiet stream, Linux). */
      cause: 'no_drain' | 'unacked';
    }
  | { type: 'failback'; from: string; to: string }
  | {
      type: 'cert_expiring';
      which: 'client' | 'server';
      days: number;
      subject: string;
      notAfter: string;
      host?: string;
    }
  | { type: 'insecure_transport'; protocol: 'tcp' | 'udp' };

/** Structurally compatible with a pino logger. */
export interface SinkLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SinkDeps {
  counters: Counters;
  onEvent: (e: SinkEvent) => void;
  log?: SinkLogger;
  /** The clock a session's lifetime is measured with (healthyAfterMs); default Date.now. Tests advance their own. */
  now?: () => number;
}

export interface SinkStatus {
  connected: boolean;
  host?: string;
  lastSendAt?: number;
  reconnects: number;
  /** Bytes handed to the socket but not yet flushed to the kernel (bounded by batch size + high-water mark). */
  bufferedBytes?: number;
}

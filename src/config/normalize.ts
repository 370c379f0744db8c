/**
 * Validated YAML-shaped config -> the `Config` the agent runs with (see the
 * naming scheme in types.ts). Only called once schema and semantic checks
 * passed, so every string here already matches its pattern and parses.
 */

import os from 'node:os';
import path from 'node:path';
import type { RawConfig, RawInput } from './schema-types.js';
import { splitHostPort } from './semantic.js';
import type { Config, FieldScalar, HostPort, InputConfig } from './types.js';
import { parseDuration as ms, parseSize as bytes } from './units.js';

/** Relative paths in a config are relative to the config file's directory, not to the working directory. */
export function resolveConfigPath(baseDir: string, p: string): string {
  return path.resolve(baseDir, p);
}

/** "AB:CD:…" upper case, the form of X509Certificate.fingerprint256. */
export function normalizePin(pin: string): string {
  const hex = pin.replace(/:/g, '').toUpperCase();
  return hex.match(/../g)?.join(':') ?? hex;
}

function hostPort(text: string, defaultPort?: number): HostPort {
  const { host, port } = splitHostPort(text, defaultPort);
  return { host, port };
}

function input(r: RawInput, baseDir: string): InputConfig {
  const common = {
    id: r.id,
    parser: r.parser,
    ...(r.pattern === undefined ? {} : { pattern: r.pattern }),
    startAt: r.start_at,
    fields: { ...r.fields },
  };
  if (r.type === 'journald') {
    return {
      ...common,
      type: 'journald',
      units: [...r.units],
      ...(r.directory === undefined ? {} : { directory: resolveConfigPath(baseDir, r.directory) }),
    };
  }
  return {
    ...common,
    type: 'file',
    paths: [...(r.paths ?? [])],
    exclude: [...r.exclude],
    followSymlinks: r.follow_symlinks,
    ...(r.multiline === undefined
      ? {}
      : {
          multiline: {
            start: r.multiline.start,
            maxLines: r.multiline.max_lines,
            maxBytes: bytes(r.multiline.max_bytes),
            timeoutMs: ms(r.multiline.timeout),
          },
        }),
    partialLineTimeoutMs: ms(r.partial_line_timeout),
  };
}

/** `file` is the absolute config file path ('' for text without a file: paths then resolve against the working directory). */
export function normalizeConfig(raw: RawConfig, file: string): Config {
  const baseDir = file === '' ? process.cwd() : path.dirname(file);
  const abs = (p: string): string => resolveConfigPath(baseDir, p);
  const d = raw.output.destination;
  const tls = d.protocol === 'tls';
  return {
    file,
    agent: {
      id: raw.agent.id ?? os.hostname(),
      stateDir: abs(raw.agent.state_dir),
      shutdownGraceMs: ms(raw.agent.shutdown_grace),
    },
    inputs: raw.inputs.map((r) => input(r, baseDir)),
    sources: {
      maxOpenFiles: raw.sources.max_open_files,
      rescanIntervalMs: ms(raw.sources.rescan_interval),
      deletedFileMaxHoldMs: ms(raw.sources.deleted_file_max_hold),
      checkpointExpiryMs: ms(raw.sources.checkpoint_expiry),
    },
    processing: {
      maxLineBytes: bytes(raw.processing.max_line_bytes),
      redact: {
        builtin: [...raw.processing.redact.builtin],
        custom: raw.processing.redact.custom.map((c) => ({ name: c.name, pattern: c.pattern })),
      },
    },
    output: {
      format: raw.output.format,
      cef: { vendor: raw.output.cef.vendor, product: raw.output.cef.product },
      sdId: raw.output.sd_id,
      maxMessageBytes: bytes(raw.output.max_message_bytes),
      destination: {
        protocol: d.protocol,
        allowInsecure: d.allow_insecure,
        hosts: d.hosts.map((h) => hostPort(h)),
        // TLS-only settings are dropped for tcp/udp so that nobody downstream mistakes them for active.
        ...(tls && d.server_name !== undefined ? { serverName: d.server_name } : {}),
        ...(tls && d.ca !== undefined && d.ca !== 'system' ? { caFile: abs(d.ca) } : {}),
        systemCa: tls && d.ca === 'system',
        ...(tls && d.cert !== undefined ? { certFile: abs(d.cert) } : {}),
        ...(tls && d.key !== undefined ? { keyFile: abs(d.key) } : {}),
        pinSha256: tls ? d.pin_sha256.map(normalizePin) : [],
        deadAfterMs: ms(d.dead_after),
      },
      buffer: {
        maxBytes: bytes(raw.output.buffer.max_bytes),
        whenFull: raw.output.buffer.when_full,
        fsync: raw.output.buffer.fsync,
        fsyncIntervalMs: ms(raw.output.buffer.fsync_interval),
      },
      resendWindow: { bytes: bytes(raw.output.resend_window.bytes), ageMs: ms(raw.output.resend_window.age) },
      retry: { minDelayMs: ms(raw.output.retry.min_delay), maxDelayMs: ms(raw.output.retry.max_delay) },
    },
    integrity: { keyFile: abs(raw.integrity.key_file) },
    monitoring: {
      metrics: { listen: hostPort(raw.monitoring.metrics.listen), allowRemote: raw.monitoring.metrics.allow_remote },
      heartbeatMs: ms(raw.monitoring.heartbeat),
      clock: {
        ntpServers: raw.monitoring.clock.ntp_servers.map((s) => hostPort(s, 123)),
        intervalMs: ms(raw.monitoring.clock.interval),
        maxOffsetMs: ms(raw.monitoring.clock.max_offset),
      },
      silence: { afterMs: ms(raw.monitoring.silence.after) },
    },
    alerts: raw.alerts.map((a) => ({
      name: a.name,
      when: Object.fromEntries(
        Object.entries(a.when).map(([field, v]): [string, FieldScalar[]] => [field, Array.isArray(v) ? [...v] : [v]]),
      ),
      groupBy: a.group_by === undefined ? [] : Array.isArray(a.group_by) ? [...a.group_by] : [a.group_by],
      ...(a.distinct === undefined ? {} : { distinct: a.distinct }),
      threshold: a.threshold,
      windowMs: ms(a.window),
      ...(a.webhook === undefined ? {} : { webhook: a.webhook }),
    })),
  };
}

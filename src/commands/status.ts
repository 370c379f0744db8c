/**
 * `logward status -c FILE`: what the running agent is doing, read from its
 * metrics endpoint (GET /status on monitoring.metrics.listen) and printed for a
 * person: agent and uptime, inputs and lag, queue, destination and last send,
 * clock drift, health, recent alerts.
 *
 * Exit codes (DESIGN.md "Command line"): 0 running, 3 not running (nothing
 * answers), 2 bad config, 1 something answers that is not a logward endpoint.
 *
 * Traps
 * - Times are shown relative to the agent's own "now" in the snapshot, not this
 *   process's clock, so "last send 3 s ago" is right even when the two differ.
 * - Alert messages and file names come from the agent's snapshot and can carry
 *   text an attacker chose (a log file name with an ANSI escape in it). Every
 *   string printed goes through the neutralizer: a status command must not be
 *   a way to drive the operator's terminal.
 * - The answer is size-capped and shape-checked (snapshotFromJson): whatever
 *   listens on that port may not be logward.
 */
import { request } from 'node:http';

import type { HostPort } from '../config/types.js';
import { loadConfig } from '../config/load.js';
import { ConfigErrors } from '../errors.js';
import { health } from '../monitor/metrics.js';
import { backlogRecords, snapshotFromJson, SnapshotShapeError, type AgentSnapshot } from '../monitor/snapshot.js';
import { neutralizeText } from '../sanitize/neutralize.js';

export const EXIT_RUNNING = 0;
export const EXIT_UNEXPECTED = 1;
export const EXIT_CONFIG = 2;
export const EXIT_NOT_RUNNING = 3;

const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export interface StatusIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface StatusOptions {
  /** How long to wait for the endpoint. Default 5 s. */
  timeoutMs?: number;
}

export async function runStatus(configFile: string, io: StatusIo, opts: StatusOptions = {}): Promise<number> {
  let listen: HostPort;
  try {
    const config = await loadConfig(configFile, { checkFiles: false });
    listen = config.monitoring.metrics.listen;
  } catch (err) {
    if (err instanceof ConfigErrors) {
      for (const p of err.problems) io.stderr.write(`${configFile}: ${p.message}\n`);
      io.stderr.write(`logward status: ${configFile} is not a valid configuration\n`);
      return EXIT_CONFIG;
    }
    throw err;
  }
  if (listen.port === 0) {
    io.stderr.write(`logward status: monitoring.metrics.listen has port 0 in ${configFile}; the agent's port cannot be known\n`);
    return EXIT_CONFIG;
  }
  const target = connectHost(listen.host);
  const address = formatAddress(target, listen.port);

  let answer: Answer;
  try {
    answer = await get(target, listen.port, '/status', opts.timeoutMs ?? 5000);
  } catch (err) {
    if (err instanceof NoAnswer) {
      io.stderr.write(`logward is not running (no answer on ${address}): ${err.message}\n`);
      return EXIT_NOT_RUNNING;
    }
    throw err;
  }
  if (answer.status !== 200) {
    io.stderr.write(`logward status: ${address} answered HTTP ${answer.status}, not a logward status\n`);
    return EXIT_UNEXPECTED;
  }
  let snapshot: AgentSnapshot;
  try {
    snapshot = snapshotFromJson(JSON.parse(answer.body) as unknown);
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof SnapshotShapeError) {
      io.stderr.write(`logward status: ${address} answered something that is not a logward status (${safe(err.message)})\n`);
      return EXIT_UNEXPECTED;
    }
    throw err;
  }
  io.stdout.write(formatStatus(snapshot, address));
  return EXIT_RUNNING;
}

/** The summary a person reads; every line ends with a newline. */
export function formatStatus(s: AgentSnapshot, address: string): string {
  const out: string[] = [];
  const ago = (at: number | undefined): string => (at === undefined ? 'never' : `${duration(s.now - at)} ago`);

  out.push(`logward ${safe(s.version)} on agent ${safe(s.agentId)}: running for ${duration(s.now - s.startedAt)}` + (s.session ? `, session ${safe(s.session)}` : ''));
  out.push(`  endpoint ${address}, heartbeat every ${duration(s.heartbeatMs)}`);
  const h = health(s);
  out.push(`health: ${h.ok ? 'ok' : `NOT OK: ${safe(h.reason)}`}`);

  out.push(s.inputs.length === 0 ? 'inputs: none' : 'inputs:');
  for (const i of s.inputs) {
    const parts = [`${i.linesRead} lines read`];
    if (i.lagBytes !== undefined) parts.push(`lag ${bytes(i.lagBytes)}`);
    if (i.openFiles !== undefined) parts.push(`${i.openFiles} files open`);
    parts.push(`last line ${ago(i.lastActivityAt)}`);
    out.push(`  ${safe(i.id)} (${i.type}): ${parts.join(', ')}`);
  }

  if (s.queue) {
    const q = s.queue;
    out.push(
      `queue: ${bytes(q.bytes)} in ${q.records} records, ${backlogRecords(q)} waiting to be sent, ` +
        `${q.blocked ? 'BLOCKED (an append waits for space)' : 'not blocked'}, ${q.dropped} dropped`,
    );
  } else {
    out.push('queue: not open yet');
  }

  if (s.sink) {
    const k = s.sink;
    const where = k.host !== undefined ? safe(k.host) : 'no host yet';
    out.push(`destination: ${k.connected ? `connected to ${where}` : `NOT CONNECTED (last: ${where})`}, last send ${ago(k.lastSendAt)}, ${k.reconnects} reconnects`);
  } else {
    out.push('destination: not started yet');
  }

  if (!s.clock) {
    out.push('clock: not monitored (no monitoring.clock.ntp_servers)');
  } else if (s.clock.offsetMs === undefined) {
    out.push(`clock: no NTP answer yet${s.clock.lastCheckAt !== undefined ? `, last check ${ago(s.clock.lastCheckAt)}` : ''}`);
  } else {
    const off = s.clock.offsetMs;
    const sign = off >= 0 ? '+' : '-';
    out.push(
      `clock: offset ${sign}${(Math.abs(off) / 1000).toFixed(3)} s (${s.clock.drifting ? 'DRIFTING past max_offset' : 'ok'})` +
        (s.clock.lastCheckAt !== undefined ? `, checked ${ago(s.clock.lastCheckAt)}` : ''),
    );
  }

  if (s.recentAlerts.length === 0) {
    out.push('recent alerts: none');
  } else {
    out.push(`recent alerts (${s.recentAlerts.length}, newest last):`);
    for (const a of s.recentAlerts) out.push(`  ${isoOrRaw(a.at)} ${safe(a.action)}: ${safe(a.message)}`);
  }
  return out.join('\n') + '\n';
}

function safe(s: string): string {
  return neutralizeText(s).text;
}

function isoOrRaw(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** "3 s", "5 min 2 s", "2 h 3 min", "4 d 1 h": two units at most. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0 s';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  let s = Math.round(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return s > 0 ? `${m} min ${s} s` : `${m} min`;
  return `${s} s`;
}

/** "512 B", "1.5 KiB", "3.2 MiB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]!}`;
}

/** A wildcard listen address is reached through loopback. */
function connectHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

interface Answer {
  status: number;
  body: string;
}

/** Nothing answered: refused, unreachable, timed out, reset before an answer. */
class NoAnswer extends Error {
  override readonly name = 'NoAnswer';
}

function get(host: string, port: number, path: string, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const req = request({ host, port, path, method: 'GET', headers: { accept: 'application/json' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER_BYTES) {
          req.destroy();
          done(() => resolve({ status: 413, body: '' }));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => done(() => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })));
      res.on('error', (err) => done(() => reject(new NoAnswer(err.message))));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done(() => reject(new NoAnswer(`no answer within ${duration(timeoutMs)}`)));
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => done(() => reject(new NoAnswer(err.code ?? err.message))));
    req.end();
  });
}

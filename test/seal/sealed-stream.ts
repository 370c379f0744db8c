/**
 * Test helper: sealed streams built with the real parts of the agent — the
 * Sealer, syslogParts + assembleSyslog and the ECS encoder — with the start
 * event's MSG written the way src/pipeline.ts writes it (startText;
 * pipelineRun builds the whole start event the way it does, ECS or CEF). What a receiver
 * stores of them is each message on its own line (or framed).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { encodeEcs } from '../../src/encode/ecs.js';
import { assembleSyslog, syslogParts } from '../../src/encode/rfc5424.js';
import type { LogEvent } from '../../src/event/types.js';
import type { RecoveredSealState } from '../../src/queue/disk-queue.js';
import type { ChainRole } from '../../src/seal/chain.js';
import { encodeEvent } from '../../src/encode/validate.js';
import { InternalEvents, startSpec } from '../../src/event/internal.js';
import { Counters } from '../../src/monitor/counters.js';
import { lossText, startText, type LossDeclaration } from '../../src/seal/declaration.js';
import { Sealer } from '../../src/seal/session.js';
import { VERSION } from '../../src/version.js';

export const SD_ID = 'logward@32473';
export const KEY_A = Buffer.alloc(32, 0xa1);
export const KEY_B = Buffer.alloc(32, 0xb2);
export const FRESH: RecoveredSealState = { lastSeq: -1n, lastChain: '0'.repeat(64), nextSeq: 0n };

function event(message: string, i: number, extra: Record<string, string> = {}): LogEvent {
  return {
    fields: {
      '@timestamp': new Date(Date.UTC(2026, 0, 2, 3, 4, 5, i % 1000)).toISOString(),
      message,
      'event.id': `ev-${i}`,
      'event.kind': 'event',
      ...extra,
    },
    source: { input: 'app', identity: 'f1' },
    severity: 6,
    classId: 'test',
    name: 'test',
  };
}

function seal(s: Sealer, ev: LogEvent, role: ChainRole = 'record'): Buffer {
  const parts = syslogParts(ev, encodeEcs(ev), { sdId: SD_ID, msgId: 'ECS', agentId: 'web-01', hostname: 'web-01', timeQuality: { tzKnown: true, isSynced: true, syncAccuracy: 1000 } });
  return Buffer.from(s.sealBytes(parts, role).message);
}

/** One agent run: its start event, then `count` events. */
export interface Run {
  sealer: Sealer;
  records: Buffer[];
}

export function agentRun(key: Buffer, count: number, state: RecoveredSealState = FRESH): Run {
  const sealer = new Sealer({ key, state, persistent: false, assemble: assembleSyslog });
  const d = sealer.startDeclaration();
  const records = [seal(sealer, event(startText(d, VERSION), 0, { 'event.action': 'agent_started', 'event.module': 'logward' }))];
  for (let i = 1; i <= count; i++) records.push(seal(sealer, event(`Failed password for alice from 10.0.0.${i % 250} port 22 ssh2 — naïve ünïcode`, i)));
  return { sealer, records };
}

export interface AgentOptions {
  /** agent.id, and the SD `agent` label of every record. */
  agent: string;
  format: 'ecs' | 'cef';
  /** What the start declares the agent was renamed from (src/seal/agent-name.ts). */
  renamedFrom?: string;
}

/** Encodes an event as the pipeline does (encodeEvent in the agent's format, labelled with its id) and seals it. */
function agentSealer(sealer: Sealer, opts: AgentOptions): (ev: LogEvent) => Buffer {
  const syslog = { sdId: SD_ID, msgId: opts.format === 'ecs' ? ('ECS' as const) : ('CEF' as const), agentId: opts.agent, hostname: opts.agent };
  const ctx = { counters: new Counters(), cef: { vendor: 'logward', product: 'logward', version: VERSION } };
  return (ev) => {
    const enc = encodeEvent(ev, opts.format, ctx);
    if (!enc.valid) throw new Error(`invalid ${opts.format} event: ${enc.payload}`);
    return Buffer.from(sealer.sealBytes(syslogParts(ev, enc.payload, syslog)).message);
  };
}

/**
 * One agent run as src/pipeline.ts makes it: the start event from
 * InternalEvents and startSpec, every event encoded by encodeEvent in the
 * given format, labelled with the agent id, then `count` log events. With
 * `opts.at`, the agent's clock is in it, as the pipeline seals it: the start
 * event made at `at`, and every log event carrying `event.created` (when the
 * agent read it: src/event/build.ts), `at` plus i seconds. Those times are
 * inside the MAC (ECS event.created; CEF rt on the start event).
 */
export function pipelineRun(key: Buffer, count: number, opts: AgentOptions & { at?: Date }, state: RecoveredSealState = FRESH): Run {
  const sealer = new Sealer({ key, state, persistent: false, assemble: assembleSyslog });
  const d = sealer.startDeclaration();
  const internal = new InternalEvents({ id: opts.agent, version: VERSION, hostName: 'host-1', ecsVersion: '9.4.0', session: d.session });
  const sealEvent = agentSealer(sealer, opts);
  const at = opts.at;
  const records = [sealEvent(internal.make(startSpec(d, VERSION, { recordsKept: 0, bytesCut: 0 }, opts.renamedFrom), at))];
  for (let i = 1; i <= count; i++) {
    const extra: Record<string, string> = { 'agent.id': opts.agent, 'host.name': 'host-1' };
    if (at !== undefined) extra['event.created'] = new Date(at.getTime() + i * 1000).toISOString();
    const ev = event(`Failed password for alice from 10.0.0.${i % 250} port 22 ssh2`, i, extra);
    records.push(sealEvent({ ...ev, fields: { ...ev.fields, 'event.category': ['authentication'], 'event.type': ['start'], 'event.outcome': 'failure' } }));
  }
  return { sealer, records };
}

/**
 * A write group the queue sealed and failed to write: seals `lost` more events
 * and throws them away, then seals the record that declares them, its MSG
 * written the way src/event/internal.ts lostRangeSpec writes it. `tamper`
 * changes the declaration before it is sealed (a wrong range or chain).
 * Returns the lost messages (what a forged stream might put back).
 */
export function loseAndDeclare(run: Run, lost: number, tamper: (d: LossDeclaration) => LossDeclaration = (d) => d): Buffer[] {
  const s = run.sealer;
  const firstSeq = s.nextSeq();
  const gone: Buffer[] = [];
  for (let i = 0; i < lost; i++) gone.push(seal(s, event(`never written ${i}`, 900 + i)));
  const d = tamper(s.lossDeclaration({ firstSeq, lastSeq: s.nextSeq() - 1n, lastChain: s.lastChain(), cause: 'EIO' }));
  const text = `${lossText(d, VERSION)} (queue write failed: EIO: i/o error, fsync); ${lost} records not queued, their sources read them again`;
  run.records.push(seal(s, event(text, 950, { 'event.action': 'queue_records_lost', 'event.module': 'logward', 'event.kind': 'alert' }), 'loss_declaration'));
  return gone;
}

/** Seals `count` more ordinary events onto a run. */
export function more(run: Run, count: number): void {
  for (let i = 0; i < count; i++) sealLine(run, `Accepted publickey for bob from 10.1.0.${i % 250} port 22 ssh2`);
}

/** Seals one more ordinary event whose message is `message` (a log line's text) onto a run. */
export function sealLine(run: Run, message: string): void {
  run.records.push(seal(run.sealer, event(message, run.records.length)));
}

/** The state the next run starts from after a clean stop (what DiskQueue.open() recovers). */
export function after(run: Run, skip = 0n): RecoveredSealState {
  const next = run.sealer.nextSeq();
  return { previousSession: run.sealer.session, lastSeq: next - 1n, lastChain: run.sealer.lastChain(), nextSeq: next + skip };
}

export function asLines(records: readonly Buffer[]): Buffer {
  return Buffer.concat(records.flatMap((r) => [r, Buffer.from('\n')]));
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeKeyFile(dir: string, name: string, content: string | Buffer, mode = 0o600): string {
  const f = join(dir, name);
  writeFileSync(f, content);
  chmodSync(f, mode);
  return f;
}

export interface TimedOptions extends AgentOptions {
  /** When the run starts (the start event's time); each log event is read one second after the one before. */
  at: Date;
}

/** pipelineRun with the agent's clock in it (`opts.at` required). */
export function timedRun(key: Buffer, count: number, opts: TimedOptions, state: RecoveredSealState = FRESH): Run {
  return pipelineRun(key, count, opts, state);
}

/**
 * Seals onto a run one log event read from a line whose message is `message`, as pipelineRun
 * and timedRun seal theirs (agent.id, encodeEvent in the format, labelled with the agent id):
 * a line whoever can write a log the agent reads chooses (`logger`, an sshd user name).
 * `read`: when the agent read it (ECS event.created), if given.
 */
export function sealLogLine(run: Run, message: string, opts: AgentOptions & { read?: Date }): void {
  // As the plain parser reads a line (src/parse/plain.ts): event.module is the parser's name, so is the class id's prefix.
  const extra: Record<string, string> = { 'agent.id': opts.agent, 'host.name': 'host-1', 'event.module': 'plain' };
  if (opts.read !== undefined) extra['event.created'] = opts.read.toISOString();
  const ev: LogEvent = { ...event(message, run.records.length, extra), classId: 'plain:event', name: 'Log line' };
  run.records.push(agentSealer(run.sealer, opts)(ev));
}

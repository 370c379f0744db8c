/**
 * The agent's own events: start and stop, tamper alerts, queue overflow, TLS
 * verification failures, insecure transports. They travel the same path as
 * every other event (encode, validate, seal, queue) so the SIEM sees them in
 * the same stream, sealed in the same chain.
 *
 * Their text is ours, but some values are not (a file name is chosen by
 * whoever can write the log directory; a TLS error quotes a peer's
 * certificate), so every string goes through the neutralizer.
 */
import { classify, SEVERITY } from './classify.js';
import { EventIdDeriver } from './id.js';
import type { EcsFields, LogEvent } from './types.js';
import { neutralizeText } from '../sanitize/neutralize.js';
import { lossText, startText, type LossDeclaration } from '../seal/declaration.js';
import type { StartDeclaration } from '../seal/session.js';

export interface InternalEventSpec {
  /** Stable action id, e.g. "log_file_truncated"; becomes the class id "logward:<action>". */
  action: string;
  kind: 'alert' | 'event';
  /** ECS categories and types (allowed pairings: file → change/deletion/info, …). */
  category: string[];
  type: string[];
  outcome?: 'success' | 'failure' | 'unknown';
  message: string;
  /** Syslog severity 0..7; alerts default to 1 (alert). */
  severity?: number;
  fields?: EcsFields;
}

export interface InternalAgent {
  id: string;
  version: string;
  hostName: string;
  ecsVersion: string;
  /** New per start: internal events of different runs never share an event.id. */
  session: string;
}

export const INTERNAL_INPUT = 'logward';

export class InternalEvents {
  private readonly ids: EventIdDeriver;
  private n = 0;

  constructor(private readonly agent: InternalAgent) {
    this.ids = new EventIdDeriver(agent.id);
  }

  make(spec: InternalEventSpec, now = new Date()): LogEvent {
    const source = { input: INTERNAL_INPUT, identity: `internal:${this.agent.session}`, offset: this.n++ };
    const ts = now.toISOString();
    const f: EcsFields = {};
    if (spec.fields) {
      for (const k in spec.fields) {
        const v = spec.fields[k];
        if (v === undefined) continue;
        if (typeof v === 'string') f[k] = clean(v);
        else if (Array.isArray(v)) f[k] = v.map((x) => (typeof x === 'string' ? clean(x) : x)) as string[] | number[];
        else f[k] = v;
      }
    }
    const message = clean(spec.message);
    Object.assign(f, {
      '@timestamp': ts,
      'ecs.version': this.agent.ecsVersion,
      message,
      'event.kind': spec.kind,
      'event.category': spec.category,
      'event.type': spec.type,
      'event.action': spec.action,
      'event.created': ts,
      'event.id': this.ids.derive(source),
      'event.module': 'logward',
      'event.original': message,
      'agent.type': 'logward',
      'agent.id': this.agent.id,
      'agent.name': this.agent.id,
      'agent.version': this.agent.version,
      'agent.ephemeral_id': this.agent.session,
      'host.name': this.agent.hostName,
      'logward.input': INTERNAL_INPUT,
    } satisfies EcsFields);
    if (spec.outcome !== undefined) f['event.outcome'] = spec.outcome;
    const cls = classify(f, 'logward', spec.severity);
    return { fields: f, source, severity: spec.severity ?? cls.severity, classId: cls.classId, name: cls.name };
  }
}

function clean(s: string): string {
  return neutralizeText(s).text;
}

/**
 * The alert that declares a lost range: the queue sealed these seqs, then
 * failed to write them (src/queue/README.md "Lost ranges"). It is the next
 * record sealed after them, and its message starts with the declaration text
 * that `logward verify` reads (src/seal/declaration.ts). It stands in for the
 * plain `queue_error` alert of that failure: one event says what failed, what
 * it cost and that the lines are read again.
 */
export function lostRangeSpec(d: LossDeclaration, error: string, version: string): InternalEventSpec {
  const n = d.lastSeq - d.firstSeq + 1n;
  return {
    action: 'queue_records_lost',
    kind: 'alert',
    category: ['host'],
    type: ['info'],
    outcome: 'failure',
    severity: SEVERITY.error,
    message: `${lossText(d, version)} (${error}); ${n} record${n === 1n ? '' : 's'} not queued, their sources read them again`,
    fields: {
      'error.code': d.cause,
      'error.message': error,
      'logward.seal.session': d.session,
      'logward.seal.lost_first_seq': String(d.firstSeq),
      'logward.seal.lost_last_seq': String(d.lastSeq),
      'logward.seal.lost_last_chain': d.lastChain,
    },
  };
}

/** What the queue's recovery reported, for the start event (src/queue/disk-queue.ts RecoveryReport). */
export interface StartRecovery {
  recordsKept: number;
  bytesCut: number;
}

/**
 * The agent-start event: the first record of a session. Its message is the
 * start declaration (src/seal/declaration.ts startText), in MSG and so
 * covered by the chain, so a restart is a declared boundary and not a gap.
 * `renamedFrom`: the agent id the stream was sealed under before this one
 * (src/seal/agent-name.ts), only when there is a previous session; absent, the
 * event is what earlier versions sent, byte for byte. On CEF output its
 * logward.seal.first_seq makes the encoder name the agent (deviceExternalId).
 */
export function startSpec(d: StartDeclaration, version: string, recovery: StartRecovery, renamedFrom?: string): InternalEventSpec {
  const renamed = d.previousSession !== undefined ? renamedFrom : undefined;
  return {
    action: 'agent_started',
    kind: 'event',
    category: ['process'],
    type: ['start'],
    outcome: 'success',
    severity: SEVERITY.notice,
    message: startText(d, version, renamed),
    fields: {
      'logward.seal.session': d.session,
      'logward.seal.first_seq': String(d.firstSeq),
      ...(d.previousSession !== undefined ? { 'logward.seal.previous_session': d.previousSession } : {}),
      ...(d.lastSeq !== null ? { 'logward.seal.previous_last_seq': String(d.lastSeq) } : {}),
      'logward.seal.previous_last_chain': d.lastChain,
      ...(renamed !== undefined ? { 'logward.seal.renamed_from': renamed } : {}),
      'logward.queue.recovered_records': recovery.recordsKept,
      'logward.queue.recovery_bytes_cut': recovery.bytesCut,
    },
  };
}

/** The agent-stop event: the last record of a clean stop. */
export function stopSpec(version: string, reason: string, session: string | undefined): InternalEventSpec {
  return {
    action: 'agent_stopped',
    kind: 'event',
    category: ['process'],
    type: ['end'],
    outcome: 'success',
    severity: SEVERITY.notice,
    message: `logward ${version} ${reason} (session ${session ?? '?'})`,
  };
}

/** A reload that took effect: the first record the new configuration's run writes after its start event. */
export function reloadedSpec(file: string): InternalEventSpec {
  return {
    action: 'config_reloaded',
    kind: 'event',
    category: ['configuration'],
    type: ['change'],
    outcome: 'success',
    severity: SEVERITY.notice,
    message: `configuration reloaded from ${file}`,
    fields: { 'file.path': file },
  };
}

/** A reload that turned a control down (src/config/reload.ts): an alert, whoever did it. */
export function controlsWeakenedSpec(file: string, weakened: readonly string[]): InternalEventSpec {
  return {
    action: 'config_controls_weakened',
    kind: 'alert',
    category: ['configuration'],
    type: ['change'],
    severity: SEVERITY.warning,
    message: `configuration reload weakened controls: ${weakened.join('; ')}`,
    fields: { 'file.path': file, 'logward.reload.weakened': [...weakened] },
  };
}

/** A reload refused (invalid file, or a new configuration that failed to start): the previous one keeps running. */
export function reloadRejectedSpec(file: string, reasons: readonly string[]): InternalEventSpec {
  return {
    action: 'config_reload_rejected',
    kind: 'alert',
    category: ['configuration'],
    type: ['change'],
    outcome: 'failure',
    severity: SEVERITY.warning,
    message: `configuration reload rejected, previous configuration still running: ${reasons.join('; ')}`,
    fields: { 'file.path': file },
  };
}

/** The metrics endpoint's first failed bind (the retries are counted, not raised again). */
export function metricsUnavailableSpec(host: string, port: number, error: string): InternalEventSpec {
  return {
    action: 'metrics_endpoint_unavailable',
    kind: 'alert',
    category: ['process'],
    type: ['info'],
    outcome: 'failure',
    severity: SEVERITY.warning,
    message: `metrics endpoint cannot listen on ${host}:${port}: ${error}; retrying`,
    fields: {},
  };
}

export type InputStage = 'scan' | 'read' | 'emit';

const STAGE_TEXT: Record<InputStage, string> = { scan: 'scanning for files', read: 'reading a file', emit: 'handing lines to the queue' };

/** A source error the input retries (a directory it cannot scan, a batch it could not hand over). */
export function inputErrorSpec(input: string, what: InputStage, error: string): InternalEventSpec {
  return {
    action: 'input_error',
    kind: 'event',
    category: ['host'],
    type: ['info'],
    outcome: 'failure',
    severity: SEVERITY.warning,
    message: `input ${input}: ${STAGE_TEXT[what]} failed, retrying: ${error}`,
    fields: { 'error.message': error, 'logward.error.input': input, 'logward.error.stage': what },
  };
}

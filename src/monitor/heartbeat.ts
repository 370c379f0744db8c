/**
 * The heartbeat and the silence watch.
 *
 * Heartbeat: every `intervalMs` an event with the agent's counters, so the SIEM
 * can alert when an agent goes quiet (OWASP: "log source silent > 2 × expected
 * interval"); the event carries the interval for exactly that rule.
 *
 * Silence: an input that has read something (lastActivityAt set) and then reads
 * nothing for `silenceAfterMs` raises ONE alert per silence period; the first
 * line after it ends the period with a recovery event. An input that never read
 * anything is not silent, it is idle (a quiet log is normal until it was not).
 *
 * Invariants and traps
 * - tick(now) does all the work and is the only thing the timer calls, so tests
 *   drive it with a fixed clock and no timers.
 * - The timer wakes at the finer of the two periods (heartbeat, and a tenth of
 *   the silence period, at least 1 s), so a 15 min silence is noticed within
 *   1.5 min even with an hourly heartbeat. The heartbeat keeps its own schedule.
 * - After a long stall (suspend, a blocked event loop), missed heartbeats are
 *   not replayed: one beat, then the schedule restarts from now.
 * - An error in snapshot() or onSpec() is not swallowed: thrown from a timer it
 *   reaches the daemon's fatal handler, which exits so systemd restarts the
 *   agent. A heartbeat that silently stopped would defeat its purpose.
 */
import { SEVERITY } from '../event/classify.js';
import type { InternalEventSpec } from '../event/internal.js';
import { backlogRecords, type AgentSnapshot, type InputSnapshot } from './snapshot.js';

export interface HeartbeatOptions {
  intervalMs: number;
  silenceAfterMs: number;
}

export interface HeartbeatDeps {
  snapshot: () => AgentSnapshot;
  onSpec: (spec: InternalEventSpec) => void;
  now?: () => number;
}

/** The counters a heartbeat reports: field name under logward.heartbeat.* and where it comes from. */
export interface HeartbeatCounts {
  read: number;
  shipped: number;
  queued: number;
  dropped: number;
  neutralized: number;
  redacted: number;
  invalid: number;
  rotated_away_unread: number;
}

export function heartbeatCounts(s: AgentSnapshot): HeartbeatCounts {
  const c = s.counters;
  return {
    read: c['lines_read'] ?? 0,
    shipped: c['frames_written'] ?? 0,
    queued: s.queue ? backlogRecords(s.queue) : 0,
    dropped: c['queue_dropped_records'] ?? 0,
    neutralized: c['events_neutralized'] ?? 0,
    redacted: c['events_redacted'] ?? 0,
    invalid: c['events_invalid'] ?? 0,
    rotated_away_unread: c['bytes_unread_released'] ?? 0,
  };
}

export function heartbeatSpec(s: AgentSnapshot, intervalMs: number): InternalEventSpec {
  const n = heartbeatCounts(s);
  const uptimeS = Math.max(0, Math.round((s.now - s.startedAt) / 1000));
  return {
    action: 'agent_heartbeat',
    kind: 'event',
    category: ['host'],
    type: ['info'],
    severity: SEVERITY.informational,
    message:
      `logward heartbeat: read ${n.read}, shipped ${n.shipped}, queued ${n.queued}, dropped ${n.dropped}, ` +
      `neutralized ${n.neutralized}, redacted ${n.redacted}, invalid ${n.invalid}, ` +
      `rotated away unread ${n.rotated_away_unread} bytes; up ${uptimeS} s`,
    fields: {
      'logward.heartbeat.read': n.read,
      'logward.heartbeat.shipped': n.shipped,
      'logward.heartbeat.queued': n.queued,
      'logward.heartbeat.dropped': n.dropped,
      'logward.heartbeat.neutralized': n.neutralized,
      'logward.heartbeat.redacted': n.redacted,
      'logward.heartbeat.invalid': n.invalid,
      'logward.heartbeat.rotated_away_unread': n.rotated_away_unread,
      'logward.heartbeat.queue_bytes': s.queue?.bytes ?? 0,
      'logward.heartbeat.sink_connected': s.sink?.connected ?? false,
      'logward.heartbeat.uptime_s': uptimeS,
      // The SIEM's "agent went quiet" rule needs the expected interval.
      'logward.heartbeat.interval_s': intervalMs / 1000,
    },
  };
}

export function silentSpec(input: InputSnapshot, lastActivityAt: number, now: number): InternalEventSpec {
  const quietS = Math.round((now - lastActivityAt) / 1000);
  return {
    action: 'input_silent',
    kind: 'alert',
    category: ['host'],
    type: ['info'],
    outcome: 'unknown',
    severity: SEVERITY.warning,
    message: `Input ${input.id} (${input.type}) has read nothing for ${quietS} s (last line at ${new Date(lastActivityAt).toISOString()}): the application stopped logging, or its logs go elsewhere`,
    fields: {
      'logward.silence.input': input.id,
      'logward.silence.input_type': input.type,
      'logward.silence.last_activity': new Date(lastActivityAt).toISOString(),
      'logward.silence.quiet_s': quietS,
    },
  };
}

export function resumedSpec(input: InputSnapshot, silentSince: number, now: number): InternalEventSpec {
  const quietS = Math.round((now - silentSince) / 1000);
  return {
    action: 'input_resumed',
    kind: 'event',
    category: ['host'],
    type: ['info'],
    outcome: 'success',
    severity: SEVERITY.notice,
    message: `Input ${input.id} (${input.type}) reads again after about ${quietS} s of silence`,
    fields: {
      'logward.silence.input': input.id,
      'logward.silence.input_type': input.type,
      'logward.silence.quiet_s': quietS,
    },
  };
}

export class Heartbeat {
  private readonly now: () => number;
  private nextBeatAt: number;
  /** Inputs in a silence period: the lastActivityAt the alert was raised for. */
  private readonly silent = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: HeartbeatOptions,
    private readonly deps: HeartbeatDeps,
  ) {
    if (!(opts.intervalMs > 0) || !(opts.silenceAfterMs > 0)) throw new RangeError('heartbeat interval and silence period must be positive');
    this.now = deps.now ?? Date.now;
    this.nextBeatAt = this.now() + opts.intervalMs;
  }

  start(): void {
    if (this.timer) return;
    this.nextBeatAt = this.now() + this.opts.intervalMs;
    const every = Math.min(this.opts.intervalMs, Math.max(1000, Math.floor(this.opts.silenceAfterMs / 10)));
    this.timer = setInterval(() => this.tick(), every);
    // The heartbeat never keeps the process alive on its own: stopping is the pipeline's call.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Heartbeat if due, then the silence check. */
  tick(now: number = this.now()): void {
    const s = this.deps.snapshot();
    if (now >= this.nextBeatAt) {
      this.deps.onSpec(heartbeatSpec(s, this.opts.intervalMs));
      this.nextBeatAt += this.opts.intervalMs;
      if (this.nextBeatAt <= now) this.nextBeatAt = now + this.opts.intervalMs;
    }
    this.checkSilence(s.inputs, now);
  }

  private checkSilence(inputs: InputSnapshot[], now: number): void {
    const seen = new Set<string>();
    for (const input of inputs) {
      seen.add(input.id);
      const last = input.lastActivityAt;
      if (last === undefined) continue;
      const alertedFor = this.silent.get(input.id);
      if (alertedFor !== undefined) {
        if (last > alertedFor) {
          this.silent.delete(input.id);
          this.deps.onSpec(resumedSpec(input, alertedFor, last));
        } else {
          continue;
        }
      }
      if (now - last >= this.opts.silenceAfterMs) {
        this.silent.set(input.id, last);
        this.deps.onSpec(silentSpec(input, last, now));
      }
    }
    // An input removed by a reload is not silent any more.
    for (const id of this.silent.keys()) if (!seen.has(id)) this.silent.delete(id);
  }
}

/**
 * What the running agent is doing, in one plain object: the metrics endpoint
 * renders it as Prometheus text and as JSON (GET /status), the heartbeat turns
 * it into an event, `logward status` prints it.
 *
 * It is JSON-safe on purpose: queue positions are bigints inside the queue and
 * travel here as decimal strings; times are epoch milliseconds.
 *
 * `snapshotFromJson` reads the JSON back (in `logward status`). Whatever answers
 * on the metrics port is not trusted to be logward, so every field is checked
 * and a wrong shape is an error, not a crash halfway through printing.
 */

export interface InputSnapshot {
  id: string;
  type: 'file' | 'journald';
  linesRead: number;
  /** Epoch ms of the last line read; absent until the input read anything. */
  lastActivityAt?: number;
  /** Bytes written to the input's files and not read yet. */
  lagBytes?: number;
  openFiles?: number;
}

export interface QueueSnapshot {
  bytes: number;
  records: number;
  /** Queue positions (decimal strings of bigints): next to write, next to send, next to acknowledge. */
  written: string;
  sent: string;
  acked: string;
  dropped: number;
  blocked: boolean;
}

export interface SinkSnapshot {
  connected: boolean;
  host?: string;
  lastSendAt?: number;
  reconnects: number;
}

export interface ClockSnapshot {
  offsetMs?: number;
  drifting: boolean;
  lastCheckAt?: number;
}

export interface RecentAlert {
  at: number;
  action: string;
  message: string;
}

export interface AgentSnapshot {
  agentId: string;
  version: string;
  startedAt: number;
  now: number;
  session?: string;
  /** Counters.snapshot(). */
  counters: Record<string, number>;
  inputs: InputSnapshot[];
  queue?: QueueSnapshot;
  sink?: SinkSnapshot;
  clock?: ClockSnapshot;
  /** The last ~20 alerts, oldest first. */
  recentAlerts: RecentAlert[];
  heartbeatMs: number;
}

/** Records still to hand to the socket (written − sent), never negative. */
export function backlogRecords(q: QueueSnapshot): number {
  const n = BigInt(q.written) - BigInt(q.sent);
  return n > 0n ? Number(n) : 0;
}

export class SnapshotShapeError extends Error {
  override readonly name = 'SnapshotShapeError';
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function obj(v: unknown, where: string): Obj {
  if (!isObj(v)) throw new SnapshotShapeError(`${where}: expected an object`);
  return v;
}

function num(o: Obj, k: string, where: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new SnapshotShapeError(`${where}.${k}: expected a number`);
  return v;
}

function optNum(o: Obj, k: string, where: string): number | undefined {
  return o[k] === undefined || o[k] === null ? undefined : num(o, k, where);
}

function str(o: Obj, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== 'string') throw new SnapshotShapeError(`${where}.${k}: expected a string`);
  return v;
}

function optStr(o: Obj, k: string, where: string): string | undefined {
  return o[k] === undefined || o[k] === null ? undefined : str(o, k, where);
}

function bool(o: Obj, k: string, where: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new SnapshotShapeError(`${where}.${k}: expected true or false`);
  return v;
}

function position(o: Obj, k: string, where: string): string {
  const v = str(o, k, where);
  if (!/^\d{1,30}$/.test(v)) throw new SnapshotShapeError(`${where}.${k}: expected a decimal queue position`);
  return v;
}

function arr(o: Obj, k: string, where: string): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) throw new SnapshotShapeError(`${where}.${k}: expected a list`);
  return v;
}

/** Checks the JSON of GET /status; throws SnapshotShapeError naming the first wrong field. */
export function snapshotFromJson(value: unknown): AgentSnapshot {
  const o = obj(value, 'status');
  const counters: Record<string, number> = {};
  const c = obj(o['counters'], 'status.counters');
  for (const k of Object.keys(c)) counters[k] = num(c, k, 'status.counters');

  const inputs = arr(o, 'inputs', 'status').map((v, i): InputSnapshot => {
    const w = `status.inputs[${i}]`;
    const x = obj(v, w);
    const type = str(x, 'type', w);
    if (type !== 'file' && type !== 'journald') throw new SnapshotShapeError(`${w}.type: expected file or journald`);
    const lastActivityAt = optNum(x, 'lastActivityAt', w);
    const lagBytes = optNum(x, 'lagBytes', w);
    const openFiles = optNum(x, 'openFiles', w);
    return {
      id: str(x, 'id', w),
      type,
      linesRead: num(x, 'linesRead', w),
      ...(lastActivityAt !== undefined ? { lastActivityAt } : {}),
      ...(lagBytes !== undefined ? { lagBytes } : {}),
      ...(openFiles !== undefined ? { openFiles } : {}),
    };
  });

  let queue: QueueSnapshot | undefined;
  if (o['queue'] !== undefined && o['queue'] !== null) {
    const q = obj(o['queue'], 'status.queue');
    const w = 'status.queue';
    queue = {
      bytes: num(q, 'bytes', w),
      records: num(q, 'records', w),
      written: position(q, 'written', w),
      sent: position(q, 'sent', w),
      acked: position(q, 'acked', w),
      dropped: num(q, 'dropped', w),
      blocked: bool(q, 'blocked', w),
    };
  }

  let sink: SinkSnapshot | undefined;
  if (o['sink'] !== undefined && o['sink'] !== null) {
    const s = obj(o['sink'], 'status.sink');
    const w = 'status.sink';
    const host = optStr(s, 'host', w);
    const lastSendAt = optNum(s, 'lastSendAt', w);
    sink = {
      connected: bool(s, 'connected', w),
      ...(host !== undefined ? { host } : {}),
      ...(lastSendAt !== undefined ? { lastSendAt } : {}),
      reconnects: num(s, 'reconnects', w),
    };
  }

  let clock: ClockSnapshot | undefined;
  if (o['clock'] !== undefined && o['clock'] !== null) {
    const k = obj(o['clock'], 'status.clock');
    const w = 'status.clock';
    const offsetMs = optNum(k, 'offsetMs', w);
    const lastCheckAt = optNum(k, 'lastCheckAt', w);
    clock = {
      drifting: bool(k, 'drifting', w),
      ...(offsetMs !== undefined ? { offsetMs } : {}),
      ...(lastCheckAt !== undefined ? { lastCheckAt } : {}),
    };
  }

  const recentAlerts = arr(o, 'recentAlerts', 'status').map((v, i): RecentAlert => {
    const w = `status.recentAlerts[${i}]`;
    const a = obj(v, w);
    return { at: num(a, 'at', w), action: str(a, 'action', w), message: str(a, 'message', w) };
  });

  const session = optStr(o, 'session', 'status');
  return {
    agentId: str(o, 'agentId', 'status'),
    version: str(o, 'version', 'status'),
    startedAt: num(o, 'startedAt', 'status'),
    now: num(o, 'now', 'status'),
    ...(session !== undefined ? { session } : {}),
    counters,
    inputs,
    ...(queue ? { queue } : {}),
    ...(sink ? { sink } : {}),
    ...(clock ? { clock } : {}),
    recentAlerts,
    heartbeatMs: num(o, 'heartbeatMs', 'status'),
  };
}

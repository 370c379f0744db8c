/**
 * Wires the stages of `logward run` and owns start, drain and stop:
 *
 *   sources ─► processor ─► (seal at write) ─► disk queue ─► sink ─► SIEM
 *
 * The commit protocol (docs/ARCHITECTURE.md "Offsets and the queue"): a
 * source's emit(batch) resolves only once the queue has made the batch
 * durable, and only then does the source advance its checkpoint. At start the
 * checkpoints are raised to what the queue tail says was durable, so a crash
 * between the queue's fsync and the checkpoint write re-reads nothing twice
 * that the queue already holds... except the last batch, which is the
 * at-least-once part of the guarantee.
 *
 * Sealing happens inside the queue's writer (records are appended with a seal
 * callback), so seq order is disk order is send order even when an internal
 * event overtakes a blocked append.
 */
import { chmod } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ECS_VERSION as EcsVersion } from './ecs/generated.js';

import type { Config, DestinationConfig, HostPort, InputConfig } from './config/types.js';
import { LogwardError } from './errors.js';
import { syslogParts, type SyslogOptions, type SyslogParts } from './encode/rfc5424.js';
import { encodeEvent } from './encode/validate.js';
import {
  controlsWeakenedSpec,
  inputErrorSpec,
  InternalEvents,
  lostRangeSpec,
  metricsUnavailableSpec,
  reloadedSpec,
  startSpec,
  stopSpec,
  type InputStage,
  type InternalEventSpec,
} from './event/internal.js';
import { queueSpec, sinkSpec, tamperSpec } from './event/signals.js';
import type { LogEvent, RawRecord } from './event/types.js';
import { Counters } from './monitor/counters.js';
import { ClockMonitor } from './monitor/clock.js';
import { Heartbeat } from './monitor/heartbeat.js';
import { MetricsServer } from './monitor/metrics.js';
import type { AgentSnapshot, ClockSnapshot, RecentAlert } from './monitor/snapshot.js';
import { RecordProcessor } from './processor.js';
import { appendInSlices, type SliceLimits } from './queue/append-slices.js';
import { DiskQueue, type AppendRecord, type LostRange, type QueueRecordMeta } from './queue/disk-queue.js';
import { mkdirDurable, nodeFs, type QueueFs } from './queue/fs.js';
import { effectiveRules } from './rules/defaults.js';
import { RuleEngine, ruleAlertSpec } from './rules/engine.js';
import { WebhookSender } from './rules/webhook.js';
import { neutralizeText } from './sanitize/neutralize.js';
import { AgentNames } from './seal/agent-name.js';
import type { ChainRole } from './seal/chain.js';
import { declarationBytes } from './seal/declaration.js';
import { loadHmacKey } from './seal/key.js';
import { Sealer } from './seal/session.js';
import { backoffDelayMs, type RetryDelays } from './sink/backoff.js';
import { SyslogSink } from './sink/sink.js';
import type { FrameSource, SinkEvent, SinkLogger, SinkOptions } from './sink/types.js';
import { CursorStore } from './source/cursor-store.js';
import { strandedSuspicions } from './source/checkpoint.js';
import { FileSource } from './source/file-source.js';
import { JournaldSource } from './source/journald.js';
import { VERSION } from './version.js';

/** The agent's own log: structurally a pino logger. */
export type AgentLogger = SinkLogger;

/** RFC 5424 header, SD brackets and the seal params add at most this much to the event. */
const SEAL_OVERHEAD_BYTES = 512;
/** Internal events held before the start event (a flapping destination raises a few per attempt). */
const MAX_DEFERRED_EVENTS = 256;

/** Re-append of an internal event the queue rejected (a failed write group): jittered backoff bounds. */
const INTERNAL_RETRY: RetryDelays = { minDelayMs: 100, maxDelayMs: 5000 };

/** Records per queue append (see Pipeline.append): bounded by count and by estimated bytes. */
const APPEND_SLICE: SliceLimits = { records: 512, bytes: 1024 * 1024 };

type SealedAppend = Extract<AppendRecord, { seal: unknown }>;
/** How an internal event's caller hears that it is stored, or never will be. */
interface Settle {
  resolve(): void;
  reject(err: unknown): void;
}

/** One macrotask turn: the queue's writer (microtasks, then fs callbacks) gets to run. */
function yieldToQueue(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface Source {
  id: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Per input: what the metrics endpoint, the heartbeat and the silence watch read. */
export interface InputStats {
  id: string;
  type: 'file' | 'journald';
  linesRead: number;
  lastActivityAt?: number;
}

export interface PipelineDeps {
  log: AgentLogger;
  counters?: Counters;
  /** Set when this pipeline replaces another after SIGHUP: announced right after the start event. */
  reload?: { weakened: readonly string[] };
  /** The queue's file-system seam (tests inject I/O errors through it); default node:fs. */
  queueFs?: QueueFs;
  /** Backoff of an internal event the queue rejected; default 100 ms to 5 s (tests stretch it). */
  internalRetry?: RetryDelays;
}

/** start() gave up because stop() began meanwhile (SIGTERM during start): not a failure to report. */
export class StartStopped extends Error {
  constructor() {
    super('stopped while starting');
    this.name = 'StartStopped';
  }
}

export class Pipeline {
  readonly counters: Counters;
  private readonly log: AgentLogger;
  private queue: DiskQueue | undefined;
  private sealer: Sealer | undefined;
  private sink: SyslogSink | undefined;
  private internal: InternalEvents | undefined;
  private sources: Source[] = [];
  /** The sources whose start() was called: what stop() stops (a start that failed stops no more than it started). */
  private readonly startedSources: Source[] = [];
  /** stop()'s run: a second call (the reload path after a start that failed, which stopped already) waits for it. */
  private stopping: Promise<void> | undefined;
  private cursorStores: CursorStore[] = [];
  private readonly host = hostname();
  private internalWrites = new Set<Promise<void>>();
  private readonly inputStats: InputStats[] = [];
  private readonly recentAlerts: RecentAlert[] = [];
  private readonly errorsReported = new Map<string, number>();
  private readonly startedAt = Date.now();
  private session: string | undefined;
  private heartbeat: Heartbeat | undefined;
  private metrics: MetricsServer | undefined;
  private clock: ClockMonitor | undefined;
  private rules: RuleEngine | undefined;
  private started = false;
  /** The start event is durable: events of this session may be sealed after it. */
  private anchored = false;
  /** Internal events raised before the start event was written (raise()), with the time they were raised. */
  private readonly deferred: { spec: InternalEventSpec; at: Date; done: Settle | undefined }[] = [];
  /** Aborted when stop() begins: an internal event waiting out its backoff is tried again at once. */
  private readonly stopBegun = new AbortController();
  /** Aborted just before stop() closes the queue: internal events stop being appended again. */
  private readonly queueClosing = new AbortController();
  /** The RFC 5424 options of every message (from the config: the same for the pipeline's life). */
  private syslogOptions: SyslogOptions | undefined;

  private readonly reload: PipelineDeps['reload'];
  private readonly queueFs: QueueFs | undefined;
  private readonly internalRetry: RetryDelays;

  constructor(
    private readonly config: Config,
    deps: PipelineDeps,
  ) {
    this.log = deps.log;
    this.reload = deps.reload;
    this.queueFs = deps.queueFs;
    this.internalRetry = deps.internalRetry ?? INTERNAL_RETRY;
    this.counters = deps.counters ?? new Counters();
  }

  /**
   * Opens the queue, starts the sink and the metrics endpoint, writes the start event, then starts the
   * inputs and the monitors. Several steps can fail after others hold sockets, watchers and timers: a
   * journald directory gone or journalctl missing (`check` only warns), a checkpoint registry
   * unreadable, the start event not written (EIO), or stop() begun meanwhile (SIGTERM during start;
   * a metrics port taken is not fatal: startMetrics). Then whatever had
   * started is stopped as by stop() (inputs commit, the sink drains within shutdown_grace, the queue
   * persists its state) before the error is thrown: otherwise the sink's connection and the inputs'
   * watchers would keep a process that cannot run alive (`logward run` exits instead).
   */
  async start(): Promise<void> {
    try {
      await this.startSteps();
    } catch (err) {
      this.log.error({ err }, 'start failed; stopping what had started');
      // stop() logs and counts its own step failures; the start's error is the one to report.
      await this.stop('failed to start').catch((e: unknown) => this.log.error({ err: e }, 'stopping after a failed start failed'));
      // stop() may have run before the queue existed (SIGTERM before or during queue.open()): close it here.
      await this.queue?.close().catch((e: unknown) => this.log.error({ err: e }, 'closing the queue after a stopped start failed'));
      // Raised before a start event that never came: the journal is all that is left of them.
      for (const { spec, done } of this.deferred.splice(0)) {
        this.counters.add('internal_events_failed');
        this.log.error({ action: spec.action, message: spec.message }, 'internal event not queued: the session never started');
        done?.reject(new LogwardError(`internal event ${spec.action} not queued: the session never started`));
      }
      throw err;
    }
  }

  private async startSteps(): Promise<void> {
    const cfg = this.config;
    // Durable: a state directory made now (first start) holds the queue, which must survive a power loss.
    await mkdirDurable(nodeFs, cfg.agent.stateDir, 0o700);
    // mkdir leaves an existing directory as it is: logs are sensitive at rest, so tighten it.
    try {
      await chmod(cfg.agent.stateDir, 0o700);
    } catch (err) {
      this.counters.add('state_dir_chmod_failed');
      this.log.warn({ err, dir: cfg.agent.stateDir }, 'cannot restrict the state directory to mode 0700');
    }
    const key = await loadHmacKey(cfg.integrity.keyFile);

    const queue = new DiskQueue(
      {
        dir: join(cfg.agent.stateDir, 'queue'),
        maxBytes: cfg.output.buffer.maxBytes,
        whenFull: cfg.output.buffer.whenFull,
        fsync: cfg.output.buffer.fsync === 'never' ? 'none' : cfg.output.buffer.fsync,
        fsyncIntervalMs: cfg.output.buffer.fsyncIntervalMs,
        resendWindow: resendWindowOf(cfg.output),
        retryMinMs: Math.min(cfg.output.retry.minDelayMs, 1000),
      },
      { counters: this.counters, onAlert: (a) => this.raise(queueSpec(a)), ...(this.queueFs ? { fs: this.queueFs } : {}) },
    );
    const recovery = await queue.open();
    this.queue = queue;
    this.checkNotStopping();
    if (recovery.bytesCut > 0 || recovery.corruptSegments > 0) {
      this.log.warn({ bytesCut: recovery.bytesCut, rangesCut: recovery.rangesCut, corruptSegments: recovery.corruptSegments }, 'queue recovery cut damaged records');
    }

    const sealer = new Sealer({ key: key.key, keyId: key.keyId, state: recovery.sealState });
    // Seqs sealed for a group the queue then fails to write are declared by the next record sealed.
    queue.attachSequence(sealer, (lost) => this.lossRecord(lost));
    this.sealer = sealer;
    const decl = sealer.startDeclaration();
    this.session = decl.session;
    this.internal = new InternalEvents({ id: cfg.agent.id, version: VERSION, hostName: this.host, ecsVersion: EcsVersion, session: decl.session });

    // The sink starts before the start event is written: on a disk the queue itself filled (a long
    // outage), only records the sink sends and the destination takes free the space that event needs,
    // so a start that waited for the disk first never finished. It sends what earlier sessions sealed;
    // what this session raises meanwhile waits for the start event (raise()).
    this.sink = new SyslogSink(sinkOptions(cfg.output.destination, cfg.output.retry), queueFrames(queue), {
      counters: this.counters,
      onEvent: (e) => this.onSinkEvent(e),
      log: this.log,
    });
    await this.sink.start();
    this.checkNotStopping();
    // The endpoint before the start event too: a start that waits (a full disk) is what `logward
    // status` must be able to explain (the queue and sink state, the alerts noted meanwhile).
    this.metrics = new MetricsServer({ host: cfg.monitoring.metrics.listen.host, port: cfg.monitoring.metrics.listen.port }, { snapshot: () => this.snapshot(), log: this.log });
    await this.startMetrics(1);
    this.checkNotStopping();

    // The start event is the first record of the session: it declares where the previous one ended,
    // in MSG (covered by the chain), so a restart is a declared boundary and not a gap.
    // A rename (agent.id changed since the stream was last sealed) is declared in the start text, so
    // `logward verify --agent NEW` holds this run against the old name's records (src/seal/agent-name.ts).
    const names = await AgentNames.load(cfg.agent.stateDir);
    if (names.problem !== undefined) this.log.warn({ problem: names.problem }, 'agent name file ignored: a rename before this start is not declared');
    const renamedFrom = decl.previousSession !== undefined ? names.renamedFrom(cfg.agent.id) : undefined;
    await this.appendInternal(startSpec(decl, VERSION, recovery, renamedFrom), false);
    this.checkNotStopping();
    // After the start event, never before: a crash in between leaves the old name, and the next start
    // declares the rename again (still true); saved first, it could name a run that sealed nothing.
    try {
      await names.save(cfg.agent.id, renamedFrom);
    } catch (err) {
      this.counters.add('agent_name_save_failed');
      this.log.warn({ err }, 'cannot save the agent name: a rename before the next start will not be declared');
    }

    if (this.reload) await this.announceReload(this.reload.weakened);
    this.anchored = true;
    for (const d of this.deferred.splice(0)) this.raise(d.spec, true, d.at, d.done);
    this.reportStrandedSuspicions(cfg);


    const rules = effectiveRules(cfg.alerts);
    this.rules = new RuleEngine(rules, {
      counters: this.counters,
      onAlert: (a) => this.raise(ruleAlertSpec(a)),
      ...(rules.some((r) => r.webhook !== undefined)
        ? { webhook: new WebhookSender({ counters: this.counters, log: this.log, agent: { id: cfg.agent.id, hostName: this.host } }) }
        : {}),
    });

    for (const input of cfg.inputs) this.sources.push(await this.makeSource(input, recovery.lastPositions));
    for (const s of this.sources) {
      this.checkNotStopping();
      // Before its start(): a source that fails half way (watchers set up, then an error) is stopped too.
      this.startedSources.push(s);
      await s.start();
    }
    this.checkNotStopping();

    const snapshot = (): AgentSnapshot => this.snapshot();
    this.heartbeat = new Heartbeat({ intervalMs: cfg.monitoring.heartbeatMs, silenceAfterMs: cfg.monitoring.silence.afterMs }, { snapshot, onSpec: (spec) => this.raise(spec) });
    this.heartbeat.start();
    if (cfg.monitoring.clock.ntpServers.length > 0) {
      this.clock = new ClockMonitor(
        { servers: cfg.monitoring.clock.ntpServers, intervalMs: cfg.monitoring.clock.intervalMs, maxOffsetMs: cfg.monitoring.clock.maxOffsetMs },
        { onSpec: (spec) => this.raise(spec), counters: this.counters, log: this.log },
      );
      this.clock.start();
    }
    this.started = true;
    this.log.info({ inputs: this.sources.map((s) => s.id), session: decl.session, recovered: recovery.recordsKept }, 'logward started');
  }

  /** stop() began while start() was still running (SIGTERM during start): nothing more may start. */
  private checkNotStopping(): void {
    if (this.stopBegun.signal.aborted) throw new StartStopped();
  }

  /**
   * The metrics endpoint is a view on the agent, not part of what it guarantees: a port taken (by
   * another service, or by a local user who wants the agent down) must not stop the shipping of
   * logs. The failure is an alert, and the bind is tried again with backoff until it works or the
   * agent stops.
   */
  private async startMetrics(attempt: number): Promise<void> {
    const metrics = this.metrics;
    if (!metrics || this.stopBegun.signal.aborted) return;
    const listen = this.config.monitoring.metrics.listen;
    try {
      const bound = await metrics.start();
      // A retry whose bind was in flight when stop() closed the endpoint: close what it opened.
      if (this.stopBegun.signal.aborted) {
        await metrics.stop();
        return;
      }
      this.log.info({ listen: `${listen.host}:${bound.port}` }, 'metrics endpoint listening');
      if (attempt > 1) this.counters.add('metrics_listen_recovered');
      return;
    } catch (err) {
      this.counters.add('metrics_listen_failed');
      this.log.error({ err, attempt }, 'metrics endpoint cannot listen; logs are shipped, the bind is retried');
      if (attempt === 1) {
        this.raise(metricsUnavailableSpec(listen.host, listen.port, (err as Error).message));
      }
    }
    const delay = backoffDelayMs(attempt, { minDelayMs: 1000, maxDelayMs: 60_000 });
    sleep(delay, undefined, { signal: this.stopBegun.signal, ref: false }).then(
      () => this.startMetrics(attempt + 1),
      (err: unknown) => {
        if (!this.stopBegun.signal.aborted) this.log.error({ err }, 'metrics retry wait failed');
      },
    );
  }

  /** An event from outside the pipeline (the run command: a rejected reload), in the same stream. */
  notify(spec: InternalEventSpec): void {
    this.raise(spec);
  }

  /**
   * Not retried, as the start event is not: a reload's start runs while SIGTERM waits for it, so an
   * append retried for as long as the disk fails would hold the agent past any stop. Failing, it
   * fails the reload, and runDaemon's fallback (or the service manager) takes over.
   */
  private async announceReload(weakened: readonly string[]): Promise<void> {
    await this.appendInternal(reloadedSpec(this.config.file), false);
    if (weakened.length > 0) await this.appendInternal(controlsWeakenedSpec(this.config.file, weakened), false);
  }

  /** SIGTERM: stop reading, drain what can be sent within shutdown_grace, commit, close. */
  stop(reason = 'stopping'): Promise<void> {
    return (this.stopping ??= this.stopOnce(reason));
  }

  private async stopOnce(reason: string): Promise<void> {
    // One deadline for the whole stop. Sources wait for their in-flight batch to be durable; during
    // an outage with a full queue (when_full: block) or a full disk that never happens, so once the
    // grace is spent the queue is closed, which rejects the pending appends: those sources stop
    // without committing, and their lines are read again at the next start (nothing is lost).
    const deadline = Date.now() + this.config.agent.shutdownGraceMs;
    const left = (): number => Math.max(0, deadline - Date.now());
    this.stopBegun.abort();
    await this.step('heartbeat', async () => this.heartbeat?.stop());
    await this.step('clock monitor', async () => this.clock?.stop());
    const sourcesDone = Promise.all(this.startedSources.map((s) => this.step(`input ${s.id}`, () => s.stop())));
    const inTime = await within(sourcesDone, left());
    if (!inTime) {
      this.counters.add('shutdown_sources_forced');
      this.log.warn({ graceMs: this.config.agent.shutdownGraceMs }, 'inputs still waiting for the queue after shutdown_grace (destination away, queue or disk full): stopping without committing their last batch');
    } else {
      for (const c of this.cursorStores) await this.step('journal cursor', () => c.flush());
      if (this.started && this.internal && this.queue) {
        await this.step('stop event', () =>
          within(
            this.appendInternal(stopSpec(VERSION, reason, this.session)),
            left(),
          ),
        );
      }
    }
    await this.step('rules', async () => this.rules?.stop());
    await within(Promise.allSettled([...this.internalWrites]), left());
    await this.step('sink', async () => this.sink?.stop(left()));
    this.queueClosing.abort();
    await this.step('queue', async () => this.queue?.close());
    if (!inTime) {
      // The queue is closed: blocked appends have been rejected, so the sources can finish now.
      if (!(await within(sourcesDone, 5000))) this.log.error({}, 'an input did not stop after the queue closed');
      for (const c of this.cursorStores) await this.step('journal cursor', () => c.flush());
    }
    await this.step('metrics endpoint', async () => this.metrics?.stop());
    this.log.info({ counters: this.counters.snapshot() }, 'logward stopped');
  }

  /** One stop step: a failure is logged and counted, and the other steps still run. */
  private async step(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.counters.add('shutdown_step_errors');
      this.log.error({ err, step: what }, `stopping ${what} failed`);
    }
  }

  /** What the metrics endpoint, `logward status` and the heartbeat report. */
  snapshot(): AgentSnapshot {
    const q = this.queue?.stats();
    const sink = this.sink?.status();
    const c = this.clock?.status();
    const clock: ClockSnapshot | undefined =
      c === undefined || c.servers.length === 0
        ? undefined
        : { drifting: c.drifting, ...(c.offsetMs !== undefined ? { offsetMs: c.offsetMs } : {}), ...(c.lastCheckAt !== undefined ? { lastCheckAt: c.lastCheckAt } : {}) };
    return {
      agentId: this.config.agent.id,
      version: VERSION,
      startedAt: this.startedAt,
      now: Date.now(),
      ...(this.session !== undefined ? { session: this.session } : {}),
      counters: this.counters.snapshot(),
      inputs: this.inputStats.map((i) => ({ id: i.id, type: i.type, linesRead: i.linesRead, ...(i.lastActivityAt !== undefined ? { lastActivityAt: i.lastActivityAt } : {}) })),
      ...(q
        ? { queue: { bytes: q.bytes, records: q.records, written: String(q.written), sent: String(q.sent), acked: String(q.acked), dropped: q.dropped, blocked: q.blocked } }
        : {}),
      ...(sink
        ? { sink: { connected: sink.connected, reconnects: sink.reconnects, ...(sink.host !== undefined ? { host: sink.host } : {}), ...(sink.lastSendAt !== undefined ? { lastSendAt: sink.lastSendAt } : {}) } }
        : {}),
      ...(clock ? { clock } : {}),
      recentAlerts: [...this.recentAlerts],
      heartbeatMs: this.config.monitoring.heartbeatMs,
    };
  }

  private async makeSource(input: InputConfig, recovered: Map<string, { end?: number; cursor?: string }>): Promise<Source> {
    const cfg = this.config;
    const processor = new RecordProcessor({
      agentId: cfg.agent.id,
      parser: input.parser,
      ...(input.pattern !== undefined ? { regex: input.pattern } : {}),
      format: cfg.output.format,
      cef: cfg.output.cef,
      redact: cfg.processing.redact,
      maxLineBytes: cfg.processing.maxLineBytes,
      fields: input.fields,
      counters: this.counters,
    });
    const stats: InputStats = { id: input.id, type: input.type, linesRead: 0 };
    this.inputStats.push(stats);
    const emit = (batch: RawRecord[]): Promise<void> => {
      stats.linesRead += batch.length;
      if (batch.length > 0) stats.lastActivityAt = Date.now();
      return this.append(batch, processor);
    };

    if (input.type === 'file') {
      const src = new FileSource(
        {
          inputId: input.id,
          paths: input.paths,
          exclude: input.exclude,
          startAt: input.startAt,
          followSymlinks: input.followSymlinks,
          ...(input.multiline
            ? { multiline: { start: new RegExp(input.multiline.start), maxLines: input.multiline.maxLines, maxBytes: input.multiline.maxBytes, timeoutMs: input.multiline.timeoutMs } }
            : {}),
          partialLineTimeoutMs: input.partialLineTimeoutMs,
          maxLineBytes: cfg.processing.maxLineBytes,
          stateDir: cfg.agent.stateDir,
          maxOpenFiles: cfg.sources.maxOpenFiles,
          rescanIntervalMs: cfg.sources.rescanIntervalMs,
          deletedFileMaxHoldMs: cfg.sources.deletedFileMaxHoldMs,
          checkpointExpiryMs: cfg.sources.checkpointExpiryMs,
        },
        // The promise tells the source when the alert is stored: its suspicion stays saved until then.
        { emit, alert: (a) => this.raiseStored(tamperSpec(a, input.id)), error: (what, err) => this.inputError(input.id, what, err), counters: this.counters },
      );
      await src.load();
      // A crash after the queue's fsync and before the checkpoint write: the queue knows better.
      for (const [identity, pos] of recovered) if (pos.end !== undefined) src.checkpointer.recover(identity, pos.end);
      return { id: input.id, start: () => src.start(), stop: () => src.stop() };
    }

    const store = new CursorStore(cfg.agent.stateDir, input.id);
    this.cursorStores.push(store);
    let cursor = await store.load();
    // The queue's newest cursor is never older than the committed one (a cursor is committed only after
    // its batch is durable). Queue positions are keyed by journal identity, which is per machine, so the
    // queue can only speak for the journal when a single journald input reads it.
    const journalInputs = cfg.inputs.filter((i) => i.type === 'journald').length;
    if (journalInputs === 1) {
      for (const [identity, pos] of recovered) if (pos.cursor !== undefined && identity.startsWith('journal:')) cursor = pos.cursor;
    }
    const src = new JournaldSource(
      {
        inputId: input.id,
        units: input.units,
        ...(input.directory !== undefined ? { directory: input.directory } : {}),
        ...(cursor !== undefined ? { cursor } : {}),
        startAt: input.startAt,
        maxMessageBytes: cfg.processing.maxLineBytes,
      },
      {
        emit,
        commitCursor: (c) => store.commit(c),
        counters: this.counters,
        log: (msg, ctx) => this.log.warn({ input: input.id, ...ctx }, msg),
      },
    );
    return { id: input.id, start: () => src.start(), stop: () => src.stop() };
  }

  /**
   * Encode a batch and make it durable; resolves only when all of it is (the
   * source then commits). Appended in bounded slices (src/queue/append-slices.ts);
   * if any slice fails, the whole batch fails and the source re-reads it
   * (at-least-once).
   */
  private append(batch: RawRecord[], processor: RecordProcessor): Promise<void> {
    const queue = this.queue!;
    return appendInSlices(
      batch,
      (raw) => this.toAppend(raw, processor),
      (records) => queue.append(records),
      APPEND_SLICE,
      yieldToQueue,
    );
  }

  private toAppend(raw: RawRecord, processor: RecordProcessor): SealedAppend {
    const sealer = this.sealer!;
    const rec = processor.process(raw);
    this.rules!.observe(rec.event);
    const { parts, size } = this.fit(rec.event, rec.payload);
    // Per record: assigned, not spread (a spread of a conditional builds a throwaway object).
    const meta: QueueRecordMeta = { input: raw.source.input, identity: raw.source.identity };
    if (raw.source.end !== undefined) meta.end = raw.source.end;
    if (raw.source.cursor !== undefined) meta.cursor = raw.source.cursor;
    // sealBytes: the writer copies the message into its frame at once (no string, no second encode).
    return { seal: () => sealer.sealBytes(parts), size: size + SEAL_OVERHEAD_BYTES, meta };
  }

  /**
   * RFC 5424 parts within output.max_message_bytes (message and event.original are cut first), and their UTF-8 bytes.
   * `keep`: bytes at the start of message never cut, an internal event's declaration (src/seal/declaration.ts
   * declarationBytes): `logward verify` reads it there; the event may then stay over the limit.
   */
  private fit(event: LogEvent, payload: string, keep = 0): { parts: SyslogParts; size: number } {
    const cfg = this.config.output;
    const opts = (this.syslogOptions ??= { sdId: cfg.sdId, msgId: cfg.format === 'ecs' ? 'ECS' : 'CEF', agentId: this.config.agent.id, hostname: this.host });
    // ECS payloads come from encodeEvent, which escapes every string by construction.
    const vetted = cfg.format === 'ecs';
    let parts = syslogParts(event, payload, opts, vetted);
    const limit = cfg.maxMessageBytes - SEAL_OVERHEAD_BYTES;
    const size = partsBytes(parts);
    if (size <= limit) return { parts, size };
    const f = { ...event.fields };
    const over = size - limit;
    for (const name of ['event.original', 'message']) {
      const v = f[name];
      if (typeof v !== 'string') continue;
      const len = Buffer.byteLength(v);
      f[name] = cutUtf8(v, Math.max(name === 'message' ? Math.min(keep, len) : 0, len - over));
    }
    const tags = Array.isArray(f['tags']) ? (f['tags'] as string[]) : [];
    if (!tags.includes('truncated')) f['tags'] = [...tags, 'truncated'];
    this.counters.add('events_cut_to_max_message');
    const cut: LogEvent = { ...event, fields: f };
    const enc = encodeEvent(cut, cfg.format, { counters: this.counters, cef: { ...cfg.cef, version: VERSION } });
    parts = syslogParts(cut, enc.payload, opts, vetted);
    return { parts, size: partsBytes(parts) };
  }

  /** Internal events: never dropped by drop_oldest, allowed into the queue's headroom. */
  private raise(spec: InternalEventSpec, noted = false, at?: Date, done?: Settle): void {
    if (!this.anchored || !this.queue || !this.internal) {
      // Nothing of this session may be sealed before its start event, which anchors it (the sink,
      // the queue's recovery and its full-disk alerts speak earlier): held until that event is in.
      // The journal and `logward status` hear of it now: a start stuck on a full disk says why.
      if (!noted) this.note(spec, neutralizeText(spec.message).text);
      // Its time is when it happened, not when the start event let it in (a start can wait for hours).
      if (this.deferred.length >= MAX_DEFERRED_EVENTS) {
        // Full: a start stuck for hours with the destination away fills it with one alert per connect
        // attempt. Give up the oldest repeat of an action held already, never the first of a kind, so
        // what comes last (the disk recovered, a drop) is still shipped.
        const seen = new Set<string>();
        let i = -1;
        for (let k = 0; k < this.deferred.length && i === -1; k++) {
          const action = (this.deferred[k] as { spec: InternalEventSpec }).spec.action;
          if (seen.has(action)) i = k;
          else seen.add(action);
        }
        const lost = i === -1 ? { spec, done } : (this.deferred.splice(i, 1)[0] as { spec: InternalEventSpec; done: Settle | undefined });
        this.counters.add('internal_events_failed');
        this.log.error({ action: lost.spec.action, message: lost.spec.message }, 'internal event not queued: too many raised before the start event');
        lost.done?.reject(new LogwardError(`internal event ${lost.spec.action} not queued: too many raised before the start event`));
        if (i === -1) return;
      }
      this.deferred.push({ spec, at: at ?? new Date(), done });
      return;
    }
    const p = this.appendInternal(spec, true, noted, at).then(
      () => done?.resolve(),
      (err: unknown) => {
        this.counters.add('internal_events_failed');
        this.log.error({ err, action: spec.action }, 'internal event not queued');
        done?.reject(err);
      },
    );
    this.internalWrites.add(p);
    void p.finally(() => this.internalWrites.delete(p));
  }

  /** As raise(), and settled when the event is in the queue (durable as the queue's fsync policy makes it), or for good not. */
  private raiseStored(spec: InternalEventSpec): Promise<void> {
    return new Promise<void>((resolve, reject) => this.raise(spec, false, undefined, { resolve, reject }));
  }

  /**
   * Tamper suspicions that a file input's last run saved and could not decide, in the registry of an
   * input that is no longer configured (removed or renamed): no source loads that registry, so they are
   * raised here, marked unchecked, and cleared from it once stored (a crash before: raised again).
   */
  private reportStrandedSuspicions(cfg: Config): void {
    const fileInputs = new Set(cfg.inputs.filter((i) => i.type === 'file').map((i) => i.id));
    // Kept in its registry, whatever failed: the next start reports them again.
    const failed = (err: unknown, input?: string): void => {
      this.counters.add('source_stranded_suspicions_failed');
      this.log.error({ err, input }, 'tamper suspicions of removed inputs not reported');
    };
    const p = strandedSuspicions(cfg.agent.stateDir, fileInputs, (err) => failed(err))
      .then(async (stranded) => {
        // Each registry on its own: one that cannot be cleared (ENOSPC on the state directory) or whose
        // alert the queue refused must not keep the others' alerts back until the next start.
        for (const s of stranded) {
          this.log.warn({ input: s.input, suspicions: s.alerts.length }, 'tamper suspicions of an input no longer configured: raised unchecked');
          try {
            await Promise.all(s.alerts.map((a) => this.raiseStored(tamperSpec(a, s.input))));
            await s.clear();
          } catch (err) {
            failed(err, s.input);
          }
        }
      })
      .catch((err: unknown) => failed(err));
    this.internalWrites.add(p);
    void p.finally(() => this.internalWrites.delete(p));
  }

  /**
   * Internal events are never dropped: when the queue rejects one because its write group failed
   * (EIO), it is appended again, sealed anew at a later seq with the same event (same event.id),
   * until it is durable or the pipeline stops. Nothing else would bring it back: a source re-reads
   * its lines, but a tamper alert or a rejected reload happens once. Not the start event: it must be
   * the session's first record to anchor it, so a start that cannot be written fails the start.
   */
  private async appendInternal(spec: InternalEventSpec, retry = true, noted = false, at?: Date): Promise<void> {
    const queue = this.queue!;
    const record = this.internalRecord(spec, 'record', noted, at);
    for (let attempt = 1; ; attempt++) {
      try {
        await queue.append([record]);
        return;
      } catch (err) {
        if (!retry || this.queueClosing.signal.aborted) throw err;
        this.counters.add('internal_events_retried');
        this.log.warn({ err, action: spec.action, attempt }, 'internal event not queued; appending it again');
        await this.internalBackoff(attempt);
      }
    }
  }

  /**
   * The wait before an internal event's next append: jittered (many agents that share a failing
   * disk array must not retry in step). stop() cuts it short once, so that the event gets its
   * chance within the shutdown grace instead of sleeping through it; closing the queue cuts it
   * short again, and the next append then fails for good.
   */
  private async internalBackoff(attempt: number): Promise<void> {
    const wake = this.stopBegun.signal.aborted ? this.queueClosing.signal : AbortSignal.any([this.stopBegun.signal, this.queueClosing.signal]);
    try {
      await sleep(backoffDelayMs(attempt, this.internalRetry), undefined, { signal: wake, ref: false });
    } catch (err) {
      if (!wake.aborted) throw err;
    }
  }

  /** The queue_records_lost alert that declares a lost range; the queue seals it before anything else. */
  private lossRecord(lost: LostRange): SealedAppend {
    // Sealed as a declaration (its own MAC label): see ChainRole in src/seal/chain.ts.
    return this.internalRecord(lostRangeSpec(this.sealer!.lossDeclaration(lost), lost.error, VERSION), 'loss_declaration');
  }

  /** `noted`: the journal and the recent alerts already have it (raised before the start event). */
  private internalRecord(spec: InternalEventSpec, role: ChainRole = 'record', noted = false, at?: Date): SealedAppend {
    const ev = this.internal!.make(spec, at);
    if (!noted) this.note(spec, String(ev.fields['message'] ?? spec.message));
    const cfg = this.config.output;
    const enc = encodeEvent(ev, cfg.format, { counters: this.counters, cef: { ...cfg.cef, version: VERSION } });
    const { parts, size } = this.fit(ev, enc.payload, declarationBytes(String(ev.fields['message'] ?? '')));
    const sealer = this.sealer!;
    this.counters.add('internal_events');
    return { seal: () => sealer.sealBytes(parts, role), size: size + SEAL_OVERHEAD_BYTES, meta: { input: ev.source.input, identity: ev.source.identity, internal: true } };
  }

  /** An internal event as the journal and `logward status` (recent alerts) show it. */
  private note(spec: InternalEventSpec, message: string): void {
    if (spec.kind === 'alert') {
      this.recentAlerts.push({ at: Date.now(), action: spec.action, message });
      if (this.recentAlerts.length > 20) this.recentAlerts.shift();
    }
    this.log.info({ action: spec.action, kind: spec.kind }, spec.message);
  }

  /**
   * A source error it will retry (a directory it cannot scan, a batch it could not hand over):
   * logged, and shipped as an event — once per input and message every 10 minutes, so a
   * persistent failure is visible in the SIEM without flooding it.
   */
  private inputError(input: string, what: InputStage, err: Error): void {
    const key = `${input}\0${what}\0${err.message}`;
    const now = Date.now();
    this.log.warn({ input, what, err }, `input ${input}: ${what} failed; retrying`);
    if ((this.errorsReported.get(key) ?? -Infinity) > now - 10 * 60_000) return;
    if (this.errorsReported.size > 1000) this.errorsReported.clear();
    this.errorsReported.set(key, now);
    this.raise(inputErrorSpec(input, what, err.message));
  }

  private onSinkEvent(e: SinkEvent): void {
    const routine = e.type === 'connected' || e.type === 'failback' || (e.type === 'disconnected' && e.reason === 'stopped');
    const level = routine ? 'info' : 'warn';
    this.log[level]({ sink: e }, `sink ${e.type}`);
    const spec = sinkSpec(e);
    if (spec) this.raise(spec);
  }
}

/** The queue as the sink sees it: sink positions are "handled up to and including id", queue cursors are exclusive. */
export function queueFrames(queue: DiskQueue): FrameSource {
  return {
    replayPosition: () => queue.replayPosition() - 1n,
    rewind: () => queue.rewind() - 1n,
    readFrom: (p, max) => queue.readPayloads(p + 1n, max),
    waitForData: (p) => queue.waitForData(p + 1n),
    markSent: (id) => queue.markSent(id + 1n),
  };
}

export function sinkOptions(d: DestinationConfig, retry: { minDelayMs: number; maxDelayMs: number }): SinkOptions {
  return {
    protocol: d.protocol,
    allowInsecure: d.allowInsecure,
    hosts: d.hosts.map(hostPort),
    ...(d.serverName !== undefined ? { serverName: d.serverName } : {}),
    ...(d.caFile !== undefined ? { caFile: d.caFile } : {}),
    systemCa: d.systemCa,
    ...(d.certFile !== undefined ? { certFile: d.certFile } : {}),
    ...(d.keyFile !== undefined ? { keyFile: d.keyFile } : {}),
    pinSha256: [...d.pinSha256],
    deadAfterMs: d.deadAfterMs,
    retry: { minDelayMs: retry.minDelayMs, maxDelayMs: retry.maxDelayMs },
  };
}

/**
 * The queue's resend window. While appends wait for space the queue gives up the byte part and
 * acknowledges by age alone; the sink finds a silently dead peer within ~1.5 x dead_after (the
 * unacknowledged-bytes watch), so age alone then proves delivery only past 2 x dead_after.
 */
export function resendWindowOf(output: {
  readonly resendWindow: { readonly bytes: number; readonly ageMs: number };
  readonly destination: { readonly deadAfterMs: number };
}): { bytes: number; ageMs: number; pressureAgeMs: number } {
  const { bytes, ageMs } = output.resendWindow;
  return { bytes, ageMs, pressureAgeMs: Math.max(ageMs, 2 * output.destination.deadAfterMs) };
}

/** true when p settles within ms; p keeps running either way. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function hostPort(h: HostPort): string {
  return h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}

function partsBytes(p: SyslogParts): number {
  return Buffer.byteLength(p.header) + Buffer.byteLength(p.sdId) + Buffer.byteLength(p.sdParams) + Buffer.byteLength(p.otherSd) + Buffer.byteLength(p.msg) + 4;
}

function cutUtf8(s: string, maxBytes: number): string {
  const b = Buffer.from(s);
  if (b.length <= maxBytes) return s;
  let cut = maxBytes;
  while (cut > 0 && ((b[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return b.subarray(0, cut).toString('utf8');
}

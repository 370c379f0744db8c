/**
 * `logward run -c FILE`: the daemon in the foreground (systemd runs this).
 *
 * SIGTERM/SIGINT: stop reading, drain within agent.shutdown_grace, commit,
 * exit 0. SIGHUP: reload. The new config is validated in full first; if it is
 * invalid, or changes what cannot change live (agent.id, state_dir), it is
 * rejected with its reasons (logged, and an alert in the stream) and the old
 * one keeps running. Otherwise the pipeline is restarted in-process with the
 * new config: sources commit their checkpoints, the queue is closed and
 * reopened, and the new session's start event declares where the old one
 * ended, so the reload is a declared boundary in `logward verify`.
 *
 * An error nobody handled is logged with its context and the process exits
 * non-zero, so systemd restarts it: no half-alive agent.
 *
 * One agent per state_dir (src/state/instance-lock.ts): the lock is taken
 * right after the config is read and before anything in the directory is
 * opened (queue, checkpoints, start event), held for the life of the process
 * (a reload restarts the pipeline, not the process, and cannot change
 * state_dir) and released by the kernel at exit, however the process ends. A
 * second agent prints one line naming the directory and the holder's pid and
 * exits EXIT_ALREADY_RUNNING.
 */
import pino from 'pino';

import { renderReport } from '../config/check.js';
import { inspectConfig } from '../config/load.js';
import { immutableChanges, weakenedControls } from '../config/reload.js';
import type { Config } from '../config/types.js';
import { reloadRejectedSpec } from '../event/internal.js';
import { errorLine } from '../errors.js';
import { Pipeline, type AgentLogger } from '../pipeline.js';
import { acquireInstanceLock, InstanceLockedError } from '../state/instance-lock.js';

export const EXIT_CONFIG = 2;
/**
 * Another agent holds the state directory. 75 is EX_TEMPFAIL (sysexits.h: try again later),
 * distinct from 1 (a crash: restart) and 2 (the config: fix it), and not one of the codes Node
 * itself exits with (1, 3-7, 9-14, >128), so the unit can list it in RestartPreventExitStatus=
 * without also stopping restarts after a crash of Node's own.
 */
export const EXIT_ALREADY_RUNNING = 75;
/**
 * The config is valid but the agent could not start (a journald directory gone, a checkpoint
 * registry unreadable, the queue's disk failing): one line says why. 1, like a crash: the service
 * manager restarts it (the directory may be back by then; StartLimitBurst bounds the rest), which 2
 * (fix the config) and 75 (another agent runs) do not suggest.
 */
export const EXIT_START_FAILED = 1;

export async function runDaemon(file: string, io: { stderr: NodeJS.WritableStream; signal: AbortSignal }): Promise<number> {
  const report = await inspectConfig(file, { checkFiles: true });
  if (report.config === undefined || report.problems.length > 0) {
    // The same lines `logward check` prints, one per problem, each with its config path.
    const r = renderReport(report);
    for (const line of r.lines) io.stderr.write(line + '\n');
    io.stderr.write(r.summary + '\n');
    return EXIT_CONFIG;
  }
  let config: Config = report.config;

  const log = pino({ base: { agent: config.agent.id }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
  for (const w of report.warnings) log.warn({ configPath: w.configPath }, `config warning: ${w.message}`);
  routeProcessWarnings(log);

  // Before the pipeline touches the directory. Never released here: the kernel does it at exit, so
  // a successor cannot start while this process still runs, even one stuck after stop.
  try {
    const lock = await acquireInstanceLock(config.agent.stateDir);
    for (const w of lock.warnings) log.warn({ stateDir: lock.stateDir, lock: lock.mode }, `instance lock: ${w}`);
  } catch (err) {
    if (!(err instanceof InstanceLockedError)) throw err;
    io.stderr.write(`logward: ${err.message}\n`);
    return EXIT_ALREADY_RUNNING;
  }

  const fatal = (err: unknown, origin: string): void => {
    log.fatal({ err, origin }, 'fatal error; exiting so that the service manager restarts the agent');
    process.exit(1);
  };
  process.on('uncaughtException', (err) => fatal(err, 'uncaughtException'));
  process.on('unhandledRejection', (err) => fatal(err, 'unhandledRejection'));

  let pipeline = new Pipeline(config, { log });
  // Reloads run one at a time; a SIGHUP during a reload runs after it. The handler is in place
  // before start: Node's default for SIGHUP is to exit, and logrotate's postrotate may send one
  // at any moment. One sent during start-up waits for it.
  let started: () => void = () => undefined;
  let reloading: Promise<void> = new Promise<void>((resolve) => (started = resolve));
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      const result = await reload(file, config, pipeline, log, io.signal);
      if (result) ({ pipeline, config } = result);
    });
  });
  // A SIGTERM while start() still waits (the start event on a full disk, a slow step) stops it:
  // stop() closes the queue, which rejects the waiting append, and start() gives up. Without this
  // the signal was only looked at after start, and a start that never ended ignored it.
  const stopStart = (): void => void pipeline.stop('stopped while starting');
  if (io.signal.aborted) stopStart();
  else io.signal.addEventListener('abort', stopStart, { once: true });
  try {
    await pipeline.start();
  } catch (err) {
    if (io.signal.aborted) {
      log.info('stop requested during start: stopped');
      exitAnyway(log, 0, 'after stop');
      return 0;
    }
    // Pipeline.start stopped what it had started (sink, inputs, queue, timers), so the process can
    // end. `started` is never called: a SIGHUP from now on waits for ever instead of starting a
    // pipeline in a process that is exiting.
    io.stderr.write(`logward: cannot start: ${errorLine(err)}\n`);
    exitAnyway(log, EXIT_START_FAILED, 'after a failed start');
    return EXIT_START_FAILED;
  } finally {
    io.signal.removeEventListener('abort', stopStart);
  }
  started();

  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  log.info('stop requested: draining');
  await reloading;
  await pipeline.stop();
  exitAnyway(log, 0, 'after stop');
  return 0;
}

/**
 * Node prints process warnings as plain text on stderr, between the agent's JSON log lines, where a
 * journal or collector that parses the log sees a broken line and loses the field that says which
 * agent it came from. The modules that warn this way (a cursor or checkpoint not saved, a temp file
 * not removed, the instance lock's socket, a dependency's deprecation) go through the log instead,
 * at level warn, with Node's name and code for the warning.
 */
function routeProcessWarnings(log: AgentLogger): void {
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: unknown }) => {
    log.warn({ warning: w.name, ...(typeof w.code === 'string' ? { code: w.code } : {}) }, w.message);
  });
}

/**
 * Everything is committed. Should a handle still hold the event loop (an input that did not let
 * go), exit anyway rather than wait for the service manager's SIGKILL.
 */
function exitAnyway(log: AgentLogger, code: number, when: string): void {
  setTimeout(() => {
    log.warn({}, `event loop still busy ${when}; exiting`);
    process.exit(code);
  }, 2000).unref();
}

/**
 * start() that a SIGTERM stops, as the first start is: a reload's start (or its fallback's) can wait
 * for the start event on a full disk too, and runDaemon waits for a running reload before it stops.
 */
async function startStoppable(p: Pipeline, signal: AbortSignal): Promise<void> {
  const stop = (): void => void p.stop('stopped while starting');
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  try {
    await p.start();
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

async function reload(file: string, current: Config, pipeline: Pipeline, log: AgentLogger, signal: AbortSignal): Promise<{ pipeline: Pipeline; config: Config } | undefined> {
  // A SIGHUP queued behind the stop: no new pipeline in a process that is stopping.
  if (signal.aborted) return undefined;
  log.info({}, `SIGHUP: reloading ${file}`);
  const report = await inspectConfig(file, { checkFiles: true });
  const reasons =
    report.config === undefined || report.problems.length > 0
      ? renderReport(report).lines.filter((l) => !/: warning: /.test(l))
      : immutableChanges(current, report.config);
  if (reasons.length > 0 || report.config === undefined) {
    reject(pipeline, log, file, reasons);
    return undefined;
  }
  const next = report.config;
  const weakened = weakenedControls(current, next);
  await pipeline.stop('reloading its configuration');
  if (signal.aborted) return undefined;
  const fresh = new Pipeline(next, { log, reload: { weakened } });
  try {
    await startStoppable(fresh, signal);
    log.info({ weakened }, 'configuration reloaded');
    return { pipeline: fresh, config: next };
  } catch (err) {
    // Stopped by SIGTERM (start() stopped what it had started): runDaemon's stop() finds it stopped.
    if (signal.aborted) return { pipeline: fresh, config: next };
    // The new config validated but did not start (a port in use, a key gone): back to the old one.
    log.error({ err }, 'the new configuration failed to start; restoring the previous one');
    await fresh.stop('failed to start with the new configuration').catch((e: unknown) => log.error({ err: e }, 'cleanup after failed reload'));
    if (signal.aborted) return { pipeline: fresh, config: next };
    const back = new Pipeline(current, { log });
    try {
      await startStoppable(back, signal);
    } catch (e) {
      if (signal.aborted) return { pipeline: back, config: current };
      throw e;
    }
    reject(back, log, file, [`the new configuration failed to start: ${(err as Error).message}`]);
    return { pipeline: back, config: current };
  }
}

function reject(pipeline: Pipeline, log: AgentLogger, file: string, reasons: readonly string[]): void {
  log.error({ reasons }, 'configuration reload rejected; the previous configuration keeps running');
  pipeline.notify(reloadRejectedSpec(file, reasons));
}

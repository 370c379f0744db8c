/**
 * `logward run -c FILE`: the daemon in the foreground (systemd runs this).
 * SIGTERM/SIGINT: stop reading, drain within agent.shutdown_grace, commit,
 * exit 0. An error nobody handled is logged with its context and the process
 * exits non-zero, so systemd restarts it: no half-alive agent.
 */
import pino from 'pino';

import { checkConfig } from '../config/check.js';
import { loadConfig } from '../config/load.js';
import { ConfigErrors } from '../errors.js';
import { Pipeline } from '../pipeline.js';

export const EXIT_CONFIG = 2;

export async function runDaemon(file: string, io: { stderr: NodeJS.WritableStream; signal: AbortSignal }): Promise<number> {
  let config;
  try {
    config = await loadConfig(file, { checkFiles: true });
  } catch (err) {
    if (err instanceof ConfigErrors) {
      // The same lines `logward check` prints, one per problem, each with its config path.
      const report = await checkConfig(file, {});
      for (const line of report.lines) io.stderr.write(line + '\n');
      io.stderr.write(report.summary + '\n');
      return EXIT_CONFIG;
    }
    throw err;
  }

  const log = pino({ base: { agent: config.agent.id }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
  const pipeline = new Pipeline(config, { log });

  const fatal = (err: unknown, origin: string): void => {
    log.fatal({ err, origin }, 'fatal error; exiting so that the service manager restarts the agent');
    process.exit(1);
  };
  process.on('uncaughtException', (err) => fatal(err, 'uncaughtException'));
  process.on('unhandledRejection', (err) => fatal(err, 'unhandledRejection'));
  // Until reload lands (issue: the watcher), SIGHUP must not kill the agent (Node's default).
  // Certificates and keys are already re-read on every reconnect.
  process.on('SIGHUP', () => log.warn('SIGHUP received: configuration reload is not supported yet; restart the service to apply a new config'));

  await pipeline.start();
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  log.info('stop requested: draining');
  await pipeline.stop();
  return 0;
}

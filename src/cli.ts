#!/usr/bin/env node
/**
 * The command line only: parse arguments, call one function, map the outcome
 * to an exit code. Exit codes are a contract (DESIGN.md "Command line"):
 * 2 for bad arguments or an invalid config.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

// Each command's module is imported when that command runs: the daemon (`run`) then never
// loads what only other commands need (selfsigned and its X.509 stack for `demo`, the
// receiver, the verifier), which is RSS it would otherwise carry for its whole life.
import type { VerifyFormat } from './commands/verify.js';
import { UsageError } from './errors.js';
import { PARSER_NAMES, type ParserName } from './parse/index.js';
import { VERSION } from './version.js';

const EXIT_USAGE = 2;

function parserName(value: string): ParserName {
  if (!(PARSER_NAMES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`unknown parser; one of ${PARSER_NAMES.join(', ')}`);
  }
  return value as ParserName;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('logward')
    .description('Security log shipping agent: tail, neutralize, redact, encode (ECS/CEF), seal and ship over TLS syslog.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('convert')
    .description('one shot: lines in, encoded events out on stdout, one per line; no network')
    .addOption(new Option('-p, --parser <parser>', 'parser').argParser(parserName).default('auto'))
    .addOption(new Option('-f, --format <format>', 'output format').choices(['ecs', 'cef']).default('ecs'))
    .option('--syslog', 'print the full RFC 5424 message instead of the bare event', false)
    .option('--regex <pattern>', 'pattern with named groups, for --parser regex (group names use __ for dots)')
    .option('--agent-id <id>', 'agent id used in agent.id and event.id (default: host name)')
    .argument('[file]', 'input file, or - for stdin', '-')
    .action(async (file: string, o: { parser: ParserName; format: 'ecs' | 'cef'; syslog: boolean; regex?: string; agentId?: string }) => {
      if (o.parser === 'regex' && o.regex === undefined) throw new UsageError('--parser regex needs --regex <pattern>');
      // Ignoring it would convert with another parser than the one the user asked for, and say nothing.
      if (o.parser !== 'regex' && o.regex !== undefined) throw new UsageError(`--regex is only used with --parser regex (the parser is ${o.parser})`);
      const { runConvert } = await import('./convert/command.js');
      await runConvert(
        {
          parser: o.parser,
          format: o.format,
          syslog: o.syslog,
          file,
          ...(o.regex !== undefined ? { regex: o.regex } : {}),
          ...(o.agentId !== undefined ? { agentId: o.agentId } : {}),
        },
        { stdin: process.stdin, stdout: process.stdout },
      );
    });

  program
    .command('check')
    .description('validate a config: schema, then files, certificates, keys and permissions')
    .requiredOption('-c, --config <file>', 'config file (YAML or JSON)')
    .option('--as-user <name>', 'check file access and key ownership as this user (the service user)')
    .action(async (o: { config: string; asUser?: string }) => {
      const { checkConfig } = await import('./config/check.js');
      const result = await checkConfig(o.config, o.asUser !== undefined ? { asUser: o.asUser } : {});
      for (const line of result.lines) process.stderr.write(line + '\n');
      (result.ok ? process.stdout : process.stderr).write(result.summary + '\n');
      process.exitCode = result.ok ? 0 : EXIT_USAGE;
    });

  program
    .command('run')
    .description('the daemon, in the foreground: tail inputs, seal, queue and ship (SIGTERM drains and exits 0)')
    .requiredOption('-c, --config <file>', 'config file (YAML or JSON)')
    .action(async (o: { config: string }) => {
      // The signal first: a SIGTERM while the daemon's modules load then drains and exits 0.
      const signal = stopSignal();
      const { runDaemon } = await import('./commands/run.js');
      process.exitCode = await runDaemon(o.config, { stderr: process.stderr, signal });
    });

  program
    .command('verify')
    .description('check sessions, sequences and the HMAC chain of received events (exit 0 intact, 1 findings)')
    .requiredOption('--key <file>', 'HMAC key file (may hold old keys after a rotation)')
    .option('--sd-id <id>', 'SD-ID of the seal (output.sd_id)', 'logward@32473')
    .addOption(new Option('--format <format>', 'stored form').choices(['auto', 'lines', 'frames']).default('auto'))
    .option('-v, --verbose', 'also list lines that are not logward events', false)
    .option('--agent <id>', "check only this agent's records (agent.id; a file holding several agents' streams)")
    .option(
      '--accept-fresh-start <session>',
      'a stream that started over (state directory lost or rebuilt) at this session id is no failure; repeatable, or "all"',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .argument('<received...>', 'file(s) a receiver stored, or - for stdin; several (daily files, oldest first) are checked as one stream')
    .action(async (received: string[], o: { key: string; sdId: string; format: VerifyFormat; verbose: boolean; agent?: string; acceptFreshStart: string[] }) => {
      const { runVerify } = await import('./commands/verify.js');
      const fresh = o.acceptFreshStart;
      const acceptFreshStarts = fresh.includes('all') ? ('all' as const) : fresh.length > 0 ? fresh : undefined;
      process.exitCode = await runVerify(
        {
          keyFile: o.key,
          file: received.length === 1 ? (received[0] as string) : received,
          sdId: o.sdId,
          format: o.format,
          verbose: o.verbose,
          ...(o.agent !== undefined ? { agent: o.agent } : {}),
          ...(acceptFreshStarts !== undefined ? { acceptFreshStarts } : {}),
        },
        // fd 0 as well: stdin redirected from a file given too (`verify day1.log - < day1.log`) is that file twice.
        { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, stdinFd: 0 },
      );
    });

  program
    .command('status')
    .description("what the running agent is doing, read from its metrics endpoint (exit 3 when it is not running)")
    .requiredOption('-c, --config <file>', 'config file (YAML or JSON)')
    .action(async (o: { config: string }) => {
      const { runStatus } = await import('./commands/status.js');
      process.exitCode = await runStatus(o.config, { stdout: process.stdout, stderr: process.stderr });
    });

  program
    .command('demo')
    .description('everything on one machine: temporary certificates, a local receiver, sample logs with an attack in them')
    .option('--keep', 'keep the temporary directory (config, state, received events) afterwards', false)
    .action(async (o: { keep: boolean }) => {
      const { runDemo } = await import('./commands/demo.js');
      process.exitCode = await runDemo({ keep: o.keep }, { stdout: process.stdout, stderr: process.stderr });
    });

  program
    .command('receive')
    .description('a small TLS syslog (RFC 5425) receiver for testing a set-up; one record per line')
    .requiredOption('--listen <host:port>', 'address to listen on (port 0: any free port)')
    .requiredOption('--cert <file>', 'server certificate (PEM)')
    .requiredOption('--key <file>', 'server key (PEM)')
    .option('--ca <file>', 'require client certificates signed by this CA')
    .option('--out <file>', 'append records to this file (default: stdout)')
    .action(async (o: { listen: string; cert: string; key: string; ca?: string; out?: string }) => {
      const signal = stopSignal();
      const { runReceive } = await import('./commands/receive.js');
      await runReceive(o, { stderr: process.stderr, signal });
    });

  return program;
}

/** Aborted by the first SIGTERM or SIGINT: commands that run until stopped wait on it. */
function stopSignal(): AbortSignal {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return ac.signal;
}

export async function main(argv: readonly string[]): Promise<number> {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // A reader that went away (`convert … | head`) is not an error of ours.
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    // Before CommanderError, of which InvalidArgumentError is a subclass: commander prints its own
    // parse errors before it throws, but one thrown from an action reaches here unprinted.
    if (err instanceof InvalidArgumentError || err instanceof UsageError) {
      process.stderr.write(`logward: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof CommanderError) {
      // Commander's own errors (already written by it, always a plain CommanderError made in its
      // _exit), and --help and --version, which end here too with exit code 0.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') {
      process.stderr.write(`logward: ${e.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`logward: ${e.stack ?? String(err)}\n`);
    return 1;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`logward: ${String(err)}\n`);
    process.exitCode = 1;
  },
);

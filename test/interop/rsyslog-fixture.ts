/**
 * A real rsyslog TLS receiver for interop and end-to-end tests: our own
 * rsyslogd instance (never the system service), with its own config, work
 * directory, certificates and output file in a temp dir, listening on a free
 * loopback port.
 *
 * - imtcp with the gtls stream driver, Mode 1 (TLS only); Authmode "anon"
 *   (server-authenticated TLS) or "x509/name" (mutual TLS: the client
 *   certificate must chain to the CA and name a permitted peer).
 * - imuxsock is NOT loaded: the instance never touches /dev/log.
 * - Output: one record per line, `%rawmsg%` then LF. rawmsg is the syslog
 *   message exactly as framed by the sender (octet-counted frames carry no
 *   trailer), so what the test compares is what rsyslog stored, byte for byte.
 *   (rsyslog would escape control characters on receive; our records contain
 *   none, and a test that sends one would see it as #NNN.)
 * - maxMessageSize is raised to 256k (the default 8k would cut 60 KiB records).
 * - rsyslog's own messages go to internal.log in the temp dir (for diagnosis).
 *
 * start() waits until the port accepts connections; stop(signal) ends the
 * process (SIGTERM, or SIGKILL to simulate a crash) and start() can bring the
 * same instance back on the same port with the same output file.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const GTLS_MODULE = '/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so';

/** Why rsyslog interop cannot run here, or false when it can. */
export function rsyslogMissing(): string | false {
  const which = spawnSync('sh', ['-c', 'command -v rsyslogd || test -x /usr/sbin/rsyslogd && echo /usr/sbin/rsyslogd'], {
    encoding: 'utf8',
  });
  if (which.status !== 0 || which.stdout.trim() === '') return 'rsyslogd not installed';
  if (!existsSync(GTLS_MODULE)) return `rsyslog gtls driver missing (${GTLS_MODULE}; install rsyslog-gnutls)`;
  return false;
}

export function rsyslogBinary(): string {
  const r = spawnSync('sh', ['-c', 'command -v rsyslogd || echo /usr/sbin/rsyslogd'], { encoding: 'utf8' });
  return r.stdout.trim();
}

export interface RsyslogOptions {
  /** Temp dir owned by the test; everything of this instance lives in it. */
  dir: string;
  port: number;
  ca: string;
  cert: string;
  key: string;
  /** Require a client certificate chaining to `ca` whose name is one of these (x509/name). */
  permittedPeers?: string[];
  /**
   * Further files the same records are written to, each with a template:
   * `template` names a built-in one (RSYSLOG_SyslogProtocol23Format,
   * RSYSLOG_FileFormat, RSYSLOG_TraditionalFileFormat, ...), `string` is a
   * template string (as in `template(type="string" string="...")`, with its
   * trailing \n). Absolute paths inside the test's temp dir.
   */
  extraOutputs?: { file: string; template?: string; string?: string }[];
}

export class RsyslogReceiver {
  readonly outFile: string;
  readonly internalLog: string;
  private readonly confFile: string;
  private readonly pidFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private scanned = 0;
  private lines = 0;

  constructor(readonly opts: RsyslogOptions) {
    this.outFile = path.join(opts.dir, 'rsyslog-out.log');
    this.internalLog = path.join(opts.dir, 'rsyslog-internal.log');
    this.confFile = path.join(opts.dir, 'rsyslog.conf');
    this.pidFile = path.join(opts.dir, 'rsyslog.pid');
    const work = path.join(opts.dir, 'rsyslog-work');
    mkdirSync(work, { recursive: true });
    const mutual = opts.permittedPeers && opts.permittedPeers.length > 0;
    const peers = (opts.permittedPeers ?? []).map((p) => JSON.stringify(p)).join(', ');
    const extra = (opts.extraOutputs ?? []).map((o, i) => ({ ...o, name: o.string !== undefined ? `logwardExtra${i}` : (o.template ?? 'RSYSLOG_FileFormat') }));
    writeFileSync(
      this.confFile,
      [
        `global(workDirectory="${work}" maxMessageSize="256k"`,
        `  defaultNetstreamDriver="gtls"`,
        `  defaultNetstreamDriverCAFile="${opts.ca}"`,
        `  defaultNetstreamDriverCertFile="${opts.cert}"`,
        `  defaultNetstreamDriverKeyFile="${opts.key}")`,
        `module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1"`,
        `  streamDriver.authMode="${mutual ? 'x509/name' : 'anon'}"${mutual ? `\n  permittedPeer=[${peers}]` : ''})`,
        `template(name="logwardRaw" type="string" string="%rawmsg%\\n")`,
        ...extra.filter((o) => o.string !== undefined).map((o) => `template(name="${o.name}" type="string" string=${JSON.stringify(o.string)})`),
        `ruleset(name="logwardIn") {`,
        `  action(type="omfile" file="${this.outFile}" template="logwardRaw")`,
        ...extra.map((o) => `  action(type="omfile" file="${o.file}" template="${o.name}")`),
        `}`,
        `input(type="imtcp" address="127.0.0.1" port="${opts.port}" ruleset="logwardIn")`,
        `*.* action(type="omfile" file="${this.internalLog}")`,
        '',
      ].join('\n'),
    );
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(deadlineMs = 15_000): Promise<void> {
    if (this.child) return;
    const child = spawn(rsyslogBinary(), ['-n', '-f', this.confFile, '-i', this.pidFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        this.child = undefined;
        resolve();
      }),
    );
    const end = Date.now() + deadlineMs;
    while (!(await canConnect(this.opts.port))) {
      if (!this.child) throw new Error(`rsyslogd exited during start-up: ${stderr}\n${this.readInternal()}`);
      if (Date.now() > end) {
        await this.stop('SIGKILL');
        throw new Error(`rsyslogd did not listen on ${this.opts.port}: ${stderr}\n${this.readInternal()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM (clean) or SIGKILL (crash); resolves when the process is gone. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(killer);
  }

  /** Records stored so far (complete lines in the output file), counted incrementally. */
  storedCount(): number {
    if (!existsSync(this.outFile)) return 0;
    const size = statSync(this.outFile).size;
    if (size <= this.scanned) return this.lines;
    const fd = openSync(this.outFile, 'r');
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      while (this.scanned < size) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, size - this.scanned), this.scanned);
        if (n <= 0) break;
        let at = buf.indexOf(0x0a, 0);
        while (at !== -1 && at < n) {
          this.lines++;
          at = buf.indexOf(0x0a, at + 1);
        }
        this.scanned += n;
      }
    } finally {
      closeSync(fd);
    }
    return this.lines;
  }

  /** Polls until `count` records are stored, or fails after the deadline with rsyslog's own log. */
  async waitForStored(count: number, deadlineMs = 60_000): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (this.storedCount() < count) {
      if (Date.now() > end) {
        throw new Error(`rsyslog stored ${this.storedCount()} of ${count} records\n${this.readInternal()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Every stored record, as bytes, in file order. */
  storedRecords(): Buffer[] {
    if (!existsSync(this.outFile)) return [];
    const all = readFileSync(this.outFile);
    const out: Buffer[] = [];
    let from = 0;
    for (let at = all.indexOf(0x0a); at !== -1; at = all.indexOf(0x0a, from)) {
      out.push(all.subarray(from, at));
      from = at + 1;
    }
    return out;
  }

  readInternal(): string {
    return existsSync(this.internalLog) ? readFileSync(this.internalLog, 'utf8').slice(-4000) : '(no internal log)';
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

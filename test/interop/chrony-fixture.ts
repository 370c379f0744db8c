/**
 * A real NTP server for interop tests: our own chronyd instance (never the
 * system service), its own config and files in a temp dir, serving on a free
 * unprivileged UDP port on 127.0.0.1.
 *
 * - `-x`: chronyd never touches the system clock; `-d`: foreground, log to
 *   stderr (kept for diagnosis); `-u <us>`: no privilege drop to _chrony, which
 *   could not write the temp dir; `-U`: no "must be root" check.
 * - `local stratum 8`: with no sources chronyd would answer stratum 0, which
 *   the client's sanity checks rightly reject; with it, it serves its own clock.
 * - `cmdport 0`: no command socket (nothing outside the temp dir is used);
 *   no server/pool lines: no network.
 * - `fakeShift` runs it under libfaketime via LD_PRELOAD directly (the
 *   `faketime` wrapper forks, so killing its pid would orphan chronyd):
 *   FAKETIME="+5s" shifts every clock chronyd reads, so it serves a clock 5 s
 *   ahead of ours.
 *
 * start() resolves once chronyd answers a valid SNTP query; stop() ends it
 * (SIGTERM, SIGKILL if it lingers) and is safe to call twice.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SntpError, sntpQuery } from '../../src/monitor/sntp.js';

const FAKETIME_LIBS = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
  '/usr/local/lib/faketime/libfaketime.so.1',
];

export function chronydBinary(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v chronyd || { test -x /usr/sbin/chronyd && echo /usr/sbin/chronyd; }'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return p === '' ? undefined : p;
}

/** Why chronyd interop cannot run here, or false when it can. */
export function chronydMissing(): string | false {
  return chronydBinary() === undefined ? 'chronyd not installed (Debian package chrony)' : false;
}

export function faketimeLibrary(): string | undefined {
  return FAKETIME_LIBS.find((p) => existsSync(p));
}

/** Why the libfaketime part cannot run here, or false when it can. */
export function faketimeMissing(): string | false {
  return faketimeLibrary() === undefined ? 'libfaketime not installed (Debian package faketime)' : false;
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface ChronyOptions {
  /** Temp dir owned by the test. */
  dir: string;
  port: number;
  /** libfaketime offset such as "+5s": chronyd serves a clock shifted by it. */
  fakeShift?: string;
}

export class ChronyServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private stderr = '';
  readonly confFile: string;

  constructor(readonly opts: ChronyOptions) {
    const d = opts.dir;
    this.confFile = path.join(d, 'chrony.conf');
    writeFileSync(
      this.confFile,
      [
        `pidfile ${path.join(d, 'chronyd.pid')}`,
        `driftfile ${path.join(d, 'chrony.drift')}`,
        `dumpdir ${d}`,
        `ntsdumpdir ${d}`,
        'cmdport 0',
        `port ${opts.port}`,
        'bindaddress 127.0.0.1',
        'allow 127.0.0.1',
        'local stratum 8',
        '',
      ].join('\n'),
    );
  }

  /** chronyd's own log so far (for assertion messages). */
  log(): string {
    return this.stderr;
  }

  async start(): Promise<void> {
    const bin = chronydBinary();
    if (bin === undefined) throw new Error('chronyd not installed');
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (this.opts.fakeShift !== undefined) {
      const lib = faketimeLibrary();
      if (lib === undefined) throw new Error('libfaketime not installed');
      env['LD_PRELOAD'] = lib;
      env['FAKETIME'] = this.opts.fakeShift;
    }
    const user = os.userInfo().username;
    const child = spawn(bin, ['-x', '-d', '-U', '-u', user, '-f', this.confFile], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      this.stderr += s;
    });
    await this.waitAnswering();
  }

  private async waitAnswering(): Promise<void> {
    const end = Date.now() + 15_000;
    let last: string;
    for (;;) {
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) {
        throw new Error(`chronyd exited with ${this.child.exitCode}: ${this.stderr}`);
      }
      try {
        await sntpQuery('127.0.0.1', this.opts.port, { timeoutMs: 300 });
        return;
      } catch (e) {
        if (!(e instanceof SntpError)) throw e;
        last = e.message;
      }
      if (Date.now() > end) throw new Error(`chronyd did not answer on port ${this.opts.port} (${last}): ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.exited) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(killer);
    }
  }
}

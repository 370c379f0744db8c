/**
 * Shared by the install tests: running the real scripts, listing a staged
 * tree, and the tree a staged install must produce. Everything runs against
 * DESTDIR staging roots in temp dirs; nothing here touches the live system.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { accessSync, constants, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Run {
  const r: SpawnSyncReturns<string> = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: opts.env ?? process.env,
    cwd: opts.cwd ?? REPO,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a script with bash, failing with its output when it does not exit 0. */
export function mustRun(script: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Run {
  const r = run('bash', [script, ...args], { env, ...(cwd !== undefined ? { cwd } : {}) });
  if (r.status !== 0) {
    throw new Error(`${script} ${args.join(' ')} exited ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  return r;
}

export function which(name: string, dirs = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin']): string | undefined {
  for (const d of dirs) {
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
    }
  }
  return undefined;
}

/**
 * Every path under root (relative, sorted) with its type and permission
 * bits: `d 0755`, `f 0640`, `l -> target`. With `skipUnder`, the contents of
 * those directories are left out (the directories themselves stay).
 */
export function listTree(root: string, skipUnder: (rel: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(join(root, r));
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      if (st.isSymbolicLink()) out.set(r, `l -> ${readlinkSync(join(root, r))}`);
      else if (st.isDirectory()) {
        out.set(r, `d ${mode}`);
        if (!skipUnder(r)) walk(r);
      } else out.set(r, `f ${mode}`);
    }
  };
  walk('');
  return out;
}

/** What a staged install holds outside the release directory itself. */
export function expectedTree(version: string): Map<string, string> {
  return new Map([
    ['.logward-install-manifest', 'f 0644'],
    ['etc', 'd 0755'],
    ['etc/logward', 'd 0750'],
    ['etc/logward/hmac.key', 'f 0600'],
    ['etc/logward/logward.yaml', 'f 0640'],
    ['etc/systemd', 'd 0755'],
    ['etc/systemd/system', 'd 0755'],
    ['etc/systemd/system/logward.service', 'f 0644'],
    ['opt', 'd 0755'],
    ['opt/logward', 'd 0755'],
    ['opt/logward/bin', 'd 0755'],
    ['opt/logward/bin/logward', 'f 0755'],
    ['opt/logward/current', `l -> releases/${version}`],
    ['opt/logward/releases', 'd 0755'],
    [`opt/logward/releases/${version}`, 'd 0755'],
    ['usr', 'd 0755'],
    ['usr/local', 'd 0755'],
    ['usr/local/bin', 'd 0755'],
    ['usr/local/bin/logward', 'l -> ../../../opt/logward/bin/logward'],
    ['var', 'd 0755'],
    ['var/lib', 'd 0755'],
    ['var/lib/logward', 'd 0700'],
  ]);
}

/** The manifest lines (`mode owner:group path`) a staged install must write. */
export function expectedManifest(versions: readonly string[]): string[] {
  return [
    '0750 root:logward /etc/logward',
    '0600 logward:logward /etc/logward/hmac.key',
    '0640 root:logward /etc/logward/logward.yaml',
    '0644 root:root /etc/systemd/system/logward.service',
    '0755 root:root /opt/logward',
    '0755 root:root /opt/logward/bin',
    '0755 root:root /opt/logward/bin/logward',
    '0777 root:root /opt/logward/current',
    '0755 root:root /opt/logward/releases',
    ...versions.map((v) => `0755 root:root /opt/logward/releases/${v}`),
    '0777 root:root /usr/local/bin/logward',
    '0700 logward:logward /var/lib/logward',
  ].sort((a, b) => {
    // byte order, as `LC_ALL=C sort` in install.sh
    const pa = a.split(' ')[2] ?? '';
    const pb = b.split(' ')[2] ?? '';
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  });
}

/** The manifest's path lines, without its comment header. */
export function manifestLines(destdir: string): string[] {
  return readFileSync(join(destdir, '.logward-install-manifest'), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** A release directory's contents are root-owned when installed: no file writable by group or others, no setuid. */
export function badReleaseModes(dir: string): string[] {
  const bad: string[] = [];
  for (const [path, desc] of listTree(dir)) {
    if (desc.startsWith('l ')) continue;
    const mode = parseInt(desc.slice(2), 8);
    const ok = desc.startsWith('d ') ? mode === 0o755 : mode === 0o644 || mode === 0o755;
    if (!ok) bad.push(`${path} ${desc}`);
  }
  return bad;
}

/**
 * install.sh and scripts/release.sh, run for real into DESTDIR staging roots:
 * the tree, modes and manifest a staged install produces, idempotence,
 * upgrade, uninstall and purge, from the checkout and from the release
 * tarball with the network blocked and npm booby-trapped. The two builds
 * (one staged from the checkout, one tarball) dominate the run time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  REPO,
  VERSION,
  badReleaseModes,
  expectedManifest,
  expectedTree,
  listTree,
  manifestLines,
  mustRun,
  run,
  which,
} from './helpers.js';

const INSTALL = join(REPO, 'install.sh');
const RELEASE = join(REPO, 'scripts', 'release.sh');
const isLinux = process.platform === 'linux';
const skipLinux = isLinux ? false : 'install.sh targets Linux';
const systemdAnalyze = which('systemd-analyze');
const shellcheck = which('shellcheck');
/** A logward account that existed before the tests (then the real-install test must not run). */
const getentBefore = run('getent', ['passwd', 'logward']).status === 0 ? 'present' : undefined;

/** Whether this process may mount an overlay in a private mount namespace (not in every container). */
function overlayProblem(): string | undefined {
  const d = mkdtempSync(join(tmpdir(), 'logward-overlay-probe-'));
  try {
    for (const s of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(d, s));
    const r = run('unshare', ['--mount', '--propagation', 'private', 'mount', '-t', 'overlay', 'overlay', '-o',
      `lowerdir=${d}/lower,upperdir=${d}/upper,workdir=${d}/work`, `${d}/merged`]);
    return r.status === 0 ? undefined : `cannot mount an overlay in a private mount namespace: ${r.stderr.trim()}`;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

const skipRealInstall: string | false =
  !isLinux
    ? 'install.sh targets Linux'
    : process.getuid?.() !== 0
      ? 'needs root (it creates the user inside a throwaway mount namespace)'
      : ['unshare', 'findmnt', 'runuser', 'useradd'].some((t) => which(t) === undefined)
        ? 'unshare, findmnt, runuser or useradd not installed'
        : getentBefore !== undefined
          ? 'a logward user already exists on this host'
          : (overlayProblem() ?? false);

const temps: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `logward-${prefix}-`));
  temps.push(d);
  return d;
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const releaseDir = (destdir: string, version = VERSION): string => join(destdir, 'opt/logward/releases', version);
const outsideRelease = (rel: string): boolean => /^opt\/logward\/releases\/[^/]+$/.test(rel);

/** The staged tree, the manifest and what the release holds: the checks both install sources share. */
function assertStagedInstall(destdir: string): void {
  assert.deepEqual(listTree(destdir, outsideRelease), expectedTree(VERSION));
  assert.deepEqual(manifestLines(destdir), expectedManifest([VERSION]));
  // Each manifest mode is the mode actually staged.
  const tree = listTree(destdir, outsideRelease);
  for (const line of manifestLines(destdir)) {
    const [mode, , path] = line.split(' ') as [string, string, string];
    const desc = tree.get(path.slice(1));
    assert.ok(desc !== undefined, `${path} in the manifest but not staged`);
    if (!desc.startsWith('l ')) assert.equal(desc.slice(2), mode, path);
  }
  const rel = releaseDir(destdir);
  for (const f of ['dist/cli.js', 'package.json', 'package-lock.json', 'schemas/config.schema.json', 'systemd/logward.service',
    'examples/logward.yaml', 'install.sh', '.logward-release', 'node_modules/yaml/package.json', 'node_modules/commander/package.json']) {
    assert.ok(existsSync(join(rel, f)), `release lacks ${f}`);
  }
  // Every runtime dependency ships (selfsigned too: `logward demo` needs it); no dev-only one does.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(rel, 'node_modules', dep, 'package.json')), `runtime dependency ${dep} missing`);
  for (const devOnly of Object.keys(pkg.devDependencies)) {
    if (devOnly in pkg.dependencies || devOnly.startsWith('@types/')) continue;
    assert.ok(!existsSync(join(rel, 'node_modules', devOnly)), `dev dependency ${devOnly} shipped`);
  }
  assert.ok(!existsSync(join(rel, 'src')), 'sources shipped');
  assert.deepEqual(badReleaseModes(rel), []);
  assert.equal(
    readFileSync(join(destdir, 'etc/logward/logward.yaml'), 'utf8'),
    readFileSync(join(REPO, 'examples/logward.yaml'), 'utf8'),
  );
  assert.match(readFileSync(join(destdir, 'etc/logward/hmac.key'), 'utf8'), /^[0-9a-f]{64}\n$/);
  assert.equal(
    readFileSync(join(destdir, 'etc/systemd/system/logward.service'), 'utf8'),
    readFileSync(join(REPO, 'systemd/logward.service'), 'utf8'),
  );
}

function assertWrapperRuns(destdir: string, version = VERSION): void {
  for (const cmd of ['usr/local/bin/logward', 'opt/logward/bin/logward']) {
    const r = run(join(destdir, cmd), ['--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  }
  const wrapper = readFileSync(join(destdir, 'opt/logward/bin/logward'), 'utf8');
  assert.match(wrapper, /^exec '\/[^']+' \$\{LOGWARD_NODE_ARGS-\} "\$here\/\.\.\/current\/dist\/cli\.js" "\$@"$/m, 'the wrapper runs an absolute node path');
  // Node flags from the environment (a systemd drop-in) reach node: an unknown one makes node refuse to start.
  const flagged = run(join(destdir, 'opt/logward/bin/logward'), ['--version'], { env: { ...process.env, LOGWARD_NODE_ARGS: '--max-semi-space-size=4 --no-such-flag-xyz' } });
  assert.notEqual(flagged.status, 0);
  assert.match(flagged.stderr, /--no-such-flag-xyz/);
  const sized = run(join(destdir, 'opt/logward/bin/logward'), ['--version'], { env: { ...process.env, LOGWARD_NODE_ARGS: '--max-semi-space-size=4 --heap-growing-percent=50' } });
  assert.equal(sized.status, 0, sized.stderr);
  // The malloc settings reach node (node -p prints what it got), and the environment overrides them.
  const probe = { LOGWARD_NODE_ARGS: '-p [process.env.MALLOC_ARENA_MAX,process.env.MALLOC_MMAP_THRESHOLD_].join()' };
  const env: NodeJS.ProcessEnv = { ...process.env, ...probe };
  delete env.MALLOC_ARENA_MAX;
  delete env.MALLOC_MMAP_THRESHOLD_;
  const malloc = run(join(destdir, 'opt/logward/bin/logward'), ['--version'], { env });
  assert.equal(malloc.status, 0, malloc.stderr);
  assert.equal(malloc.stdout.trim(), '2,131072');
  const chosen = run(join(destdir, 'opt/logward/bin/logward'), ['--version'], { env: { ...env, MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: '65536' } });
  assert.equal(chosen.stdout.trim(), '4,65536');
}

function assertUninstallKeeps(destdir: string, key: string): void {
  assert.deepEqual(
    [...listTree(destdir).keys()],
    ['.logward-install-manifest', 'etc', 'etc/logward', 'etc/logward/hmac.key', 'etc/logward/logward.yaml', 'var', 'var/lib', 'var/lib/logward'],
  );
  assert.equal(readFileSync(join(destdir, 'etc/logward/hmac.key'), 'utf8'), key);
  assert.deepEqual(manifestLines(destdir), [
    '0750 root:logward /etc/logward',
    '0600 logward:logward /etc/logward/hmac.key',
    '0640 root:logward /etc/logward/logward.yaml',
    '0700 logward:logward /var/lib/logward',
  ]);
}

describe('install.sh from the checkout, into DESTDIR', { skip: skipLinux }, () => {
  let dest = '';
  before(() => {
    dest = tempDir('stage');
    mustRun(INSTALL, ['--no-start'], { ...process.env, DESTDIR: dest });
  });

  test('produces the expected tree, modes and manifest, with production dependencies only', () => {
    assertStagedInstall(dest);
  });

  test('the staged logward command runs the installed release', () => {
    assertWrapperRuns(dest);
  });

  test('systemd-analyze verify finds nothing wrong with the staged unit', { skip: systemdAnalyze ? false : 'systemd-analyze not installed' }, () => {
    // verify --root needs the units the service depends on (sysinit.target…) and
    // /bin/kill inside the root: copy the staged install next to the host's units.
    const unitDir = ['/usr/lib/systemd/system', '/lib/systemd/system'].find((d) => existsSync(join(d, 'sysinit.target')));
    assert.ok(unitDir !== undefined, 'no system unit directory with sysinit.target');
    const root = tempDir('verify');
    mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
    mkdirSync(join(root, 'bin'), { recursive: true });
    for (const [from, to] of [
      [join(dest, 'etc'), root],
      [join(dest, 'opt'), root],
      [unitDir, join(root, 'usr/lib/systemd/')],
      ['/bin/kill', join(root, 'bin/')],
    ] as const) {
      const c = run('cp', ['-a', from, to]);
      assert.equal(c.status, 0, c.stderr);
    }
    const r = run(systemdAnalyze!, ['verify', `--root=${root}`, 'logward.service']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(`${r.stdout}${r.stderr}`, '', 'verify printed findings');

    // The check is not blind: without the staged ExecStart file, and with a
    // misspelled directive, it complains.
    rmSync(join(root, 'opt/logward/bin/logward'));
    const missing = run(systemdAnalyze!, ['verify', `--root=${root}`, 'logward.service']);
    assert.match(missing.stderr, /\/opt\/logward\/bin\/logward is not executable/);
    writeFileSync(join(root, 'etc/systemd/system/logward.service'), `${readFileSync(join(dest, 'etc/systemd/system/logward.service'), 'utf8')}\n[Service]\nPrivateTmpp=yes\n`);
    const typo = run(systemdAnalyze!, ['verify', `--root=${root}`, 'logward.service']);
    assert.match(typo.stderr, /Unknown key 'PrivateTmpp'/);
  });

  test('--uninstall removes what install added and keeps config, key and state', () => {
    const key = readFileSync(join(dest, 'etc/logward/hmac.key'), 'utf8');
    mustRun(INSTALL, ['--uninstall'], { ...process.env, DESTDIR: dest });
    assertUninstallKeeps(dest, key);
  });

  test('--uninstall --purge removes everything', () => {
    mustRun(INSTALL, ['--uninstall', '--purge'], { ...process.env, DESTDIR: dest });
    assert.deepEqual(readdirSync(dest), []);
  });
});

describe('the release tarball, installed with no network', { skip: skipLinux }, () => {
  let out = '';
  let unpacked = '';
  let tarball = '';
  let dest = '';
  let trap = '';
  let offlineEnv: NodeJS.ProcessEnv = {};

  before(() => {
    out = tempDir('release');
    tarball = mustRun(RELEASE, ['--out', out], process.env).stdout.trim();
    unpacked = tempDir('unpacked');
    const x = run('tar', ['-xzf', tarball, '-C', unpacked]);
    assert.equal(x.status, 0, x.stderr);
    // npm and npx on PATH record that they were called and fail; the proxy and
    // the registry point at a closed port.
    trap = tempDir('trap');
    for (const tool of ['npm', 'npx']) {
      writeFileSync(join(trap, tool), `#!/bin/sh\necho "${tool} $*" >> '${trap}/called'\nexit 97\n`);
      chmodSync(join(trap, tool), 0o755);
    }
    offlineEnv = {
      ...process.env,
      PATH: `${trap}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
      https_proxy: 'http://127.0.0.1:9',
      http_proxy: 'http://127.0.0.1:9',
      npm_config_offline: 'true',
      npm_config_registry: 'http://127.0.0.1:9/',
    };
    dest = tempDir('stage-tgz');
  });

  test('is logward-<version>.tar.gz with everything under logward-<version>/', () => {
    assert.equal(tarball, join(out, `logward-${VERSION}.tar.gz`));
    assert.deepEqual(readdirSync(unpacked), [`logward-${VERSION}`]);
    const top = readdirSync(join(unpacked, `logward-${VERSION}`)).sort();
    for (const f of ['.logward-release', 'README.md', 'dist', 'examples', 'install.sh', 'node_modules', 'package-lock.json', 'package.json', 'schemas', 'systemd']) {
      assert.ok(top.includes(f), `tarball lacks ${f}`);
    }
    assert.ok(!top.includes('src') && !top.includes('test'), `tarball ships sources: ${top.join(' ')}`);
    assert.ok(!existsSync(join(unpacked, `logward-${VERSION}`, 'node_modules/typescript')), 'dev dependencies shipped');
    // Building it pruned a staging copy, not the checkout's own dependencies.
    assert.ok(existsSync(join(REPO, 'node_modules/typescript')), "release.sh pruned the checkout's node_modules");
  });

  test('installs from the unpacked tarball without npm or the network', () => {
    mustRun(join(unpacked, `logward-${VERSION}`, 'install.sh'), ['--no-start'], { ...offlineEnv, DESTDIR: dest });
    assert.ok(!existsSync(join(trap, 'called')), `npm was called: ${existsSync(join(trap, 'called')) ? readFileSync(join(trap, 'called'), 'utf8') : ''}`);
    assertStagedInstall(dest);
    assertWrapperRuns(dest);
  });

  test('running it again changes nothing: same tree, key not regenerated, config not overwritten', () => {
    const cfg = join(dest, 'etc/logward/logward.yaml');
    writeFileSync(cfg, `${readFileSync(cfg, 'utf8')}# edited by the operator\n`);
    const before = { tree: listTree(dest), key: readFileSync(join(dest, 'etc/logward/hmac.key'), 'utf8'), cfg: readFileSync(cfg, 'utf8') };
    const manifest = readFileSync(join(dest, '.logward-install-manifest'), 'utf8');
    const r = mustRun(join(unpacked, `logward-${VERSION}`, 'install.sh'), ['--no-start'], { ...offlineEnv, DESTDIR: dest });
    assert.match(r.stdout, /kept the existing \/etc\/logward\/logward\.yaml/);
    assert.match(r.stdout, /kept the existing \/etc\/logward\/hmac\.key/);
    assert.deepEqual(listTree(dest), before.tree);
    assert.equal(readFileSync(join(dest, 'etc/logward/hmac.key'), 'utf8'), before.key);
    assert.equal(readFileSync(cfg, 'utf8'), before.cfg);
    assert.equal(readFileSync(join(dest, '.logward-install-manifest'), 'utf8'), manifest);
  });

  test('an upgrade switches current, keeps the previous release, config, key and state, and drops older ones', () => {
    const key = readFileSync(join(dest, 'etc/logward/hmac.key'), 'utf8');
    const cfg = readFileSync(join(dest, 'etc/logward/logward.yaml'), 'utf8');
    writeFileSync(join(dest, 'var/lib/logward/sequence'), 'state survives\n');
    const versions = [`${VERSION}-upgrade.1`, `${VERSION}-upgrade.2`];
    for (const v of versions) {
      const tree = join(tempDir('next'), `logward-${v}`);
      const c = run('cp', ['-a', join(unpacked, `logward-${VERSION}`), tree]);
      assert.equal(c.status, 0, c.stderr);
      const pkg = JSON.parse(readFileSync(join(tree, 'package.json'), 'utf8')) as { version: string };
      writeFileSync(join(tree, 'package.json'), JSON.stringify({ ...pkg, version: v }, null, 2));
      mustRun(join(tree, 'install.sh'), ['--no-start'], { ...offlineEnv, DESTDIR: dest });
      assertWrapperRuns(dest, v);
    }
    assert.deepEqual(readdirSync(join(dest, 'opt/logward/releases')).sort(), versions);
    assert.equal(listTree(dest).get('opt/logward/current'), `l -> releases/${versions[1]}`);
    assert.deepEqual(manifestLines(dest), expectedManifest(versions));
    assert.equal(readFileSync(join(dest, 'etc/logward/hmac.key'), 'utf8'), key);
    assert.equal(readFileSync(join(dest, 'etc/logward/logward.yaml'), 'utf8'), cfg);
    assert.equal(readFileSync(join(dest, 'var/lib/logward/sequence'), 'utf8'), 'state survives\n');
    assert.ok(!existsSync(join(trap, 'called')), 'npm was called');
  });

  test('a real install as root creates the user and the owners and modes the manifest promises (inside a throwaway mount namespace)', { skip: skipRealInstall }, () => {
    // Overlays over every directory install.sh writes to: useradd, chown and
    // the files land in temp upper dirs and vanish with the namespace. The
    // script refuses to go on unless each overlay is really mounted.
    const upper = tempDir('overlay');
    const paths = expectedManifest([VERSION]).map((l) => l.split(' ')[2]);
    const script = `
set -euo pipefail
for d in /etc /opt /var/lib /usr/local; do
  mkdir -p "${upper}$d/up" "${upper}$d/work"
  mount -t overlay overlay -o "lowerdir=$d,upperdir=${upper}$d/up,workdir=${upper}$d/work" "$d"
  [ "$(findmnt -n -o FSTYPE --target "$d" | head -1)" = overlay ] || { echo "no overlay on $d" >&2; exit 99; }
done
'${join(unpacked, `logward-${VERSION}`, 'install.sh')}' --no-start >&2
echo "== owners"
stat -c '%04a %U:%G %n' ${paths.join(' ')}
echo "== user"
id -nG logward | tr ' ' '\\n' | sort | tr '\\n' ' '; echo
echo "== runs as logward"
runuser -u logward -- /usr/local/bin/logward --version
'${join(unpacked, `logward-${VERSION}`, 'install.sh')}' --uninstall >&2
echo "== after uninstall"
id -u logward >/dev/null && echo "user kept"; ls /etc/logward
'${join(unpacked, `logward-${VERSION}`, 'install.sh')}' --uninstall --purge >&2
echo "== after purge"
id -u logward >/dev/null 2>&1 || echo "user removed"
for d in /etc/logward /var/lib/logward /opt/logward /usr/local/bin/logward; do [ -e "$d" ] || echo "$d gone"; done
`;
    const r = run('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', script], { env: offlineEnv });
    assert.equal(r.status, 0, r.stderr);
    const section = (name: string): string[] =>
      (r.stdout.split(`== ${name}\n`)[1] ?? '').split('\n== ')[0]!.split('\n').filter((l) => l !== '');
    assert.deepEqual(section('owners'), expectedManifest([VERSION]));
    assert.deepEqual(section('user')[0]?.trim().split(' '), ['adm', 'logward', 'systemd-journal']);
    assert.deepEqual(section('runs as logward'), [VERSION]);
    assert.deepEqual(section('after uninstall'), ['user kept', 'hmac.key', 'logward.yaml']);
    assert.deepEqual(section('after purge'), ['user removed', '/etc/logward gone', '/var/lib/logward gone', '/opt/logward gone', '/usr/local/bin/logward gone']);
    assert.notEqual(run('getent', ['passwd', 'logward']).status, 0, 'the host itself got a logward user');
  });

  test('--uninstall keeps config, key and state; --purge then removes everything', () => {
    const key = readFileSync(join(dest, 'etc/logward/hmac.key'), 'utf8');
    rmSync(join(dest, 'var/lib/logward/sequence'));
    mustRun(join(unpacked, `logward-${VERSION}`, 'install.sh'), ['--uninstall'], { ...offlineEnv, DESTDIR: dest });
    assertUninstallKeeps(dest, key);
    mustRun(join(unpacked, `logward-${VERSION}`, 'install.sh'), ['--uninstall', '--purge'], { ...offlineEnv, DESTDIR: dest });
    assert.deepEqual(readdirSync(dest), []);
  });
});

describe('install.sh refuses clearly', { skip: skipLinux }, () => {
  test('a node older than 20.19, naming the version and the path, before touching anything', () => {
    const dir = tempDir('oldnode');
    const node = join(dir, 'node');
    writeFileSync(node, '#!/bin/sh\necho v18.19.0\n');
    chmodSync(node, 0o755);
    const dest = join(dir, 'stage');
    const r = run('bash', [INSTALL, '--no-start', '--node', node], { env: { ...process.env, DESTDIR: dest } });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), `install.sh: node 20.19 or newer is required; found v18.19.0 at ${node}`);
    assert.ok(!existsSync(dest), 'the staging root was created');
  });

  test('no node at all', () => {
    const dest = join(tempDir('nonode'), 'stage');
    const r = run('/bin/bash', [INSTALL, '--no-start'], { env: { PATH: '/nonexistent', DESTDIR: dest } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /node 20\.19 or newer is required; no node found on PATH \(\/nonexistent\)/);
    assert.ok(!existsSync(dest));
  });

  test('--purge without --uninstall, and unknown arguments; --help exits 0', () => {
    const purge = run('bash', [INSTALL, '--purge']);
    assert.equal(purge.status, 1);
    assert.match(purge.stderr, /--purge only goes with --uninstall/);
    const unknown = run('bash', [INSTALL, '--bogus']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /unknown argument: --bogus/);
    const help = run('bash', [INSTALL, '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--uninstall \[--purge\]/);
    assert.match(help.stdout, /DESTDIR=/);
  });
});

test('shellcheck finds nothing in install.sh and scripts/release.sh', { skip: shellcheck ? false : 'shellcheck not installed' }, () => {
  const r = run(shellcheck!, ['install.sh', 'scripts/release.sh']);
  assert.equal(r.status, 0, r.stdout);
  assert.equal(r.stdout, '');
});

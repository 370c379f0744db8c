import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { generate } from 'selfsigned';
import { checkConfig } from '../../src/config/check.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigErrors } from '../../src/errors.js';
import { tempDir } from './fixtures.js';

const DAY = 86_400_000;
const isRoot = process.getuid?.() === 0;
const haveNobody = (() => {
  try {
    return fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith('nobody:'));
  } catch (e) {
    return e === null;
  }
})();

interface Pem {
  cert: string;
  key: string;
}

async function certificate(cn: string, opts: { from?: number; to?: number; passphrase?: string } = {}): Promise<Pem> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(opts.from ?? now - DAY),
    notAfterDate: new Date(opts.to ?? now + 365 * DAY),
    ...(opts.passphrase === undefined ? {} : { passphrase: opts.passphrase }),
  });
  return { cert: pems.cert, key: pems.private };
}

/**
 * A complete, valid set-up in a temp dir: CA, client cert and key, HMAC key,
 * a log directory, and logward.yaml pointing at them with relative paths.
 */
async function setup(): Promise<{ dir: string; file: string; cleanup: () => void; write: (name: string, data: string | Buffer, mode?: number) => void }> {
  const { dir, cleanup } = tempDir();
  const write = (name: string, data: string | Buffer, mode = 0o644): void => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, data);
    fs.chmodSync(p, mode);
  };
  const ca = await certificate('Test CA');
  const client = await certificate('web-01');
  write('ca.pem', ca.cert);
  write('client.pem', client.cert);
  write('client.key', client.key, 0o600);
  write('hmac.key', randomBytes(32), 0o600);
  fs.mkdirSync(path.join(dir, 'logs'));
  const file = path.join(dir, 'logward.yaml');
  fs.writeFileSync(
    file,
    `agent: { state_dir: state }
inputs:
  - { id: app, paths: ["${dir}/logs/*.log"] }
output:
  destination:
    hosts: ["127.0.0.1:6514"]
    ca: ca.pem
    cert: client.pem
    key: client.key
integrity: { key_file: hmac.key }
`,
  );
  return { dir, file, cleanup, write };
}

function problemsAt(lines: readonly string[], file: string, configPath: string): string[] {
  return lines.filter((l) => l.startsWith(`${file}: ${configPath}: `) && !l.includes(': warning: '));
}

function warningsAt(lines: readonly string[], file: string, configPath: string): string[] {
  return lines.filter((l) => l.startsWith(`${file}: ${configPath}: warning: `));
}

test('a complete set-up with real files passes the check, with a one-line summary', async () => {
  const s = await setup();
  try {
    const r = await checkConfig(s.file);
    assert.deepEqual(r.lines, []);
    assert.equal(r.ok, true);
    assert.equal(r.summary, `${s.file}: ok — 1 input, destination tls 127.0.0.1:6514, format ecs, 0 alert rules`);
    const c = await loadConfig(s.file, { checkFiles: true });
    assert.equal(c.output.destination.keyFile, path.join(s.dir, 'client.key'));
  } finally {
    s.cleanup();
  }
});

test('an HMAC key readable by group or others is refused; mode 0600 is accepted', async () => {
  const s = await setup();
  try {
    fs.chmodSync(path.join(s.dir, 'hmac.key'), 0o644);
    const bad = await checkConfig(s.file);
    assert.equal(bad.ok, false);
    assert.deepEqual(problemsAt(bad.lines, s.file, 'integrity.key_file'), [
      `${s.file}: integrity.key_file: ${path.join(s.dir, 'hmac.key')} is accessible to group or others (mode 0644); run chmod 600 ${path.join(s.dir, 'hmac.key')} (line 10)`,
    ]);
    await assert.rejects(loadConfig(s.file, { checkFiles: true }), ConfigErrors);
    fs.chmodSync(path.join(s.dir, 'hmac.key'), 0o600);
    assert.equal((await checkConfig(s.file)).ok, true);
    fs.chmodSync(path.join(s.dir, 'hmac.key'), 0o400);
    assert.equal((await checkConfig(s.file)).ok, true, '0400 is stricter than 0600 and fine');
  } finally {
    s.cleanup();
  }
});

test('a client key with group permissions is refused', async () => {
  const s = await setup();
  try {
    fs.chmodSync(path.join(s.dir, 'client.key'), 0o640);
    const r = await checkConfig(s.file);
    assert.equal(r.ok, false);
    assert.match(problemsAt(r.lines, s.file, 'output.destination.key')[0] ?? '', /accessible to group or others \(mode 0640\)/);
  } finally {
    s.cleanup();
  }
});

test('an HMAC key shorter than 32 bytes is refused (a trailing newline does not count)', async () => {
  const s = await setup();
  try {
    s.write('hmac.key', `${'k'.repeat(31)}\n`, 0o600);
    const r = await checkConfig(s.file);
    assert.match(problemsAt(r.lines, s.file, 'integrity.key_file')[0] ?? '', /holds 31 byte\(s\); an HMAC-SHA256 key needs at least 32/);
  } finally {
    s.cleanup();
  }
});

test('missing certificate files are reported at their config path', async () => {
  const s = await setup();
  try {
    fs.rmSync(path.join(s.dir, 'ca.pem'));
    fs.rmSync(path.join(s.dir, 'hmac.key'));
    const r = await checkConfig(s.file);
    assert.deepEqual(problemsAt(r.lines, s.file, 'output.destination.ca'), [`${s.file}: output.destination.ca: ${path.join(s.dir, 'ca.pem')} does not exist (line 7)`]);
    assert.equal(problemsAt(r.lines, s.file, 'integrity.key_file').length, 1);
    assert.equal(r.summary, `${s.file}: invalid — 2 problems`);
  } finally {
    s.cleanup();
  }
});

test('an expired client certificate fails the check; one expiring within 30 days is only a warning', async () => {
  const s = await setup();
  try {
    const expired = await certificate('web-01', { from: Date.now() - 400 * DAY, to: Date.now() - 2 * DAY });
    s.write('client.pem', expired.cert);
    s.write('client.key', expired.key, 0o600);
    const r1 = await checkConfig(s.file);
    assert.equal(r1.ok, false);
    assert.match(problemsAt(r1.lines, s.file, 'output.destination.cert')[0] ?? '', /certificate "CN=web-01" expired on \d{4}-/);

    const soon = await certificate('web-01', { to: Date.now() + 10 * DAY });
    s.write('client.pem', soon.cert);
    s.write('client.key', soon.key, 0o600);
    const r2 = await checkConfig(s.file);
    assert.equal(r2.ok, true, r2.lines.join('\n'));
    assert.match(warningsAt(r2.lines, s.file, 'output.destination.cert')[0] ?? '', /expires in (9|10) day\(s\)/);
    assert.match(r2.summary, /: ok — .*\(1 warning\)$/);
  } finally {
    s.cleanup();
  }
});

test('a CA bundle fails only when none of its certificates is valid', async () => {
  const s = await setup();
  try {
    const old = await certificate('Old CA', { from: Date.now() - 400 * DAY, to: Date.now() - DAY });
    const good = await certificate('Good CA');
    s.write('ca.pem', old.cert + good.cert);
    const mixed = await checkConfig(s.file);
    assert.equal(mixed.ok, true);
    assert.match(warningsAt(mixed.lines, s.file, 'output.destination.ca')[0] ?? '', /"CN=Old CA" expired/);
    s.write('ca.pem', old.cert);
    const allOld = await checkConfig(s.file);
    assert.equal(allOld.ok, false);
    assert.match(problemsAt(allOld.lines, s.file, 'output.destination.ca')[0] ?? '', /"CN=Old CA" expired/);
  } finally {
    s.cleanup();
  }
});

test('a key that does not belong to the certificate is refused', async () => {
  const s = await setup();
  try {
    const other = await certificate('someone-else');
    s.write('client.key', other.key, 0o600);
    const r = await checkConfig(s.file);
    assert.deepEqual(problemsAt(r.lines, s.file, 'output.destination.key'), [
      `${s.file}: output.destination.key: ${path.join(s.dir, 'client.key')} does not match the certificate in ${path.join(s.dir, 'client.pem')} (line 9)`,
    ]);
  } finally {
    s.cleanup();
  }
});

test('unparsable PEM, a file without any certificate, and an unreadable key are each reported', async () => {
  const s = await setup();
  try {
    s.write('ca.pem', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    s.write('client.pem', 'this is not PEM at all\n');
    s.write('client.key', '-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n', 0o600);
    const r = await checkConfig(s.file);
    assert.equal(r.ok, false);
    assert.match(problemsAt(r.lines, s.file, 'output.destination.ca')[0] ?? '', /certificate 1 cannot be parsed/);
    assert.match(problemsAt(r.lines, s.file, 'output.destination.cert')[0] ?? '', /holds no PEM certificate/);
    assert.match(problemsAt(r.lines, s.file, 'output.destination.key')[0] ?? '', /is not a private key the agent can read/);
  } finally {
    s.cleanup();
  }
});

test('an encrypted client key is refused: the agent starts unattended', async () => {
  const s = await setup();
  try {
    const enc = await certificate('web-01', { passphrase: 'secret' });
    s.write('client.pem', enc.cert);
    s.write('client.key', enc.key, 0o600);
    const r = await checkConfig(s.file);
    assert.match(problemsAt(r.lines, s.file, 'output.destination.key')[0] ?? '', /is encrypted/);
  } finally {
    s.cleanup();
  }
});

test('a missing log directory is a warning; a state_dir that is a file is an error', async () => {
  const s = await setup();
  try {
    fs.rmSync(path.join(s.dir, 'logs'), { recursive: true });
    const r = await checkConfig(s.file);
    assert.equal(r.ok, true);
    assert.deepEqual(warningsAt(r.lines, s.file, 'inputs[0].paths[0]'), [
      `${s.file}: inputs[0].paths[0]: warning: directory ${path.join(s.dir, 'logs')} does not exist (yet) (line 3)`,
    ]);
    s.write('state', 'not a directory');
    const r2 = await checkConfig(s.file);
    assert.match(problemsAt(r2.lines, s.file, 'agent.state_dir')[0] ?? '', /exists and is not a directory/);
  } finally {
    s.cleanup();
  }
});

test('a state_dir whose parent is missing is fine when it can be created, and open permissions are a warning', async () => {
  const s = await setup();
  try {
    const text = fs.readFileSync(s.file, 'utf8').replace('state_dir: state', 'state_dir: deep/er/state');
    fs.writeFileSync(s.file, text);
    assert.equal((await checkConfig(s.file)).ok, true);
    fs.mkdirSync(path.join(s.dir, 'deep/er/state'), { recursive: true, mode: 0o755 });
    fs.chmodSync(path.join(s.dir, 'deep/er/state'), 0o755);
    const r = await checkConfig(s.file);
    assert.equal(r.ok, true);
    assert.match(warningsAt(r.lines, s.file, 'agent.state_dir')[0] ?? '', /accessible to group or others \(mode 0755\)/);
  } finally {
    s.cleanup();
  }
});

test('--as-user with the current user checks as that user and passes', async () => {
  const s = await setup();
  try {
    const r = await checkConfig(s.file, { asUser: os.userInfo().username });
    assert.deepEqual(r.lines, []);
    assert.equal(r.ok, true);
  } finally {
    s.cleanup();
  }
});

test('--as-user with an unknown user is one problem', async () => {
  const s = await setup();
  try {
    const r = await checkConfig(s.file, { asUser: 'no-such-user-logward-test' });
    assert.equal(r.ok, false);
    assert.deepEqual(r.lines, [`${s.file}: --as-user no-such-user-logward-test: no such user`]);
  } finally {
    s.cleanup();
  }
});

test('--as-user nobody: root-owned 0600 keys cannot be read by the service user', { skip: isRoot && haveNobody ? false : 'needs root and a nobody user' }, async () => {
  const s = await setup();
  try {
    // The temp dir itself is 0700 root: open it up so only the key files' own modes decide.
    fs.chmodSync(s.dir, 0o755);
    fs.chmodSync(path.join(s.dir, 'ca.pem'), 0o644);
    fs.chmodSync(path.join(s.dir, 'client.pem'), 0o644);
    const r = await checkConfig(s.file, { asUser: 'nobody' });
    assert.equal(r.ok, false);
    assert.match(problemsAt(r.lines, s.file, 'integrity.key_file')[0] ?? '', /cannot be read by user nobody \(owner uid 0, mode 0600\)/);
    assert.match(problemsAt(r.lines, s.file, 'output.destination.key')[0] ?? '', /cannot be read by user nobody/);
    assert.deepEqual(problemsAt(r.lines, s.file, 'output.destination.ca'), [], 'a world-readable CA is fine');
    // Handing the keys to nobody fixes it: owned by the agent's user, 0600.
    const nobody = Number(fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))?.split(':')[2]);
    fs.chownSync(path.join(s.dir, 'hmac.key'), nobody, nobody);
    fs.chownSync(path.join(s.dir, 'client.key'), nobody, nobody);
    fs.mkdirSync(path.join(s.dir, 'state'), { mode: 0o700 });
    fs.chownSync(path.join(s.dir, 'state'), nobody, nobody);
    const fixed = await checkConfig(s.file, { asUser: 'nobody' });
    assert.deepEqual(fixed.lines, []);
    // ...but then, checked as root, they are owned by someone who is neither the agent's user nor root.
    const asRoot = await checkConfig(s.file);
    assert.match(problemsAt(asRoot.lines, s.file, 'integrity.key_file')[0] ?? '', /is owned by uid \d+, not by the agent's user/);
  } finally {
    s.cleanup();
  }
});

test('--as-user nobody: a directory on the way that nobody cannot search blocks reading', { skip: isRoot && haveNobody ? false : 'needs root and a nobody user' }, async () => {
  const s = await setup();
  try {
    fs.chmodSync(s.dir, 0o700);
    const r = await checkConfig(s.file, { asUser: 'nobody' });
    assert.match(problemsAt(r.lines, s.file, 'output.destination.ca')[0] ?? '', new RegExp(`directory ${s.dir} is not searchable \\(mode 0700\\)`));
  } finally {
    s.cleanup();
  }
});

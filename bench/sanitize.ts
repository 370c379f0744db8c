/**
 * Micro-benchmark of the sanitize stage: ns per line for neutralize and redact
 * on typical and hostile lines. Run: node --import tsx bench/sanitize.ts
 * Numbers vary with the machine; compare runs on the same host only.
 */
import { neutralizeBytes, neutralizeText } from '../src/sanitize/neutralize.js';
import { createRedactor } from '../src/sanitize/redact.js';

function bench(name: string, inputs: readonly unknown[], fn: (x: never) => unknown, rounds = 200_000): void {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink ^= fn(inputs[i % inputs.length] as never) === null ? 1 : 0; // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) sink ^= fn(inputs[i % inputs.length] as never) === null ? 1 : 0;
  const ns = Number(process.hrtime.bigint() - t0) / rounds;
  process.stdout.write(`${name.padEnd(44)} ${ns.toFixed(0).padStart(7)} ns/line${sink === 2 ? ' ' : ''}\n`);
}

const ascii = [
  '203.0.113.9 - - [22/Nov/2024:10:00:00 +0000] "GET /api/v1/orders/1234567?page=2 HTTP/1.1" 200 5123 "https://shop.example.com/cart" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"',
  'Nov 22 10:00:01 web-01 sshd[2211]: Failed password for invalid user admin from 198.51.100.7 port 52114 ssh2',
  '{"level":"info","ts":1732269600123,"msg":"order created","order_id":"b3f1c2d4-9a8e-4f1b-8c2d-1e2f3a4b5c6d","duration_ms":12}',
  'Nov 22 10:00:02 web-01 kernel: [12345.678901] TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.',
];
const utf8 = [
  'Nov 22 10:00:03 web-01 app[77]: Benutzer „Jürgen Müller“ angemeldet — Größe 12 KB, café ✓',
  '{"msg":"注文が作成されました","user":"山田太郎","city":"東京"}',
];
const hostile = [
  'ok\r\nNov 22 10:00:00 host sshd[1]: Accepted password for root from 10.0.0.1 port 22 ssh2',
  'user=\x1b[31madmin\x1b[0m\x1b[2J\x1b]0;owned\x07 \u202Etxt.exe\u2028next\u0085',
];
const invalid = [Buffer.from([0x61, 0x62, 0x80, 0x63, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x64, 0xe2, 0x82])];

bench('neutralizeBytes ascii', ascii.map((s) => Buffer.from(s)), (b: Buffer) => neutralizeBytes(b));
bench('neutralizeBytes utf8', utf8.map((s) => Buffer.from(s)), (b: Buffer) => neutralizeBytes(b));
bench('neutralizeBytes hostile', hostile.map((s) => Buffer.from(s)), (b: Buffer) => neutralizeBytes(b));
bench('neutralizeBytes invalid utf8', invalid, (b: Buffer) => neutralizeBytes(b));
bench('neutralizeText ascii', ascii, (s: string) => neutralizeText(s));

const redactor = createRedactor({
  builtin: ['pan', 'national_id', 'password', 'credentials', 'api_keys', 'private_keys'],
  custom: [],
});
const redactorCustom = createRedactor({
  builtin: ['pan', 'national_id', 'password', 'credentials', 'api_keys', 'private_keys'],
  custom: [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }],
});
const clean = [ascii[0] ?? '', ascii[2] ?? '', ascii[3] ?? '', 'Nov 22 10:00:04 web-01 systemd[1]: Started Session 42 of User bob.'];
const screenHit = [
  ascii[1] ?? '',
  'Nov 22 10:00:05 web-01 sshd[2212]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7',
];
const secret = [
  '203.0.113.9 - - [22/Nov/2024:10:00:00 +0000] "GET /cb?code=x&access_token=ya29.a0AfH6SMBabcdefghijklmnop&password=hunter2 HTTP/1.1" 200 1',
  '{"headers":{"authorization":"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"},"card":"4111 1111 1111 1111"}',
];
bench('redact clean (screen rejects)', clean, (s: string) => redactor.redact(s));
bench('redact screen hit, no secret', screenHit, (s: string) => redactor.redact(s));
bench('redact with secrets', secret, (s: string) => redactor.redact(s));
bench('redact clean + 1 custom pattern', clean, (s: string) => redactorCustom.redact(s));

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError } from '../../src/errors.js';
import { createRedactor, REDACT_KINDS, type RedactKind } from '../../src/sanitize/redact.js';

const ALL: RedactKind[] = [...REDACT_KINDS];
const redactor = createRedactor({ builtin: ALL, custom: [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }] });

// ---- fixture builders (test-side, independent of the implementation) ------

/** Deterministic pseudo-random strings, so failures reproduce. */
let seed = 0x2545f491;
function rand(n: number, alphabet: string): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    out += alphabet[(seed >>> 0) % alphabet.length];
  }
  return out;
}
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}-_`;
const HEX = '0123456789abcdef';

function luhnOk(d: string): boolean {
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let x = Number(d[d.length - 1 - i]);
    if (i % 2 === 1) x = x * 2 > 9 ? x * 2 - 9 : x * 2;
    sum += x;
  }
  return sum % 10 === 0;
}
/** A Luhn-valid number with the given prefix and length. */
function withLuhn(prefix: string, len: number): string {
  const body = prefix + rand(len - prefix.length - 1, '0123456789');
  for (let c = 0; c <= 9; c++) if (luhnOk(body + c)) return body + c;
  throw new Error('unreachable');
}
/** A number with the given prefix and length that FAILS Luhn. */
function withoutLuhn(prefix: string, len: number): string {
  const ok = withLuhn(prefix, len);
  const last = Number(ok[ok.length - 1]);
  return ok.slice(0, -1) + String((last + 1) % 10);
}
function group(d: string, sizes: number[], sep: string): string {
  const parts: string[] = [];
  let at = 0;
  for (const n of sizes) {
    parts.push(d.slice(at, at + n));
    at += n;
  }
  return parts.join(sep);
}
/** Split so the source never holds a whole vendor-format token (keeps secret scanners quiet). */
const j = (...p: string[]): string => p.join('');
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
function jwt(): string {
  return `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(`{"sub":"${rand(8, ALNUM)}","iat":1732269600}`)}.${rand(43, B64URL)}`;
}

// Secrets (values only; they must vanish from the output).
const S = {
  p: () => rand(12, ALNUM) + '!#',
  tok: () => rand(32, B64URL),
  hex: () => rand(40, HEX),
  jwt,
  akid: () => j('AK', 'IA', rand(16, UPPER_NUM)),
  asid: () => j('AS', 'IA', rand(16, UPPER_NUM)),
  awsSecret: () => rand(40, B64),
  gcp: () => j('AI', 'za', rand(35, B64URL)),
  gh: (p = 'ghp') => j(p, '_', rand(36, ALNUM)),
  ghPat: () => j('github', '_pat_', rand(22, ALNUM), '_', rand(59, ALNUM)),
  gl: () => j('glp', 'at-', rand(20, ALNUM)),
  slack: (t = 'b') => j('xox', t, '-', rand(12, '0123456789'), '-', rand(13, '0123456789'), '-', rand(24, ALNUM)),
  stripe: (p = 'sk_live_') => j(p.slice(0, 3), p.slice(3), rand(24, ALNUM)),
  azure: () => rand(86, B64) + '==',
  sas: () => encodeURIComponent(rand(43, B64) + '='),
  npm: () => j('np', 'm_', rand(36, ALNUM)),
  openai: () => j('sk-', 'proj-', rand(48, B64URL)),
  sendgrid: () => j('S', 'G.', rand(22, B64URL), '.', rand(43, B64URL)),
  pemBody: () => rand(64, B64),
};

interface SecretCase {
  readonly line: string;
  /** Substrings that must not survive. */
  readonly secrets: readonly string[];
  /** Exact number of masked spans. */
  readonly count: number;
  /** Kinds that must be reported (subset). */
  readonly kinds?: readonly string[];
  /** Text that must survive (keys, context). */
  readonly keep?: readonly string[];
}

function c(line: string, secrets: string[], count: number, kinds?: string[], keep?: string[]): SecretCase {
  return { line, secrets, count, kinds, keep };
}

const NGX = '203.0.113.9 - - [22/Nov/2024:10:00:01 +0000]';
const UA = '"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"';

function secretCorpus(): SecretCase[] {
  const cases: SecretCase[] = [];
  const add = (f: () => SecretCase): void => {
    cases.push(f());
  };

  // nginx access logs: secrets in query strings and referrers
  add(() => { const t = S.tok(); return c(`${NGX} "GET /oauth/callback?code=abc&access_token=${t}&state=xyz HTTP/1.1" 302 0 "-" ${UA}`, [t], 1, ['token'], ['access_token=', 'state=xyz']); });
  add(() => { const p = S.p(); return c(`${NGX} "POST /login?user=alice&password=${p} HTTP/1.1" 200 512 "-" ${UA}`, [p], 1, ['password'], ['user=alice', 'password=']); });
  add(() => { const k = S.hex(); return c(`${NGX} "GET /api/v2/items?api_key=${k}&page=2 HTTP/1.1" 200 88 "-" ${UA}`, [k], 1, ['api_key'], ['page=2']); });
  add(() => { const t = S.tok(); return c(`${NGX} "GET /download?token=${t} HTTP/2.0" 200 1048576 "-" "curl/8.5.0"`, [t], 1); });
  add(() => { const t = S.tok(); const s = S.hex(); return c(`${NGX} "GET /reset?refresh_token=${t}&client_secret=${s} HTTP/1.1" 400 12 "-" ${UA}`, [t, s], 2, ['token', 'secret']); });
  add(() => { const sig = S.sas(); return c(`${NGX} "GET /c/r.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2024-12-01T00:00:00Z&sig=${sig} HTTP/1.1" 200 5 "-" ${UA}`, [sig], 1, ['azure_sas'], ['sv=2022-11-02']); });
  add(() => { const k = S.hex(); return c(`${NGX} "GET /search?q=shoes&apikey=${k} HTTP/1.1" 200 4411 "-" ${UA}`, [k], 1); });
  add(() => { const p = rand(10, ALNUM); return c(`${NGX} "POST /sso?data=user%3Dbob%26password%3D${p}%26lang%3Den HTTP/1.1" 302 0 "-" ${UA}`, [p], 1, ['password'], ['%26lang%3Den']); });
  add(() => { const t = S.jwt(); return c(`${NGX} "GET /hook HTTP/1.1" 200 5 "https://app.example.com/?jwt=${t}" ${UA}`, [t], 1, ['jwt']); });
  add(() => { const p = S.p().replace(/[!#]/g, 'x'); return c(`${NGX} "GET / HTTP/1.1" 200 5 "https://admin:${p}@intranet.example.com/" ${UA}`, [p], 1, ['password'], ['admin:']); });
  add(() => { const s = S.tok(); return c(`${NGX} "GET /cart?session_id=${s} HTTP/1.1" 200 77 "-" ${UA}`, [s], 1, ['session_token']); });
  add(() => { const s = rand(26, 'abcdefghijklmnopqrstuv0123456789'); return c(`${NGX} "GET /index.php?PHPSESSID=${s} HTTP/1.1" 200 900 "-" ${UA}`, [s], 1, ['session_token']); });

  // application JSON logs
  add(() => { const p = S.p(); return c(`{"level":"info","msg":"login","user":"bob","password":"${p}"}`, [p], 1, ['password'], ['"password":"']); });
  add(() => { const t = S.jwt(); const s = S.tok(); return c(`{"level":"debug","req":{"headers":{"authorization":"Bearer ${t}","cookie":"connect.sid=s%3A${s}; theme=dark"}}}`, [t, s], 2, ['bearer', 'cookie']); });
  add(() => { const t = S.tok(); return c(`{"event":"token_issued","token_type":"Bearer","access_token":"${t}","expires_in":3600}`, [t], 1, ['token'], ['"token_type":"Bearer"', '"expires_in":3600']); });
  add(() => { const p = rand(14, ALNUM); return c(`{"msg":"db connect","dsn":"postgres://app:${p}@db.internal:5432/app?sslmode=require"}`, [p], 1, ['password'], ['db.internal:5432']); });
  add(() => { const p = rand(10, ALNUM); return c(`{"password":"pa\\"ss ${p}","user":"x"}`, [p, 'pa\\"ss'], 1, ['password'], ['"user":"x"']); });
  add(() => { const p = rand(10, ALNUM); return c(`{"msg":"payload {\\"username\\":\\"bob\\",\\"password\\":\\"${p}\\"}"}`, [p], 1, ['password'], ['\\"username\\":\\"bob\\"']); });
  add(() => { const a = S.akid(); const s = S.awsSecret(); return c(`{"aws":{"accessKeyId":"${a}","secretAccessKey":"${s}"}}`, [a, s], 2, ['aws_access_key', 'aws_secret_key']); });
  add(() => { const k = S.stripe(); return c(`{"stripe_key":"${k}","mode":"live"}`, [k], 1, ['stripe_key']); });
  add(() => { const s = S.hex(); return c(`{"client_secret":"${s}","client_id":"shop-web"}`, [s], 1, ['secret'], ['"client_id":"shop-web"']); });
  add(() => { const pan = group(withLuhn('4', 16), [4, 4, 4, 4], ' '); return c(`{"card":"${pan}","amount":12.5}`, [pan, pan.replace(/ /g, '')], 1, ['pan'], ['"amount":12.5']); });
  add(() => c('{"user":{"ssn":"078-05-1120","name":"H. Woolworth"}}', ['078-05-1120'], 1, ['ssn']));
  add(() => { const p = S.p(); return c(`Parameters: {"user"=>{"email"=>"a@example.com", "password"=>"${p}"}}`, [p], 1, ['password'], ['"email"=>"a@example.com"']); });
  add(() => { const p = rand(12, ALNUM); return c(`DEBUG auth: {'username': 'bob', 'password': '${p}'}`, [p], 1, ['password']); });
  add(() => { const k = S.hex(); return c(`{"apiKey":"${k}","region":"eu"}`, [k], 1, ['api_key']); });
  add(() => { const k = S.tok(); return c(`{"headers":{"x-api-key":"${k}"}}`, [k], 1); });
  add(() => { const t = S.tok(); return c(`{"refreshToken":"${t}","userId":42}`, [t], 1, ['token'], ['"userId":42']); });
  add(() => { const g = S.gh('ghs'); return c(`{"msg":"clone","url":"https://x-access-token:${g}@github.com/org/repo.git"}`, [g], 1); });
  add(() => { const s = S.tok(); return c(`{"sessionId":"${s}","path":"/checkout"}`, [s], 1, ['session_token']); });
  add(() => { const t = S.tok(); return c(`{"level":30,"time":1732269600123,"req":{"url":"/x","headers":{"x-auth-token":"${t}"}}}`, [t], 1); });

  // Authorization headers and header dumps
  add(() => { const t = S.tok(); return c(`Authorization: Bearer ${t}`, [t], 1, ['bearer'], ['Authorization: Bearer ']); });
  add(() => { const u = b64(`admin:${rand(10, ALNUM)}`); return c(`Authorization: Basic ${u}`, [u], 1, ['basic_auth']); });
  add(() => { const u = b64(`proxy:${rand(10, ALNUM)}`); return c(`Proxy-Authorization: Basic ${u}`, [u], 1, ['basic_auth'], ['Proxy-Authorization: Basic ']); });
  add(() => { const t = S.tok(); return c(`GET /v1/status?authorization=${t}&v=2 HTTP/1.1`, [t], 1, ['authorization'], ['&v=2']); });
  add(() => { const g = S.gh(); return c(`> Authorization: token ${g}`, [g], 1, ['authorization']); });
  add(() => { const s = rand(32, 'ABCDEF0123456789'); const t = S.tok(); return c(`GET / HTTP/1.1{U+000D}{U+000A}Host: shop.example.com{U+000D}{U+000A}Cookie: JSESSIONID=${s}; lang=en{U+000D}{U+000A}Authorization: Bearer ${t}{U+000D}{U+000A}Accept: */*`, [s, t], 2, ['cookie', 'bearer'], ['{U+000D}{U+000A}Accept: */*', 'Host: shop.example.com']); });
  add(() => { const s = S.tok(); return c(`< Set-Cookie: session=${s}; Path=/; HttpOnly; Secure; SameSite=Lax`, [s], 1, ['cookie']); });
  add(() => { const k = S.tok(); return c(`X-Api-Key: ${k}`, [k], 1); });
  add(() => { const t = rand(20, ALNUM); return c(`PRIVATE-TOKEN: ${t}`, [t], 1); });
  add(() => { const a = `AWS4-HMAC-SHA256 Credential=${S.akid()}/20241122/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${rand(64, HEX)}`; return c(`authorization: ${a}`, [a.slice(-64)], 1, ['authorization']); });

  // command lines
  add(() => { const t = S.tok(); return c(`curl -s -H "Authorization: Bearer ${t}" https://api.example.com/v1/me`, [t], 1, ['bearer'], ['https://api.example.com/v1/me']); });
  add(() => { const p = S.p().replace(/[!#]/g, 'z'); return c(`curl -u admin:${p} https://jenkins.example.com/api/json`, [p], 1, ['basic_auth'], ['-u admin:']); });
  add(() => { const p = rand(12, ALNUM); return c(`curl --user deploy:${p} -X POST https://ci.example.com/job/x/build`, [p], 1, ['basic_auth']); });
  add(() => { const k = S.tok(); return c(`curl -H 'X-Api-Key: ${k}' https://api.example.com/v2/orders`, [k], 1); });
  add(() => { const s = S.tok(); return c(`curl --cookie "sessionid=${s}" https://shop.example.com/account`, [s], 1); });
  add(() => { const p = rand(10, ALNUM); return c(`mysql -h db.internal -u root -p${p} shop`, [p], 1, ['password'], ['-u root -p', ' shop']); });
  add(() => { const p = rand(10, ALNUM); return c(`sshpass -p '${p}' ssh deploy@10.0.0.5 uptime`, [p], 1, ['password']); });
  add(() => { const p = rand(10, ALNUM); return c(`wget --user=ftp --password=${p} ftp://files.example.com/pub/x.tgz`, [p], 1); });
  add(() => { const p = rand(10, ALNUM); return c(`psql "postgresql://report:${p}@10.0.0.8/reports" -c 'select 1'`, [p], 1); });
  add(() => { const p = rand(16, ALNUM); return c(`docker login -u bob --password ${p} registry.example.com`, [p], 1, ['password'], ['registry.example.com']); });
  add(() => { const p = rand(12, ALNUM); return c(`vault login -method=userpass username=bob password=${p}`, [p], 1); });
  add(() => { const g = S.gl(); return c(`git clone https://oauth2:${g}@gitlab.example.com/grp/repo.git`, [g], 1); });

  // environment dumps
  add(() => { const a = S.akid(); return c(`AWS_ACCESS_KEY_ID=${a}`, [a], 1, ['aws_access_key']); });
  add(() => { const a = S.asid(); return c(`aws sts: temporary credentials ${a} issued`, [a], 1, ['aws_access_key']); });
  add(() => { const s = S.awsSecret(); return c(`AWS_SECRET_ACCESS_KEY=${s}`, [s], 1, ['aws_secret_key']); });
  add(() => { const p = S.p(); return c(`DB_PASSWORD=${p}`, [p], 1, ['password'], ['DB_PASSWORD=']); });
  add(() => { const g = S.gh(); return c(`GITHUB_TOKEN=${g}`, [g], 1); });
  add(() => c(j('SLACK_WEBHOOK_URL=https://hooks.slack.com/services/', 'T0A1B2C3D/B0A1B2C3D/', 'abcDEF123ghiJKL456mnoPQR'), ['abcDEF123ghiJKL456mnoPQR'], 1));
  add(() => { const k = S.stripe('sk_test_'); return c(`STRIPE_SECRET_KEY=${k}`, [k], 1); });
  add(() => { const p = rand(10, ALNUM); return c(`MYSQL_PWD=${p}`, [p], 1, ['password']); });
  add(() => { const p = rand(10, ALNUM); return c(`PGPASSWORD=${p} pg_dump -h db shop`, [p], 1, ['password'], ['pg_dump -h db shop']); });
  add(() => { const k = S.sendgrid(); return c(`SENDGRID_API_KEY=${k}`, [k], 1); });
  add(() => { const k = S.gcp(); return c(`GOOGLE_MAPS_KEY=${k}`, [k], 1, ['gcp_api_key']); });
  add(() => { const k = S.openai(); return c(`export OPENAI_API_KEY=${k}`, [k], 1); });
  add(() => { const k = S.npm(); return c(`//registry.npmjs.org/:_authToken=${k}`, [k], 1); });

  // stack traces and connection strings
  add(() => { const p = rand(12, ALNUM); return c(`Caused by: org.postgresql.util.PSQLException: FATAL: connection refused (jdbc:postgresql://db:5432/app?user=app&password=${p})`, [p], 1); });
  add(() => { const p = rand(12, ALNUM); return c(`pymongo.errors.ServerSelectionTimeoutError: mongodb+srv://admin:${p}@cluster0.abcde.mongodb.net/test`, [p], 1, ['password']); });
  add(() => { const k = S.azure(); return c(`System.InvalidOperationException: DefaultEndpointsProtocol=https;AccountName=shopacct;AccountKey=${k};EndpointSuffix=core.windows.net`, [k, k.slice(0, 20)], 1, ['azure_key'], ['AccountName=shopacct', 'EndpointSuffix=core.windows.net']); });
  add(() => { const p = S.p(); return c(`at Microsoft.Data.SqlClient: Server=tcp:sql.example.com,1433;Database=shop;User ID=app;Password=${p};Encrypt=True;`, [p], 1, ['password'], [';Encrypt=True;']); });
  add(() => { const p = rand(16, ALNUM); return c(`redis.exceptions.AuthenticationError: invalid password for redis://:${p}@cache:6379/0`, [p], 1); });
  add(() => { const k = S.azure(); return c(`Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${k}`, [k], 1, ['azure_key'], ['SharedAccessKeyName=RootManageSharedAccessKey']); });

  // PEM blocks flattened into one line
  add(() => { const a = S.pemBody(); const z = S.pemBody(); return c(`-----BEGIN RSA PRIVATE KEY-----{U+000A}MIIEpAIBAAKCAQEA${a}{U+000A}${z}{U+000A}-----END RSA PRIVATE KEY-----`, [a, z], 1, ['private_key']); });
  add(() => { const a = S.pemBody(); return c(`{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg${a}\\n-----END PRIVATE KEY-----\\n","client_email":"svc@proj.iam.gserviceaccount.com"}`, [a], 1, ['private_key'], ['"client_email":"svc@proj.iam.gserviceaccount.com"']); });
  add(() => { const a = S.pemBody(); return c(`config dump: key=-----BEGIN OPENSSH PRIVATE KEY-----{U+000A}b3BlbnNzaC1rZXktdjEAAAAA${a}`, [a, 'b3BlbnNzaC1rZXktdjEAAAAA'], 1, ['private_key'], ['config dump: ']); });
  add(() => { const a = S.pemBody(); return c(`-----BEGIN ENCRYPTED PRIVATE KEY-----{U+000A}${a}{U+000A}-----END ENCRYPTED PRIVATE KEY----- loaded from /etc/ssl/k.pem`, [a], 1, ['private_key'], ['loaded from /etc/ssl/k.pem']); });
  add(() => { const a = S.pemBody(); return c(`-----BEGIN EC PRIVATE KEY-----\n${a}\n-----END EC PRIVATE KEY-----`, [a], 1); });

  // vendor tokens in free text
  add(() => { const g = S.gh(); return c(`deploy: using ${g} for org acme`, [g], 1, ['github_token']); });
  add(() => { const g = S.ghPat(); return c(`fine-grained token ${g} expires 2025-01-01`, [g], 1, ['github_token']); });
  add(() => { const s = S.slack(); return c(`slack notify failed with ${s}: not_authed`, [s], 1, ['slack_token']); });
  add(() => { const s = S.slack('p'); return c(`user token ${s}`, [s], 1, ['slack_token']); });
  add(() => { const k = S.stripe(); return c(`charge failed using ${k} (card_declined)`, [k], 1, ['stripe_key']); });
  add(() => { const k = S.stripe('rk_live_'); return c(`restricted ${k}`, [k], 1, ['stripe_key']); });
  add(() => { const k = S.gcp(); return c(`maps request with ${k} denied`, [k], 1, ['gcp_api_key']); });
  add(() => { const t = j('ya', '29.', rand(60, B64URL)); return c(`oauth2 call with ${t} returned 401`, [t], 1, ['gcp_oauth_token']); });
  add(() => { const g = S.gl(); return c(`runner registered with ${g}`, [g], 1, ['gitlab_token']); });
  add(() => { const k = S.npm(); return c(`npm publish with ${k}`, [k], 1, ['npm_token']); });
  add(() => { const k = S.sendgrid(); return c(`mail via ${k}`, [k], 1, ['sendgrid_key']); });
  add(() => { const t = S.jwt(); return c(`id_token ${t} rejected: expired`, [t], 1, ['jwt'], ['rejected: expired']); });
  add(() => { const t = S.tok(); return c(`upstream returned 401 for bearer ${t}`, [t], 1, ['bearer']); });

  // cards and national ids
  add(() => { const p = withLuhn('51', 16); return c(`payment declined for card ${p} (insufficient funds)`, [p], 1, ['pan']); });
  add(() => { const p = withLuhn('2221', 16); return c(`card=${p}&exp=12/27`, [p], 1, ['pan'], ['&exp=12/27']); });
  add(() => { const p = group(withLuhn('37', 15), [4, 6, 5], ' '); return c(`amex ${p} charged`, [p], 1, ['pan']); });
  add(() => { const p = group(withLuhn('6011', 16), [4, 4, 4, 4], '-'); return c(`discover ${p}`, [p], 1, ['pan']); });
  add(() => { const p = withLuhn('3530', 16); return c(`jcb:${p};`, [p], 1, ['pan']); });
  add(() => { const p = group(withLuhn('36', 14), [4, 6, 4], ' '); return c(`diners ${p}`, [p], 1, ['pan']); });
  add(() => { const p = withLuhn('62', 19); return c(`unionpay ${p}`, [p], 1, ['pan']); });
  add(() => { const p = withLuhn('6759', 16); return c(`maestro ${p}`, [p], 1, ['pan']); });
  add(() => { const p = withLuhn('4', 13); return c(`old visa ${p}`, [p], 1, ['pan']); });
  add(() => { const a = withLuhn('4', 16); const z = withLuhn('55', 16); return c(`retry ${a} then ${z}`, [a, z], 2, ['pan']); });
  add(() => c('applicant ssn=219-09-9999 dob=1970-01-01', ['219-09-9999'], 1, ['ssn'], ['dob=1970-01-01']));
  add(() => c('EMP-123456 opened ticket 4242', ['EMP-123456'], 1, ['employee_id'], ['opened ticket 4242']));

  // Fixed literals from here on (no rand()): the values of every case above, and of the benign corpus
  // built after this one, stay what they were.
  // A card or an SSN after an escaped control character (%09, \x09, \u0019), after the label "ssn".
  add(() => c('GET /s?q=%094111111111111111 HTTP/1.1', ['4111111111111111'], 1, ['pan'], ['q=%09', ' HTTP/1.1']));
  add(() => c('data=ssn%3D%09123-45-6789%26x%3D1', ['123-45-6789'], 1, ['ssn'], ['%26x%3D1']));
  add(() => c('{"msg":"card\\u00194111 1111 1111 1111"}', ['4111 1111 1111 1111'], 1, ['pan'], ['card\\u0019']));
  add(() => c('cache miss key=ssn-078-05-1120 ttl=60', ['078-05-1120'], 1, ['ssn'], ['key=ssn-', 'ttl=60']));
  add(() => c('s3 put s3://docs/applicants/ssn_219-09-9999.pdf', ['219-09-9999'], 1, ['ssn'], ['ssn_', '.pdf']));
  // Vendor tokens glued to the word before them.
  add(() => { const g = j('gh', 'p_', 'q8Xz2LkT0vBn5RmYc7WdA3sJ9hUe1GfP4iKo'); return c(`deploy: using token${g} for org acme`, [g], 1, ['github_token'], ['using token', ' for org acme']); });
  add(() => { const a = j('AK', 'IA', 'IOSFODNN7EXAMPLE'); return c(`aws: key id${a} rejected`, [a], 1, ['aws_access_key'], ['key id']); });
  add(() => { const k = j('sk', '_live_', '4eC39HqLyjWDarjtT1zdp7dc'); return c(`charge failed using key${k}`, [k], 1, ['stripe_key']); });
  add(() => { const s = j('xox', 'b-', '123456789012-1234567890123-', 'Zq3mQk0J4mXc6v2yL1oAq9xP'); return c(`notify failed with bot${s}: not_authed`, [s], 1, ['slack_token'], [': not_authed']); });
  add(() => { const g = j('glp', 'at-', 'x7Kq2mZ9vB4nR1tY8wLc'); return c(`runner registered with token${g}`, [g], 1, ['gitlab_token']); });
  add(() => { const t = `${b64url('{"typ":"JWT","alg":"RS256"}')}.${b64url('{"sub":"42"}')}.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U`; return c(`upstream 401 for Bearer${t}`, [t], 1, ['jwt'], ['for Bearer']); });
  return cases;
}

// ---- the benign corpus: must pass byte-for-byte unchanged ------------------

function benignCorpus(): string[] {
  const lines = [
    // sshd
    'Nov 22 10:00:01 web-01 sshd[2211]: Failed password for root from 203.0.113.9 port 52114 ssh2',
    'Nov 22 10:00:02 web-01 sshd[2211]: Failed password for invalid user admin from 198.51.100.7 port 40022 ssh2',
    'Nov 22 10:00:03 web-01 sshd[2212]: Accepted password for bob from 192.0.2.10 port 51234 ssh2',
    'Nov 22 10:00:04 web-01 sshd[2213]: Accepted publickey for deploy from 198.51.100.23 port 50122 ssh2: RSA SHA256:Zx5u3b0T2wG9H3xYxJ1m8nQk4sP0vR6tL2aB7cD9eF0',
    'Nov 22 10:00:04 web-01 sshd[2213]: Accepted publickey for ci from 2001:db8::1 port 60022 ssh2: ED25519 SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
    'Nov 22 10:00:05 web-01 sshd[2214]: Connection closed by authenticating user root 203.0.113.9 port 52114 [preauth]',
    'Nov 22 10:00:05 web-01 sshd[2214]: pam_unix(sshd:session): session opened for user bob(uid=1000) by (uid=0)',
    'Nov 22 10:00:06 web-01 sshd[2215]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root',
    'Nov 22 10:00:06 web-01 sshd[2215]: Disconnected from invalid user test 203.0.113.9 port 4242 [preauth]',
    'Nov 22 10:00:07 web-01 sshd[2216]: error: maximum authentication attempts exceeded for root from 203.0.113.9 port 52120 ssh2 [preauth]',
    'Nov 22 10:00:07 web-01 sshd[2216]: Received disconnect from 203.0.113.9 port 52120:11: Bye Bye [preauth]',
    'Nov 22 10:00:08 web-01 sshd[2217]: Invalid user oracle from 198.51.100.77 port 33210',
    'Nov 22 10:00:08 web-01 sshd[2217]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.77',
    'Nov 22 10:00:09 web-01 sshd[2218]: Postponed publickey for bob from 192.0.2.10 port 51234 ssh2 [preauth]',
    'Nov 22 10:00:09 web-01 sshd[812]: Server listening on 0.0.0.0 port 22.',
    'Nov 22 10:00:09 web-01 sshd[812]: Server listening on :: port 22.',
    'Nov 22 10:00:10 web-01 sshd[2219]: Accepted keyboard-interactive/pam for alice from 2001:db8:85a3::8a2e:370:7334 port 60022 ssh2',
    'Nov 22 10:00:10 web-01 sshd[2219]: Starting session: shell on pts/0 for alice from 192.0.2.44 port 5123 id 0',
    'Nov 22 10:00:11 web-01 sshd[2220]: pam_unix(sshd:account): expired password for user carol (password aged)',
    'Nov 22 10:00:11 web-01 sshd[2221]: Connection reset by 203.0.113.9 port 52200 [preauth]',
    'Nov 22 10:00:12 web-01 sshd[2222]: userauth_pubkey: key type ssh-dss not in PubkeyAcceptedAlgorithms [preauth]',
    'Nov 22 10:00:12 web-01 sshd[2222]: Failed publickey for git from 198.51.100.3 port 4711 ssh2: RSA SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
    'Nov 22 10:00:13 web-01 sshd[2223]: Failed none for invalid user support from 203.0.113.50 port 61000 ssh2',
    'Nov 22 10:00:13 web-01 sshd[2223]: pam_faillock(sshd:auth): Consecutive login failures for user root account temporarily locked',
    // sudo, su, passwd, pam, user management
    'Nov 22 10:01:00 web-01 sudo:      bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx',
    'Nov 22 10:01:00 web-01 sudo: pam_unix(sudo:session): session opened for user root(uid=0) by bob(uid=1000)',
    'Nov 22 10:01:01 web-01 sudo:      bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/var/www ; USER=root ; COMMAND=/bin/bash',
    'Nov 22 10:01:02 web-01 sudo:    alice : user NOT in sudoers ; TTY=pts/2 ; PWD=/ ; USER=root ; COMMAND=/bin/cat /etc/shadow',
    'Nov 22 10:01:02 web-01 sudo:    carol : TTY=pts/3 ; PWD=/home/carol/src ; USER=root ; ENV=LANG=C ; COMMAND=/usr/bin/apt-get install -y curl',
    'Nov 22 10:01:03 web-01 sudo: pam_unix(sudo:auth): auth could not identify password for [bob]',
    'Nov 22 10:01:03 web-01 sudo: pam_unix(sudo:auth): conversation failed',
    'Nov 22 10:01:04 web-01 su[3001]: (to root) bob on pts/0',
    'Nov 22 10:01:04 web-01 su[3001]: pam_unix(su-l:session): session opened for user root(uid=0) by bob(uid=1000)',
    'Nov 22 10:01:05 web-01 su[3002]: FAILED SU (to root) alice on pts/1',
    'Nov 22 10:01:05 web-01 passwd[2231]: pam_unix(passwd:chauthtok): password changed for bob',
    'Nov 22 10:01:06 web-01 passwd[2232]: BAD PASSWORD: The password is shorter than 8 characters',
    'passwd: all authentication tokens updated successfully.',
    'Nov 22 10:01:06 web-01 passwd[2233]: pam_pwquality(passwd:chauthtok): pam_parse: unknown or broken option; retry=3',
    'Nov 22 10:01:07 web-01 chpasswd[2234]: pam_unix(chpasswd:chauthtok): password changed for deploy',
    'Nov 22 10:01:07 web-01 useradd[2235]: new user: name=carol, UID=1002, GID=1002, home=/home/carol, shell=/bin/bash, from=/dev/pts/0',
    'Nov 22 10:01:08 web-01 usermod[2236]: add \'carol\' to group \'sudo\'',
    'Nov 22 10:01:08 web-01 gpasswd[2237]: user carol added by root to group docker',
    'Nov 22 10:01:09 web-01 unix_chkpwd[2238]: password check failed for user (root)',
    'Nov 22 10:01:09 web-01 login[2239]: FAILED LOGIN (1) on \'/dev/tty1\' FOR \'root\', Authentication failure',
    'Nov 22 10:01:10 web-01 polkitd[700]: Operator of unix-session:3 successfully authenticated as unix-user:root to gain ONE-SHOT authorization for action org.freedesktop.systemd1.manage-units',
    'Nov 22 10:01:10 web-01 systemd-logind[612]: New session 42 of user bob.',
    'Nov 22 10:01:11 web-01 systemd-logind[612]: Removed session 42.',
    'Nov 22 10:01:11 web-01 systemd-logind[612]: Session 42 logged out. Waiting for processes to exit.',
    'Nov 22 10:01:12 web-01 CRON[4001]: pam_unix(cron:session): session closed for user root',
    'Nov 22 10:01:12 web-01 CRON[4002]: (root) CMD (cd / && run-parts --report /etc/cron.hourly)',
    // systemd
    'Nov 22 10:02:00 web-01 systemd[1]: Started Session 42 of User bob.',
    'Nov 22 10:02:00 web-01 systemd[1]: session-42.scope: Deactivated successfully.',
    'Nov 22 10:02:01 web-01 systemd[1]: Starting Rotate log files...',
    'Nov 22 10:02:01 web-01 systemd[1]: logrotate.service: Succeeded.',
    'Nov 22 10:02:02 web-01 systemd[1]: Reloading OpenBSD Secure Shell server...',
    'Nov 22 10:02:02 web-01 systemd[1]: Created slice User Slice of UID 1000.',
    'Nov 22 10:02:03 web-01 systemd[1001]: Listening on GnuPG cryptographic agent and passphrase cache.',
    'Nov 22 10:02:03 web-01 systemd[1]: Started Daily apt download activities.',
    'Nov 22 10:02:04 web-01 systemd[1]: nginx.service: Main process exited, code=exited, status=1/FAILURE',
    'Nov 22 10:02:04 web-01 systemd[1]: Finished Cleanup of Temporary Directories.',
    'Nov 22 10:02:05 web-01 systemd[1]: Condition check resulted in Secret Store Service being skipped.',
    'Nov 22 10:02:05 web-01 systemd-tmpfiles[500]: /usr/lib/tmpfiles.d/sshd.conf:1: Line references path below legacy directory /var/run/',
    'Nov 22 10:02:06 web-01 systemd[1]: Starting GnuPG network certificate management daemon for /etc/pacman.d/gnupg...',
    // kernel
    'Nov 22 10:03:00 web-01 kernel: [ 1234.567890] usb 1-1: new high-speed USB device number 2 using xhci_hcd',
    'Nov 22 10:03:00 web-01 kernel: [12345.678901] TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.  Check SNMP counters.',
    'Nov 22 10:03:01 web-01 kernel: audit: type=1400 audit(1732269600.123:456): apparmor="DENIED" operation="open" profile="/usr/sbin/nginx" name="/etc/ssl/private/key.pem" pid=1234 comm="nginx" requested_mask="r" denied_mask="r" fsuid=33 ouid=0',
    'Nov 22 10:03:01 web-01 kernel: EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.',
    'Nov 22 10:03:02 web-01 kernel: Out of memory: Killed process 4321 (java) total-vm:12345678kB, anon-rss:8123456kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:20480kB oom_score_adj:0',
    'Nov 22 10:03:02 web-01 kernel: nf_conntrack: nf_conntrack: table full, dropping packet',
    'Nov 22 10:03:03 web-01 kernel: IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready',
    'Nov 22 10:03:03 web-01 kernel: random: crng init done',
    'Nov 22 10:03:04 web-01 kernel: [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.9 DST=192.0.2.1 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=54321 DF PROTO=TCP SPT=52114 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0',
    'Nov 22 10:03:04 web-01 kernel: type=1101 audit(1732269600.456:789): pid=2211 uid=0 auid=1000 ses=4 msg=\'op=PAM:accounting grantors=pam_unix acct="bob" exe="/usr/sbin/sshd" hostname=203.0.113.9 addr=203.0.113.9 terminal=ssh res=success\'',
    'Nov 22 10:03:05 web-01 kernel: BUG: soft lockup - CPU#1 stuck for 22s! [kworker/1:2:1234]',
    'Nov 22 10:03:05 web-01 kernel: RIP: 0010:native_queued_spin_lock_slowpath+0x5d/0x1e0',
    'Nov 22 10:03:06 web-01 kernel: Key type dns_resolver registered',
    'Nov 22 10:03:06 web-01 kernel: Loaded X.509 cert \'Build time autogenerated kernel key: 3f786850e387550fdab836ed7e6dc881de23001b\'',
    // nginx access and error logs
    `${NGX} "GET /api/v1/orders/1234567?page=2 HTTP/1.1" 200 5123 "https://shop.example.com/cart" ${UA}`,
    `${NGX} "GET /static/app.4f5e6d7c.js HTTP/2.0" 304 0 "https://shop.example.com/" ${UA} rt=0.002 uct=0.000`,
    `${NGX} "POST /api/v1/login HTTP/1.1" 401 43 "-" "okhttp/4.12.0" req_id=7f9c2ba4-e88f-4f1b-9c2d-1e2f3a4b5c6d`,
    `${NGX} "GET /password-reset?step=2 HTTP/1.1" 200 1022 "-" ${UA}`,
    `${NGX} "GET /account/forgot-password HTTP/1.1" 200 2048 "-" ${UA}`,
    `${NGX} "GET /oauth/authorize?response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fshop.example.com%2Fcb&scope=openid HTTP/1.1" 302 0 "-" ${UA}`,
    `${NGX} "POST /oauth/token HTTP/1.1" 200 612 "-" "python-requests/2.31.0"`,
    `${NGX} "GET /cookies-policy HTTP/1.1" 200 3001 "-" ${UA}`,
    `${NGX} "GET /session/new HTTP/1.1" 200 1500 "-" ${UA}`,
    `${NGX} "GET /api/keys HTTP/1.1" 403 12 "-" ${UA}`,
    `${NGX} "GET /tokens/list?limit=50 HTTP/1.1" 200 9000 "-" ${UA}`,
    `${NGX} "GET /search?q=secret+santa+gift HTTP/1.1" 200 3210 "-" ${UA}`,
    `${NGX} "GET /img/1732269600123.png HTTP/1.1" 200 43210 "-" ${UA}`,
    `2001:db8::42 - - [22/Nov/2024:10:00:02 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"`,
    `${NGX} "GET /track?ts=1732269600123&sid=9&v=3 HTTP/1.1" 204 0 "-" ${UA}`,
    `${NGX} "GET /c?sig=abc123 HTTP/1.1" 200 5 "-" ${UA}`,
    `${NGX} "GET https://user@example.com/ HTTP/1.1" 400 150 "-" "-"`,
    `${NGX} "GET / HTTP/1.1" 200 612 "https://example.com:8443/path?x=1" ${UA}`,
    `${NGX} "GET / HTTP/1.1" 200 612 "http://[2001:db8::1]:8080/" ${UA}`,
    '2024/11/22 10:00:03 [error] 1234#1234: *5678 connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.9, server: shop.example.com, request: "GET /api HTTP/1.1", upstream: "http://127.0.0.1:8080/api", host: "shop.example.com"',
    '2024/11/22 10:00:04 [warn] 1234#1234: *5679 an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/1/00/0000000001 while reading upstream',
    '2024/11/22 10:00:05 [error] 1234#1234: *5680 open() "/var/www/html/.env" failed (2: No such file or directory), client: 203.0.113.9, server: _, request: "GET /.env HTTP/1.1"',
    '2024/11/22 10:00:05 [crit] 1234#1234: *5681 SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share) while SSL handshaking, client: 203.0.113.9, server: 0.0.0.0:443',
    // application JSON
    '{"level":"info","ts":1732269600123,"msg":"order created","order_id":"b3f1c2d4-9a8e-4f1b-8c2d-1e2f3a4b5c6d","duration_ms":12}',
    '{"level":"info","event":"password_reset_requested","password_reset_requested":true,"user_id":42}',
    '{"level":"info","msg":"passwordless login link sent","channel":"email"}',
    '{"level":"info","msg":"token refreshed","token_type":"Bearer","expires_in":3600,"scope":"openid profile"}',
    '{"level":"warn","msg":"Invalid token: signature mismatch","kid":"2024-11"}',
    '{"level":"info","grant_type":"refresh_token","client_id":"mobile"}',
    '{"level":"info","grant_type":"authorization_code","client_id":"web"}',
    '{"level":"info","error":"invalid_token","error_description":"The access token expired"}',
    '{"level":"info","password":"[FILTERED]","user":"bob"}',
    '{"level":"info","password":"***","user":"bob"}',
    '{"level":"info","password":"","user":"bob"}',
    '{"level":"info","password":null,"token":null,"secret":null}',
    '{"level":"info","has_password":true,"mfa":false}',
    '{"level":"info","password_changed_at":"2024-11-01T09:00:00Z","password_policy":"strict","passwordStrength":"weak"}',
    '{"level":"info","msg":"user changed password","reason":"expired"}',
    '{"level":"info","auth_method":"password","outcome":"failure","reason":"invalid password"}',
    '{"level":"info","authorization":"denied","resource":"/admin"}',
    '{"level":"info","cookie_consent":"accepted","cookies_enabled":true}',
    '{"level":"info","sessions":12,"session_count":3,"session_ttl_s":900}',
    '{"level":"info","max_tokens":4096,"tokens_used":1234,"tokenizer":"cl100k_base"}',
    '{"level":"info","api_version":"v2","keyId":"k-2024-11","cache_key":"orders:42","key":"user:42"}',
    '{"level":"info","secret_santa":false,"secretsManagerArn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"}',
    '{"level":"error","msg":"secret: prod/db not found","arn":"arn:aws:iam::123456789012:user/bob","userId":"AIDAJQABLZS4A3QDU576Q"}',
    '{"level":"info","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","trace_flags":"01"}',
    '{"level":"info","time":"2024-11-22T10:00:00.123456789Z","ts_ns":1732269600123456789,"ts_us":1732269600123456}',
    '{"level":"info","pid":31337,"hostname":"web-01","port":8080,"remote":"[2001:db8::1]:55123","ipv4":"192.0.2.10"}',
    '{"level":"debug","msg":"mysql pool ready","host":"db.internal","port":3306,"user":"app","database":"shop"}',
    '{"level":"info","msg":"curl exited","cmd":"curl -sS -o /dev/null -w %{http_code} https://example.com/health"}',
    '{"level":"info","msg":"bearer auth enabled","realm":"api"}',
    '{"level":"info","phone":"+1-555-010-9999","zip":"94105-1234","date":"2024-11-22"}',
    '{"level":"info","msg":"WWW-Authenticate: Bearer realm=\\"api\\", error=\\"invalid_token\\""}',
    // tooling, hashes, ids
    'commit 3f786850e387550fdab836ed7e6dc881de23001b (HEAD -> main, origin/main)',
    'Merge: 9fceb02 5d8ecd9',
    'digest: sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 size: 1573',
    'Successfully built 4f5e6d7c8b9a; container a3f1e2d4c5b6a7980123456789abcdef0123456789abcdef0123456789abcdef started',
    'docker[900]: time="2024-11-22T10:00:00.000000000Z" level=info msg="ignoring event" container=7d6c5b4a39281706 module=libcontainerd namespace=moby',
    'pip: Successfully installed requests-2.31.0 urllib3-2.0.7 certifi-2023.7.22',
    'apt-key: Warning: apt-key is deprecated. Manage keyring files in trusted.gpg.d instead',
    'ssh-keygen: generating new host keys: RSA ECDSA ED25519',
    'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQC7ExampleOnlyPublicKeyMaterial bob@laptop',
    '-----BEGIN CERTIFICATE-----{U+000A}MIIBszCCAVmgAwIBAgIUQ2hlY2sgY2VydA{U+000A}-----END CERTIFICATE-----',
    '-----BEGIN PUBLIC KEY-----{U+000A}MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE{U+000A}-----END PUBLIC KEY-----',
    'gpg: key 0x3AA5C34371567BD2: public key "Example Signing Key" imported',
    'cd $PWD && OLDPWD=/root make test',
    'bypass=1 compass=north passport=verified',
    'glibc 2.39 and global-config loaded; disk-usage 71%; task-runner idle; work_dir=/srv; risk_level=low',
    'mysql -u root -p -h db.internal shop',
    'mysql --port=3306 -P 3307 -h db shop',
    'docker run -u 1000:1000 --rm alpine id',
    'ssh://git@github.com:22/org/repo.git fetched',
    'mailto:security@example.com reported issue 4242',
    'X-Request-Id: 7f9c2ba4-e88f-4f1b-9c2d-1e2f3a4b5c6d',
    'req_id=01HF8Z6Y2K3M4N5P6Q7R8S9T0V ulid ok',
    'version 1.2.3-45-6789 built; part ABC-123-45-6789; range 123-45-67890',
    'invalid ssns: 000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000',
    'call 555-123-4567 or 555-0100',
    'x-ratelimit-remaining: 4999; x-ratelimit-reset: 1732269600',
    'Authorization header missing',
    'authorization failure for user bob on /admin',
    'Set-Cookie header rejected: too large',
    'missing Bearer token in request',
    'token expired for user bob',
    'tcp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN 812/sshd: /usr/sbin',
    'load average: 0.52, 0.58, 0.59; mem 16384000 kB; swap 0 kB',
    // Near misses of the escape, SSN-label and glued-token rules: numbers after percent signs and escapes
    // of digits, dashed and dotted ids, token prefixes that end words.
    'cpu=99%1732269600123 mem=12%0 a=%314111111111111111 b=%35123-45-6789',
    'ref=x-123-45-6789 ref=x.123-45-6789 order ORD-123-45-6789 msn-123-45-6789',
    'weekly_highs_da39a3ee5e6b4b0d3255bfef95601890afd80709 thighs_ComputeWeeklyAverageTemperatureNow1',
    'network_test_connectivity123 disk_live_MigrationStatus2026Final network_live_ConnectionsPerSecond2xxTotal',
    'region southeastasiaprodstorage01xy vm VMEASTASIAPRODUCTION000001',
    'at com.example.keyJsonSerializer.deserialize(Foo.java:42)',
  ];

  // Numbers that look like cards but are not: built so the reason is certain.
  const luhnNoIssuer = ['1', '7', '8', '9', '0'].map((p) => withLuhn(p, 16));
  for (const id of luhnNoIssuer) assert.ok(luhnOk(id));
  const issuerNoLuhn = ['4', '51', '37', '6011'].map((p) => withoutLuhn(p, p === '37' ? 15 : 16));
  for (const id of issuerNoLuhn) assert.ok(!luhnOk(id));
  const wrongLength = [withLuhn('4', 15), withLuhn('4', 17), withLuhn('34', 16), withLuhn('51', 15)];
  const visa = withLuhn('4', 16);
  lines.push(
    `${NGX} "GET /api/orders/${luhnNoIssuer[0]} HTTP/1.1" 200 88 "-" ${UA}`,
    `{"level":"info","request_id":"${luhnNoIssuer[1]}","user_id":${luhnNoIssuer[2]}}`,
    `snowflake=${withLuhn('1', 19)} guild=${withLuhn('9', 18)}`,
    `trace ${luhnNoIssuer[3]} parent ${luhnNoIssuer[4]}`,
    `order_id=${issuerNoLuhn[0]} ref=${issuerNoLuhn[1]}`,
    `{"invoice":"${issuerNoLuhn[2]}","batch":"${issuerNoLuhn[3]}"}`,
    `ids: ${wrongLength.join(', ')}`,
    `hash deadbeef${visa}cafe and id_${visa} and ${visa}x`,
    `longer run 99${visa}00 and decimal 0.${visa} and dashed 12-${visa}`,
    `epoch_ms=1732269600123 epoch_us=1732269600123456 epoch_ns=1732269600123456789`,
    // Dots join card groups now; none of these is a dotted card: an OID, addresses, a version
    // whose groups fail Luhn, dotted groups of no card shape, a decimal point on either side.
    'signature oid 1.2.840.113549.1.1.11 from 10.0.0.1 via 192.168.100.254',
    `release v${group(withoutLuhn('4', 16), [4, 4, 4, 4], '.')} tagged`,
    `build ${group(issuerNoLuhn[0] ?? '', [4, 4, 4, 4], '.')} and ${group(visa, [2, 2, 2, 2, 2, 2, 2, 2], '.')} and ${group(visa, [4, 4, 8], '.')}`,
    `fraction 0.${group(visa, [4, 4, 4, 4], '.')} and 1.${visa} and ${visa}.5 and ${group(visa, [4, 4, 4, 4], '.')}.5678`,
    `kernel: [12345.678901] and 3.14159265358979 and 2.718281828459045 and ${group(luhnNoIssuer[0] ?? '', [4, 4, 4, 4], '.')}`,
    // Emoji pass the redactor (and, in redact-hostile-review, the whole record path) as they are.
    'Nov 22 10:00:03 web-01 chat[77]: bob: I \u2764\uFE0F it \u{1F468}\u200D\u{1F469}\u200D\u{1F467} \u{1F3F3}\uFE0F\u200D\u{1F308} 1\uFE0F\u20E3',
  );
  return lines;
}

// ---- tests -------------------------------------------------------------------

test('secrets corpus: no secret value survives, counts and kinds match', () => {
  const corpus = secretCorpus();
  assert.ok(corpus.length >= 60, `only ${corpus.length} secret lines`);
  for (const k of corpus) {
    const r = redactor.redact(k.line);
    const where = `\n  in:  ${k.line}\n  out: ${r.text}`;
    for (const s of k.secrets) assert.ok(!r.text.includes(s), `secret survived: ${s}${where}`);
    assert.equal(r.redactions, k.count, `count${where}`);
    assert.ok(r.kinds !== undefined && r.kinds.length > 0, `kinds missing${where}`);
    for (const kind of k.kinds ?? []) assert.ok(r.kinds.includes(kind), `kind ${kind} not in ${r.kinds.join(',')}${where}`);
    for (const kept of k.keep ?? []) assert.ok(r.text.includes(kept), `context lost: ${kept}${where}`);
    assert.match(r.text, /\[REDACTED:[a-z_]+\]/);
  }
});

test('benign corpus: ordinary auth, web, kernel, app and tooling lines pass unchanged', () => {
  const corpus = benignCorpus();
  assert.ok(corpus.length >= 150, `only ${corpus.length} benign lines`);
  for (const line of corpus) {
    const r = redactor.redact(line);
    assert.equal(r.text, line, `changed:\n  in:  ${line}\n  out: ${r.text}`);
    assert.equal(r.redactions, 0);
    assert.equal(r.kinds, undefined);
  }
});

test('the secrets corpus also redacts fully when lines are joined into one multiline event', () => {
  const corpus = secretCorpus().filter((k) => !k.line.includes('PRIVATE KEY') || k.line.includes('END'));
  const joined = corpus.map((k) => k.line).join('\n');
  const r = redactor.redact(joined);
  for (const k of corpus) for (const s of k.secrets) assert.ok(!r.text.includes(s), `secret survived: ${s}`);
  assert.equal(r.redactions, corpus.reduce((n, k) => n + k.count, 0));
});

test('redaction is stable: a redacted line has nothing left to redact', () => {
  for (const k of secretCorpus()) {
    const once = redactor.redact(k.line).text;
    const twice = redactor.redact(once);
    assert.equal(twice.redactions, 0, `re-redacted:\n  ${once}\n  ${twice.text}`);
    assert.equal(twice.text, once);
  }
});

test('keys are kept and only values are masked', () => {
  const r = (s: string): string => redactor.redact(s).text;
  assert.equal(r('user=bob&password=hunter2&next=/'), 'user=bob&password=[REDACTED:password]&next=/');
  assert.equal(r('{"password":"hunter2","u":1}'), '{"password":"[REDACTED:password]","u":1}');
  assert.equal(r('Authorization: Bearer abc.def.ghi'), 'Authorization: Bearer [REDACTED:bearer]');
  assert.equal(r('postgres://app:s3cret@db/x'), 'postgres://app:[REDACTED:password]@db/x');
  assert.equal(r('mysql -uroot -pTopSecret db'), 'mysql -uroot -p[REDACTED:password] db');
  assert.equal(r('Cookie: a=1; b=2'), 'Cookie: [REDACTED:cookie]');
  assert.equal(r('Server=x;Password=p@ss;Encrypt=True'), 'Server=x;Password=[REDACTED:password];Encrypt=True');
  assert.equal(r('-----BEGIN PRIVATE KEY-----{U+000A}AAAA{U+000A}-----END PRIVATE KEY----- ok'), '[REDACTED:private_key] ok');
});

test('PWD is a directory but pwd= and MYSQL_PWD= are passwords', () => {
  assert.equal(redactor.redact('sudo: bob : TTY=pts/0 ; PWD=/home/bob ; USER=root').redactions, 0);
  assert.equal(redactor.redact('{"env":{"PWD":"/srv/app","OLDPWD":"/root"}}').redactions, 0);
  assert.equal(redactor.redact('GET /login?usr=bob&pwd=hunter2').text, 'GET /login?usr=bob&pwd=[REDACTED:password]');
  assert.equal(redactor.redact('MYSQL_PWD=hunter2').text, 'MYSQL_PWD=[REDACTED:password]');
});

test('cards need issuer, length, Luhn and word boundaries', () => {
  const visa = withLuhn('4', 16);
  assert.equal(redactor.redact(`card ${visa}`).text, 'card [REDACTED:pan]');
  assert.equal(redactor.redact(`card ${withoutLuhn('4', 16)}`).redactions, 0);
  assert.equal(redactor.redact(`id ${withLuhn('7', 16)}`).redactions, 0);
  assert.equal(redactor.redact(`x${visa}`).redactions, 0);
  assert.equal(redactor.redact(`${visa}1`).redactions, 0);
  assert.equal(redactor.redact(`1.${visa}`).redactions, 0);
  assert.equal(redactor.redact(`${visa}.5`).redactions, 0);
  // one consistent separator, in card-shaped groups only
  assert.equal(redactor.redact(`c ${group(visa, [4, 4, 4, 4], '-')}`).redactions, 1);
  assert.equal(redactor.redact(`c ${group(visa, [4, 4, 4, 4], ' ')}`).redactions, 1);
  // A dotted card is still a card (PCI DSS makes no exception for the separator): dots join
  // card-shaped groups like ' ' and '-', one separator throughout (lead's decision; it was 0).
  assert.equal(redactor.redact(`c ${group(visa, [4, 4, 4, 4], '.')}`).redactions, 1);
  assert.equal(redactor.redact(`c ${group(visa, [4, 4, 4, 4], '.')}`).text, 'c [REDACTED:pan]');
  assert.equal(redactor.redact(`c ${group(withoutLuhn('4', 16), [4, 4, 4, 4], '.')}`).redactions, 0);
  assert.equal(redactor.redact(`c ${visa.slice(0, 4)}.${visa.slice(4, 8)}-${visa.slice(8, 12)}.${visa.slice(12)}`).redactions, 0);
  assert.equal(redactor.redact(`c ${group(visa, [2, 2, 2, 2, 2, 2, 2, 2], '.')}`).redactions, 0);
  assert.equal(redactor.redact(`c 1.${group(visa, [4, 4, 4, 4], '.')}`).redactions, 0);
  assert.equal(redactor.redact(`c ${group(visa, [4, 4, 4, 4], '.')}.5678`).redactions, 0);
  assert.equal(redactor.redact(`c ${group(visa, [2, 2, 2, 2, 2, 2, 2, 2], ' ')}`).redactions, 0);
});

test('SSNs only in dashed form, invalid areas, groups and serials excluded', () => {
  assert.equal(redactor.redact('ssn 123-45-6789').text, 'ssn [REDACTED:ssn]');
  for (const bad of ['000-12-3456', '666-12-3456', '900-12-3456', '999-12-3456', '123-00-4567', '123-45-0000', '123456789']) {
    assert.equal(redactor.redact(`ssn ${bad}`).redactions, 0, bad);
  }
});

test('only the configured builtin families run', () => {
  const panOnly = createRedactor({ builtin: ['pan'], custom: [] });
  const visa = withLuhn('4', 16);
  const line = `password=hunter2 card=${visa} ssn=123-45-6789 Authorization: Bearer ${'a'.repeat(20)}`;
  const r = panOnly.redact(line);
  assert.equal(r.redactions, 1);
  assert.deepEqual(r.kinds, ['pan']);
  assert.ok(r.text.includes('password=hunter2') && r.text.includes('123-45-6789'));

  const none = createRedactor({ builtin: [], custom: [] });
  assert.deepEqual(none.redact(line), { text: line, redactions: 0 });

  const creds = createRedactor({ builtin: ['credentials'], custom: [] });
  const rc = creds.redact(line);
  assert.deepEqual(rc.kinds, ['bearer']);
  assert.ok(rc.text.includes('password=hunter2'));
});

test('custom patterns: compiled once, counted, masked with their name', () => {
  const r = createRedactor({
    builtin: ['password'],
    custom: [
      { name: 'employee_id', pattern: 'EMP-\\d{6}' },
      { name: 'ticket', pattern: 'TCK-[A-Z]{3}' },
    ],
  });
  const out = r.redact('EMP-000001 and EMP-000002 filed TCK-ABC with password=x1');
  assert.equal(out.text, '[REDACTED:employee_id] and [REDACTED:employee_id] filed [REDACTED:ticket] with password=[REDACTED:password]');
  assert.equal(out.redactions, 4);
  assert.deepEqual(out.kinds, ['password', 'employee_id', 'ticket']);
  // the 'g' regex keeps no state between lines
  assert.equal(r.redact('EMP-000003').redactions, 1);
  assert.equal(r.redact('EMP-000003').redactions, 1);
});

test('an invalid custom pattern is a ConfigError naming the pattern', () => {
  assert.throws(
    () => createRedactor({ builtin: [], custom: [{ name: 'ok', pattern: 'x' }, { name: 'broken_one', pattern: '(unclosed' }] }),
    (err: unknown) =>
      err instanceof ConfigError && err.configPath === 'processing.redact.custom[1].pattern' && err.message.includes('broken_one'),
  );
  assert.throws(() => createRedactor({ builtin: [], custom: [{ name: 'empty', pattern: 'x*' }] }), /empty string/);
  assert.throws(() => createRedactor({ builtin: [], custom: [{ name: 'bad]name', pattern: 'x' }] }), ConfigError);
});

test('clean lines come back as the same string with no kinds (fast path)', () => {
  const line = 'Nov 22 10:00:02 web-01 kernel: random: crng init done';
  const r = redactor.redact(line);
  assert.equal(r.text, line);
  assert.equal(r.redactions, 0);
  assert.equal('kinds' in r, false);
});

test('hostile inputs finish: 1 MB runs of letters, digits, keys and prefixes', { timeout: 60_000 }, () => {
  const mb = 1024 * 1024;
  const inputs = [
    'a'.repeat(mb),
    '4'.repeat(mb),
    '4111 '.repeat(mb / 5),
    '123-45-'.repeat(mb / 7),
    'password='.repeat(mb / 9),
    '"password":"'.repeat(mb / 12),
    'eyJ'.repeat(mb / 3),
    'eyJhbGciOi.'.repeat(mb / 11),
    '://a:'.repeat(mb / 5),
    'Authorization: '.repeat(mb / 15),
    'cookie='.repeat(mb / 7),
    'mysql -p'.repeat(mb / 8),
    'curl -u '.repeat(mb / 8),
    'AKIA'.repeat(mb / 4),
    '-----BEGIN RSA PRIVATE KEY-----'.repeat(mb / 31),
    `password=${'x'.repeat(mb)}`,
  ];
  for (const s of inputs) {
    const r = redactor.redact(s);
    assert.equal(typeof r.text, 'string');
  }
  const big = redactor.redact(`${'x '.repeat(mb / 2)}password=hunter2`);
  assert.ok(big.text.endsWith('password=[REDACTED:password]'));
});

test('property: a secret dropped into random clean context is always removed', () => {
  const context = fc.string({ unit: fc.constantFrom('a', 'b', 'z', ' ', '/', '.', ':', '0', '1', '7', 'Q', ',', '(', ')'), maxLength: 40 });
  const makers: [string, () => string, (s: string) => string][] = [
    ['jwt', jwt, (s) => ` ${s} `],
    ['github', () => S.gh(), (s) => ` ${s} `],
    ['aws', () => S.akid(), (s) => ` ${s} `],
    ['password', () => rand(10, ALNUM), (s) => ` password=${s} `],
    ['json password', () => rand(10, ALNUM), (s) => `{"password":"${s}"}`],
    ['bearer', () => rand(24, ALNUM), (s) => ` Authorization: Bearer ${s} `],
    ['visa', () => withLuhn('4', 16), (s) => ` ${s} `],
    ['url', () => rand(10, ALNUM), (s) => ` https://u:${s}@h/ `],
  ];
  fc.assert(
    fc.property(context, context, fc.integer({ min: 0, max: makers.length - 1 }), (before, after, which) => {
      const [, make, wrap] = makers[which] ?? makers[0]!;
      const secret = make();
      const r = redactor.redact(before + wrap(secret) + after);
      assert.ok(!r.text.includes(secret), r.text);
      assert.ok(r.redactions >= 1);
    }),
    { numRuns: 800 },
  );
});

test('property: text without trigger characters is never touched', () => {
  // Letters that start no trigger word, digits too short for a card, punctuation.
  const quiet = fc.string({ unit: fc.constantFrom('d', 'f', 'i', 'j', 'l', 'o', 'q', 'u', 'v', 'z', ' ', '.', '-', '=', ':', '"', '1', '9'), maxLength: 200 });
  fc.assert(
    fc.property(quiet, (s) => {
      assert.deepEqual(redactor.redact(s), { text: s, redactions: 0 });
    }),
    { numRuns: 500 },
  );
});

test('many different mixes of trigger words still redact (subset cache falls back to the full rule set)', () => {
  const words = ['cookie', 'bearer', 'curl', 'eyj', 'xox', 'sig=', 'mysql', 'akia', 'aiza', 'authorization', 'sess', 'key', 'sk_', 'glpat-'];
  const r = createRedactor({ builtin: ALL, custom: [] });
  for (let m = 1; m < 300; m++) {
    const mix = words.filter((_, i) => (m >> i) & 1).join(' ');
    const secret = rand(12, ALNUM);
    const out = r.redact(`${mix} password=${secret}`);
    assert.ok(!out.text.includes(secret), out.text);
    assert.equal(out.redactions, 1, out.text);
  }
});

test('header-style API keys are masked when only api_keys is enabled', () => {
  const r = createRedactor({ builtin: ['api_keys'], custom: [] });
  const k = rand(32, ALNUM);
  assert.equal(r.redact(`X-Api-Key: ${k}`).text, 'X-Api-Key: [REDACTED:api_key]');
});

test('a control character or a non-UTF-8 byte inside a secret does not end its redaction early', async () => {
  const { neutralizeBytes } = await import('../../src/sanitize/neutralize.js');
  const cases: [Buffer, string][] = [
    [Buffer.from('login password=\x01hunter2 ok'), 'hunter2'],
    [Buffer.from('login password=hunter2\x01more ok'), 'more'],
    [Buffer.from('api token=abc\x1b[0mdef ok'), 'def'],
    [Buffer.concat([Buffer.from('password=caf'), Buffer.from([0xe9]), Buffer.from('secret ok')]), 'secret'],
  ];
  for (const [bytes, tail] of cases) {
    const out = redactor.redact(neutralizeBytes(bytes).text).text;
    assert.ok(!out.includes(tail), `${JSON.stringify(out)} still holds ${tail}`);
    assert.match(out, / ok$/);
  }
});

test('an api-key header is masked under the credentials family alone, whatever lines came before', () => {
  const line = 'proxy: X-Api-Key: 9f8e7d6c5b4a39281706f5e4d3c2b1a0 forwarded';
  const fresh = createRedactor({ builtin: ['credentials'], custom: [] });
  const first = fresh.redact(line);
  assert.equal(first.redactions, 1, first.text);
  assert.doesNotMatch(first.text, /9f8e7d6c5b4a/);
  // A redactor that has cached many rule subsets (and may fall back to the full set) says the same.
  const busy = createRedactor({ builtin: ['credentials'], custom: [] });
  const wakers = ['token=a1b2c3d4e5', 'sid=zz9988776655', 'Cookie: a=b', 'Authorization: Basic dXNlcjpwYXNz', 'curl -u u:p', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln'];
  for (let mask = 1; mask < 1 << wakers.length; mask++) busy.redact(wakers.filter((_, i) => (mask >> i) & 1).join(' '));
  assert.equal(busy.redact(line).text, first.text);
});

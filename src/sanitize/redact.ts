/**
 * Secret redaction: masks credentials, keys, card numbers and national ids in
 * already-neutralized text, before anything is written to disk or network
 * (DESIGN.md "No secrets in the SIEM"). A mask reads `[REDACTED:<kind>]`, with
 * the most specific kind known (pan, ssn, password, bearer, jwt, github_token,
 * …, or a custom pattern's name). For key/value forms the key stays and only
 * the value is masked ("password=[REDACTED:password]"), so the event still
 * says what was there.
 *
 * Cost model: the redactor runs on every line. A hand-written scan (one pass,
 * a table lookup per character) looks for trigger words, token prefixes and
 * digit-run shapes and yields the set of rules worth running (then drops the
 * rules whose separator, "--" or "@" the line lacks); for most lines that set
 * is empty and the line is returned as is. Otherwise ONE pass of one combined
 * regex (the needed rules as alternatives, compiled once per set and cached)
 * masks everything, dispatched by named group per match (an exec loop, not
 * replace() with a callback: that path is several times slower). A set of
 * rules is a 32-bit mask: rules always woken together share a bit (bitOf). Every
 * alternative starts with a literal and keeps its boundary look-behind after
 * it, and every unbounded run stops at a delimiter, so no rule goes quadratic
 * on a long line. Custom patterns cannot be pre-screened: each costs one regex
 * test per line (and its backtracking is the operator's responsibility).
 *
 * Decisions (false negatives we accept, false positives we refuse):
 *   - Cards: 13–19 digits, contiguous or in 4-4-4-4(-3) / 4-6-4(5) groups with
 *     one consistent separator (space, "-" or ".": PCI DSS makes no exception
 *     for a dotted card, "4111.1111.1111.1111" is still a card number), issuer
 *     prefix AND length AND Luhn must agree,
 *     and the run must stand alone (not inside a word, a longer number, a
 *     decimal or a dashed id): a card starts only where a digit group starts.
 *     An escape's last character is no letter or digit of a word: after
 *     nginx's \x22 or a URL's %22, %20, %3D, %3A, %2C a number stands alone
 *     ("{\x22pan\x22:\x224111…", "ssn%3D123-45-6789"), for SSNs too; so it
 *     does after an escaped control character, %00-%1F, \x00-\x1F, \u0000-
 *     \u001F ("q=%094111…", "ssn%3D%09123-45-6789", "\u00194111…"). Not after
 *     %30-%39: those encode digits, and the number goes on through them.
 *     Inside a value a rule turned down (below), a card written in groups
 *     may also start glued to a letter or "_" of that value:
 *     "session_id=abc4111 1111 1111 1111" (the value "abc4111" is too short
 *     for a session id) masks "abc[REDACTED:pan]". Not masked (accepted): a
 *     glued run of contiguous digits, there too ("cvv=x4111111111111111": a
 *     hex id's tail or a letter-prefixed order number looks the same), and a
 *     glued card outside such a value ("user_abc4111 1111 1111 1111": one
 *     word with its letters, as "x4111" is in any digit-heavy line).
 *     A 16-digit id that starts with 4 and passes Luhn is indistinguishable
 *     from a Visa number and IS masked; so are four groups inside a longer run
 *     of numbers that make a card ("stats 6605 4562 4925 9606 6386 2794" masks
 *     the last four: "ref 1234 4111 1111 1111 1111" is a card after a number).
 *     A credential value that begins or ends with a grouped card's first group
 *     ("X-Api-Key: 4111 1111 1111 1111", "token=foo_4111 1111 1111 1111") is
 *     masked with the whole card: the value alone would stop at the first
 *     space and leave twelve digits in clear, too few for the card rule.
 *     A grouped card followed by a short group ("… 1111 123", its CVV) is
 *     masked with that group: the regex takes it as a fifth group.
 *     A card after a masked number and ".", "-" or "," is masked
 *     ("123-45-6789.4111-…", "4111 1111 1111 1111,4111…", a Basic credential
 *     ending in a digit): a digit there makes it a decimal or an id, but once
 *     masked the digit reads "]" to a second pass, and a redacted line must
 *     redact to itself (cardAfterMask).
 *   - US SSN only as ddd-dd-dddd, excluding areas 000, 666, 9xx, group 00,
 *     serial 0000. Bare 9-digit numbers are not masked: ports, pids, inodes and
 *     ids are 9 digits far more often than SSNs are. Not inside a word, a
 *     longer number or a dashed or dotted id (not after a digit, "_", "." or
 *     "-"), except as for cards: inside a value a rule turned down, an SSN may
 *     start glued to a letter or "_" of that value ("cvv=x123-45-6789" masks
 *     "x[REDACTED:ssn]") unless "-" or "." and a letter or digit follow it (a
 *     longer name: "PWD=/srv/rel123-45-6789-rc1"). Not masked (accepted): a
 *     glued one outside such a value ("id=x123-45-6789", "ORD123-45-6789": one
 *     word with its letters), and one after a letter and "-" or "." anywhere,
 *     in a turned-down value too ("ref=x-123-45-6789", "cvv=x.123-45-6789",
 *     "PWD=/srv/parts/PN-123-45-6789": a dashed or dotted id, whose scheme
 *     writes its own letters before its number). Except where those letters are
 *     "ssn" (any case, ending a word or the whole word) with or without one
 *     "_", "." or "-": "ssn-123-45-6789", "applicant.SSN.123-45-6789",
 *     "ssn_123-45-6789.pdf", "userSsn123-45-6789" are masked everywhere; the
 *     label says what the number is, and no id scheme calls itself "ssn".
 *     "ssn" is a label where it starts a word or a part of a name: after no
 *     letter, after a small letter ("userssn", "userSsn", "userSSN"), or in
 *     capitals after a capital ("APPLICANTSSN"). Not in small letters right
 *     after a capital, nor as the word "assn" or "ASSN": "Assn-123-45-6789",
 *     "NatlAssn.123-45-6789" are an association's numbers, ids like any other
 *     letters' ("cvv=Assn123-45-6789" is still a glued SSN in a turned-down value).
 *   - Password keys (password, passwd, passphrase, any prefix such as
 *     db_/PG/MYSQL_ROOT_) are masked after "=", "%3D", "=>", and after ":" when
 *     the key or the value is quoted (JSON, Python, YAML with quotes). A bare
 *     "password: x" is NOT masked: pam_pwquality writes "BAD PASSWORD: The
 *     password is ...", passwd writes "passwd: all authentication tokens ...".
 *     Quotes may be JSON-escaped at any depth or nginx's \x22; a JSON array may
 *     open the value ("X-Api-Key":["v"], only its first element is masked); a
 *     form key may close first (user[password]=, user%5Bpassword%5D=); spaces
 *     around separators may be TABs ({U+0009}) or ANSI colour codes.
 *   - "pass" alone: as a word of its own, or glued to a listed prefix
 *     (adminPass, dbPass, keystorepass); never bypass=, compass=.
 *   - Name/value pairs {"name":"DB_PASSWORD","value":"x"} (Kubernetes env) are
 *     masked like DB_PASSWORD=x. SQL in database logs: PASSWORD 'x',
 *     PASSWORD('x'), IDENTIFIED [WITH plugin] BY 'x'.
 *   - cvv/cvc keys (any prefix) only with a 3-4 digit value. Pagination
 *     cursors (nextPageToken, page_token) are no token.
 *   - private_key/signing_key/encryption_key values are masked unless they
 *     name a file (/etc/ssl/..., ./k.pem); a PEM value is the PEM rule's.
 *   - "pwd" only as a word of its own or after "_" (MYSQL_PWD, not OLDPWD),
 *     and never with a value starting "/" or "~": "PWD=/home/bob" is the
 *     working directory in every sudo line.
 *   - Keys ending in token/secret/session/api_key match with any prefix
 *     (access_token, refreshToken, client_secret, PHPSESSID); "token_type" and
 *     "password_reset_requested" do not, because no separator follows the key.
 *   - Values that are already masks or empty ("[FILTERED]", "***", "null",
 *     "<redacted>") are left alone and not counted.
 *   - A value a rule turns down (a session value under 8 characters, a cvv that
 *     is no 3-4 digit code, a PWD path, the next --flag after --password, a
 *     placeholder) is scanned again for every rule's secrets: it no longer hides
 *     them ("session=4111 1111 1111 1111" masks the card, "--ask-pass
 *     --password=x" the password, "PWD=/srv/123-45-6789" the SSN). So is the rest
 *     of a card-rule match that fails Luhn ("1234 4111 1111 1111 1111"). Rescans
 *     of values longer than 32 characters stop once a line has rescanned about
 *     twice its length in such values: turned-down values that nest
 *     ("cvv=cvv=cvv=…", each running to the same end) would make a crafted line
 *     quadratic. Shorter ones (card candidates a run of digit groups offers at
 *     every group start among them) cost a bounded amount each and spend none
 *     of it. Past that point a long turned-down value is masked whole
 *     ([REDACTED:unscanned]): such a line was built to spend the budget and
 *     then hide something.
 *   - Command lines: --password/--token/--secret/--api-key/--cookie VALUE,
 *     mysql -pSECRET, sshpass -p SECRET, curl -u user:SECRET, docker/podman
 *     login -p SECRET, redis-cli -a SECRET, openssl -pass* pass:SECRET,
 *     htpasswd -b FILE USER SECRET / -nb USER SECRET, smbclient -U user%SECRET,
 *     aws configure set aws_secret_access_key SECRET; Oracle user/SECRET in
 *     jdbc:oracle:thin:, sqlplus and userid=; URL user info
 *     scheme://user:SECRET@host, the password ending at the last "@".
 *   - Authorization header values are masked whole, Digest's quoted
 *     parameters included; a bearer or basic credential with a neutralized
 *     control character inside is masked whole (TAB, CR, LF and ESC end it).
 *   - PEM private keys are masked whole, BEGIN to END (also when the newlines
 *     are {U+000A} tokens or JSON "\n"); without an END, to the end of the text.
 *   - Session ids are masked like everything else (DESIGN), not keyed-hashed.
 *   - Vendor tokens start a word ("xghp_…" is no token), except a token glued
 *     to a letter whose own shape proves it (GLUED_TOKENS): a key pasted after
 *     text with no separator ("tokenghp_…", "keyAKIA…", "BearereyJ…") is masked.
 *     Glued, a classic GitHub token must look random (capitals, small letters,
 *     many changes between them), a JWT have a JSON header naming its "alg", an
 *     AWS key id a lower-case letter before its upper-case id, a Stripe key
 *     (live, restricted, test, webhook secret) look random, an npm token carry
 *     its CRC32 checksum, an OpenAI key its "T3BlbkFJ" marker in place, a
 *     Google key ("AIza", 35 characters) and a SendGrid key ("SG.", 22 and 43)
 *     their exact case and lengths and a random-looking value. Not a Stripe
 *     sk_/rk_ after a vowel: "task_live_<random>", "disk_test_…",
 *     "network_live_…" are words that end in "sk" or "rk", not a key glued to
 *     "ta" (a key right after a word that ends in a vowel, "valuesk_live_…",
 *     is not masked: accepted).
 *     Not masked (accepted): tokens glued to a digit or "_"; a glued Google
 *     key with no digit (camelCase names look random enough otherwise); a
 *     glued Anthropic key, or an OpenAI key without its marker.
 *   - Not masked (accepted): an opaque token as a URL path segment
 *     (/api/token/<x>: no shape tells it from an id), key names spelled to hide
 *     (pass%77ord=, pass{U+200B}word=), URL passwords holding "/", "?", "#" or a
 *     space (the URL itself does not parse), keys that name no secret by
 *     themselves ("credentials", "access_key": an AWS access key id, "bearer").
 *
 * Kinds in masks: pan, cvv, ssn, password, secret, token, api_key, session_token,
 * cookie, authorization, bearer, basic_auth, jwt, private_key, aws_access_key,
 * aws_secret_key, gcp_api_key, gcp_oauth_token, azure_key, azure_sas,
 * github_token, gitlab_token, slack_token, slack_webhook, stripe_key,
 * npm_token, openai_key, anthropic_key, sendgrid_key, and custom names.
 */
import { crc32 } from 'node:zlib';

import { ConfigError } from '../errors.js';

/** Builtin rule families, as configured in processing.redact.builtin. */
export type RedactKind = 'pan' | 'national_id' | 'password' | 'credentials' | 'api_keys' | 'private_keys';

export const REDACT_KINDS: readonly RedactKind[] = [
  'pan',
  'national_id',
  'password',
  'credentials',
  'api_keys',
  'private_keys',
];

export interface CustomRedaction {
  /** Shown in the mask: [REDACTED:<name>]. */
  readonly name: string;
  /** A JavaScript regular expression source; compiled once with the 'g' flag. */
  readonly pattern: string;
}

export interface RedactorOptions {
  readonly builtin: readonly RedactKind[];
  readonly custom: readonly CustomRedaction[];
}

export interface RedactResult {
  readonly text: string;
  /** Number of masked spans. */
  readonly redactions: number;
  /** Distinct kinds masked, in first-seen order; present only when redactions > 0. */
  readonly kinds?: string[];
}

export interface Redactor {
  redact(text: string): RedactResult;
}

type Groups = Record<string, string | undefined>;

/**
 * Where a match stands: the text scanned and the match's [at, end). For a rule that reads the text around
 * its match in code (the regex has the 'i' flag, so a look-behind cannot tell "Assn" from "ASsn"), at no
 * cost to a line it does not match.
 */
interface MatchSite {
  readonly text: string;
  readonly at: number;
  readonly end: number;
}

interface Rule {
  /** Prefix of this rule's named groups: <id>_p (kept), <id>_v (masked); the match is exactly p + v. */
  readonly id: string;
  readonly family: RedactKind;
  /** Regex source containing the groups; look-arounds may sit outside them. */
  readonly source: string;
  /** The kind shown in the mask, or null to leave this match untouched. */
  readonly kind: (value: string, g: Groups, site: MatchSite) => string | null;
  /**
   * Shares the pre-screen bit of this rule (same family, woken by the same
   * words): a mask has 32 bits and there are more rules. Sharing only ever
   * wakes more rules than needed, never fewer.
   */
  readonly bitOf?: string;
  /**
   * The kept prefix holds a user name, which can itself be a token
   * ("curl -u <token>:x-oauth-basic", GitHub's documented form): the prefix is
   * redacted too, or the token rules would never see it (the match consumed it).
   */
  readonly rescanPrefix?: true;
  /**
   * True for a match that counts only where it starts inside a value a rule turned down and the
   * scan looks at again (a card or an SSN glued to the letters before it: "session_id=abc4111 1111
   * 1111 1111", a session value too short to be one; "cvv=x123-45-6789", "cvv=Assn123-45-6789").
   * Elsewhere, or when kind() turns it down, the match is passed over as if the regex had not matched
   * there: the scan goes on one character later and spends no rescan budget, so what every other line
   * gives is what it gave before.
   */
  readonly onlyInTurnedDown?: (g: Groups, site: MatchSite) => boolean;
  /**
   * The group a token rule sets when its prefix is glued to a letter before it (GLUED_TOKENS). Such a
   * match that kind() turns down is passed over as onlyInTurnedDown's are: it was no match before
   * glued tokens were looked for, and what follows it is scanned as it was then (no turned-down value,
   * no rescan budget spent).
   */
  readonly glued?: string;
}

/** Values that already are masks (ours or the application's) or carry nothing. */
/** A value that begins with one of our masks, possibly after its own opening brackets, quotes or backslashes. */
const MASK_START = /^[[\\"' ]*\[REDACTED:/;
const PLACEHOLDER =
  /^(?:\*+|x{3,}|\[(?:filtered|redacted[^\]]*|masked|hidden|secret|protected)\]|<(?:redacted|hidden|masked|secret)>|null|nil|none|undefined|true|false)$/i;

/**
 * A value that is a placeholder or begins with a mask. Neither starts with a digit: a card rule's
 * value (every group start of a run of digit groups is one) skips both regexes.
 */
function maskOrPlaceholder(v: string): boolean {
  const c = v.charCodeAt(0);
  if (c >= 48 && c <= 57) return false;
  return PLACEHOLDER.test(v) || MASK_START.test(v);
}

/** Such values are left alone and not counted. */
function freeform(kind: string): (v: string) => string | null {
  return (v) => acceptFreeform(v, kind);
}

function acceptFreeform(v: string, kind: string): string | null {
  return v === '' || PLACEHOLDER.test(v) ? null : kind;
}

// ---- what the neutralizer leaves between a key and its value ---------------
// Rules see neutralized text: a TAB arrives as "{U+0009}" and an ANSI colour code
// as "{U+001B}[1;32m" (a TTY-attached container, a coloured logger). Where a rule
// allows a space it allows those too, or "password\t=\tx" and a coloured
// "password: 'x'" would keep the value in clear.

/** One space or TAB, as written after neutralization. */
const WS = '(?:[ \\t]|\\{U\\+0009\\})';
/** An ANSI SGR (colour) sequence after neutralization. */
const SGR = '\\{U\\+001B\\}\\[[0-9;]{0,16}m';
/** Spacing and colour codes between a key, its separator and its value. */
const GAP = `(?:${WS}|${SGR})*`;
/**
 * A quote as logs write it: ' or ", JSON-escaped once or more (\" in a JSON
 * string, \\\" in a JSON string inside a JSON string: Docker json-file around an
 * app that logs JSON bodies as strings), or nginx's \x22 (a logged request body).
 */
const Q = `(?:\\\\{0,7}["']|\\\\x22)`;
/** A JSON array opening before a quoted value: Go's http.Header, multi-value headers. */
const ARRAY_OPEN = `(?:\\[${GAP}(?=${Q}))?`;
/**
 * A neutralized token inside a token-shaped value (a control character or a
 * zero-width space pasted into it): part of the value, or the rest would ship
 * in clear. TAB, LF and CR (the next field or header follows them) and ESC (a
 * colour reset) still end the value.
 */
const INNER_TOKEN = '\\{(?:U\\+(?!000[9AD]\\}|001B\\})[0-9A-F]{4,6}|0x[0-9A-F]{2})\\}';
/**
 * A token value with such a token in it: once one is seen, the value is no longer known to
 * be token-shaped, so it runs on to the next space, quote, TAB, LF, CR or ESC. Stopping at
 * the token alphabet instead ("=" for one) left what followed in clear: "Bearer abc{U+0000}
 * --data{U+0000}password=hunter2" shipped "hunter2" (found by review). The head is plain
 * token characters and the tail follows one inner token: no nested quantifier to backtrack.
 */
function tokenValue(chars: string, minLength = 1): string {
  const rest = `${INNER_TOKEN}(?:(?!\\{U\\+(?:000[9AD]|001B)\\})[^\\s"'])*`;
  // The least length counts inner tokens as one character, as before; a fixed-size look-ahead.
  const least = minLength > 1 ? `(?=(?:[${chars}]|${INNER_TOKEN}){${minLength}})` : '';
  return `${least}(?:[${chars}]+(?:${rest})?|${rest})=*`;
}

/**
 * `word` not preceded by a letter or digit: the look-behind sits after the word.
 * The "m" ending a colour code is no letter of a word: "{U+001B}[36mAuthorization".
 */
function bounded(word: string, before = 'a-z0-9'): string {
  return `${word}${notGlued(word, before)}`;
}

/** bounded()'s look-behind alone, read right after `word`: no character of `before` right before it. */
function notGlued(word: string, before: string): string {
  // Neither is the "m" ending a colour code, nor the "2" of nginx's \x22 ("{\x22cookie\x22:…").
  return `(?<!(?<!\\{U\\+001B\\}\\[[0-9;]{0,16}|\\\\x2)[${before}]${word})`;
}

/**
 * Read right after `word`: a letter glued before it, captured in group `g` (a token rule's glued form,
 * tried where notGlued() refused the word; see GLUED_TOKENS).
 */
function gluedTo(word: string, g: string): string {
  return `(?<=(?<${g}>[a-z])${word})`;
}

// ---- key/value families -------------------------------------------------

const PASSWORD_KEYS = [
  // any prefix: db_password, PGPASSWORD, MYSQL_ROOT_PASSWORD, new_password
  '(?:password|passwd|passphrase)(?:[_-]?confirmation)?',
  // Not bypass=, compass=; but camelCase and glued prefixes that name a password
  // (OpenStack's adminPass, dbPass, smtpPass, keystorepass). The regex has the 'i'
  // flag, so "Pass" vs "pass" cannot be told apart: the prefixes are listed.
  `pass(?<=(?:^|[^a-z0-9]|${SGR}|admin|db|root|user|smtp|mail|ftp|ldap|bind|proxy|store|vnc|sasl)pass)`,
  bounded('pwd'), // MYSQL_PWD yes, OLDPWD no; PWD=/path is rejected on its value
  'secret(?:[_-]?key)?', // client_secret, clientSecret, SECRET_KEY
];
const CREDENTIAL_KEYS = [
  // PHPSESSID, JSESSIONID, ASP.NET_SessionId, laravel_session, sessionToken
  'sess(?:ion)?(?:[_-]?(?:id|token|key))?',
  'connect\\.sid',
  // access_token, refreshToken, x-auth-token (but not token_type: no separator follows);
  // not a pagination cursor (nextPageToken, page_token): no credential, and rules read it.
  'token(?<!page[_-]?token)',
];
/** Card security codes (PCI DSS: never stored after authorization); only 3-4 digit values. */
const CVV_KEYS = ['cv[vc]2?'];
/** Key material named by its key (a PEM value is left to the PEM rule). */
const KEY_MATERIAL_KEYS = '(?:private|signing|encryption)[_-]?key';
const API_KEY_KEYS = ['(?:api|subscription)[_-]?key'];

function kvKind(key: string): string {
  const k = key.toLowerCase();
  if (k.startsWith('cv')) return 'cvv';
  if (k.includes('sess') || k.endsWith('sid')) return 'session_token';
  if (k.includes('pass') || k.includes('pwd')) return 'password';
  if (k.includes('secret')) return 'secret';
  if (k.includes('key')) return 'api_key';
  if (k.includes('cookie')) return 'cookie';
  return 'token';
}

function kvAccept(value: string, key: string): string | null {
  // acceptFreeform directly: freeform(kind)(value) would make a closure per match.
  const kind = acceptFreeform(value, kvKind(key));
  if (kind === null) return null;
  const k = key.toLowerCase();
  // "PWD=/home/bob" is the working directory (sudo, env dumps), not a password.
  if (k === 'pwd' && /^[/~]/.test(value)) return null;
  // A bare "session=42" is a counter or a name; a session id is longer. Counted up to a mask of ours
  // in it: "session=ab[REDACTED:pan]" (a glued card masked in a short value) reads "ab[REDACTED:pan"
  // on a second pass, and must not become a session id then (the line would change when redacted again).
  if (kind === 'session_token' && k.startsWith('sess') && ownLength(value) < 8) return null;
  // "cvv": only a 3-4 digit value is a security code.
  if (kind === 'cvv' && !/^\d{3,4}$/.test(value)) return null;
  return kind;
}

/** A value's length before a mask of ours in it (a value stops at "]", so the mask is its tail). */
function ownLength(value: string): number {
  const i = value.indexOf('[REDACTED:');
  return i < 0 ? value.length : i;
}

/** private_key=/etc/ssl/private/key.pem names a file, not key material. */
function keyMaterialAccept(value: string, key: string): string | null {
  const kind = acceptFreeform(value, /^priv/i.test(key) ? 'private_key' : 'secret');
  if (kind === null) return null;
  if (/^(?:[/~]|\.{1,2}[/\\]|[a-z]:[/\\]|file:)/i.test(value) || /\.(?:pem|key|der|p8|p12|pfx|jks|crt)$/i.test(value)) return null;
  return kind;
}

// separator: quoted key then ':' '=' '=>' (value quote optional, a JSON array
// opening allowed); bare key then '=' or '=>' (quote optional); '%3D'; bare key
// then ':' only with a quoted value. A form key's closing bracket may come first:
// user[password]=, user%5Bpassword%5D= (a bracket of key characters only: a mask,
// "[REDACTED:api_key]: 'x'", is no form key).
const KV_SEP =
  `(?:\\](?<=\\[[a-z0-9_.-]{0,64}\\])|%5d(?<=%5b[a-z0-9_.-]{0,64}%5d))?` +
  `(?:${Q}${GAP}(?:=>|[:=])${GAP}${ARRAY_OPEN}${Q}?` +
  `|${GAP}(?:=>|=)${GAP}${Q}?` +
  `|%3d` +
  `|${GAP}:${GAP}${Q})`;

// value: shape decided by what the separator ended with.
const KV_VALUE =
  `(?<=\\\\x22)(?:(?!\\\\x22)[^"])*` + // nginx-escaped string: ends at the next \x22
  // inside an escaped JSON string, at any depth: ends at the escaped closing quote
  `|(?<=\\\\["'])(?:[^"\\\\]|\\\\(?!\\\\{0,6}")[\\s\\S])*` +
  `|(?<=")(?:\\\\.|[^"\\\\])*` +
  `|(?<=')(?:\\\\.|[^'\\\\])*` +
  `|(?<=%3d)(?:(?!%26)[^\\s&;"'])+` +
  `|(?<!["'])\\[[a-z]+(?::[a-z0-9_.-]+)?\\]` + // an existing mask: [FILTERED], [REDACTED:x]
  // A neutralized token ({U+0001}, {0xE9}) is part of the value: its '}' must not end it, or the
  // rest of a secret with a control character or a non-UTF-8 byte in it would be shipped.
  `|(?<!["'])(?:\\{(?:U\\+[0-9A-F]{4,6}|0x[0-9A-F]{2})\\}|[^\\s&;,"'}\\]])+`;

const QUOTED_OR_WORD = `"(?:\\\\.|[^"\\\\])*"|'[^']*'|[^\\s"']+`;

/**
 * What stands before the final letter of a terminal control sequence (CSI): the ESC as the
 * neutralizer writes it, or as a JSON string or a C-style/nginx escape spells it ("\\u001b[33m"
 * in a Docker json-file line, which the neutralizer never sees as a control), then "[" and the
 * parameters. The letter after them ends the sequence, whichever it is: "m" (colour), "K"
 * (erase line, every progress redraw), "G", "H", "A"... A digit right after "[" is a parameter.
 * Up to 40 of them: a 24-bit foreground and background in one SGR ("38;2;255;255;255;48;2;0;0;0")
 * already has 29, and a bound of 16 shipped the card after it.
 */
const CSI_PARAMS = '(?:\\{U\\+001B\\}|\\\\u001b|\\\\x1b)\\[[0-9;?]{0,40}';

// The first digit carries the boundary look-behind: a card starts where a digit
// group starts. Not inside a word or a longer number: after a letter only when that
// letter ends a terminal control sequence (CSI_PARAMS: "{U+001B}[1m4111...", the erase
// line of a progress redraw "{U+001B}[2K4111...", "\u001b[33m4111..." in a JSON line),
// never after a digit or "_", so not after the digits of a sequence's parameters
// ("{U+001B}[14111 ..." is the five-digit group "14111", no card's first group; the
// pre-screen, which counts from group starts, never woke the card rule there).
// Not after "123-" or "1." (a longer id, a decimal).
// After "1001," it is a CSV column only when a comma follows the number too
// ("1001,4111…,12/27"); "Wert=0,4532…" is a decimal comma (found by review), with or
// without a full stop after it. No decimal comma comes before a grouped card ("17,4111
// 1111 …": the decimal reading wants 12 more digits in a row) or follows a number with a
// decimal point in it ("10.0.0.7,4111…", "v1.12,4111…", "12.3456,4111…": no number has
// both), or a column ("2026-11-22,1001,4111…": a number after a comma has no decimal comma), or
// comes before "]" ("[4111…,5555…]": a JSON array's last element), or follows a number of 13 digits
// or more ("4111…,5555…": a list of cards; no decimal has such an integer part, found by review): those are columns wherever they stand. The point is looked for over the whole
// digit run before the comma (a bound of two digits after it shipped "12.3456,4111…");
// that part runs only at a digit right after "d," that 12 more digits follow, and reads
// back over the digits before that comma only, so a scan stays linear.
// Groups are separated by one space, dash or dot, the same one throughout (a dotted
// card is still a card: PCI). The dot cannot make a decimal, a version or an address
// into a card: the look-behind above and the look-ahead after the rule's match refuse
// a run that a "d." precedes or a ".d" follows, and the groups must be card-shaped
// (4.4.4.4, 4.6.5, ...) with issuer, length and Luhn agreeing; "10.0.0.1" or
// "1.2.840.113549.1.1.11" has no such groups.
/**
 * Before the letter that may stand right before a card's or an SSN's first digit: the end of a terminal
 * control sequence, or the backslash of a JSON or C-style short escape (\\t, \\n, \\r, \\f, \\b). Line-level
 * redaction sees JSON lines as written, so "charge declined:\\t4111…" or a message's second line
 * "…\\n4111 1111 1111 1111" is a card after a TAB or a newline, not inside the word "t4111" (it shipped).
 */
// A JSON \\u00XX of a printable character is as much an escape as %XX and \\xXX: .NET's System.Text.Json
// writes "<", ">", "+" as \\u003C, \\u003E, \\u002B, Go's encoding/json "<", ">" as \\u003c, \\u003e ("\\u003e4111…"
// shipped as a card glued to the letter "e").
const LETTER_ENDS_ESCAPE = `(?<!${CSI_PARAMS}|\\\\(?=[bfnrt])|(?:%|\\\\x)[0-9a-f](?=[a-f])|\\\\u00[0-7](?=[a-f]))`;
/**
 * Before the digit that may stand right before a card's or an SSN's first digit: the first hex digit of
 * an escape that ends in a digit. "2": nginx's \\x22 (a quote in a logged request body) or a URL's %22,
 * %20, %26 ("{\\x22ssn\\x22:\\x22123-45-6789\\x22}", "%22pan%22%3A%224111…"). "0" and "1": a control
 * character, a URL's %09 (TAB) or %0D%0A's neighbours %00-%19, nginx's \\x09, a JSON \\u0009 or \\u0019
 * ("q=%094111…", "ssn%3D%09123-45-6789"). The number starts after the escape, not inside a longer number
 * (it shipped). %30-%39 stay digits of the number: they encode digits. An escape that ends in a letter
 * (%3D, %3A, %2C, %0A, \\x1b, \\u001f) is LETTER_ENDS_ESCAPE's. The pre-screen counts such a run from
 * the escape's first hex digit (a "2" starts a card candidate anyway; a "0" or "1" does after "%", "\\x"
 * or "\\u": escapeBefore).
 */
// \\u002X too, as %2X and \\x2X: .NET's System.Text.Json writes a quote, "&" and "'" as \\u0022, \\u0026,
// \\u0027 ("{\\u0022pan\\u0022:\\u00224111…" shipped). The run is then "0022…", which escapeBefore() reads.
const DIGIT_NOT_ESCAPE = '(?<!(?:%|\\\\x)[0-2]|\\\\u00[0-2])';

const PAN_BOUNDARY =
  `(?<!${LETTER_ENDS_ESCAPE}[a-z]\\d|${DIGIT_NOT_ESCAPE}\\d\\d|_\\d|\\d[.-]\\d|(?<![.,]\\d*|\\d{12})\\d,\\d(?=\\d{12})(?![\\d .-]{12,22}[,\\]]))`;
/** The digits after a card's first: contiguous, or the grouped forms with one separator throughout. */
const PAN_REST =
  '(?:\\d{12,18}' +
  '|\\d{3}(?<pan_a>[ .-])\\d{4}\\k<pan_a>\\d{4}\\k<pan_a>\\d{4}(?:\\k<pan_a>\\d{1,3})?' +
  '|\\d{3}(?<pan_b>[ .-])\\d{6}\\k<pan_b>\\d{4,5})';
/** Where a card number ends: not before a letter, a digit or "_", nor before ".5" or "-5". */
const PAN_END = '(?![a-z0-9_]|[.-]\\d)';
/**
 * The first digit of a card: where a digit group starts (PAN_BOUNDARY), or glued to a letter or "_"
 * before it (pan_g: "abc4111 1111 1111 1111"). A glued number counts only inside a value a rule
 * turned down (the pan rule's onlyInTurnedDown), and only written in groups (gluedCard).
 */
const PAN_FORMS = `\\d(?:${PAN_BOUNDARY}|(?<=(?<pan_g>[a-z_])\\d))${PAN_REST}`;
/**
 * After a card: "-" or "." then a letter (pan_n). A glued number followed by one is a part of a longer
 * dashed or dotted name, not a card: the digits of a UUID's first four parts
 * ("abcd4111-1111-1111-1111-abcdef012345"), a host or a file name.
 */
const PAN_NEXT = '(?=(?<pan_n>[.-][a-z])?)';

/**
 * Whether a PAN_FORMS match is a card: issuer prefix, length and Luhn agree.
 * The grouped form's optional fifth group is greedy and a regex cannot
 * backtrack on a Luhn verdict, so "4111 1111 1111 1111 123" (a card and its
 * CVV) matches as 19 digits that fail Luhn: then the four groups alone are
 * judged, and a card there masks the whole match, the short group with it.
 *
 * Read in place, with no string built: every group start of a long run of
 * digit groups ("1234 5678 9012 …") is a match that this turns down, and the
 * copies (separators stripped, split into groups, joined again) cost about
 * half of such a line's time. `v` holds only digits and one separator
 * between groups (PAN_FORMS), the first group of four digits or more.
 */
function isCardText(v: string): boolean {
  let digits = 0;
  let first4 = 0;
  let separators = 0;
  let lastSeparator = -1;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits < 4) first4 = first4 * 10 + (c - 48);
      digits++;
    } else {
      separators++;
      lastSeparator = i;
    }
  }
  if (issuerAllows(first4, digits) && luhnBefore(v, v.length)) return true;
  // Five groups: the card and a short group after it. The fifth group's digits are those after its separator.
  if (separators !== 4) return false;
  return issuerAllows(first4, digits - (v.length - lastSeparator - 1)) && luhnBefore(v, lastSeparator);
}

/**
 * Whether a card-rule match glued to the letters before it (inside a turned-down value) may be a
 * card: written in groups, and no part of a longer dashed or dotted name (PAN_NEXT). A glued run of
 * contiguous digits is not: that is how a hex id's or a hash's tail looks ("deadbeef4111111111111111"),
 * and a letter-prefixed number ("INV4532015112830366", a ticket or an order id; some 3% of random
 * 16-digit numbers pass issuer, length and Luhn). Spaces, dashes or dots every four digits are how
 * a card is written, not an id: "session_id=abc4111 1111 1111 1111".
 */
function gluedCard(g: Groups): boolean {
  return g['pan_n'] === undefined && (g['pan_a'] !== undefined || g['pan_b'] !== undefined);
}

/**
 * Read right before an SSN's first digit, after a letter or "_", "." or "-" there: not "ssn", "ssn_",
 * "ssn." or "ssn-" (any case, any word before: "applicant_ssn-", "userSSN."). An id scheme writes its own
 * letters before its dashed number ("ORD-", "PN-", "x.", "rel"); "ssn" says what the number is. Cache
 * and object keys, file names and dotted field paths write it so: "ssn_123-45-6789.pdf",
 * "applicant.ssn.123-45-6789", "SSN-123-45-6789". Whether "ssn" there is a label is ssnAfterLetters()'s.
 */
const SSN_LABEL = '(?<!ssn[_.-]?)';
/**
 * Right before an SSN-rule match at `at`, after SSN_LABEL let it through: "ssn" and at most one "_", "."
 * or "-" (site.text[at - 1]). Whether those letters name an SSN: the regex has the 'i' flag, so their case
 * is read here. "ssn" starts a label where it starts a word or a part of a camelCase or snake_case name:
 * after no letter, after a small letter ("userssn", "userSsn", "userSSN"), or in capitals after a capital
 * ("APPLICANTSSN"). Small letters right after a capital go on a capitalized word ("Assn", "NatlAssn"),
 * and the word "assn" or "ASSN" alone abbreviates "association": no label, the letters an id's.
 * The text before any number that does not stand alone ends so only where SSN_LABEL decided: no
 * escape or terminal sequence ends in "ssn" or in "ssn" and a separator.
 */
function ssnAfterLetters(site: MatchSite): boolean {
  const t = site.text;
  let i = site.at;
  const sep = t.charCodeAt(i - 1);
  if (sep === 95 || sep === 46 || sep === 45) i--;
  const letters = i < 3 ? '' : t.slice(i - 3, i);
  if (letters.toLowerCase() !== 'ssn') return false;
  const before = t.charCodeAt(i - 4);
  // An escape's last hex digit ("%2Cssn-", "%0Assn_", "\x0Assn-") is no capital or "a" of a word.
  if (escapeEndsAt(t, i - 4)) return false;
  // The word "assn" or "ASSN" alone.
  if ((before === 97 ? letters === 'ssn' : before === 65 && letters === 'SSN') && !isAsciiLetter(t.charCodeAt(i - 5))) return true;
  return before >= 65 && before <= 90 && letters.charCodeAt(0) === 115; // "Assn": a capital, then "s"
}

/**
 * An ssn-rule match after letters ssnAfterLetters() turns down is judged as SSN_GLUED's match would be at
 * the same place (the rule that comes first at a place wins, and this one comes before it): only inside a
 * value a rule turned down (onlyInTurnedDown), with the letters or one "_" right before the number, and no
 * "-" or "." and a letter or digit after it ("cvv=Assn123-45-6789" is masked; "cvv=Assn-123-45-6789", an
 * id, is not).
 */
function ssnGluedShape(site: MatchSite): boolean {
  const t = site.text;
  const sep = t.charCodeAt(site.at - 1);
  if (sep === 46 || sep === 45) return false;
  const next = t.charCodeAt(site.end);
  return !((next === 46 || next === 45) && (isAsciiLetter(t.charCodeAt(site.end + 1)) || isDigit(t.charCodeAt(site.end + 1))));
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * A US SSN (ddd-dd-dddd) where it stands alone: not inside a word, a longer number, a decimal or a
 * dashed or dotted id (its first digit not after a digit, "_", "." or "-", and after a letter only
 * when that letter ends a terminal control sequence or an escape). Except after the word "ssn" itself,
 * with or without one "_", "." or "-" (SSN_LABEL): a label that names the number is no id's letters
 * (unless ssnAfterLetters() finds it none: "Assn").
 */
const SSN_ALONE = `\\d(?<!(?:${LETTER_ENDS_ESCAPE}[a-z]|[_.-])${SSN_LABEL}\\d|${DIGIT_NOT_ESCAPE}\\d\\d)\\d\\d-\\d\\d-\\d{4}`;
/**
 * An SSN glued to a letter or "_" before it ("cvv=x123-45-6789"). It counts only inside a value a rule
 * turned down (the glued rule's onlyInTurnedDown), as a glued card does, for the same reason:
 * ddd-dd-dddd is how an SSN is written, and a key that names a secret (cvv) or a working directory
 * ("PWD=/srv/claims/ab123-45-6789") turned down for its value's shape does not make the number in it
 * any less of one. Elsewhere a glued one is one word with its letters ("id=x123-45-6789",
 * "ORD123-45-6789"), as before. Not before "-" or "." and a letter or digit either: then it is a part
 * of a longer dashed or dotted name ("rel123-45-6789-rc1", "job_123-45-6789.tar"), as PAN_NEXT says
 * for a glued card. A rule of its own (no group telling the two apart): such a name is no match at all.
 * The glue is looked for behind the whole number, not behind its first digit: most digits start no
 * ddd-dd-dddd, and a look-behind at each of them cost a sudo line with a dashed path a fifth more.
 */
const SSN_GLUED = '\\d\\d\\d-\\d\\d-\\d{4}(?<=[a-z_]\\d{3}-\\d\\d-\\d{4})(?![a-z0-9_]|[.-][a-z0-9])';
/** Areas 000, 666 and 9xx, group 00 and serial 0000 are never issued. */
const SSN_VALID = /^(?!000|666|9)\d{3}-(?!00)\d\d-(?!0000)\d{4}$/;

/** Luhn mod-10 over the digits of v[0, end), separators skipped. */
function luhnBefore(v: string, end: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = end - 1; i >= 0; i--) {
    let d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) continue;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** True when the digits carry a known issuer prefix with a length that issuer uses. */
export function panIssuerValid(d: string): boolean {
  // Every issuer wants 12 digits or more, so a string that does not begin with four names none.
  return /^\d{4}/.test(d) && issuerAllows(Number(d.slice(0, 4)), d.length);
}

/** The issuer table: a card number's first four digits (as a number) and its length. */
function issuerAllows(first4: number, len: number): boolean {
  // Every issuer's prefix starts with 2 to 6: most numbers a run of digit groups offers stop here.
  if (first4 < 2000 || first4 >= 7000) return false;
  const p2 = Math.floor(first4 / 100);
  const p3 = Math.floor(first4 / 10);
  if (p2 >= 40 && p2 <= 49) return len === 13 || len === 16 || len === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (first4 >= 2221 && first4 <= 2720)) return len === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return len === 15; // Amex
  if (first4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) return len >= 16; // Discover
  if (first4 >= 3528 && first4 <= 3589) return len >= 16; // JCB
  if (p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305)) return len >= 14; // Diners
  if (p2 === 62) return len >= 16; // UnionPay
  if (MAESTRO_PREFIXES.has(first4)) return len >= 12; // Maestro
  if (first4 >= 2200 && first4 <= 2204) return len === 16; // Mir
  return false;
}

const MAESTRO_PREFIXES: ReadonlySet<number> = new Set([5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763]);

const SEP = `${Q}?${GAP}[:=]${GAP}${ARRAY_OPEN}${Q}?`;
const AUTH_KEY = `${bounded('authorization')}${SEP}`;
const ONE_ARG = `'[^']*'|"[^"]*"|[^\\s'"]+`;
/** A command-line word that is no option: a file, a user name. */
const CMD_WORD = `[^\\s'"-][^\\s'"]{0,255}`;
/**
 * A Digest parameter's quoted value (response="...", nonce="..."): part of the
 * credential. Only right after "name=" and up to a quote followed by a comma, a
 * space or the end, so the closing quote of a JSON string ("Token abc=","x":1)
 * is never taken for one.
 */
const DIGEST_QUOTED =
  `(?<=[a-z0-9]=)"[^"\\r\\n,]{0,256}"(?=[, \\t]|$|\\{U\\+)` +
  `|(?<=[a-z0-9]=)\\\\"[^"\\\\,]{0,256}\\\\"` +
  // nginx writes a quote in a header as \x22: response=\x22<hash>\x22 is one parameter too.
  `|(?<=[a-z0-9]=)\\\\x22(?:(?!\\\\x22)[^",]){0,256}\\\\x22`;

// ---- tokens glued to the word before them ----------------------------------
// GLUED_TOKENS. A vendor token's prefix normally starts a word (bounded()): "xghp_…" inside a longer
// word is no token. But a key pasted after text with no separator ("tokenghp_…", "keyAKIA…",
// "BearereyJ…", a log call that concatenates a label and the key) is a key all the same, and shipped.
// Glued to a letter (not a digit or "_": ids and snake_case names) a token is masked when its own shape
// proves it, which is more than a word-start token must show: the check is in each rule's kind(),
// and a glued match that fails it is passed over (Rule.glued), as if the regex had not matched there.
//   - GitHub: "github_pat_" and its 22_59 characters; a classic gh[pousr]_ token of 36 or more
//     characters that look random (randomLooking: a hex hash after "…highs_" has no capital, a
//     camelCase name too few changes of case).
//   - GitLab: the prefix in lower case, a digit or a capital in the value.
//   - Slack: "xox" in lower case, then digits and a dash (a team id, "1-", "2-").
//   - Stripe: sk_live_, rk_live_, sk_test_, rk_test_ and whsec_ with a random-looking value, digits in
//     it too ("disk_live_MigrationStatus2026Final" is a name); sk_/rk_ not after a vowel (stripeGlue:
//     "task_live_<random>", "network_test_<random>" are words ending in "sk"/"rk", whatever follows).
//   - npm: the token's own CRC32 checksum, base62 in its last six characters (base62Crc32Valid).
//   - OpenAI: "sk-proj-", "sk-svcacct-", "sk-admin-" or a legacy "sk-" key with the "T3BlbkFJ" marker
//     ("OpenAI" in base64) where the formats put it, in OpenAI's case (OPENAI_GLUED).
//   - Google: "AIza" in that case, exactly 35 characters, random-looking with a digit.
//   - SendGrid: "SG." in capitals, exactly 22 and 43 characters, both parts random-looking.
//   - AWS key ids: after a lower-case letter, the id in upper case ("keyAKIA…"), in the ids' own alphabet (A-Z, 2-7); an upper-case run
//     ("…EASTASIA…") or a lower-case one ("southeastasia…") is a name.
//   - JWTs: the header's first key spelled out ({"alg", {"typ", {"kid", {"enc", {"cty", {"x5t"), and the
//     header a JSON object with an "alg" (RFC 7515/7516 require one): "keyJsonSerializer.dump.x" is none.
// Not glued (accepted, as before): Anthropic keys; tokens after a digit or "_".
// Cost: a glued start is tried only at the prefix's literal, and where the value's characters include the
// prefix's (JWT, GitLab, Slack, OpenAI) the glued value is bounded, so a line of repeated prefixes costs a
// bounded scan per prefix, not one to the line's end each (Google, npm and SendGrid values have a fixed
// length). The pre-screen words were found anywhere in a word already: no line runs a regex it did not.
const AWS_ID = '(?:AKIA|ASIA|ABIA|ACCA)';
const GH_PREFIX = '(?:gh[pousr]_|github_pat_)';
const GL_PREFIX = 'gl(?:pat|dt|rt|ptt|cbt|imt|oas|ft|soat)-';
const SL_PREFIX = 'xox[abposre]-';
const ST_PREFIX = '(?:[sr]k_(?:live|test)_|whsec_)';
/** A glued JWT's header after "eyJ": its first key ("alg", "typ", "kid", "enc", "cty", "x5t") and a bounded rest. */
const JWT_GLUED_HEADER = '(?:hbGci|0eXAi|raWQi|lbmMi|jdHki|4NXQi)Oi[a-z0-9_-]{1,240}';

/**
 * A JWT's header (v up to its first ".") is base64url of a JSON object naming its "alg": '{"' first
 * (the regex has the 'i' flag, "EYJ…" decodes to bytes), '}' last, an "alg" with a string value. Read
 * as text, not parsed: JSON.parse throws on every near miss, and a line of glued near misses would pay
 * an exception each (eight times the cost of this check).
 */
function jwtHeaderNamesAlg(v: string): boolean {
  const header = Buffer.from(v.slice(0, v.indexOf('.')), 'base64url').toString('latin1');
  return header.startsWith('{"') && header.trimEnd().endsWith('}') && /"alg"\s*:\s*"[^"\\]+"/.test(header);
}

/**
 * A token's value from `from` on looks like random base62, not a word, a hex hash or a camelCase name:
 * it holds a capital and a small letter (and a digit, when asked), and changes between capitals, small
 * letters and digits at more than a third of its characters (random base62 does at some 62% of them;
 * "MigrationStatus2026Final" at 6 of 24, "ConnectionsPerSecond2xxTotal" at 9 of 28). Of random values,
 * this turns down some 0.07% of 36 characters (a classic GitHub token) and 2% of 24 (a legacy Stripe
 * key; most for want of a digit, which only Stripe's check asks for: its glued prefix follows names
 * such as "disk_live_"), none of 99 (a current Stripe key).
 */
function randomLooking(v: string, from: number, digit: boolean): boolean {
  let upper = false;
  let lower = false;
  let digits = false;
  let changes = 0;
  let prev = -1;
  for (let i = from; i < v.length; i++) {
    const c = v.charCodeAt(i);
    const k = c >= 65 && c <= 90 ? 0 : c >= 97 && c <= 122 ? 1 : 2;
    if (k === 0) upper = true;
    else if (k === 1) lower = true;
    else digits = true;
    if (prev >= 0 && k !== prev) changes++;
    prev = k;
  }
  return upper && lower && (digits || !digit) && changes * 3 > v.length - from;
}

/**
 * A glued Stripe prefix is a key's unless its "sk" or "rk" ends a word: English words that end in them
 * have a vowel right before (task, disk, desk, risk, mask, kiosk; network, work, park, bookmark, clerk),
 * and "task_live_<random>" (a task id) is that word, not "ta" and a key: the value cannot tell them
 * apart, random in both. A label a key is pasted after ends otherwise ("key", "token", "secret",
 * "STRIPE_KEY"). Test keys too, now that the words are kept out ("network_test_…", "desk_test_…").
 * No word ends in "whsec". The letter before the prefix is read at `site` (st_g holds it).
 */
function stripeGlue(v: string, site: MatchSite): boolean {
  if (v.startsWith('whsec_')) return true;
  if (!/^[sr]k_(?:live|test)_/.test(v)) return false;
  // The hex digit ending an escape is no vowel of a word: "%0Ask_live_…", "%3Ask_…", nginx's "\x0Ask_…".
  // Nor is a capital vowel after another capital: a label in capitals ends there ("STRIPEsk_live_…",
  // "SECRET_VALUEsk_…"), where "Ask", "TaskAsk" are words.
  const k = site.at - 1;
  const c = site.text.charCodeAt(k);
  if (!/^[aeiou]$/i.test(site.text.charAt(k)) || escapeEndsAt(site.text, k)) return true;
  const before = site.text.charCodeAt(k - 1);
  return c >= 65 && c <= 90 && before >= 65 && before <= 90;
}

/**
 * The character at `k` is the last hex digit of an escape ("%0A", "%2C", "\x0A", "\u000A"): a letter
 * there is no letter of a word, whatever a rule reads in the letters before a match.
 */
function escapeEndsAt(t: string, k: number): boolean {
  if (!isHexDigit(t.charCodeAt(k)) || !isHexDigit(t.charCodeAt(k - 1))) return false;
  const c = t.charCodeAt(k - 2);
  if (c === 37) return true; // %XX
  if (c === 120 && t.charCodeAt(k - 3) === 92) return true; // \xXX
  return k >= 5 && t.startsWith('\\u00', k - 5); // \u00XX
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** GitHub's and npm's base62 alphabet: digits, capitals, small letters. */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * An npm token ("npm_" and 36 base62 characters) whose last six characters are the base62 CRC32 of the
 * thirty before them, as GitHub's tokens (and, since 2021, npm's) are made: a random string of that
 * shape passes once in 2^32. Read only for a glued candidate.
 */
function base62Crc32Valid(v: string): boolean {
  let sum = 0;
  for (let i = v.length - 6; i < v.length; i++) {
    const d = BASE62.indexOf(v.charAt(i));
    if (d < 0) return false;
    sum = sum * 62 + d;
  }
  return sum === crc32(v.slice(v.length - 36, v.length - 6));
}

/**
 * An OpenAI key in the case OpenAI writes it, with the "T3BlbkFJ" marker (base64 of "OpenAI") where the
 * formats put it: a project, service-account or admin key's two random parts around it, or a legacy
 * key's twenty characters before and after. No name or id holds those eight characters there.
 */
const OPENAI_GLUED = /^sk-(?:(?:proj|svcacct|admin)-[\w-]{20,74}T3BlbkFJ[\w-]{20,74}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})$/;

/**
 * The rules, in priority order (at one position the first that matches wins;
 * across positions the leftmost match wins). Every alternative starts with a
 * literal (the combined regex has the 'i' flag); boundary checks are
 * look-behinds placed AFTER that literal, so the regex engine's first-character
 * screen skips most positions. A look-behind in first position would run at
 * every character of every line.
 */
function rules(): Rule[] {
  return [
    {
      id: 'pem',
      family: 'private_keys',
      source:
        // "------BEGIN": the armour whole, or a lone "-" left before the mask reads as a value.
        '(?<pem_v>-----+BEGIN [A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\\s\\S]*?' +
        '(?:-----END [A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----|$))',
      kind: () => 'private_key',
    },
    {
      id: 'ab',
      family: 'credentials',
      source: `(?<ab_p>${AUTH_KEY}bearer(?:${WS}|${SGR})+)(?<ab_v>${tokenValue('a-z0-9._~+/-')})`,
      kind: () => 'bearer',
    },
    {
      id: 'aba',
      family: 'credentials',
      bitOf: 'ab',
      source: `(?<aba_p>${AUTH_KEY}basic(?:${WS}|${SGR})+)(?<aba_v>${tokenValue('a-z0-9+/')})`,
      kind: () => 'basic_auth',
    },
    {
      id: 'ag',
      family: 'credentials',
      bitOf: 'ab',
      // Header or JSON form: the credential is the whole value (AWS4 and Digest
      // carry commas and semicolons, Digest quoted parameters), up to the quote,
      // the line end or a token.
      source:
        `(?<ag_p>${bounded('authorization')}${Q}?${GAP}:${GAP}${ARRAY_OPEN}${Q}?(?:[a-z][a-z0-9_-]*(?:${WS}|${SGR})+)?)` +
        `(?<ag_v>(?:(?!\\{U\\+|\\\\"|\\\\x22)[^"'\\r\\n]|${DIGEST_QUOTED})+)`,
      // "authorization":"denied" is a decision, not a credential.
      kind: (v) => (/^[a-z]{1,15}$/i.test(v) ? null : 'authorization'),
    },
    {
      id: 'agq',
      family: 'credentials',
      bitOf: 'ab',
      // Query-string form "authorization=...": ends where the parameter ends, or at a colour
      // code (what follows one is another rule's: "basic{ESC}[1;32m" then the credential; taking
      // the scheme word as the value would mask it only on a second pass).
      source:
        `(?<agq_p>${bounded('authorization')}${Q}?${GAP}=${GAP}${Q}?)` +
        `(?<agq_v>(?:(?!${SGR})[^\\s"'&;,])+)`,
      kind: (v) => (/^[a-z]{1,15}$/i.test(v) ? null : 'authorization'),
    },
    {
      id: 'ck',
      family: 'credentials',
      // "Set-Cookie:" too: the "Set-" stays outside the match.
      // Ends at a CR, LF or TAB token (the next header or field), not at any token.
      // An nginx \x22 ends it only where a quote would close the value (before , } ] : or the
      // end): "lang=\x22en\x22; .ASPXAUTH=…" is one cookie header (found by review).
      source: `(?<ck_p>${bounded('cookie')}${SEP})(?<ck_v>(?:(?!\\{U\\+000[9AD]\\}|\\\\"|\\\\x22(?=[,}\\]:]|$))[^"\\r\\n])+)`,
      kind: freeform('cookie'),
    },
    {
      id: 'aws',
      family: 'api_keys',
      source:
        // "aws configure set aws_secret_access_key KEY": a space is the separator
        // when a 40-character key follows.
        `(?<aws_p>(?:aws[_-]?)?secret[_-]?access[_-]?key` +
        `(?:${Q}?${GAP}(?:=>|[:=])${GAP}${Q}?|${WS}+(?=[a-z0-9/+]{40}(?![a-z0-9/+=]))))(?<aws_v>[a-z0-9/+=]{16,})`,
      kind: () => 'aws_secret_key',
    },
    {
      id: 'sql',
      family: 'password',
      // SQL in database logs (log_statement=all, the MySQL general log): PASSWORD 'x',
      // PASSWORD('x'), SET PASSWORD = PASSWORD('x'), IDENTIFIED [WITH plugin] BY 'x'.
      // A space or "(" before the quote: "'password': 'x'" is a key, for kv.
      // Before kv, which would take "PASSWORD = PASSWORD(" for a value.
      source:
        `(?<sql_p>(?:${bounded('password', 'a-z0-9_')}(?:${GAP}=${GAP}password)?(?:${GAP}\\(|${WS})` +
        `|${bounded('identified', 'a-z0-9_')}${WS}+(?:with${WS}+[a-z0-9_]+${WS}+)?by)${GAP}')` +
        `(?<sql_v>(?:''|\\\\.|[^'\\\\\\r\\n]){1,256})(?=')`,
      kind: () => 'password',
    },
    {
      id: 'kv',
      family: 'password', // assembled per enabled family in kvSources()
      source: '',
      kind: (v, g) => kvAccept(v, g['kv_k'] ?? ''),
    },
    {
      id: 'nv',
      family: 'password', // assembled per enabled family in kvSources()
      source: '',
      kind: (v, g) => kvAccept(v, g['nv_k'] ?? ''),
    },
    {
      id: 'pk',
      family: 'private_keys',
      // private_key=, "signingKey": "...": not a PEM value (the PEM rule masks that whole).
      source: `(?<pk_p>(?<pk_k>${KEY_MATERIAL_KEYS})${KV_SEP})(?!-----)(?<pk_v>${KV_VALUE})`,
      kind: (v, g) => keyMaterialAccept(v, g['pk_k'] ?? ''),
    },
    {
      id: 'cli',
      family: 'password',
      source: '',
      kind: (v, g) => (v.startsWith('-') ? null : kvAccept(v, g['cli_k'] ?? '')),
    },
    {
      id: 'hdr',
      family: 'credentials',
      // Header style "X-Api-Key: v", "Private-Token: v": a bare colon is enough
      // for these names (unlike "password:", see the header of this module).
      source:
        `(?<hdr_p>(?<hdr_k>(?:x-(?:[a-z0-9]+-)*)?(?:api-?key|auth-token|access-token|private-token|security-token|goog-api-key))` +
        `${GAP}:${GAP})(?<hdr_v>[^\\s"',;]+)`,
      kind: (v, g) => kvAccept(v, g['hdr_k'] ?? ''),
    },
    {
      id: 'url',
      family: 'password',
      // The password ends at the LAST "@" of the authority: "p@ss" is written unescaped
      // often enough (postgres://app:p@ss@db/), and a masked "p" would leave "ss" in clear.
      // RFC 3986 wants "[" and "]" percent-encoded in user info, yet a password holds them
      // often enough ("app:Tr0ub4dor[x@db"); only a mask of ours ("https://[REDACTED:
      // github_token]@h", "u:{U+0009}[REDACTED:pan]@h") is never read as one.
      source: `(?<url_p>://(?<=[a-z0-9]://)[^\\s/?#@:'"[\\]]{0,256}:)(?<url_v>(?:(?!\\[REDACTED:)[^\\s/?#'"]){1,256})(?=@)`,
      kind: () => 'password',
      rescanPrefix: true,
    },
    {
      id: 'my',
      family: 'password',
      // Context in look-behinds, not in the match: a consumed "mysql ... -p"
      // span would hide other secrets on the same command line from the scan.
      source:
        `(?<my_p>-p(?<=[ \\t]-p)(?<=(?<![a-z0-9_-])(?:mysql(?:dump|admin|import|check)?|mariadb)\\b[^|;\\n{}]{0,200}-p))` +
        // "-p<TAB>x" is "-p" (prompt) then the database x.
        `(?!\\{U\\+0009\\})(?<my_v>${ONE_ARG})`,
      kind: (_v, g) => (g['my_p'] === '-p' ? 'password' : null), // "-P3306" is a port
    },
    {
      id: 'dk',
      family: 'password',
      // docker/podman login -p SECRET, redis-cli -a SECRET (context in look-behinds, as for
      // mysql). A shell variable ($CI_TOKEN, "$PASS") is no secret.
      source:
        `(?<dk_p>-[pa](?<=[ \\t]-[pa])(?<=(?<![a-z0-9_-])(?:(?:docker|podman)[ \\t]+login\\b[^|;\\n{}]{0,200}-p` +
        `|redis-cli\\b[^|;\\n{}]{0,200}-a))(?:${WS}+|=))(?![-$]|["']\\$)(?<dk_v>${ONE_ARG})`,
      kind: () => 'password',
    },
    {
      id: 'op',
      family: 'password',
      bitOf: 'ht',
      // openssl -pass/-passin/-passout/-password pass:SECRET (env:, file:, fd: name no secret).
      source: `(?<op_p>-pass(?:in|out|word)?(?<=[ \\t]-pass(?:in|out|word)?)${WS}+["']?pass:)(?<op_v>[^\\s'"]+)`,
      kind: () => 'password',
    },
    {
      id: 'ht',
      family: 'password',
      // htpasswd -b FILE USER SECRET (flags without -n); -nb USER SECRET below.
      source:
        `(?<ht_p>${bounded('htpasswd', 'a-z0-9_-')}(?<ht_f>(?:[ \\t]+-(?![a-z]*n)[a-z]+(?:[ \\t]+\\d{1,3})?)+)` +
        `[ \\t]+${CMD_WORD}[ \\t]+${CMD_WORD}[ \\t]+)(?<ht_v>${ONE_ARG})`,
      kind: (_v, g) => (/-[a-zA-Z]*b/.test(g['ht_f'] ?? '') ? 'password' : null),
    },
    {
      id: 'htn',
      family: 'password',
      bitOf: 'ht',
      source:
        `(?<htn_p>${bounded('htpasswd', 'a-z0-9_-')}(?<htn_f>(?:[ \\t]+-(?![a-z]*n)[a-z]+(?:[ \\t]+\\d{1,3})?)*[ \\t]+-[a-z]*n[a-z]*` +
        `(?:[ \\t]+-[a-z]+(?:[ \\t]+\\d{1,3})?)*)[ \\t]+${CMD_WORD}[ \\t]+)(?<htn_v>${ONE_ARG})`,
      kind: (_v, g) => (/-[a-zA-Z]*b/.test(g['htn_f'] ?? '') ? 'password' : null),
    },
    {
      id: 'smb',
      family: 'password',
      // smbclient -U user%SECRET (Samba's user%password form).
      source:
        `(?<smb_p>(?:-U|--user(?:name)?=?)(?<=[ \\t]-U|[ \\t]--user(?:name)?=?)` +
        `(?<=(?<![a-z0-9_-])(?:smbclient|rpcclient)\\b[^|;\\n{}]{0,300}(?:-U|--user(?:name)?=?))` +
        `[ \\t]*["']?[^\\s%'"[-][^\\s%'"]{0,255}%)(?<smb_v>[^\\s'"]+)`,
      kind: () => 'password',
      rescanPrefix: true,
    },
    {
      id: 'ora',
      family: 'password',
      // Oracle's user/password: jdbc:oracle:thin:app/SECRET@host, sqlplus app/SECRET@db,
      // sqlldr/exp userid=app/SECRET. "sqlplus / as sysdba" names no password. Not a URL's
      // query parameter ("?userid=1234/edit" is a path, found by review).
      source:
        `(?<ora_p>(?:jdbc:oracle:[a-z0-9]{1,8}:|${bounded('sqlplus', 'a-z0-9_-')}(?:[ \\t]+-[a-z]+)*[ \\t]+|(?<![?&;])${bounded('userid', 'a-z0-9_')}=)` +
        `["']?[a-z0-9_$#.]{1,128}/)(?<ora_v>[^\\s@/'"]{1,256})(?=[@\\s'"]|$)`,
      kind: () => 'password',
      rescanPrefix: true,
    },
    {
      id: 'sp',
      family: 'password',
      source: `(?<sp_p>${bounded('sshpass', 'a-z0-9_-')}${WS}+-p${WS}*)(?<sp_v>${ONE_ARG})`,
      kind: (_v, g) => (/-p(?:[ \t]|\{U\+0009\})*$/.test(g['sp_p'] ?? '') ? 'password' : null),
    },
    {
      id: 'cu',
      family: 'credentials',
      source:
        `(?<cu_p>(?:-u|--user)(?<=[ \\t]-u|[ \\t]--user)(?<=(?<![a-z0-9_-])curl\\b[^|;\\n{}]{0,300}(?:-u|--user))` +
        `${WS}*["']?[^\\s:'"[-][^\\s:'"]{0,255}:)(?<cu_v>[^\\s'"]+)`,
      kind: () => 'basic_auth',
      rescanPrefix: true,
    },
    {
      id: 'jwt',
      family: 'credentials',
      source:
        // In the first segment, an inner token right before "eyJ" ends the run: "eyJ{U+0001}"
        // repeated would otherwise start a match at every "eyJ" that runs on to the line's end
        // (quadratic: 5 s for 64 KiB). A JWT right after a control is still found.
        // Glued to a letter: the header's first key is spelled out and its length bounded, so glued
        // starts are few and each costs a bounded scan (GLUED_TOKENS).
        `(?<jwt_v>eyJ(?:${notGlued('eyJ', 'a-z0-9_-')}(?:[a-z0-9_-]|${INNER_TOKEN}(?!eyJ)){8,}` +
        `|${gluedTo('eyJ', 'jwt_g')}${JWT_GLUED_HEADER})` +
        `\\.(?:[a-z0-9_-]|${INNER_TOKEN}){8,}` +
        `\\.(?:[a-z0-9_-]*(?:${INNER_TOKEN}(?:(?!\\{U\\+(?:000[9AD]|001B)\\})[^\\s"'])*)?))`,
      kind: (v, g) => (g['jwt_g'] === undefined || jwtHeaderNamesAlg(v) ? 'jwt' : null),
      glued: 'jwt_g',
    },
    {
      id: 'bb',
      family: 'credentials',
      // Also URL-encoded ("Authorization%3A%20Bearer%20..." in a logged query): the "0" of
      // "%20" is no letter of a word.
      source: `(?<bb_p>bearer(?<!(?<!%2|\\{U\\+001B\\}\\[[0-9;]{0,16})[a-z0-9_-]bearer)(?:${WS}|${SGR}|%20)+)(?<bb_v>${tokenValue('a-z0-9._~+/-', 16)})`,
      kind: () => 'bearer',
    },
    {
      id: 'ak',
      family: 'api_keys',
      source: `(?<ak_v>${AWS_ID}(?:${notGlued(AWS_ID, 'a-z0-9')}|${gluedTo(AWS_ID, 'ak_g')})[A-Z0-9]{16})(?![a-z0-9])`,
      // Glued: after a lower-case letter, upper case throughout (the regex has the 'i' flag).
      kind: (v, g) => {
        const glue = g['ak_g'];
        return glue === undefined || (/^[a-z]$/.test(glue) && /^(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}$/.test(v)) ? 'aws_access_key' : null;
      },
      glued: 'ak_g',
    },
    {
      id: 'gcp',
      family: 'api_keys',
      source: `(?<gcp_v>AIza(?:${notGlued('AIza', 'a-z0-9_-')}|${gluedTo('AIza', 'gcp_g')})[0-9a-z_-]{35})(?![a-z0-9_-])`,
      // Glued: "AIza" as Google writes it, and a random-looking value with a digit (no camelCase name).
      kind: (v, g) => (g['gcp_g'] === undefined || (v.startsWith('AIza') && randomLooking(v, 4, true)) ? 'gcp_api_key' : null),
      glued: 'gcp_g',
    },
    {
      id: 'gco',
      family: 'api_keys',
      bitOf: 'gcp',
      source: `(?<gco_v>${bounded('ya29\\.', 'a-z0-9_-')}[0-9a-z_-]{20,})`,
      kind: () => 'gcp_oauth_token',
    },
    {
      id: 'az',
      family: 'api_keys',
      source: '(?<az_p>(?:accountkey|sharedaccesskey)=)(?<az_v>[a-z0-9+/]{20,}={0,2})',
      kind: () => 'azure_key',
    },
    {
      id: 'sas',
      family: 'api_keys',
      source: '(?<sas_p>[?&]sig=)(?<sas_v>[a-z0-9%+/=]{16,})',
      kind: () => 'azure_sas',
    },
    {
      id: 'gh',
      family: 'api_keys',
      source:
        `(?<gh_v>${GH_PREFIX}(?:${notGlued(GH_PREFIX, 'a-z0-9_')}[a-z0-9_]{22,255}` +
        // Glued: a classic token's 36 (or more) characters, or a fine-grained token's 22_59.
        `|${gluedTo(GH_PREFIX, 'gh_g')}(?:(?<=h[pousr]_)[a-z0-9]{36,251}|(?<=_pat_)[a-z0-9_]{82})))(?![a-z0-9_])`,
      kind: (v, g) => {
        if (g['gh_g'] !== undefined) return v.startsWith('github_pat_') || (/^gh[pousr]_/.test(v) && randomLooking(v, 4, false)) ? 'github_token' : null;
        return /^gh[pousr]_[a-z0-9]{36,}$/i.test(v) || v.startsWith('github_pat_') ? 'github_token' : null;
      },
      glued: 'gh_g',
    },
    {
      id: 'gl',
      family: 'api_keys',
      bitOf: 'gh',
      source:
        `(?<gl_v>${GL_PREFIX}(?:${notGlued(GL_PREFIX, 'a-z0-9_-')}[a-z0-9_-]{20,}` +
        // Glued: at most 64 characters of the run, with no look-ahead for its end: one requiring the run to
        // end there shipped a longer run whole, and a second pass, where the mask ends the run, masked it.
        `|${gluedTo(GL_PREFIX, 'gl_g')}[a-z0-9_-]{20,64}))`,
      // Glued: the prefix in lower case, and a digit or a capital in the value (no kebab-case name).
      kind: (v, g) => (g['gl_g'] === undefined || (/^gl[a-z]+-.*[A-Z0-9]/.test(v)) ? 'gitlab_token' : null),
      glued: 'gl_g',
    },
    {
      id: 'sl',
      family: 'api_keys',
      source:
        `(?<sl_v>${SL_PREFIX}(?:${notGlued(SL_PREFIX, 'a-z0-9_-')}[a-z0-9-]{10,}` +
        // Glued: digits and a dash first, as every Slack token has them (a team id, "1-", "2-"); the rest
        // bounded (refresh tokens, the longest, have some 150 characters) and no look-ahead at the end,
        // so a rejected start backtracks through none of it.
        `|${gluedTo(SL_PREFIX, 'sl_g')}\\d{1,13}-[a-z0-9-]{8,200}))`,
      // Glued: "xox" in lower case, as Slack writes it.
      kind: (v, g) => (g['sl_g'] === undefined || v.startsWith('xox') ? 'slack_token' : null),
      glued: 'sl_g',
    },
    {
      id: 'slw',
      family: 'api_keys',
      bitOf: 'sl',
      source: '(?<slw_p>hooks\\.slack\\.com/(?:services|workflows|triggers)/)(?<slw_v>[a-z0-9_/-]{8,})',
      kind: () => 'slack_webhook',
    },
    {
      id: 'st',
      family: 'api_keys',
      source:
        `(?<st_v>${ST_PREFIX}(?:${notGlued(ST_PREFIX, 'a-z0-9_')}[a-z0-9]{10,}` +
        `|${gluedTo(ST_PREFIX, 'st_g')}[a-z0-9]{24,}))`,
      // Glued: of random characters ("disk_live_MigrationStatus2026Final" is a name), and an sk_ or rk_
      // not after a vowel (stripeGlue: "task_live_<random>" is the word "task", not "ta" and a key).
      kind: (v, g, site) => (g['st_g'] === undefined || (stripeGlue(v, site) && randomLooking(v, v.indexOf('_', 3) + 1, true)) ? 'stripe_key' : null),
      glued: 'st_g',
    },
    {
      id: 'npm',
      family: 'api_keys',
      bitOf: 'st',
      source: `(?<npm_v>npm_(?:${notGlued('npm_', 'a-z0-9_')}|${gluedTo('npm_', 'npm_g')})[a-z0-9]{36})(?![a-z0-9])`,
      // Glued: the token's own checksum proves it.
      kind: (v, g) => (g['npm_g'] === undefined || base62Crc32Valid(v) ? 'npm_token' : null),
      glued: 'npm_g',
    },
    {
      id: 'ai',
      family: 'api_keys',
      bitOf: 'st',
      source:
        `(?<ai_v>sk-(?:${notGlued('sk-', 'a-z0-9_-')}(?:(?:proj|svcacct|admin|ant-(?:api|admin)\\d\\d)-[a-z0-9_-]{20,}|[a-z0-9]{48})` +
        // Glued: an OpenAI key with its "T3BlbkFJ" marker where the formats put it (OPENAI_GLUED checks its case).
        `|${gluedTo('sk-', 'ai_g')}(?:(?:proj|svcacct|admin)-[a-z0-9_-]{20,74}T3BlbkFJ[a-z0-9_-]{20,74}|[a-z0-9]{20}T3BlbkFJ[a-z0-9]{20})))(?![a-z0-9_-])`,
      kind: (v, g) => {
        if (g['ai_g'] !== undefined) return OPENAI_GLUED.test(v) ? 'openai_key' : null;
        return v.startsWith('sk-ant-') ? 'anthropic_key' : 'openai_key';
      },
      glued: 'ai_g',
    },
    {
      id: 'sg',
      family: 'api_keys',
      bitOf: 'st',
      source: `(?<sg_v>SG\\.(?:${notGlued('SG\\.', 'a-z0-9_-')}|${gluedTo('SG\\.', 'sg_g')})[a-z0-9_-]{22}\\.[a-z0-9_-]{43})(?![a-z0-9_-])`,
      // Glued: "SG." in capitals, and both parts random-looking (no dotted path or constant name).
      kind: (v, g) =>
        g['sg_g'] === undefined || (v.startsWith('SG.') && randomLooking(v.slice(0, 25), 3, false) && randomLooking(v, 26, false)) ? 'sendgrid_key' : null,
      glued: 'sg_g',
    },
    {
      id: 'pan',
      family: 'pan',
      source: `(?<pan_v>${PAN_FORMS})${PAN_END}${PAN_NEXT}`,
      kind: (v, g) => (isCardText(v) && (g['pan_g'] === undefined || gluedCard(g)) ? 'pan' : null),
      onlyInTurnedDown: (g) => g['pan_g'] !== undefined,
    },
    {
      id: 'ssn',
      family: 'national_id',
      source: `(?<ssn_v>${SSN_ALONE})(?![a-z0-9_]|-\\d)`,
      kind: (v, _g, site) => (SSN_VALID.test(v) && (!ssnAfterLetters(site) || ssnGluedShape(site)) ? 'ssn' : null),
      onlyInTurnedDown: (_g, site) => ssnAfterLetters(site),
    },
    {
      id: 'ssng',
      family: 'national_id',
      bitOf: 'ssn',
      source: `(?<ssng_v>${SSN_GLUED})`,
      kind: (v) => (SSN_VALID.test(v) ? 'ssn' : null),
      onlyInTurnedDown: () => true,
    },
  ];
}

/**
 * Triggers: lowercase literals that any match of the named rules must contain
 * (plus digit-run shapes for cards and SSNs). A hand-written scan finds them
 * in one pass at about a nanosecond a character; an alternation regex of the
 * same words costs several times that, because nearly every letter can start
 * one of them. The set of rules a line needs is usually empty; otherwise the
 * combined regex for that set is compiled once and cached.
 */
interface Trigger {
  readonly family: RedactKind;
  /** The trigger only applies when this family is off (see the header-rule entry). */
  readonly unlessFamily?: RedactKind;
  readonly words: readonly string[];
  readonly rules: readonly string[];
}

// A word may only be narrowed when every match of its rules still contains
// one of the narrower words (or a word of another enabled trigger of that
// rule): the mask must keep every rule that can match. Then the combined
// regex of the smaller set finds the same spans, since a rule that matches
// nowhere never wins a position. "Accepted publickey", "Failed password for"
// and similar everyday lines then run no regex at all.
const TRIGGERS: readonly Trigger[] = [
  { family: 'private_keys', words: ['private key'], rules: ['pem'] },
  { family: 'password', words: ['pass', 'pwd', 'secret'], rules: ['kv', 'cli', 'sql'] },
  // Name/value pairs: every match holds "value" and then a (possibly escaped) quote; woken by
  // that, not by each key word ("token" is in far more lines than "value\"").
  { family: 'password', words: ['lue"', 'lue\\'], rules: ['nv'] },
  { family: 'credentials', words: ['lue"', 'lue\\'], rules: ['nv'] },
  { family: 'api_keys', words: ['lue"', 'lue\\'], rules: ['nv'] },
  // Narrower than 'pass' (which every "Failed password for" line holds): these rules run no
  // separator check, so 'pass' would send such lines to the regex.
  { family: 'password', words: ['pass:', 'htpasswd'], rules: ['op', 'ht'] },
  // From here on a trigger may be the tail of the word every match holds: the scan compares a
  // word wherever its first two letters occur, and "id", "us", "va", "pr", "en" occur everywhere.
  { family: 'password', words: ['ified'], rules: ['sql'] },
  { family: 'password', words: ['sshpass'], rules: ['sp'] },
  { family: 'password', words: ['://'], rules: ['url'] },
  { family: 'password', words: ['mysql', 'mariadb'], rules: ['my'] },
  // 'odman', 's-cli': podman, redis-cli (a "po" or "re" word would be compared at every
  // "port", "request", "received").
  { family: 'password', words: ['docker', 'odman', 's-cli'], rules: ['dk'] },
  { family: 'password', words: ['smbclient', 'rpcclient'], rules: ['smb'] },
  { family: 'password', words: ['jdbc:oracle', 'sqlplus', 'serid='], rules: ['ora'] },
  {
    family: 'private_keys',
    words: ['ivatekey', 'ivate_key', 'ivate-key', 'gningkey', 'gning_key', 'gning-key', 'yptionkey', 'yption_key', 'yption-key'],
    rules: ['pk'],
  },
  { family: 'pan', words: ['cvv', 'cvc'], rules: ['kv'] },
  { family: 'credentials', words: ['authorization'], rules: ['ab', 'aba', 'ag', 'agq'] },
  { family: 'credentials', words: ['bearer'], rules: ['bb'] },
  { family: 'credentials', words: ['cookie'], rules: ['ck', 'cli'] },
  { family: 'credentials', words: ['sess', 'sid', 'token'], rules: ['kv', 'cli', 'hdr'] },
  // The header rule is a credentials rule and also names api-key headers: without this
  // trigger, "X-Api-Key: v" under credentials alone was masked only once the subset
  // cache overflowed to the full rule set, i.e. depending on earlier lines.
  { family: 'credentials', words: ['apikey', 'api-key'], rules: ['hdr'] },
  { family: 'credentials', words: ['eyj'], rules: ['jwt'] },
  { family: 'credentials', words: ['curl'], rules: ['cu'] },
  // Key names of the api_keys family: (api|subscription)[_-]?key for kv, api-key/apikey for
  // --flags and headers, secret[_-]?access for AWS, accountkey/sharedaccesskey for Azure.
  {
    family: 'api_keys',
    words: ['apikey', 'api_key', 'api-key', 'subscriptionkey', 'subscription_key', 'subscription-key'],
    rules: ['kv'],
  },
  { family: 'api_keys', words: ['apikey', 'api-key'], rules: ['cli', 'hdr'] },
  { family: 'api_keys', words: ['secretaccess', 'secret_access', 'secret-access'], rules: ['aws'] },
  { family: 'api_keys', words: ['accountkey', 'accesskey'], rules: ['az'] },
  // The header names that are not api-key all end in "-token": the credentials family's
  // 'token' finds them, and without that family this trigger must (the header rule is
  // active under api_keys alone, and "X-Auth-Token: v" was otherwise masked only when the
  // line happened to say "key" somewhere, or after the subset cache overflowed).
  { family: 'api_keys', unlessFamily: 'credentials', words: ['token'], rules: ['hdr'] },
  { family: 'api_keys', words: ['akia', 'asia', 'abia', 'acca'], rules: ['ak'] },
  { family: 'api_keys', words: ['aiza', 'ya29.'], rules: ['gcp', 'gco'] },
  { family: 'api_keys', words: ['sig='], rules: ['sas'] },
  {
    family: 'api_keys',
    words: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_', 'glpat-', 'gldt-', 'glrt-', 'glptt-', 'glcbt-', 'glimt-', 'gloas-', 'glft-', 'glsoat-'],
    rules: ['gh', 'gl'],
  },
  { family: 'api_keys', words: ['xox', 'hooks.slack'], rules: ['sl', 'slw'] },
  { family: 'api_keys', words: ['sk_', 'rk_', 'whsec_', 'npm_', 'sk-', 'sg.'], rules: ['st', 'npm', 'ai', 'sg'] },
];

interface TriggerWord {
  readonly word: string;
  readonly mask: number;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** At a '-' at i: is this the first dash of ddd-dd-dddd? */
function ssnShapeAt(s: string, i: number): boolean {
  return (
    i >= 3 &&
    isDigit(s.charCodeAt(i - 3)) &&
    isDigit(s.charCodeAt(i - 2)) &&
    isDigit(s.charCodeAt(i - 1)) &&
    isDigit(s.charCodeAt(i + 1)) &&
    isDigit(s.charCodeAt(i + 2)) &&
    s.charCodeAt(i + 3) === 45 &&
    isDigit(s.charCodeAt(i + 4)) &&
    isDigit(s.charCodeAt(i + 5)) &&
    isDigit(s.charCodeAt(i + 6)) &&
    isDigit(s.charCodeAt(i + 7))
  );
}

/**
 * At the start i of a digit run: is it a "0" or "1" that is the first hex digit of an escape of a control
 * character, %0X or %1X, \\x0X or \\x1X, or of \\u00XX (the run is then "00XX…")?
 */
function escapeBefore(s: string, i: number): boolean {
  if (s.charCodeAt(i) > 49) return false;
  const b = s.charCodeAt(i - 1);
  if (b === 37) return true; // %
  // x, X, u or U after a backslash (the combined regex has the 'i' flag: "\\X09" is matched too).
  return (b === 120 || b === 88 || b === 117 || b === 85) && s.charCodeAt(i - 2) === 92;
}

/**
 * Builds the per-redactor scanner: text -> bit mask of rules worth running.
 * A 128x128 table of the first two characters of every trigger word (in
 * either case) decides in one lookup whether a position is worth comparing at all.
 * Digit runs are consumed by an inner loop: no trigger word has a digit, a
 * space or a dash among its first two characters, so the pair table has
 * nothing to find there, and the card/SSN shape logic stays out of the
 * letter path (its branches cost about a fifth of the scan).
 */
function makeScanner(triggerWords: readonly TriggerWord[], panMask: number, ssnMask: number): (s: string) => number {
  // One entry per distinct word (several triggers may name the same word).
  const byWord = new Map<string, number>();
  for (const w of triggerWords) byWord.set(w.word, (byWord.get(w.word) ?? 0) | w.mask);
  // Index into the word/mask lists by the first two characters as written (every
  // upper/lower case combination has its entry, so the hot loop lowercases nothing);
  // 0 = no word starts so.
  const pair = new Uint16Array(128 * 128);
  const wordLists: string[][] = [[]];
  const maskLists: number[][] = [[]];
  const cases = (c: number): number[] => (c >= 97 && c <= 122 ? [c, c - 32] : [c]);
  for (const [word, mask] of byWord) {
    const c0 = word.charCodeAt(0);
    const c1 = word.charCodeAt(1);
    let b = pair[(c0 << 7) | c1] ?? 0;
    if (b === 0) {
      b = wordLists.length;
      wordLists.push([]);
      maskLists.push([]);
      for (const u of cases(c0)) for (const v of cases(c1)) pair[(u << 7) | v] = b;
    }
    wordLists[b]?.push(word);
    maskLists[b]?.push(mask);
  }
  /** Masks of the words of bucket b found at `at` (the first two characters already match). */
  const wordsAt = (s: string, at: number, b: number): number => {
    const ws = wordLists[b] ?? [];
    const ms = maskLists[b] ?? [];
    let mask = 0;
    for (let k = 0; k < ws.length; k++) {
      const w = ws[k] ?? '';
      const len = w.length;
      if (at + len > s.length) continue;
      let j = 2;
      for (; j < len; j++) {
        let c = s.charCodeAt(at + j);
        if (c >= 65 && c <= 90) c += 32;
        if (c !== w.charCodeAt(j)) break;
      }
      if (j === len) mask |= ms[k] ?? 0;
    }
    return mask;
  };
  return (s) => {
    let mask = 0;
    let prev = 0;
    const n = s.length;
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        // A run of digits, each group separated by ONE ' ' or '-', or by '.' after a group of
        // 4 or 6 digits (the only groups a dot follows in a card: 4.4.4.4, 4.6.5), so that an
        // IPv4 address, a version or a decimal ends its run at the first dot as it always did.
        // After an escape's hex digits the first group has two more (%094111.…, 6: passes) or four
        // more (\u00194111.…, 8: escapeBefore, read only at a dot after a group of another length).
        // Issuer prefixes start with 2..6, so a card candidate starts at a group beginning
        // with one of those (epoch-ms timestamps and ids starting 0/1/7/8/9 never wake the
        // card rule) and counts the digits from there to the end of the run.
        let cand = c >= 50 && c <= 54 ? 1 : -1;
        const runStart = i;
        let afterSep = false;
        let groupStart = i;
        for (i++; i < n; i++) {
          c = s.charCodeAt(i);
          if (c >= 48 && c <= 57) {
            if (afterSep && cand < 0 && c >= 50 && c <= 54) cand = 0;
            if (cand >= 0) cand++;
            afterSep = false;
          } else if (
            !afterSep &&
            (c === 32 ||
              c === 45 ||
              (c === 46 && (i - groupStart === 4 || i - groupStart === 6 || (i - runStart === 8 && escapeBefore(s, runStart)))))
          ) {
            afterSep = true;
            groupStart = i + 1;
            if (c === 45 && ssnMask !== 0 && ssnShapeAt(s, i)) mask |= ssnMask;
          } else {
            break;
          }
        }
        // A run after an escape's "%", "\\x" or "\\u" may hold a card from its second or fourth digit on
        // (DIGIT_NOT_ESCAPE: "%094111…", "\\u00194111…"): then it has 15 characters or more. Looked at
        // only then, at the run's end: a look at every run's start cost clean lines 9% (times, epochs
        // and addresses start runs with "0" or "1" everywhere). A "2" there started a candidate anyway.
        if (cand >= 13 || (i - runStart >= 15 && escapeBefore(s, runStart))) mask |= panMask;
        // s[i] ends the run: the main loop looks at it with no pair pending.
        prev = 0;
        i--;
        continue;
      }
      if (c >= 128) c = 0; // no trigger word has a non-ASCII character
      const b = pair[(prev << 7) | c] ?? 0;
      if (b !== 0) mask |= wordsAt(s, i - 1, b);
      prev = c;
    }
    return mask;
  };
}

/** Sources of the key-driven rules for the enabled families; null where a rule has no key. */
function kvSource(families: ReadonlySet<RedactKind>): { kv: string | null; cli: string | null; nv: string | null } {
  const keys: string[] = [];
  const cliKeys: string[] = [];
  if (families.has('password')) {
    keys.push(...PASSWORD_KEYS);
    cliKeys.push('password', 'passwd', 'pass', 'passphrase', 'secret', 'client-secret');
  }
  if (families.has('credentials')) {
    keys.push(...CREDENTIAL_KEYS);
    cliKeys.push('token', 'access-token', 'auth-token', 'cookie');
  }
  if (families.has('api_keys')) {
    keys.push(...API_KEY_KEYS);
    cliKeys.push('api-key', 'apikey');
  }
  // Name/value pairs: {"name":"DB_PASSWORD","value":"x"} (Kubernetes env, also inside the
  // escaped last-applied-configuration annotation), {"key":"api_key","value":"x"}. The
  // context sits in a look-behind after the key word (whose prefix, DB_, is in it).
  const jq = '\\\\{0,7}"';
  const nv =
    keys.length === 0
      ? null
      : `(?<nv_p>(?<nv_k>${keys.join('|')})(?<=${jq}(?:name|key)${jq}${GAP}:${GAP}${jq}[a-z0-9_.-]{0,64})` +
        `${jq}${GAP},${GAP}${jq}value${jq}${GAP}:${GAP}${jq})(?<nv_v>${KV_VALUE})`;
  if (families.has('pan')) keys.push(...CVV_KEYS);
  return {
    kv: keys.length === 0 ? null : `(?<kv_p>(?<kv_k>${keys.join('|')})${KV_SEP})(?<kv_v>${KV_VALUE})`,
    cli: cliKeys.length === 0 ? null : `(?<cli_p>--(?:[a-z0-9]+-)*(?<cli_k>${cliKeys.join('|')})${WS}+)(?<cli_v>${QUOTED_OR_WORD})`,
    nv,
  };
}

interface CompiledCustom {
  readonly name: string;
  readonly re: RegExp;
  readonly mask: string;
}

function compileCustom(custom: readonly CustomRedaction[]): CompiledCustom[] {
  return custom.map((c, i) => {
    const at = `processing.redact.custom[${i}]`;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(c.name)) {
      throw new ConfigError(`${at}.name`, `custom redaction name "${c.name}" must be 1-64 of A-Z a-z 0-9 _ . -`);
    }
    let re: RegExp;
    try {
      re = new RegExp(c.pattern, 'g');
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ConfigError(`${at}.pattern`, `custom redaction "${c.name}": invalid regular expression: ${why}`);
    }
    // A pattern that can match nothing would "redact" between every character.
    if (re.test('')) {
      throw new ConfigError(`${at}.pattern`, `custom redaction "${c.name}": pattern matches the empty string`);
    }
    re.lastIndex = 0;
    return { name: c.name, re, mask: `[REDACTED:${c.name}]` };
  });
}

const MAX_CACHED_SUBSETS = 64;

/**
 * Rescans of rejected values (replaceBuiltin): a value this short is always scanned again, even
 * past the line's budget below ("session=4111 …", "cvv=<card>", "cvv=<ssn>" all fit), and does
 * not draw on that budget. The extra work is at most this much per rejected match, and match
 * starts only move forward, so it is linear by itself: with keys of four characters nested in one
 * value ("cvv=cvv=…cvv=x "), about four times the line's length at worst; on a run of digit groups
 * every group start is a card-rule match that issuer, length or Luhn turns down, and each is
 * scanned again from its next character (some 20 characters), about four times the line's length
 * too. Such short rescans drew on the budget before: a benign line of a few hundred digit groups
 * ("stats 2345 6789 …", a list of ids) spent it on card candidates, and a long turned-down value
 * after them (a sudo line's PWD=) was masked whole as [REDACTED:unscanned].
 */
const RESCAN_FREE = 32;

/**
 * What a long turned-down value becomes once the line's rescan budget is spent: it is not scanned
 * again, so it is not shipped either (a crafted line spends the budget on nested values, then
 * hides a victim's cookie or card behind one more).
 */
const UNSCANNED = '[REDACTED:unscanned]';

const PAN_MASK = '[REDACTED:pan]';

/**
 * Characters of rejected values longer than RESCAN_FREE a line may scan again. These rescans are
 * not free: a value holding the next key ("cvv=cvv=cvv=…", "PWD=/PWD=/…") ends where that key's
 * value ends, so each nested match runs to the same end and rescanning them all is quadratic (64 KiB
 * of "cvv=" would be some 500 million characters). Ordinary lines rescan about their own length at
 * most; past the budget, a long rejected value is masked whole as [REDACTED:unscanned] (only a
 * crafted line gets there, and its author chose what the value hides).
 */
function rescanBudget(textLength: number): number {
  return 4096 + 2 * textLength;
}

interface CompiledRule {
  readonly rule: Rule;
  /** Names of its groups, made once: `${id}_v` per match cost a string each. */
  readonly vGroup: string;
  readonly pGroup: string;
}

/** A combined regex of some rules, in rule order. */
interface Combined {
  readonly re: RegExp;
  readonly rules: readonly CompiledRule[];
}

/** Builds a redactor for a configuration; compile once, call redact() per line. */
export function createRedactor(opts: RedactorOptions): Redactor {
  return buildRedactor(opts, true);
}

/**
 * For tests: the same rules and replacements with no pre-screen, every line
 * running the full combined regex. The pre-screen is an optimization only; on
 * any text both redactors must give the same result.
 *
 * `loop: 'string-replace'` runs that regex through String.prototype.replace
 * instead of the hand-written exec loop, to hold the loop to replace()'s
 * semantics. replace() cannot widen a match, so that variant leaves out the
 * widening of a mask over a card number the masked value began (see maskEnd)
 * and the card after a mask and ".", "-" or "," (cardAfterMask): compare it
 * only where the card family is off. Nor can it step back into a
 * rejected value to scan it again, nor go on one character after a match it
 * passes over (onlyInTurnedDown): that variant starts a new replace() there.
 */
export function createReferenceRedactor(opts: RedactorOptions, loop: 'exec' | 'string-replace' = 'exec'): Redactor {
  return buildRedactor(opts, false, loop === 'string-replace');
}

function buildRedactor(opts: RedactorOptions, prescreen: boolean, viaStringReplace = false): Redactor {
  const families = new Set<RedactKind>(opts.builtin);
  for (const f of families) {
    if (!REDACT_KINDS.includes(f)) throw new ConfigError('processing.redact.builtin', `unknown builtin "${String(f)}"`);
  }
  const kv = kvSource(families);
  const active: Rule[] = [];
  for (const r of rules()) {
    if (r.id === 'kv' || r.id === 'cli' || r.id === 'nv') {
      const source = kv[r.id];
      if (source !== null) active.push({ ...r, source });
    } else if (families.has(r.family) || (r.id === 'hdr' && families.has('api_keys'))) {
      active.push(r);
    }
  }
  // One bit per rule, or the bit of the (active) rule it names in bitOf; a mask is an int32.
  const activeIds = new Set(active.map((r) => r.id));
  const sharesBit = (r: Rule): r is Rule & { bitOf: string } => r.bitOf !== undefined && activeIds.has(r.bitOf);
  const ruleBit = new Map<string, number>();
  let bits = 0;
  for (const r of active) {
    if (sharesBit(r)) continue;
    if (bits === 32) throw new Error('redact: more than 32 pre-screen bits; share some with bitOf');
    ruleBit.set(r.id, 1 << bits++);
  }
  for (const r of active) if (sharesBit(r)) ruleBit.set(r.id, ruleBit.get(r.bitOf) ?? 0);
  const words: TriggerWord[] = [];
  for (const t of TRIGGERS) {
    if (!families.has(t.family) || (t.unlessFamily !== undefined && families.has(t.unlessFamily))) continue;
    const mask = t.rules.reduce((m, id) => m | (ruleBit.get(id) ?? 0), 0);
    for (const word of t.words) words.push({ word, mask });
  }
  const scanWords = makeScanner(words, ruleBit.get('pan') ?? 0, ruleBit.get('ssn') ?? 0);
  // Characters some rules cannot match without, checked only when the rule was woken:
  // every KV_SEP form has '=', a quote, "%3d" or "\x22" (so a backslash; the key-material rule's
  // too); every --flag has "--"; URL user info an '@'; name/value pairs a '"'; SQL a "'".
  // "Failed password for ..." and a referrer "https://shop.example.com/" then run no regex.
  const kvBit = (ruleBit.get('kv') ?? 0) | (ruleBit.get('pk') ?? 0);
  const cliBit = ruleBit.get('cli') ?? 0;
  const urlBit = ruleBit.get('url') ?? 0; // user info needs the '@' before the host
  const nvBit = ruleBit.get('nv') ?? 0;
  const sqlBit = ruleBit.get('sql') ?? 0;
  const scan = (text: string): number => {
    let mask = scanWords(text);
    if (
      (mask & kvBit) !== 0 &&
      !text.includes('=') &&
      !text.includes('"') &&
      !text.includes("'") &&
      !text.includes('%3') &&
      !text.includes('\\')
    ) {
      mask &= ~kvBit;
    }
    if ((mask & cliBit) !== 0 && !text.includes('--')) mask &= ~cliBit;
    if ((mask & urlBit) !== 0 && !text.includes('@')) mask &= ~urlBit;
    if ((mask & nvBit) !== 0 && !text.includes('"')) mask &= ~nvBit;
    if ((mask & sqlBit) !== 0 && !text.includes("'")) mask &= ~sqlBit;
    return mask;
  };
  const compile = (rs: Rule[]): Combined => ({
    re: new RegExp(rs.map((r) => r.source).join('|'), 'gi'),
    rules: rs.map((rule) => ({ rule, vGroup: `${rule.id}_v`, pGroup: `${rule.id}_p` })),
  });
  const everything = active.length === 0 ? null : compile(active);
  // The glued SSN rule counts only inside a value a rule turned down, with a letter in it. The card and
  // SSN rules turn down only digits and separators: a line that wakes no other rule (an order number
  // "ORD123-45-6789") runs without it, and is not slowed by a match of it passed over.
  const digitShapeBits = (ruleBit.get('pan') ?? 0) | (ruleBit.get('ssn') ?? 0);
  const combinedByMask = new Map<number, Combined>();
  const combinedFor = (mask: number): Combined => {
    let c = combinedByMask.get(mask);
    if (c === undefined) {
      // Crafted lines could ask for every subset of rules; past a small cache the
      // full set (a superset, so still correct) serves instead of compiling more.
      if (combinedByMask.size >= MAX_CACHED_SUBSETS && everything !== null) return everything;
      // Global rule order is kept, so the leftmost-then-first-rule choice is the
      // same whichever subset runs.
      const gluedSsn = (mask & ~digitShapeBits) !== 0;
      c = compile(active.filter((r) => ((ruleBit.get(r.id) ?? 0) & mask) !== 0 && (r.id !== 'ssng' || gluedSsn)));
      combinedByMask.set(mask, c);
    }
    return c;
  };
  const custom = compileCustom(opts.custom);

  // Per-call tally. redact() is synchronous and never re-entered, so one tally
  // and replacer callbacks made once (not per line) serve every call: closures
  // created per call cost more than the whole fast path.
  const tally: { count: number; kinds: string[] | undefined } = { count: 0, kinds: undefined };
  const note = (kind: string): void => {
    tally.count++;
    if (tally.kinds === undefined) tally.kinds = [kind];
    else if (!tally.kinds.includes(kind)) tally.kinds.push(kind);
  };
  /**
   * The replacement for one match of the combined regex, or null to leave it as is.
   * A match belongs to the first rule (in rule order) whose value group took part.
   * `inTurnedDown`: the match starts inside a value a rule turned down (see onlyInTurnedDown). `site`:
   * where the match stands, for rules that read the text around it (MatchSite).
   */
  const replacement = (g: Groups, rs: readonly CompiledRule[], inTurnedDown: boolean, site: MatchSite): string | null => {
    rejectedValue = -1;
    rejectedPrefix = null;
    passedOver = false;
    rejectedMask = false;
    for (const r of rs) {
      const v = g[r.vGroup];
      if (v === undefined) continue;
      // Read by rescanFrom if this match is rejected below.
      rejectedValue = v.length;
      const onlyThere = r.rule.onlyInTurnedDown?.(g, site) === true;
      if (onlyThere && !inTurnedDown) {
        passedOver = true;
        return null;
      }
      // Already masked (by us on an earlier pass, or by the application). A value that begins
      // with our mask is one too: "[REDACTED:private_key]\n" (a PEM value, its JSON newline
      // after it), "[REDACTED:api_key]\" (a card the mask was widened over, then a backslash).
      // Also behind the brackets, quotes and backslashes of a value's own opening: a second pass
      // over "Authorization:[[REDACTED:authorization]" must not take "[[REDACTED:...]" for a value.
      const already = v === '' || maskOrPlaceholder(v);
      const kind = already ? null : r.rule.kind(v, g, site);
      if (kind === null) {
        if (!onlyThere && (r.rule.glued === undefined || g[r.rule.glued] === undefined)) {
          keptWithPrefixMasked(g, r, v);
          // After the prefix pass, which runs replacement() on matches of its own.
          rejectedMask = already;
          return null;
        }
        passedOver = true;
        return null;
      }
      // Before note(): kinds are listed in text order. Before maskedRule: the prefix pass sets it.
      const p = r.rule.rescanPrefix === true ? redactPrefix(g[r.pGroup] ?? '') : (g[r.pGroup] ?? '');
      note(kind);
      maskedRule = r.rule.id;
      if (r.rule.glued !== undefined && g[r.rule.glued] !== undefined) gluedMasked = true;
      return `${p}[REDACTED:${kind}]`;
    }
    return null;
  };
  /**
   * A turned-down value of a rule whose kept prefix may itself hold a secret (the user part of
   * "https://ghp_…:***@host", "curl -u AKIA…:***"): the value stays, the prefix is still masked.
   * The scan resumes at the value, so nothing else would look at the prefix again.
   */
  const keptWithPrefixMasked = (g: Groups, r: CompiledRule, v: string): null => {
    if (r.rule.rescanPrefix !== true) return null;
    const prefix = g[r.pGroup] ?? '';
    const p = redactPrefix(prefix);
    // The prefix pass ran replacement() on matches of its own: what it left in these is theirs.
    rejectedValue = v.length;
    rejectedPrefix = p !== prefix ? p : null;
    passedOver = false;
    return null;
  };
  // When replacement() returns null for a rule with a kept prefix that held a secret: that prefix, masked.
  let rejectedPrefix: string | null = null;
  // When replacement() returns null: true for a match to pass over (onlyInTurnedDown), as if the
  // regex had not matched there; false for a rejected match, whose value is scanned again.
  let passedOver = false;
  // When replacement() returns null for a rejected match: true when its value was already masked (a
  // mask or a placeholder, or one of our masks and what follows it: "--token [REDACTED:token]/x123-
  // 45-6789" on a second pass, where the first pass read the value "4111" and widened its mask over
  // the card). It is scanned again, but is no value a rule turned down for onlyInTurnedDown: what
  // follows the mask was in no value on the first pass, and a second pass must not mask it.
  let rejectedMask = false;
  // The rule of the value replacement() masked last: read right after it returns.
  let maskedRule = '';
  // Whether the last builtin pass masked a token glued to the word before it (redact() reads it).
  let gluedMasked = false;
  // When replacement() returns null: the length of the rejected value, which ends the match (a
  // match is exactly its kept prefix and its value); -1 if no rule claimed the match.
  let rejectedValue = -1;
  /**
   * Where the scan resumes after a rejected match at `at`: at its value, or one character on for
   * a rule with no kept prefix. Never after the match: the rejected value may begin or hold a
   * secret of another rule (or of this one) that the consumed span would hide ("session=4111 1111
   * 1111 1111": the value "4111" is too short for a session id, and once it is consumed twelve
   * digits are too few for the card rule). Always past `at`, so match starts only move forward.
   */
  const rescanFrom = (at: number, len: number): number => Math.min(Math.max(at + 1, at + len - rejectedValue), at + len);
  // All rules on a RegExp of their own: the prefix pass runs inside the exec loop of the
  // match it belongs to, whose lastIndex must survive. One level deep: a prefix is short and
  // its own matches' prefixes are left as they are.
  const prefixRules = active.length === 0 ? null : compile(active);
  let inPrefix = false;
  const redactPrefix = (p: string): string => {
    if (prefixRules === null || inPrefix) return p;
    inPrefix = true;
    try {
      return replaceBuiltin(p, prefixRules);
    } finally {
      inPrefix = false;
    }
  };
  // A card from its first digit on, with no boundary look-behind: maskEnd decides what may stand before it.
  const panFrom = families.has('pan') ? new RegExp(`\\d${PAN_REST}${PAN_END}`, 'iy') : null;
  // The card rule where a digit group starts (its own boundary), for gluedEnd.
  const panAt = families.has('pan') ? new RegExp(`\\d${PAN_BOUNDARY}${PAN_REST}${PAN_END}`, 'iy') : null;
  /**
   * Where the mask of a glued card [start, end) must end so that it unmasks no card the card rule finds
   * on its own: one that starts at a later group of the glued match and runs past it ("ab4008 4111 1111
   * 1111 1004 123": the glued card is the first four groups, the card rule's the last four and the
   * code). Without a glued rule that card was masked; the glued match alone shipped its last groups.
   */
  const gluedEnd = (text: string, start: number, end: number): number => {
    if (panAt === null) return end;
    let to = end;
    for (let s = start + 1; s < end; s++) {
      if (!isDigit(text.charCodeAt(s)) || isDigit(text.charCodeAt(s - 1))) continue;
      panAt.lastIndex = s;
      const m = panAt.exec(text);
      if (m !== null && s + m[0].length > to && isCardText(m[0])) to = s + m[0].length;
    }
    return to;
  };
  /**
   * Where a mask that ends at `end` must end so that it leaves no card digits
   * behind. A value stops at the first space ("X-Api-Key: 4111 1111 1111 1111",
   * "password=4111 …", "token=foo_4111 1111 1111 1111"), and a Basic credential or
   * a JWT's signature at the first "-" or ".": masked alone, the value would leave
   * 12 digits of the card in clear, too few for the card rule to see once the first
   * group is gone. So when the masked value ends with a card's first group (four
   * digits, no digit before them) and the groups after it make a card with it
   * (issuer prefix, length and Luhn, as the card rule checks), the mask takes the
   * whole number. What stands before the group inside the value does not matter:
   * "abc4111 1111 …" alone is no card (the card rule refuses a card glued to a
   * word), but here the value is masked already, and covering three more groups
   * costs nothing next to leaving twelve card digits after a mask. A value that is
   * the first group ("--password 4111 1111 …") is the same case.
   */
  const maskEnd = (text: string, end: number): number => {
    if (panFrom === null || maskedRule === 'pan') return end;
    // A card goes on past the value's last four digits (its first group) only through a group
    // separator: a cheap exit for nearly every mask.
    const next = text.charCodeAt(end);
    if (next !== 32 && next !== 45 && next !== 46) return end;
    // The first group: the last four characters before `end` are digits, and no digit precedes them
    // (outside the text charCodeAt gives NaN, no digit).
    const group = end - 4;
    if (isDigit(text.charCodeAt(group - 1))) return end;
    for (let i = group; i < end; i++) if (!isDigit(text.charCodeAt(i))) return end;
    panFrom.lastIndex = group;
    const m = panFrom.exec(text);
    if (m === null || group + m[0].length <= end) return end;
    return isCardText(m[0]) ? group + m[0].length : end;
  };
  /**
   * Where a card that follows a mask ending at `end` ends, or -1: the mask's last character a digit, then
   * ".", "-" or ",", then a card (issuer, length, Luhn). The card rule's boundary read that digit and
   * refused the card (a decimal, a dotted or dashed id: "123-45-6789.4111-…", "…1111,4111…"); once the
   * digit is masked, a second pass reads "]" there, and the card stands alone. The first pass reads it
   * so too, or redacting again would mask more. Only a digit then one of those three makes the card
   * rule look at what the mask covered; a mask ends before no digit, letter or "_" (every rule's value
   * runs to a delimiter, and cards and SSNs refuse them after).
   */
  const cardAfterMask = (text: string, end: number): number => {
    if (panFrom === null || !isDigit(text.charCodeAt(end - 1)) || !isDigit(text.charCodeAt(end + 1))) return -1;
    const sep = text.charCodeAt(end);
    if (sep !== 46 && sep !== 45 && sep !== 44) return -1;
    panFrom.lastIndex = end + 1;
    const m = panFrom.exec(text);
    return m !== null && isCardText(m[0]) ? end + 1 + m[0].length : -1;
  };
  /**
   * The masks of the cards cardAfterMask() finds from `from` on, each after its separator ("" if none),
   * for the exec loop `re` (its lastIndex moved past them). Sets cardsEnd to where they end.
   */
  const cardsAfter = (text: string, re: RegExp, from: number): string => {
    let s = '';
    cardsEnd = from;
    for (let e = cardAfterMask(text, cardsEnd); e > 0; e = cardAfterMask(text, cardsEnd)) {
      s += text.charAt(cardsEnd) + PAN_MASK;
      note('pan');
      cardsEnd = e;
      re.lastIndex = e;
    }
    return s;
  };
  // Where cardsAfter()'s masks end: read right after it returns.
  let cardsEnd = 0;
  /**
   * text.replace(re, fn) done by hand: String.prototype.replace with a function
   * and named groups goes through a slow runtime path (several times the cost of
   * an exec loop), and a rejected match ("PWD=/home/bob") needs no new string.
   */
  const replaceBuiltin = (text: string, c: Combined): string => {
    const re = c.re;
    re.lastIndex = 0;
    let out = '';
    let last = 0;
    let budget = rescanBudget(text.length);
    // The turned-down values scanned again so far, merged where they overlap (nested values): a
    // match starting in (downStart, downEnd) starts after a character of such a value.
    let downStart = -1;
    let downEnd = -1;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const at = m.index;
      const len = m[0].length;
      const g = m.groups ?? {};
      const r = replacement(g, c.rules, at > downStart && at < downEnd, { text, at, end: at + len });
      if (r !== null) {
        out += text.slice(last, at) + r;
        last = maskedRule === 'pan' && g['pan_g'] !== undefined ? gluedEnd(text, at, at + len) : maskEnd(text, at + len);
        if (last > at + len) re.lastIndex = last;
        out += cardsAfter(text, re, last);
        last = cardsEnd;
      } else if (passedOver) {
        re.lastIndex = at + 1;
      } else {
        const from = rescanFrom(at, len);
        if (rejectedPrefix !== null) {
          out += text.slice(last, at) + rejectedPrefix;
          last = from;
        }
        const again = at + len - from;
        if (again > 0 && (again <= RESCAN_FREE || again <= budget)) {
          // Only long values draw on the budget: see RESCAN_FREE.
          if (again > RESCAN_FREE) budget -= again;
          re.lastIndex = from;
          if (!rejectedMask) {
            if (from > downEnd) downStart = from;
            downEnd = Math.max(downEnd, at + len);
          }
        } else if (again > RESCAN_FREE) {
          // Past the budget only a crafted line gets here, and what such a value hides is
          // exactly what its author wants shipped: closed, not open.
          out += text.slice(last, from) + UNSCANNED;
          note('unscanned');
          // Like any mask: a value that ends with a card's first group takes the card with it, or the
          // twelve digits after it ship ("PWD=/srv/…/ab4111 1111 1111 1111" past a spent budget).
          maskedRule = '';
          last = maskEnd(text, at + len);
          if (last > at + len) re.lastIndex = last;
          out += cardsAfter(text, re, last);
          last = cardsEnd;
        }
      }
      // As replace() does: an empty match must not stall the scan (no builtin rule matches empty).
      if (len === 0) re.lastIndex = at + 1;
    }
    // Every replacement is a non-empty mask: an empty `out` means nothing was replaced.
    return out === '' ? text : out + text.slice(last);
  };
  /**
   * replaceBuiltin's result by String.prototype.replace, for the reference redactor. replace()
   * cannot step back into a rejected value, so at each rescan a new replace() starts there, with
   * the regex held to matches starting at or after that offset by a look-behind on the whole text
   * (a slice would cut the context the rules' look-behinds read). Slow; for tests only.
   */
  const replaceViaString = (text: string, c: Combined): string => {
    let out = '';
    let from = 0;
    let budget = rescanBudget(text.length);
    // As in replaceBuiltin, over all rounds.
    let downStart = -1;
    let downEnd = -1;
    for (;;) {
      const re = from === 0 ? c.re : new RegExp(`(?<=^[\\s\\S]{${from},})(?:${c.re.source})`, c.re.flags);
      let resume = -1; // where the next round starts, once this round met a rescanned rejection
      let cut = 0; // the length of this round's output up to `resume`
      let grown = 0; // this round's output length minus its input length, so far
      const done = text.replace(re, (...args: unknown[]) => {
        const match = args[0] as string;
        if (resume >= 0) return match; // past the rescan point: the next round decides
        const at = args[args.length - 3] as number;
        const r = replacement(args[args.length - 1] as Groups, c.rules, at > downStart && at < downEnd, { text, at, end: at + match.length });
        if (r !== null) {
          grown += r.length - match.length;
          return r;
        }
        if (passedOver) {
          // As if the regex had not matched here: the next round starts one character on.
          resume = at + 1;
          cut = resume + grown;
          return match;
        }
        const next = rescanFrom(at, match.length);
        const again = at + match.length - next;
        const head = rejectedPrefix ?? match.slice(0, next - at);
        grown += head.length - (next - at);
        if (again > 0 && (again <= RESCAN_FREE || again <= budget)) {
          if (again > RESCAN_FREE) budget -= again;
          resume = next;
          cut = next + grown;
          if (!rejectedMask) {
            if (next > downEnd) downStart = next;
            downEnd = Math.max(downEnd, at + match.length);
          }
        } else if (again > RESCAN_FREE) {
          note('unscanned');
          grown += UNSCANNED.length - again;
          return head + UNSCANNED;
        }
        return head + match.slice(next - at);
      });
      // Nothing starts before `from` in this round: done[0, from) is text[0, from), already in out.
      if (resume < 0) return out + done.slice(from);
      out += done.slice(from, cut);
      from = resume;
    }
  };
  const onCustom = custom.map((c) => (m: string): string => {
    if (m === '') return m;
    note(c.name);
    return c.mask;
  });

  return {
    redact(text: string): RedactResult {
      const mask = prescreen ? scan(text) : 0;
      if (mask === 0 && custom.length === 0 && prescreen) return { text, redactions: 0 };
      tally.count = 0;
      tally.kinds = undefined;
      const builtin = (t: string, m: number): string => {
        gluedMasked = false;
        if (m !== 0) return replaceBuiltin(t, combinedFor(m));
        if (!prescreen && everything !== null) return viaStringReplace ? replaceViaString(t, everything) : replaceBuiltin(t, everything);
        return t;
      };
      let out = builtin(text, mask);
      // A token right before a glued key ("AKIA…OP" + "AIza…", "ghp_…" + "sk_test_…") was refused by its
      // end boundary, the key's first letters going on its run; with the key masked, "[" ends it. Read
      // again, so that one pass masks what a second would (a redacted line redacts to itself), and the
      // token does not ship. Only lines where a glued key was masked (rare) pay for it; each pass masks
      // at least one glued key, which a pass over masks cannot find again, so this ends.
      for (let pass = 0; gluedMasked && pass < 4; pass++) out = builtin(out, prescreen ? scan(out) : 0);
      for (let i = 0; i < custom.length; i++) {
        const c = custom[i];
        const fn = onCustom[i];
        if (c === undefined || fn === undefined) continue;
        c.re.lastIndex = 0;
        if (c.re.test(out)) out = out.replace(c.re, fn);
      }
      return tally.count === 0 ? { text, redactions: 0 } : { text: out, redactions: tally.count, kinds: tally.kinds };
    },
  };
}

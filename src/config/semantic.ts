/**
 * Checks the schema cannot express: cross-field rules, regular expressions
 * that must compile, regex parser groups that must name fields a line may
 * set, globs, loopback-only metrics, plaintext opt-in. Pure: no file system
 * access (files.ts does that).
 *
 * Runs even when the schema found problems, so that one `logward check` lists
 * everything. A check only reads parts of the config the schema found valid:
 * each check names the paths it reads and is skipped when a schema finding
 * overlaps one of them (otherwise a wrong type there would crash the check or
 * produce a second, confusing line for the same mistake).
 *
 * `written` is the document as the user wrote it (before defaults), for the
 * rules that depend on whether a key was given at all.
 */

import picomatch from 'picomatch';
import { ECS_ALLOWED_VALUES, ECS_FIELDS } from '../ecs/generated.js';
import { groupProblem } from '../parse/regex.js';
import { closest, error, overlaps, warning, type ConfigPath, type Finding } from './finding.js';
import type { RawConfig, RawInput } from './schema-types.js';
import { parseDuration, parseSize } from './units.js';

const FILE_ONLY_KEYS = ['paths', 'exclude', 'follow_symlinks', 'multiline', 'partial_line_timeout'] as const;
const JOURNALD_ONLY_KEYS = ['units', 'directory'] as const;
const TLS_ONLY_KEYS = ['server_name', 'ca', 'cert', 'key', 'pin_sha256'] as const;
const BUILTIN_REDACTIONS = ['pan', 'national_id', 'password', 'credentials', 'api_keys', 'private_keys'];

export const MIN_MESSAGE_BYTES = 480;
/** Below this an event cannot keep any of its line (see output()): a warning, not an error (RFC 5424 allows 480). */
const ROOMY_MESSAGE_BYTES = 2048;
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Largest UDP payload over IPv4 (65535 - 8 UDP - 20 IP). */
const MAX_UDP_PAYLOAD = 65_507;

/** A written (pre-default) node, read defensively: it has not been validated. */
type Written = unknown;

function child(node: Written, ...keys: (string | number)[]): Written {
  let cur: unknown = node;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

function has(node: Written, key: string): boolean {
  return node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, key);
}

/** Compiles a user regular expression; returns the error message or the RegExp. */
export function compileRegex(source: string): RegExp | string {
  try {
    return new RegExp(source);
  } catch (e) {
    return e instanceof Error ? e.message.replace(/^Invalid regular expression: /, '') : String(e);
  }
}

/** Names of the named capture groups of a compiled pattern. */
export function namedGroups(source: string): string[] {
  // Alternation with the empty pattern always matches '', and the result then
  // lists every named group of the source (with undefined values).
  const m = new RegExp(`(?:${source})|`).exec('');
  return m?.groups === undefined ? [] : Object.keys(m.groups);
}

/** host:port -> parts. Assumes the schema pattern matched. */
export function splitHostPort(text: string, defaultPort?: number): { host: string; port: number } {
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    const port = text.slice(end + 2);
    return { host: text.slice(1, end), port: port === '' ? (defaultPort ?? NaN) : Number(port) };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { host: text, port: defaultPort ?? NaN };
  return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

const ECS: Readonly<Record<string, { readonly type?: string }>> = ECS_FIELDS;

/** True when `field` is an ECS field, or lies under an ECS field that holds free-form keys (labels.*). */
export function isKnownEcsField(field: string): boolean {
  if (Object.hasOwn(ECS, field)) return true;
  const parts = field.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const def = ECS[parts.slice(0, i).join('.')];
    if (def !== undefined) return def.type === 'object' || def.type === 'flattened';
  }
  return false;
}

/** Runs all semantic checks. `schemaFindings` decides which parts are safe to read. */
export function semanticChecks(raw: RawConfig, written: Written, schemaFindings: readonly Finding[]): Finding[] {
  return new SemanticChecks(raw, written, schemaFindings).run();
}

class SemanticChecks {
  private readonly out: Finding[] = [];

  constructor(
    private readonly raw: RawConfig,
    private readonly written: Written,
    private readonly schemaFindings: readonly Finding[],
  ) {}

  /** True when the schema found nothing at, above or below any of these paths: their values are as the schema promises. */
  private ok(...reads: ConfigPath[]): boolean {
    return !reads.some((r) => this.schemaFindings.some((f) => overlaps(f.path, r)));
  }

  /** Reads a value the schema validated (call only after ok(p)). */
  private value(p: ConfigPath): unknown {
    return child(this.raw, ...p);
  }

  private positiveDuration(p: ConfigPath): void {
    const v = this.value(p);
    if (this.ok(p) && typeof v === 'string' && parseDuration(v) <= 0) this.out.push(error(p, 'must be more than 0'));
  }

  private positiveSize(p: ConfigPath): void {
    const v = this.value(p);
    if (this.ok(p) && typeof v === 'string' && parseSize(v) <= 0) this.out.push(error(p, 'must be more than 0'));
  }

  run(): Finding[] {
    this.inputs();
    this.positiveDuration(['sources', 'rescan_interval']);
    this.positiveDuration(['sources', 'deleted_file_max_hold']);
    this.positiveSize(['processing', 'max_line_bytes']);
    this.customRedactions();
    this.output();
    this.monitoring();
    this.alerts();
    return this.out;
  }

  private inputs(): void {
    const inputs = this.value(['inputs']) as RawInput[] | undefined;
    if (!Array.isArray(inputs)) return;
    const firstById = new Map<string, number>();
    inputs.forEach((input, i) => {
      if (this.ok(['inputs', i, 'id'])) {
        const first = firstById.get(input.id);
        if (first === undefined) firstById.set(input.id, i);
        else this.out.push(error(['inputs', i, 'id'], `duplicate input id "${input.id}" (also inputs[${first}].id)`));
      }
      this.input(input, i, child(this.written, 'inputs', i));
    });
    if (inputs.length === 0) this.out.push(warning(['inputs'], "no inputs: only the agent's own events will be shipped"));
  }

  private glob(glob: string, p: ConfigPath, mustBeAbsolute: boolean): void {
    if (!this.ok(p)) return;
    if (glob.includes('\0')) {
      this.out.push(error(p, 'must not contain a NUL character'));
      return;
    }
    if (mustBeAbsolute && !glob.startsWith('/')) {
      this.out.push(error(p, `must be an absolute path or glob (got ${JSON.stringify(glob)})`));
      return;
    }
    try {
      picomatch.makeRe(glob, { strictBrackets: true });
    } catch (e) {
      this.out.push(error(p, `invalid glob: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  private input(input: RawInput, i: number, written: Written): void {
    const at = (...rest: (string | number)[]): ConfigPath => ['inputs', i, ...rest];
    if (!isObject(input) || !this.ok(at('type'))) return;
    const wrongKeys = input.type === 'file' ? JOURNALD_ONLY_KEYS : FILE_ONLY_KEYS;
    for (const key of wrongKeys) {
      if (has(written, key)) this.out.push(error(at(key), `not used by a ${input.type} input (${input.type === 'file' ? 'journald' : 'file'} inputs only)`));
    }
    // A field an input sets on every event, outside its ECS allowed list (`event.outcome: Failure`),
    // makes every event of the input fail the schema: each would ship as a schema_invalid stand-in.
    if (this.ok(at('fields')) && isObject(input.fields)) {
      for (const [field, value] of Object.entries(input.fields)) {
        this.allowedValues(field, value, at('fields', field), 'so every event of this input would fail the ECS schema and ship as a schema_invalid stand-in');
      }
    }
    if (this.ok(at('parser'), at('pattern'))) {
      if (input.parser !== 'regex' && input.pattern !== undefined) {
        this.out.push(error(at('pattern'), `only used with parser: regex (this input has parser: ${input.parser})`));
      }
      if (input.parser === 'regex' && input.pattern !== undefined) {
        const re = compileRegex(input.pattern);
        if (typeof re === 'string') this.out.push(error(at('pattern'), `invalid regular expression: ${re}`));
        else {
          const groups = namedGroups(input.pattern);
          if (groups.length === 0) {
            this.out.push(error(at('pattern'), 'has no named group: fields come from named groups such as (?<source__ip>\\S+) (__ for the dot)'));
          }
          // The parser's own rule (it refuses the same groups when it is made): one line per group.
          for (const group of groups) {
            const problem = groupProblem(group);
            if (problem !== undefined) this.out.push(error(at('pattern'), problem));
          }
        }
      }
    }
    if (input.type !== 'file') return;
    // glob() checks each item's own path, so one bad entry does not hide the others.
    if (Array.isArray(input.paths)) input.paths.forEach((p, j) => this.glob(p, at('paths', j), true));
    if (Array.isArray(input.exclude)) input.exclude.forEach((p, j) => this.glob(p, at('exclude', j), false));
    this.positiveDuration(at('partial_line_timeout'));
    if (isObject(input.multiline)) {
      if (this.ok(at('multiline', 'start'))) {
        const re = compileRegex(input.multiline.start);
        if (typeof re === 'string') this.out.push(error(at('multiline', 'start'), `invalid regular expression: ${re}`));
        else if (re.test('')) this.out.push(error(at('multiline', 'start'), 'matches an empty line, so every line would start an event'));
      }
      this.positiveSize(at('multiline', 'max_bytes'));
      this.positiveDuration(at('multiline', 'timeout'));
    }
  }

  private customRedactions(): void {
    const custom = this.value(['processing', 'redact', 'custom']);
    if (!Array.isArray(custom)) return;
    const names = new Map<string, number>();
    (custom as RawConfig['processing']['redact']['custom']).forEach((c, i) => {
      const at: ConfigPath = ['processing', 'redact', 'custom', i];
      if (this.ok([...at, 'name'])) {
        const first = names.get(c.name);
        if (first !== undefined) this.out.push(error([...at, 'name'], `duplicate name "${c.name}" (also processing.redact.custom[${first}].name)`));
        else names.set(c.name, i);
        if (BUILTIN_REDACTIONS.includes(c.name)) this.out.push(error([...at, 'name'], `"${c.name}" is the name of a built-in redaction; choose another`));
      }
      if (this.ok([...at, 'pattern'])) {
        const re = compileRegex(c.pattern);
        if (typeof re === 'string') this.out.push(error([...at, 'pattern'], `invalid regular expression: ${re}`));
        else if (re.test('')) this.out.push(error([...at, 'pattern'], 'matches the empty string, so it would match everywhere'));
      }
    });
  }

  private output(): void {
    const o = this.raw.output;
    const O = (...rest: (string | number)[]): ConfigPath => ['output', ...rest];
    const D = (...rest: (string | number)[]): ConfigPath => ['output', 'destination', ...rest];
    const wDest = child(this.written, 'output', 'destination');
    const maxMessage = this.ok(O('max_message_bytes')) ? parseSize(o.max_message_bytes) : undefined;
    if (maxMessage !== undefined && (maxMessage < MIN_MESSAGE_BYTES || maxMessage > MAX_MESSAGE_BYTES)) {
      this.out.push(error(O('max_message_bytes'), `must be between 480B and 1MiB (got ${o.max_message_bytes}); RFC 5424 receivers must accept 480 octets`));
    } else if (maxMessage !== undefined && maxMessage < ROOMY_MESSAGE_BYTES) {
      // Accepted (RFC 5424's floor), but an event's agent-side fields and its seal alone take about
      // 1-1.5 KiB: every event would lose its whole line to the cut and still be sent over the limit.
      this.out.push(
        warning(
          O('max_message_bytes'),
          `${o.max_message_bytes} cannot hold a sealed event (its agent fields and seal alone take about 1.5KiB): every event loses its text to the cut and is still sent over the limit; RFC 5425 receivers accept 2KiB, use at least that`,
        ),
      );
    }
    if (this.ok(D('protocol'), D('allow_insecure'))) {
      const d = o.destination;
      if (d.protocol !== 'tls') {
        if (!d.allow_insecure) {
          this.out.push(error(D('protocol'), `${d.protocol} sends events unencrypted and unauthenticated: set output.destination.allow_insecure: true to accept that, or use tls`));
        }
        for (const key of TLS_ONLY_KEYS) {
          if (has(wDest, key)) this.out.push(warning(D(key), `ignored with protocol ${d.protocol} (tls only)`));
        }
        if (d.protocol === 'udp' && maxMessage !== undefined && maxMessage > MAX_UDP_PAYLOAD) {
          this.out.push(error(O('max_message_bytes'), `at most ${MAX_UDP_PAYLOAD} bytes with protocol udp (one datagram per message)`));
        }
      } else {
        if (d.allow_insecure) this.out.push(warning(D('allow_insecure'), 'has no effect with protocol tls (certificates are always verified)'));
        if (this.ok(D('ca')) && d.ca === undefined) {
          this.out.push(error(D('ca'), "required with protocol tls: a PEM file of the CA certificate(s), or system for the operating system's trust store"));
        }
        if (this.ok(D('cert'), D('key'))) {
          if (d.cert !== undefined && d.key === undefined) this.out.push(error(D('key'), 'required when cert is set (mutual TLS needs both)'));
          if (d.key !== undefined && d.cert === undefined) this.out.push(error(D('cert'), 'required when key is set (mutual TLS needs both)'));
        }
      }
    }
    const hosts = this.value(D('hosts'));
    if (Array.isArray(hosts)) {
      const seen = new Map<string, number>();
      (hosts as string[]).forEach((h, i) => {
        if (!this.ok(D('hosts', i))) return;
        const { port } = splitHostPort(h);
        if (!(port >= 1 && port <= 65535)) this.out.push(error(D('hosts', i), `port must be 1 to 65535 (got ${port})`));
        const first = seen.get(h);
        if (first !== undefined) this.out.push(warning(D('hosts', i), `same host as hosts[${first}]`));
        else seen.set(h, i);
      });
    }
    this.positiveDuration(D('dead_after'));

    const bufferBytes = this.ok(O('buffer', 'max_bytes')) ? parseSize(o.buffer.max_bytes) : undefined;
    if (bufferBytes !== undefined && maxMessage !== undefined && bufferBytes <= maxMessage) {
      this.out.push(error(O('buffer', 'max_bytes'), `must be larger than output.max_message_bytes (${o.max_message_bytes})`));
    }
    if (bufferBytes !== undefined && this.ok(O('resend_window', 'bytes')) && parseSize(o.resend_window.bytes) >= bufferBytes) {
      this.out.push(error(O('resend_window', 'bytes'), `must be smaller than output.buffer.max_bytes (${o.buffer.max_bytes})`));
    }
    if (this.ok(O('buffer', 'fsync_interval'), O('buffer', 'fsync'))) {
      this.positiveDuration(O('buffer', 'fsync_interval'));
      if (o.buffer.fsync !== 'batch' && has(child(this.written, 'output', 'buffer'), 'fsync_interval')) {
        this.out.push(warning(O('buffer', 'fsync_interval'), `only used with fsync: batch (this buffer has fsync: ${o.buffer.fsync})`));
      }
    }
    if (this.ok(O('retry', 'min_delay'), O('retry', 'max_delay'))) {
      this.positiveDuration(O('retry', 'min_delay'));
      if (parseDuration(o.retry.min_delay) > parseDuration(o.retry.max_delay)) {
        this.out.push(error(O('retry', 'max_delay'), `must be at least output.retry.min_delay (${o.retry.min_delay})`));
      }
    }
  }

  private monitoring(): void {
    const m = this.raw.monitoring;
    const M = (...rest: (string | number)[]): ConfigPath => ['monitoring', ...rest];
    if (this.ok(M('metrics', 'listen'), M('metrics', 'allow_remote'))) {
      const listen = splitHostPort(m.metrics.listen);
      if (!(listen.port >= 0 && listen.port <= 65535)) {
        this.out.push(error(M('metrics', 'listen'), `port must be 0 to 65535 (got ${listen.port})`));
      }
      if (!m.metrics.allow_remote && !isLoopback(listen.host)) {
        this.out.push(
          error(
            M('metrics', 'listen'),
            `${listen.host} is not a loopback address; the metrics endpoint has no authentication (set monitoring.metrics.allow_remote: true to expose it anyway)`,
          ),
        );
      }
    }
    if (this.ok(M('clock', 'ntp_servers'))) {
      m.clock.ntp_servers.forEach((s, i) => {
        const { port } = splitHostPort(s, 123);
        if (!(port >= 1 && port <= 65535)) this.out.push(error(M('clock', 'ntp_servers', i), `port must be 1 to 65535 (got ${port})`));
      });
    }
    this.positiveDuration(M('heartbeat'));
    this.positiveDuration(M('clock', 'interval'));
    this.positiveDuration(M('clock', 'max_offset'));
    this.positiveDuration(M('silence', 'after'));
  }

  private alerts(): void {
    const alerts = this.value(['alerts']) as RawConfig['alerts'] | undefined;
    if (!Array.isArray(alerts)) return;
    const names = new Map<string, number>();
    alerts.forEach((rule, i) => {
      if (this.ok(['alerts', i, 'name'])) {
        const first = names.get(rule.name);
        if (first !== undefined) this.out.push(error(['alerts', i, 'name'], `duplicate rule name "${rule.name}" (also alerts[${first}].name)`));
        else names.set(rule.name, i);
      }
      this.alert(rule, i);
    });
  }

  private alert(rule: RawConfig['alerts'][number], i: number): void {
    if (!isObject(rule)) return;
    const A = (...rest: (string | number)[]): ConfigPath => ['alerts', i, ...rest];
    const unknown = (field: string, p: ConfigPath): void => {
      if (this.ok(p) && !isKnownEcsField(field)) {
        const guess = closest(field, Object.keys(ECS));
        const hint = guess === undefined ? 'check for a typo' : `did you mean ${guess}?`;
        this.out.push(warning(p, `${field} is not an ECS field; the rule only sees it if a parser or input sets it (${hint})`));
      }
    };
    if (isObject(rule.when)) {
      for (const field of Object.keys(rule.when)) {
        if (!this.ok(A('when', field))) continue;
        unknown(field, A('when', field));
        this.allowedValues(field, rule.when[field], A('when', field), 'no event ever carries it, so the rule never matches it');
      }
    }
    if (!this.ok(A('group_by'), A('distinct'), A('threshold'))) return;
    const groupBy = rule.group_by === undefined ? [] : Array.isArray(rule.group_by) ? rule.group_by : [rule.group_by];
    groupBy.forEach((field, j) => unknown(field, Array.isArray(rule.group_by) ? A('group_by', j) : A('group_by')));
    if (rule.distinct !== undefined) {
      unknown(rule.distinct, A('distinct'));
      if (groupBy.includes(rule.distinct) && rule.threshold > 1) {
        this.out.push(error(A('distinct'), `is also in group_by, so every group has exactly one distinct value and the rule could never reach threshold ${rule.threshold}`));
      }
    }
    this.positiveDuration(A('window'));
  }

  /**
   * A `when` value outside the field's ECS allowed list can never match: the json
   * and regex parsers move such a value to json.*, and the agent's own events use
   * the list. An error, not a warning: a configured rule replaces the built-in
   * one of the same name, so a typo there (`authentcation`) would switch the
   * built-in control off while `logward check` said ok.
   */
  private allowedValues(field: string, values: unknown, p: ConfigPath, consequence: string): void {
    const allowed = Object.hasOwn(ECS_ALLOWED_VALUES, field) ? ECS_ALLOWED_VALUES[field] : undefined;
    if (allowed === undefined || allowed.length === 0) return;
    const names = allowed.map((v) => v.name);
    const check = (v: unknown, at: ConfigPath): void => {
      const text = String(v);
      if (names.includes(text)) return;
      const guess = closest(text, names);
      const hint = guess === undefined ? `allowed: ${names.join(', ')}` : `did you mean ${JSON.stringify(guess)}?`;
      this.out.push(error(at, `${JSON.stringify(text)} is not an allowed value of ${field}, ${consequence}; ${hint}`));
    };
    if (Array.isArray(values)) values.forEach((v, j) => check(v, [...p, j]));
    else check(values, p);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

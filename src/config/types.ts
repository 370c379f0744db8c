/**
 * The normalized configuration the agent runs with.
 *
 * Naming scheme (one rule, no exceptions): YAML snake_case keys become
 * camelCase; every duration is a number of milliseconds whose name ends in
 * `Ms` (shutdown_grace -> shutdownGraceMs, window -> windowMs); every size is
 * a number of bytes whose name ends in `Bytes`, or is the YAML key itself when
 * that already says bytes (max_bytes -> maxBytes, resend_window.bytes -> bytes).
 * host:port strings become { host, port } (IPv6 without brackets); relative
 * file paths are resolved against the configuration file's directory; every
 * default has been filled in.
 */

export type ParserName = 'auto' | 'json' | 'syslog' | 'nginx' | 'apache' | 'auth' | 'regex' | 'plain';
export type BuiltinRedaction = 'pan' | 'national_id' | 'password' | 'credentials' | 'api_keys' | 'private_keys';
export type FieldScalar = string | number | boolean;

export interface HostPort {
  /** Host name or IP address; IPv6 without the brackets. */
  readonly host: string;
  readonly port: number;
}

export interface MultilineConfig {
  /** Regular expression source matching the first line of an event. */
  readonly start: string;
  readonly maxLines: number;
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

interface InputCommon {
  readonly id: string;
  readonly parser: ParserName;
  /** Regular expression source with named groups; present exactly when parser is 'regex'. */
  readonly pattern?: string;
  /** Where to start without a checkpoint (files first seen; journal without a cursor). */
  readonly startAt: 'beginning' | 'end';
  /** Fields added to every event of this input, by dotted ECS name. */
  readonly fields: Readonly<Record<string, string | number>>;
}

export interface FileInputConfig extends InputCommon {
  readonly type: 'file';
  /** Absolute paths or globs. */
  readonly paths: readonly string[];
  /** Globs matched against the base name, or the full path when the glob contains '/'. */
  readonly exclude: readonly string[];
  readonly followSymlinks: boolean;
  /** Absent: every line is an event. */
  readonly multiline?: MultilineConfig;
  readonly partialLineTimeoutMs: number;
}

export interface JournaldInputConfig extends InputCommon {
  readonly type: 'journald';
  /** Unit names or globs; empty means every unit. */
  readonly units: readonly string[];
  /** journalctl --directory; absent means the system journal. */
  readonly directory?: string;
}

export type InputConfig = FileInputConfig | JournaldInputConfig;

export interface DestinationConfig {
  readonly protocol: 'tls' | 'tcp' | 'udp';
  readonly allowInsecure: boolean;
  /** Failover order. Never empty. */
  readonly hosts: readonly HostPort[];
  /** Name to verify (and SNI) instead of each host's own name. */
  readonly serverName?: string;
  /** CA file; absent with systemCa true (`ca: system`) or with tcp/udp. */
  readonly caFile?: string;
  /** True when `ca: system`: verify against the operating system's trust store. */
  readonly systemCa: boolean;
  /** Client certificate (PEM, may hold the chain); set exactly when keyFile is. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Fingerprints normalized to Node's X509Certificate.fingerprint256 form: "AB:CD:…" upper case. */
  readonly pinSha256: readonly string[];
  readonly deadAfterMs: number;
}

export interface AlertRuleConfig {
  readonly name: string;
  /** Field -> accepted values (a single value in YAML becomes a one-element list). */
  readonly when: Readonly<Record<string, readonly FieldScalar[]>>;
  /** Fields forming the group; empty means one group for everything. */
  readonly groupBy: readonly string[];
  readonly distinct?: string;
  readonly threshold: number;
  readonly windowMs: number;
  readonly webhook?: string;
}

export interface Config {
  /** Absolute path of the configuration file ('' when built from text without a file). */
  readonly file: string;
  readonly agent: {
    /** Default: os.hostname(). */
    readonly id: string;
    readonly stateDir: string;
    readonly shutdownGraceMs: number;
  };
  readonly inputs: readonly InputConfig[];
  readonly sources: {
    readonly maxOpenFiles: number;
    readonly rescanIntervalMs: number;
    readonly deletedFileMaxHoldMs: number;
    readonly checkpointExpiryMs: number;
  };
  readonly processing: {
    readonly maxLineBytes: number;
    readonly redact: {
      readonly builtin: readonly BuiltinRedaction[];
      readonly custom: readonly { readonly name: string; readonly pattern: string }[];
    };
  };
  readonly output: {
    readonly format: 'ecs' | 'cef';
    readonly cef: { readonly vendor: string; readonly product: string };
    readonly sdId: string;
    readonly maxMessageBytes: number;
    readonly destination: DestinationConfig;
    readonly buffer: {
      readonly maxBytes: number;
      readonly whenFull: 'block' | 'drop_oldest';
      /** always: fsync every write; batch: every fsyncIntervalMs, offsets committed after it; never: OS decides. */
      readonly fsync: 'always' | 'batch' | 'never';
      readonly fsyncIntervalMs: number;
    };
    readonly resendWindow: { readonly bytes: number; readonly ageMs: number };
    readonly retry: { readonly minDelayMs: number; readonly maxDelayMs: number };
  };
  readonly integrity: { readonly keyFile: string };
  readonly monitoring: {
    readonly metrics: { readonly listen: HostPort; readonly allowRemote: boolean };
    readonly heartbeatMs: number;
    /** ntpServers empty: drift is not monitored. Port defaults to 123. */
    readonly clock: { readonly ntpServers: readonly HostPort[]; readonly intervalMs: number; readonly maxOffsetMs: number };
    readonly silence: { readonly afterMs: number };
  };
  readonly alerts: readonly AlertRuleConfig[];
}

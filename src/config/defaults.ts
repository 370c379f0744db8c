/**
 * Every default of the configuration, in the user's terms (YAML keys, duration
 * and size strings), as schemas/config.schema.json declares them. The schema is
 * what fills them in at load time (ajv useDefaults); this copy exists for
 * documentation and callers that want a value without loading a file, and
 * test/config/schema.test.ts proves it equals the schema's.
 *
 * Keys without a default (agent.id -> host name, output.destination.hosts, ca,
 * cert, key, server_name, per-input keys, alert rules) are not here.
 */

export const CONFIG_DEFAULTS = {
  agent: { state_dir: '/var/lib/logward', shutdown_grace: '10s' },
  inputs: [] as const,
  /** Per-input defaults, applied to each inputs[] item. */
  input: {
    type: 'file',
    exclude: [] as const,
    parser: 'auto',
    start_at: 'end',
    follow_symlinks: false,
    partial_line_timeout: '5s',
    fields: {},
    units: [] as const,
    multiline: { max_lines: 500, max_bytes: '256KiB', timeout: '2s' },
  },
  sources: { max_open_files: 1024, rescan_interval: '10s', deleted_file_max_hold: '5m', checkpoint_expiry: '7d' },
  processing: {
    max_line_bytes: '64KiB',
    redact: {
      builtin: ['pan', 'national_id', 'password', 'credentials', 'api_keys', 'private_keys'] as const,
      custom: [] as const,
    },
  },
  output: {
    format: 'ecs',
    cef: { vendor: 'logward', product: 'logward' },
    sd_id: 'logward@32473',
    max_message_bytes: '64KiB',
    destination: { protocol: 'tls', allow_insecure: false, pin_sha256: [] as const, dead_after: '30s' },
    buffer: { max_bytes: '1GiB', when_full: 'block', fsync: 'batch', fsync_interval: '1s' },
    resend_window: { bytes: '4MiB', age: '30s' },
    retry: { min_delay: '500ms', max_delay: '60s' },
  },
  integrity: { key_file: '/etc/logward/hmac.key' },
  monitoring: {
    metrics: { listen: '127.0.0.1:9880', allow_remote: false },
    heartbeat: '60s',
    clock: { ntp_servers: [] as const, interval: '5m', max_offset: '500ms' },
    silence: { after: '15m' },
  },
  alerts: [] as const,
} as const;

/** Where the installer puts the configuration, and what `-c` defaults to in the CLI if it chooses to. */
export const DEFAULT_CONFIG_FILE = '/etc/logward/logward.yaml';

/**
 * The configuration as written (YAML key names, duration and size strings),
 * after ajv has validated it and filled the schema's defaults. Only load.ts,
 * semantic.ts and normalize.ts see this shape; the rest of the agent uses the
 * normalized `Config` from types.ts.
 *
 * Keys that the schema gives no default stay optional here. Kept by hand in
 * step with schemas/config.schema.json; test/config/schema.test.ts checks that
 * every schema key has its place in the normalized form.
 */

export type RawFieldValue = string | number | boolean;

export interface RawMultiline {
  start: string;
  max_lines: number;
  max_bytes: string;
  timeout: string;
}

export interface RawInput {
  id: string;
  type: 'file' | 'journald';
  paths?: string[];
  exclude: string[];
  parser: 'auto' | 'json' | 'syslog' | 'nginx' | 'apache' | 'auth' | 'regex' | 'plain';
  pattern?: string;
  start_at: 'beginning' | 'end';
  follow_symlinks: boolean;
  multiline?: RawMultiline;
  partial_line_timeout: string;
  fields: Record<string, string | number>;
  units: string[];
  directory?: string;
}

export interface RawAlert {
  name: string;
  when: Record<string, RawFieldValue | RawFieldValue[]>;
  group_by?: string | string[];
  distinct?: string;
  threshold: number;
  window: string;
  webhook?: string;
}

export type RawBuiltinRedaction = 'pan' | 'national_id' | 'password' | 'credentials' | 'api_keys' | 'private_keys';

export interface RawConfig {
  agent: { id?: string; state_dir: string; shutdown_grace: string };
  inputs: RawInput[];
  sources: {
    max_open_files: number;
    rescan_interval: string;
    deleted_file_max_hold: string;
    checkpoint_expiry: string;
  };
  processing: {
    max_line_bytes: string;
    redact: { builtin: RawBuiltinRedaction[]; custom: { name: string; pattern: string }[] };
  };
  output: {
    format: 'ecs' | 'cef';
    cef: { vendor: string; product: string };
    sd_id: string;
    max_message_bytes: string;
    destination: {
      protocol: 'tls' | 'tcp' | 'udp';
      allow_insecure: boolean;
      hosts: string[];
      server_name?: string;
      ca?: string;
      cert?: string;
      key?: string;
      pin_sha256: string[];
      dead_after: string;
    };
    buffer: { max_bytes: string; when_full: 'block' | 'drop_oldest'; fsync: 'always' | 'batch' | 'never'; fsync_interval: string };
    resend_window: { bytes: string; age: string };
    retry: { min_delay: string; max_delay: string };
  };
  integrity: { key_file: string };
  monitoring: {
    metrics: { listen: string; allow_remote: boolean };
    heartbeat: string;
    clock: { ntp_servers: string[]; interval: string; max_offset: string };
    silence: { after: string };
  };
  alerts: RawAlert[];
}

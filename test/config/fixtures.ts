/** Fixtures shared by the config tests: DESIGN.md's config block verbatim, and temp-dir helpers. */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The configuration block of /work/shared/DESIGN.md, copied as is (its files do not exist here). */
export const DESIGN_CONFIG = `agent:
  id: web-01                      # default: host name
  state_dir: /var/lib/logward     # checkpoints, queue, sequence
  shutdown_grace: 10s
inputs:
  - id: nginx
    type: file                    # file | journald
    paths: ["/var/log/nginx/access.log*"]   # globs; rotated names may match
    exclude: ["*.gz"]
    parser: nginx
    start_at: end                 # beginning | end, for files first seen
    follow_symlinks: false
    multiline: { start: '^\\d{4}-\\d{2}-\\d{2}', max_lines: 500, max_bytes: 256KiB, timeout: 2s }
    partial_line_timeout: 5s      # flush a last line that never gets its newline
    fields: { service.name: shop }
  - id: system
    type: journald                # journalctl -o json --follow, cursor checkpointed
    units: ["ssh.service"]        # optional filters
    directory: /var/log/journal   # optional: read journal files from here (tests use it)
sources:
  max_open_files: 1024
  rescan_interval: 10s
  deleted_file_max_hold: 5m       # then release, count what was unread
  checkpoint_expiry: 7d
processing:
  max_line_bytes: 64KiB
  redact:
    builtin: [pan, national_id, password, credentials, api_keys, private_keys]
    custom: [{ name: employee_id, pattern: 'EMP-\\d{6}' }]
output:
  format: ecs                     # ecs | cef
  cef: { vendor: logward, product: logward }
  sd_id: logward@32473            # SD-ID for seq/session/chain (32473: example PEN; set your own)
  max_message_bytes: 64KiB
  destination:
    protocol: tls                 # tls | tcp | udp (tcp/udp need allow_insecure: true)
    allow_insecure: false
    hosts: ["siem.example.com:6514", "siem-b.example.com:6514"]  # failover in order
    server_name: siem.example.com # optional override of each host's name
    ca: /etc/logward/ca.pem
    cert: /etc/logward/client.pem # optional: mutual TLS
    key: /etc/logward/client.key
    pin_sha256: []                # optional certificate fingerprints
    dead_after: 30s               # a connection that does not drain is dead
  buffer: { max_bytes: 1GiB, when_full: block, fsync: batch, fsync_interval: 1s }
  resend_window: { bytes: 4MiB, age: 30s }
  retry: { min_delay: 500ms, max_delay: 60s }
integrity: { key_file: /etc/logward/hmac.key }
monitoring:
  metrics: { listen: 127.0.0.1:9880 }
  heartbeat: 60s
  clock: { ntp_servers: ["ntp.example.com", "10.0.0.5:123"], interval: 5m, max_offset: 500ms }
  silence: { after: 15m }         # alert when an input that was active goes quiet
alerts:                           # the default set ships built in; these add to it
  - name: credential-stuffing
    when: { event.category: authentication, event.outcome: failure }
    group_by: source.ip
    threshold: 10
    window: 60s
  - name: password-spraying
    when: { event.category: authentication, event.outcome: failure }
    group_by: source.ip
    distinct: user.name           # count distinct values instead of events
    threshold: 5
    window: 5m
  - name: web-auth-failures
    when: { http.response.status_code: [401, 403] }   # a list = any of
    group_by: source.ip
    threshold: 20
    window: 60s
    webhook: https://hooks.example.com/soc            # optional
`;

/** The smallest valid configuration: everything else defaults. */
export const MINIMAL_CONFIG = `output:
  destination:
    hosts: ["siem.example.com:6514"]
    ca: /etc/logward/ca.pem
`;

export const EXAMPLE_CONFIG_FILE = new URL('../../examples/logward.yaml', import.meta.url);

/** A fresh temp dir and a function that removes it. */
export function tempDir(prefix = 'logward-config-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

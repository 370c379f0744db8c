/**
 * event.id is derived, not random: (agent id, source identity, offset or
 * cursor) always gives the same id, so a line re-read after a crash and a frame
 * replayed after a reconnect carry the same id and the SIEM can drop the copy.
 *
 * For file offsets the id is a per-identity prefix (hashed once and cached)
 * plus the offset in hex: one hash per file instead of one per line. Cursors
 * are opaque strings and are hashed whole.
 */
import { createHash } from 'node:crypto';

import type { SourceRef } from './types.js';

const PREFIX_HEX = 20;
const MAX_CACHED_PREFIXES = 4096;

export class EventIdDeriver {
  private readonly prefixes = new Map<string, string>();

  constructor(private readonly agentId: string) {}

  derive(source: SourceRef): string {
    if (source.cursor !== undefined) {
      return sha256Hex(`${this.agentId}\0${source.identity}\0c:${source.cursor}`).slice(0, 32);
    }
    const offset = source.offset ?? 0;
    return `${this.prefix(source.identity)}-${offset.toString(16)}`;
  }

  private prefix(identity: string): string {
    let p = this.prefixes.get(identity);
    if (p === undefined) {
      // Bounded: an agent that has seen thousands of rotated files must not grow without end.
      if (this.prefixes.size >= MAX_CACHED_PREFIXES) this.prefixes.clear();
      p = sha256Hex(`${this.agentId}\0${identity}`).slice(0, PREFIX_HEX);
      this.prefixes.set(identity, p);
    }
    return p;
  }
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

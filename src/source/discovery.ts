/**
 * Discovery (the paths provider): which regular files match the input's globs.
 *
 * - Globs and excludes are matched with picomatch against absolute paths; an
 *   exclude without "/" (like "*.gz") matches the base name.
 * - scan() walks the globs' base directories itself (Node 20 has no fs.glob),
 *   with lstat: symlinks are skipped unless followSymlinks (a symlink dropped
 *   into a writable log directory must not ship /etc/shadow); only regular
 *   files are returned (a FIFO would block the reader).
 * - chokidar 5 (no glob support) watches the base directories and only says
 *   "something changed": add/unlink ask for a rescan, change wakes the reader.
 *   The source also rescans every rescan_interval, because inotify events get
 *   lost (queue overflow, directories replaced).
 * PathsProvider is the seam: tests can feed a fixed list.
 */
import { readdir, lstat, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import picomatch from 'picomatch';
import { watch, type FSWatcher } from 'chokidar';
import type { Counters } from '../monitor/counters.js';

export interface DiscoveredFile {
  readonly path: string;
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: number;
  readonly mtimeMs: number;
  readonly btimeNs: bigint;
}

export interface PathsProvider {
  scan(): Promise<DiscoveredFile[]>;
  /** Whether a scan would list this path if a file were there (globs and excludes). Absent: every path. */
  covers?(path: string): boolean;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

export interface DiscoveryOptions {
  readonly paths: readonly string[];
  readonly exclude: readonly string[];
  readonly followSymlinks: boolean;
}

export interface DiscoveryEvents {
  /** A file or directory appeared or vanished: rescan soon. */
  rescan(): void;
  /** A known path changed: read it. */
  changed(path: string): void;
}

interface Root {
  dir: string;
  depth: number;
}

const MAX_DEPTH = 32;

/** Glob and exclude matching for absolute paths. */
export class GlobMatcher {
  private readonly include: (p: string) => boolean;
  private readonly excludeFull: (p: string) => boolean;
  private readonly excludeBase: (p: string) => boolean;
  readonly roots: readonly Root[];

  constructor(paths: readonly string[], exclude: readonly string[]) {
    const abs = paths.map((p) => resolve(p));
    this.include = abs.length > 0 ? picomatch(abs, { dot: true }) : () => false;
    const full = exclude.filter((e) => e.includes('/')).map((e) => resolve(e));
    const base = exclude.filter((e) => !e.includes('/'));
    this.excludeFull = full.length > 0 ? picomatch(full, { dot: true }) : () => false;
    this.excludeBase = base.length > 0 ? picomatch(base, { dot: true }) : () => false;
    const roots = new Map<string, number>();
    for (const g of abs) {
      const s = picomatch.scan(g);
      let dir: string;
      let depth: number;
      if (!s.isGlob) {
        dir = dirname(g);
        depth = 0;
      } else {
        dir = s.base === '' ? '/' : s.base;
        depth = s.glob.includes('**') ? MAX_DEPTH : s.glob.split('/').length - 1;
      }
      roots.set(dir, Math.max(depth, roots.get(dir) ?? 0));
    }
    this.roots = [...roots].map(([dir, depth]) => ({ dir, depth }));
  }

  matches(path: string): boolean {
    return this.include(path) && !this.excludeFull(path) && !this.excludeBase(basename(path));
  }
}

export class Discovery implements PathsProvider {
  readonly matcher: GlobMatcher;
  private watcher: FSWatcher | undefined;

  constructor(
    private readonly opts: DiscoveryOptions,
    private readonly events: DiscoveryEvents,
    private readonly counters: Counters,
  ) {
    this.matcher = new GlobMatcher(opts.paths, opts.exclude);
  }

  async start(): Promise<void> {
    const dirs = this.matcher.roots.map((r) => r.dir);
    const depth = Math.max(0, ...this.matcher.roots.map((r) => r.depth));
    const w = watch(dirs, {
      ignoreInitial: true,
      depth,
      followSymlinks: this.opts.followSymlinks,
      ignorePermissionErrors: true,
      // Quick unlink+add pairs are exactly the rotations we must see.
      atomic: false,
      ignored: (p, st) => st !== undefined && st.isFile() && !this.matcher.matches(p),
    });
    w.on('add', () => this.events.rescan());
    w.on('unlink', () => this.events.rescan());
    w.on('addDir', () => this.events.rescan());
    w.on('unlinkDir', () => this.events.rescan());
    w.on('change', (p) => this.events.changed(p));
    w.on('error', () => {
      // The periodic rescan covers what the watcher misses.
      this.counters.add('source_watch_errors');
    });
    this.watcher = w;
    await new Promise<void>((res) => w.once('ready', () => res()));
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    this.watcher = undefined;
  }

  covers(path: string): boolean {
    return this.matcher.matches(resolve(path));
  }

  async scan(): Promise<DiscoveredFile[]> {
    const out: DiscoveredFile[] = [];
    const seen = new Set<string>();
    for (const root of this.matcher.roots) await this.walk(root.dir, root.depth, out, seen);
    return out;
  }

  private async walk(dir: string, depth: number, out: DiscoveredFile[], seen: Set<string>): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.counters.add('source_scan_errors');
      return;
    }
    for (const d of entries) {
      const full = join(dir, d.name);
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      if (d.isSymbolicLink()) {
        if (!this.opts.followSymlinks) continue;
        const st = await stat(full).catch(() => undefined);
        if (!st) continue;
        isDir = st.isDirectory();
        isFile = st.isFile();
      }
      if (isDir) {
        if (depth > 0) await this.walk(full, depth - 1, out, seen);
        continue;
      }
      if (!isFile || seen.has(full) || !this.matcher.matches(full)) continue;
      seen.add(full);
      const st = await (this.opts.followSymlinks ? stat(full, { bigint: true }) : lstat(full, { bigint: true })).catch(
        (err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') this.counters.add('source_scan_errors');
          return undefined;
        },
      );
      if (!st || !st.isFile()) continue;
      out.push({
        path: full,
        dev: st.dev,
        ino: st.ino,
        size: Number(st.size),
        mtimeMs: Number(st.mtimeMs),
        btimeNs: st.birthtimeNs,
      });
    }
  }
}

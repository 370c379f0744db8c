/**
 * One connection's life: pump frames from the source into the socket until
 * the connection fails, dies, or is asked to end.
 *
 * Invariants:
 * - Starts at source.rewind() (replayPosition() for a source without it): a
 *   new connection always replays the queue's resend window, because a
 *   returned write() is not a delivery, and what earlier connections sent
 *   unacknowledged is forgotten by the source.
 * - markSent(id) only after the write carrying that id was handed to the
 *   socket.
 * - Memory is bounded: at most one batch (~maxBatchBytes) is in flight beyond
 *   the socket's high-water mark; when write() returns false the pump waits
 *   for 'drain'.
 * - A connection that does not drain for deadAfterMs is destroyed (kernel
 *   retransmission alone can take 15 minutes to give up on a dead peer).
 * - So is one whose written bytes stay unacknowledged for deadAfterMs (see
 *   unacked-watch.ts): on a quiet stream every write drains into the kernel
 *   at once, and only the kernel's tx_queue shows that nothing arrives.
 * - Bytes from the peer are counted and dropped, never parsed (one way).
 */

import type net from 'node:net';
import { discardIncoming } from './discard.js';
import { encodeFrames } from './framing.js';
import type { Counters } from '../monitor/counters.js';
import type { FrameSource } from './types.js';
import { type UnackedReader, type UnackedWatch, watchSocket } from './unacked-watch.js';

export type SessionEndKind =
  /** The stop was requested and everything available was sent (or the grace ran out). */
  | 'stopped'
  /** Asked to end so that the sink can move back to its first host. */
  | 'failback'
  /** The peer closed, or the socket failed (see error). */
  | 'closed'
  /** No drain, or nothing acknowledged, for deadAfterMs: destroyed (see deadCause). */
  | 'dead'
  /** The source failed to read (see error); the connection is not to blame. */
  | 'source_error';

export interface SessionEnd {
  kind: SessionEndKind;
  error?: Error;
  /** True when the session wrote anything. */
  wrote: boolean;
  /** With kind 'dead': a write that did not drain, or written bytes the peer never acknowledged. */
  deadCause?: DeadCause;
}

export type DeadCause = 'no_drain' | 'unacked';

export interface SessionOptions {
  maxBatchBytes: number;
  deadAfterMs: number;
  /** Reads the kernel's unacknowledged byte counts (one per sink); absent: only the no-drain check. */
  unacked?: UnackedReader;
}

type Wake = 'data' | 'closed' | 'drain' | 'end' | 'timeout' | 'source_error';

/** What an end request does to a wait in progress. */
type OnEnd = 'return' | 'bound_by_stop' | 'ignore';

const NEVER = new Promise<Wake>(() => undefined);

export class StreamSession {
  private closed = false;
  private error: Error | undefined;
  private endRequest: 'stopped' | 'failback' | undefined;
  private stopDeadline = Infinity;
  private wake: ((w: Wake) => void) | undefined;
  private wrote = false;
  /** Set when the unacknowledged-bytes watch declared the peer dead (the socket is destroyed then). */
  private dead = false;
  private watch: UnackedWatch | undefined;
  lastSendAt: number | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly source: FrameSource,
    private readonly counters: Counters,
    private readonly opts: SessionOptions,
  ) {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    discardIncoming(socket, counters);
    socket.on('error', (err: Error) => {
      this.error ??= err;
    });
    socket.on('close', () => {
      this.closed = true;
      this.watch?.stop();
      this.signal('closed');
    });
    // Peer half-closed: a receiver has no reason to stop reading; treat it as gone.
    socket.on('end', () => socket.destroy());
  }

  /** Bytes written but still held by Node (not yet in the kernel). */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  /** The first socket error seen, if any. */
  get socketError(): Error | undefined {
    return this.error;
  }

  /** Send what is available, then close with close_notify; give up at the deadline. */
  requestStop(deadline: number): void {
    this.endRequest = 'stopped';
    this.stopDeadline = Math.min(this.stopDeadline, deadline);
    this.signal('end');
  }

  /** End at the next batch boundary so the sink can reconnect to its first host. */
  requestFailback(): void {
    this.endRequest ??= 'failback';
    this.signal('end');
  }

  async run(): Promise<SessionEnd> {
    if (this.opts.unacked && !this.closed) {
      const { socket } = this;
      this.watch = watchSocket(this.opts.unacked, socket, {
        deadAfterMs: this.opts.deadAfterMs,
        pending: () => socket.writableLength,
        onDead: () => this.unackedDead(),
      });
    }
    try {
      return await this.pump();
    } finally {
      // Every way out of the session ends the watch's timer.
      this.watch?.stop();
    }
  }

  private async pump(): Promise<SessionEnd> {
    let position = this.source.rewind?.() ?? this.source.replayPosition();
    const { socket } = this;
    for (;;) {
      if (this.closed) return this.ended('closed');
      if (this.endRequest === 'failback') return await this.closeGracefully('failback');
      if (this.endRequest === 'stopped' && Date.now() >= this.stopDeadline) {
        socket.destroy();
        return this.ended('stopped');
      }
      let batch: { id: bigint; payload: Buffer }[];
      try {
        batch = await this.source.readFrom(position, this.opts.maxBatchBytes);
      } catch (err) {
        socket.destroy();
        return { kind: 'source_error', error: err as Error, wrote: this.wrote };
      }
      if (this.closed) return this.ended('closed');
      const last = batch[batch.length - 1];
      if (last === undefined) {
        if (this.endRequest === 'stopped') return await this.closeGracefully('stopped');
        if (this.endRequest === 'failback') continue;
        let failure: Error | undefined;
        const data = this.source.waitForData(position).then(
          () => 'data' as const,
          (err: unknown) => {
            failure = err as Error;
            return 'source_error' as const;
          },
        );
        const w = await this.waitFor(data, Infinity, 'return');
        if (w === 'source_error') {
          socket.destroy();
          return { kind: 'source_error', wrote: this.wrote, ...(failure ? { error: failure } : {}) };
        }
        continue;
      }
      const buf = encodeFrames(batch.map((r) => r.payload));
      const flushed = socket.write(buf);
      this.wrote = true;
      position = last.id;
      this.source.markSent(position);
      this.lastSendAt = Date.now();
      this.counters.add('frames_written', batch.length);
      this.counters.add('bytes_written', buf.length);
      this.watch?.noteWrite(buf.length);
      if (!flushed) {
        this.watch?.noteBlocked();
        const drained = new Promise<Wake>((resolve) => socket.once('drain', () => resolve('drain')));
        const w = await this.waitFor(drained, this.opts.deadAfterMs, 'bound_by_stop');
        if (w === 'timeout') {
          socket.destroy();
          if (this.endRequest === 'stopped' && Date.now() >= this.stopDeadline) return this.ended('stopped');
          this.counters.add('connections_dead');
          return { kind: 'dead', wrote: this.wrote, deadCause: 'no_drain' };
        }
        if (w === 'drain') this.watch?.noteDrain();
      }
    }
  }

  /** The watch saw written bytes unacknowledged for deadAfterMs: end like a connection that does not drain. */
  private unackedDead(): void {
    if (this.closed || this.dead) return;
    this.dead = true;
    this.counters.add('connections_dead');
    this.counters.add('connections_dead_unacked');
    // 'close' follows and wakes whatever the pump waits for; ended() reports 'dead'.
    this.socket.destroy();
  }

  private ended(kind: 'closed' | 'stopped'): SessionEnd {
    if (this.dead) return { kind: 'dead', wrote: this.wrote, deadCause: 'unacked' };
    if (kind === 'closed' && this.endRequest === 'stopped') kind = 'stopped';
    return { kind, wrote: this.wrote, ...(this.error ? { error: this.error } : {}) };
  }

  /** close_notify + FIN after the pending writes; destroy if that does not finish in time. */
  private async closeGracefully(kind: 'stopped' | 'failback'): Promise<SessionEnd> {
    const { socket } = this;
    if (!this.closed) {
      socket.end();
      const limit = Math.min(this.opts.deadAfterMs, kind === 'stopped' ? this.stopDeadline - Date.now() : Infinity);
      await this.waitFor(NEVER, Math.max(0, limit), 'ignore');
      if (!this.closed) socket.destroy();
    }
    if (this.dead) return { kind: 'dead', wrote: this.wrote, deadCause: 'unacked' };
    return { kind, wrote: this.wrote };
  }

  /**
   * Wait for `what`, the socket closing, or the timeout ('timeout'). An end
   * request returns 'end', is ignored, or (waiting for drain) bounds the wait
   * by the stop deadline. One wake callback instead of Promise.race: racing
   * long-lived promises leaks a reaction per wait.
   */
  private waitFor(what: Promise<Wake>, timeoutMs: number, onEnd: OnEnd): Promise<Wake> {
    if (this.closed) return Promise.resolve('closed');
    return new Promise<Wake>((resolve) => {
      const deadline = Date.now() + timeoutMs;
      let timer: NodeJS.Timeout | undefined;
      let finished = false;
      const done = (w: Wake): void => {
        if (finished) return;
        finished = true;
        if (this.wake === onWake) this.wake = undefined;
        if (timer) clearTimeout(timer);
        resolve(w);
      };
      const arm = (): void => {
        const until = onEnd === 'bound_by_stop' ? Math.min(deadline, this.stopDeadline) : deadline;
        if (timer) clearTimeout(timer);
        timer = until === Infinity ? undefined : setTimeout(() => done('timeout'), Math.max(0, until - Date.now()));
      };
      const onWake = (w: Wake): void => {
        if (w !== 'end') done(w);
        else if (onEnd === 'return') done('end');
        else if (onEnd === 'bound_by_stop') arm();
      };
      this.wake = onWake;
      arm();
      void what.then(done);
    });
  }

  private signal(w: Wake): void {
    this.wake?.(w);
  }
}

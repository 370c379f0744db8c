/**
 * An in-memory FrameSource standing in for the disk queue: records get ids
 * 1, 2, 3…; the replay position trails what was sent by `windowRecords`
 * (Infinity: a reconnect replays everything never acknowledged by the test).
 */

import type { FrameSource } from '../../src/sink/types.js';

export class MemorySource implements FrameSource {
  readonly records: Buffer[] = [];
  sent = 0n;
  /** Acknowledged cursor; tests move it. */
  acked = 0n;
  replayCalls = 0;
  readCalls = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly windowRecords = Infinity) {}

  push(...payloads: Buffer[]): void {
    this.pushAll(payloads);
  }

  pushAll(payloads: readonly Buffer[]): void {
    for (const p of payloads) this.records.push(p);
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  replayPosition(): bigint {
    this.replayCalls++;
    if (this.windowRecords === Infinity) return this.acked;
    const trailing = this.sent - BigInt(this.windowRecords);
    return trailing > this.acked ? trailing : this.acked;
  }

  async readFrom(position: bigint, maxBytes: number): Promise<{ id: bigint; payload: Buffer }[]> {
    this.readCalls++;
    const out: { id: bigint; payload: Buffer }[] = [];
    let bytes = 0;
    for (let i = Number(position); i < this.records.length; i++) {
      const payload = this.records[i] as Buffer;
      if (out.length > 0 && bytes + payload.length > maxBytes) break;
      out.push({ id: BigInt(i + 1), payload });
      bytes += payload.length;
    }
    return out;
  }

  waitForData(position: bigint): Promise<void> {
    if (this.records.length > Number(position)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  markSent(position: bigint): void {
    if (position > this.sent) this.sent = position;
  }
}

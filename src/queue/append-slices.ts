/**
 * Appending one source batch to the queue in bounded slices.
 *
 * A source batch (a 256 KiB read: ~2,000 lines) is appended in slices of at
 * most `limits.records` records / `limits.bytes` estimated bytes, with at most
 * two slices alive: while one is written and fsynced, the next is built. That
 * overlaps the CPU with the disk and keeps what is built per line (events,
 * parts, sealed frames) short-lived, instead of ~2,000 of each surviving into
 * V8's old space while one fsync runs.
 *
 * Slices go in in order, so seq order and disk order are the batch's order.
 * If any slice is rejected, the whole call rejects, and no later slice is
 * appended (or even built) after the rejection is seen: a later slice made
 * durable ahead of the source's re-read would let recovery move the source's
 * checkpoint past the lost one.
 */

export interface SliceLimits {
  readonly records: number;
  readonly bytes: number;
}

/** What one built record must say about itself: its estimated size on disk. */
export interface Sized {
  readonly size: number;
}

/**
 * Builds `items` into records slice by slice and appends each slice; resolves
 * when every slice is durable, rejects with the first slice's failure.
 * `between` runs after a slice is handed to `append` and before the next is
 * built: the pipeline yields a macrotask there so the writer starts the
 * slice's write alone.
 */
export async function appendInSlices<T, R extends Sized>(
  items: readonly T[],
  build: (item: T) => R,
  append: (slice: R[]) => Promise<void>,
  limits: SliceLimits,
  between: () => Promise<void>,
): Promise<void> {
  let prev: Promise<void> | undefined;
  let rejected = false;
  let i = 0;
  while (i < items.length && !rejected) {
    const slice: R[] = [];
    let bytes = 0;
    while (i < items.length && slice.length < limits.records && bytes < limits.bytes) {
      const r = build(items[i]!);
      bytes += r.size;
      slice.push(r);
      i++;
    }
    const p = append(slice);
    // Awaited below, or the loop ends on it: never an unhandled rejection.
    p.catch(() => {
      rejected = true;
    });
    if (prev) await prev;
    if (i < items.length) await between();
    prev = p;
  }
  await prev;
}

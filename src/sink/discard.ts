/**
 * RFC 5425 is one-way: the agent never takes instructions from the receiver.
 * Whatever a receiver sends is still read (a peer whose bytes pile up unread
 * would stall its own writes, and a TLS 1.3 close or ticket is only seen while
 * the socket reads), counted in bytes_received_discarded, and dropped unparsed.
 */

import type { Socket } from 'node:net';
import type { Counters } from '../monitor/counters.js';

/** Reads and drops what the peer sends, counted; returns the removal of that listener. */
export function discardIncoming(socket: Socket, counters: Counters | undefined): () => void {
  const onData = (chunk: Buffer): void => counters?.add('bytes_received_discarded', chunk.length);
  socket.on('data', onData);
  return () => socket.off('data', onData);
}

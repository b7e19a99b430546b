/**
 * Back-pressure toward slow readers. What `ws` holds for a connection (`bufferedAmount`) is
 * what the kernel's socket buffer could not take: the peer reads slower than the room writes
 * to it. Without a bound a client that stops reading grows the server without limit, so past
 * `maxBufferedBytes` the connection is closed with 1013 (RFC 6455 §7.4.1 registry: "Try
 * Again Later"); its session then waits for `resume` as after any network loss, and frames
 * for it go to the session's bounded resume queue meanwhile.
 */
import type { WebSocket } from 'ws';

export interface OutboundPolicy {
  /** Bytes `ws` may hold for one connection; also the resume queue's byte bound. */
  readonly maxBufferedBytes: number;
  /** `socket` is over the bound: close it (it is not written to again). */
  overflow(socket: WebSocket): void;
  /** A queued frame of a disconnected session was dropped because its queue was full. */
  queueDropped(): void;
}

/** The close code for a reader too slow for its room. */
export const SLOW_READER_CLOSE_CODE = 1013;

/**
 * Sends `frame` unless `socket` already holds more than the bound; then the policy closes it
 * and the answer is false. Checked before sending, so a connection never holds more than the
 * bound plus one frame.
 */
export function sendBounded(socket: WebSocket, frame: string, policy: OutboundPolicy): boolean {
  if (socket.bufferedAmount > policy.maxBufferedBytes) {
    policy.overflow(socket);
    return false;
  }
  socket.send(frame);
  return true;
}

/**
 * One port number on every address: a server listens on each address it serves (UDP, and TCP
 * or TLS beside it) with the same number, so that one URL or one candidate port reaches it
 * everywhere. With port 0 the OS picks the number for the first listener and the others take
 * it; when one of them finds it taken, everything bound is closed and a new number tried.
 */
import { SwitchboardError, InternalErrorCode } from '../protocol/errors.js';

/** Closes a listener that bound. */
export type Unbind = () => Promise<void>;

/** A listener that bound: the port it got, and how to close it. */
export interface BoundListener {
  port: number;
  unbind: Unbind;
}

export interface SamePortListeners {
  /** Binds the first listener on `port` (0: the OS picks). */
  first(port: number): Promise<BoundListener>;
  /** Binds every other listener on `port`. A bind that fails must leave nothing open. */
  rest(port: number): Array<Promise<BoundListener>>;
}

/** Attempts with port 0 before giving up: each fails only when another program took the number meanwhile. */
export const SAME_PORT_ATTEMPTS = 10;

/**
 * Binds every listener on one port number and resolves it. A fixed port is tried once and the
 * bind error (EADDRINUSE, EADDRNOTAVAIL) rejected as it is; with port 0 only a number taken on
 * another address is retried, since the first listener's own failure is no matter of the number.
 */
export async function bindSamePort(port: number, listeners: SamePortListeners, attempts = SAME_PORT_ATTEMPTS): Promise<number> {
  for (let attempt = 0; attempt < (port === 0 ? attempts : 1); attempt++) {
    const first = await listeners.first(port);
    const results = await Promise.allSettled(listeners.rest(first.port));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failed) return first.port;
    await Promise.all([first.unbind(), ...results.map((r) => (r.status === 'fulfilled' ? r.value.unbind() : undefined))]);
    if (port !== 0) throw failed.reason;
  }
  throw new SwitchboardError(InternalErrorCode.Unavailable, 'no port free on every address');
}

/**
 * EventEmitter with typed event names and arguments: `TypedEmitter<{ close: []; rtp: [Buffer] }>`.
 * A listener that throws is reported on 'error' semantics of Node (it propagates to emit's
 * caller), so per-packet listeners must not throw.
 */
import { EventEmitter } from 'node:events';

/** Event name → listener arguments. Interfaces satisfy it too (no index signature needed). */
export type EventMap<E> = { [K in keyof E]: unknown[] };

export class TypedEmitter<E extends EventMap<E>> {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Many consumers may listen to one producer; the default limit of 10 is a leak warning only.
    this.emitter.setMaxListeners(0);
  }

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return this.emitter.emit(event, ...args);
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.emitter.listenerCount(event);
  }

  /** Owners call it on close so that nothing keeps listening to a dead object. */
  removeAllListeners(): void {
    this.emitter.removeAllListeners();
  }
}

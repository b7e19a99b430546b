/**
 * A typed face over node's EventEmitter: each event name has a fixed argument list, so a
 * listener cannot be attached with the wrong signature. Emitting stays with the owner class.
 */
import { EventEmitter } from 'node:events';

export type EventMap = { [name: string]: unknown[] };
type Listener<A extends unknown[]> = (...args: A) => void;
type AnyListener = (...args: unknown[]) => void;

export class TypedEmitter<E extends EventMap> {
  private readonly emitter = new EventEmitter();

  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>): this {
    this.emitter.on(event, listener as AnyListener);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: Listener<E[K]>): this {
    this.emitter.once(event, listener as AnyListener);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: Listener<E[K]>): this {
    this.emitter.off(event, listener as AnyListener);
    return this;
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.emitter.listenerCount(event);
  }

  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return this.emitter.emit(event, ...args);
  }

  protected removeAllListeners(): void {
    this.emitter.removeAllListeners();
  }
}

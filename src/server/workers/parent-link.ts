/**
 * ParentLink: a worker process's side of its IPC channel. It waits for the `init` event,
 * answers requests with the handlers it was given (a throw becomes an error response with the
 * SwitchboardError's code), sends events, and ends the process when the parent asks or goes
 * away. Sends are bounded: past `maxUnsentEvents` events still in the channel, further events
 * are dropped and counted (a parent that stopped reading cannot make a worker grow forever);
 * responses are never dropped.
 */
import { SwitchboardError } from '../../protocol/errors.js';
import { guarded } from '../../util/guarded.js';
import { errorOf, parseEnvelope, type Envelope, type WorkerMethods } from './ipc.js';

export type WorkerHandlers<M extends WorkerMethods<M>> = {
  [K in keyof M]: (params: M[K]['params']) => M[K]['result'] | Promise<M[K]['result']>;
};

export interface ParentLinkOptions {
  maxUnsentEvents?: number;
}

export class ParentLink<M extends WorkerMethods<M>, E extends { [K in keyof E]: unknown }> {
  private handlers: WorkerHandlers<M> | undefined;
  private onClose: () => Promise<void> | void = () => {};
  private unsent = 0;
  private readonly maxUnsent: number;
  /** Events dropped because the channel held `maxUnsentEvents` already. */
  droppedEvents = 0;
  malformed = 0;

  constructor(opts: ParentLinkOptions = {}) {
    this.maxUnsent = opts.maxUnsentEvents ?? 10_000;
    if (!process.send) throw new SwitchboardError('unavailable', 'ParentLink: this process was not started with an IPC channel');
  }

  /** Resolves with the parent's init data (the worker's config). */
  init<I>(): Promise<I> {
    return new Promise<I>((resolve) => {
      const onMessage = guarded('worker.message', (msg: unknown) => {
        const envelope = parseEnvelope(msg);
        if (!envelope) {
          this.malformed++;
          return;
        }
        if (envelope.kind === 'event' && envelope.name === 'init') resolve(envelope.data as I);
        else void this.handle(envelope);
      });
      process.on('message', onMessage);
      // The parent is gone: nothing of ours is still reachable, so stop.
      process.on(
        'disconnect',
        guarded('worker.disconnect', () => process.exit(0)),
      );
    });
  }

  /** Starts answering requests; `onClose` runs before the process exits on the parent's `close`. */
  serve(handlers: WorkerHandlers<M>, onClose: () => Promise<void> | void): void {
    this.handlers = handlers;
    this.onClose = onClose;
  }

  emit<K extends keyof E & string>(name: K, data: E[K]): void {
    if (this.unsent >= this.maxUnsent) {
      this.droppedEvents++;
      return;
    }
    this.send({ kind: 'event', name, data });
  }

  /** Startup failed: the parent's start() rejects with this message. */
  failed(err: unknown): void {
    this.send({ kind: 'event', name: 'start-failed', data: { message: err instanceof Error ? err.message : String(err) } });
  }

  private async handle(envelope: Envelope): Promise<void> {
    if (envelope.kind === 'close') {
      await Promise.resolve()
        .then(() => this.onClose())
        .catch(() => {});
      process.exit(0);
    }
    if (envelope.kind !== 'request') return;
    const handler = this.handlers?.[envelope.method as keyof M] as ((p: unknown) => unknown) | undefined;
    try {
      if (!handler) throw new SwitchboardError('invalid-argument', `unknown method ${envelope.method}`);
      const result = await handler(envelope.params);
      this.send({ kind: 'response', id: envelope.id, ok: true, result });
    } catch (err) {
      this.send({ kind: 'response', id: envelope.id, ok: false, error: errorOf(err) });
    }
  }

  private send(envelope: Envelope): void {
    if (!process.connected || !process.send) return;
    this.unsent++;
    process.send(
      envelope,
      undefined,
      {},
      guarded('worker.sent', () => {
        this.unsent--;
      }),
    );
  }
}

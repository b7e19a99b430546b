/**
 * WorkerProcess: the main process's handle on one worker child process (media, TURN). A
 * child process, not a thread: a native codec crash (libvpx, FFmpeg) ends that worker only,
 * and its CPU is the kernel's own per-process count (docs/ARCHITECTURE.md, "Workers").
 *
 * Requests get one response or fail: with the worker's SwitchboardError (its code kept), with
 * `unavailable` when the worker exits or does not answer within `requestTimeoutMs`, or at once
 * when `maxPendingRequests` are already waiting (the bound toward a stuck worker). Events from
 * the worker are typed by `E`. The child exits by itself when the main process goes away (its
 * IPC channel closes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { SwitchboardError } from '../../protocol/errors.js';
import { guarded } from '../../util/guarded.js';
import { TypedEmitter } from '../../util/TypedEmitter.js';
import { errorFrom, parseEnvelope, type Envelope, type RequestEnvelope, type WorkerMethods } from './ipc.js';

export interface WorkerProcessOptions {
  /** For logs and errors: e.g. "media-1". */
  name: string;
  /** The worker's entry module (a file path). */
  entry: string;
  /** Handed to the worker as its first `ready`-time input (e.g. its config and index). */
  init: unknown;
  /** How long the worker may take to say `ready`. */
  startTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxPendingRequests?: number;
  /** Scheduling priority (nice, -20..19): a higher value yields the CPU to the other processes. */
  niceness?: number;
  /** Extra node flags for the child (e.g. --max-old-space-size). */
  execArgv?: string[];
}

export interface WorkerProcessEvents<E> {
  /** An event the worker sent. */
  event: [name: keyof E & string, data: E[keyof E]];
  /** The worker process ended (crash, kill, or close). */
  exit: [code: number | null, signal: NodeJS.Signals | null];
}

interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULTS = { startTimeoutMs: 30_000, requestTimeoutMs: 15_000, maxPendingRequests: 10_000 };

export class WorkerProcess<M extends WorkerMethods<M>, E extends { [K in keyof E]: unknown }> extends TypedEmitter<WorkerProcessEvents<E>> {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  exited = false;
  /** Envelopes from the worker that were not envelopes (dropped). */
  malformed = 0;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly opts: Required<Pick<WorkerProcessOptions, 'requestTimeoutMs' | 'maxPendingRequests'>>,
  ) {
    super();
  }

  /** Forks the worker and resolves when it has sent `ready` (its data is the result). */
  static async start<M extends WorkerMethods<M>, E extends { [K in keyof E]: unknown } & { ready: unknown }>(
    opts: WorkerProcessOptions,
  ): Promise<{ worker: WorkerProcess<M, E>; ready: E['ready'] }> {
    const child = fork(opts.entry, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: opts.execArgv ?? [],
    });
    const worker = new WorkerProcess<M, E>(opts.name, child, {
      requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      maxPendingRequests: opts.maxPendingRequests ?? DEFAULTS.maxPendingRequests,
    });
    worker.wire();
    if (opts.niceness !== undefined && child.pid !== undefined) setPriority(child.pid, opts.niceness);
    const ready = await new Promise<E['ready']>((resolve, reject) => {
      const timer = setTimeout(
        guarded('workers.start-timeout', () => {
          worker.kill();
          reject(
            new SwitchboardError(
              'unavailable',
              `worker ${opts.name} did not start within ${opts.startTimeoutMs ?? DEFAULTS.startTimeoutMs} ms`,
            ),
          );
        }),
        opts.startTimeoutMs ?? DEFAULTS.startTimeoutMs,
      );
      const onEvent = (name: string, data: unknown): void => {
        if (name === 'ready') {
          clearTimeout(timer);
          worker.off('event', onEvent);
          worker.off('exit', onExit);
          resolve(data as E['ready']);
        } else if (name === 'start-failed') {
          clearTimeout(timer);
          worker.kill();
          reject(
            new SwitchboardError('unavailable', `worker ${opts.name} could not start: ${String((data as { message?: unknown })?.message)}`),
          );
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        clearTimeout(timer);
        reject(new SwitchboardError('unavailable', `worker ${opts.name} exited while starting (code ${code}, signal ${signal})`));
      };
      worker.on('event', onEvent);
      worker.on('exit', onExit);
      child.send({ kind: 'event', name: 'init', data: opts.init });
    });
    return { worker, ready };
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  /** Calls `method` in the worker. */
  request<K extends keyof M & string>(method: K, params: M[K]['params']): Promise<M[K]['result']> {
    if (this.exited) return Promise.reject(new SwitchboardError('unavailable', `worker ${this.name} has exited`));
    if (this.pending.size >= this.opts.maxPendingRequests)
      return Promise.reject(new SwitchboardError('unavailable', `worker ${this.name} has ${this.pending.size} requests waiting`));
    const id = this.nextId++;
    return new Promise<M[K]['result']>((resolve, reject) => {
      const timer = setTimeout(
        guarded('workers.request-timeout', () => {
          this.pending.delete(id);
          reject(
            new SwitchboardError('unavailable', `worker ${this.name} did not answer ${method} within ${this.opts.requestTimeoutMs} ms`),
          );
        }),
        this.opts.requestTimeoutMs,
      );
      this.pending.set(id, { resolve: resolve, reject, timer });
      this.send({ kind: 'request', id, method, params } satisfies RequestEnvelope);
    });
  }

  /** Asks the worker to close what it holds and exit; kills it after `timeoutMs`. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.once('exit', () => resolve()));
    this.send({ kind: 'close' });
    const timer = setTimeout(
      guarded('workers.close-timeout', () => this.kill()),
      timeoutMs,
    );
    await exited;
    clearTimeout(timer);
  }

  /** Sets the worker's scheduling priority (nice, -20..19; raising it needs no privilege). */
  setNiceness(niceness: number): void {
    if (!this.exited && this.child.pid !== undefined) setPriority(this.child.pid, niceness);
  }

  /** Ends the worker at once (SIGKILL). */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private send(envelope: Envelope): void {
    // A channel closed under us shows as an 'error' event or the exit; the send itself must not throw.
    if (this.child.connected)
      this.child.send(
        envelope,
        guarded('workers.send', () => {}),
      );
  }

  private wire(): void {
    this.child.on(
      'message',
      guarded('workers.message', (msg: unknown) => this.onMessage(msg)),
    );
    // An IPC write to a child that just died: the exit handler settles everything.
    this.child.on(
      'error',
      guarded('workers.child-error', () => {}),
    );
    this.child.on(
      'exit',
      guarded('workers.exit', (code: number | null, signal: NodeJS.Signals | null) => {
        this.exited = true;
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new SwitchboardError('unavailable', `worker ${this.name} exited (code ${code}, signal ${signal})`));
          this.pending.delete(id);
        }
        this.emit('exit', code, signal);
      }),
    );
  }

  private onMessage(msg: unknown): void {
    const envelope = parseEnvelope(msg);
    if (!envelope) {
      this.malformed++;
      return;
    }
    if (envelope.kind === 'response') {
      const p = this.pending.get(envelope.id);
      if (!p) return; // answered after its timeout
      this.pending.delete(envelope.id);
      clearTimeout(p.timer);
      if (envelope.ok) p.resolve(envelope.result);
      else p.reject(errorFrom(envelope.error));
    } else if (envelope.kind === 'event') {
      this.emit('event', envelope.name as keyof E & string, envelope.data as E[keyof E]);
    } else {
      this.malformed++;
    }
  }
}

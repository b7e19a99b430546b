/**
 * Entry points from the outside world (socket events, timers, anything the event loop calls
 * with network input on the stack) are wrapped with `guarded`: an exception thrown by a handler
 * is caught there, counted under the entry point's name, logged once per cause, and handed to
 * the entry point's `onFault` so the offender (a packet, a connection) is dropped. Nothing a
 * peer sends can then reach `uncaughtException` and stop the process.
 *
 * The wrapper passes up to three arguments through without a rest array, so it can sit on the
 * per-packet path (every Node socket event has at most two).
 */
import type { Logger } from 'pino';

/** Distinct causes logged; past this, faults are still counted but not logged again. */
const MAX_LOGGED_CAUSES = 1024;

export class EntryFaults {
  private readonly counts = new Map<string, number>();
  private readonly logged = new Set<string>();
  private logger: Logger | undefined;
  /** Faults not logged because MAX_LOGGED_CAUSES distinct causes were already logged. */
  unlogged = 0;

  setLogger(logger: Logger | undefined): void {
    this.logger = logger;
  }

  record(where: string, err: unknown): void {
    this.counts.set(where, (this.counts.get(where) ?? 0) + 1);
    const e = err instanceof Error ? err : new Error(String(err));
    const cause = `${where}\u0000${e.name}\u0000${e.message.slice(0, 200)}`;
    if (this.logged.has(cause)) return;
    if (this.logged.size >= MAX_LOGGED_CAUSES) {
      this.unlogged++;
      return;
    }
    this.logged.add(cause);
    const stack = e.stack?.split('\n').slice(0, 8).join('\n');
    if (this.logger)
      this.logger.error(
        { where, err: e.message, stack },
        'fault at a network entry point (input dropped; later faults of this cause are only counted)',
      );
    else process.stderr.write(`switchboard: fault at ${where}: ${stack ?? e.message}\n`);
  }

  /** Faults by entry point since the process started. */
  byEntryPoint(): ReadonlyMap<string, number> {
    return this.counts;
  }

  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
}

/** One per process: a fault is a bug in this process's code, whichever server instance hit it. */
export const entryFaults = new EntryFaults();

type Handler<A, B, C> = (a: A, b: B, c: C) => unknown;

/**
 * `fn` as an entry point named `where`. A synchronous throw or a rejected promise is recorded
 * in `entryFaults` and passed to `onFault` (itself guarded) with the same arguments.
 */
export function guarded<A = void, B = void, C = void>(
  where: string,
  fn: Handler<A, B, C>,
  onFault?: (err: unknown, a: A, b: B, c: C) => void,
): (a: A, b: B, c: C) => void {
  const fail = (err: unknown, a: A, b: B, c: C): void => {
    entryFaults.record(where, err);
    if (!onFault) return;
    try {
      onFault(err, a, b, c);
    } catch (again) {
      entryFaults.record(`${where}.onFault`, again);
    }
  };
  return (a: A, b: B, c: C): void => {
    try {
      const r = fn(a, b, c);
      if (r instanceof Promise) r.catch((err: unknown) => fail(err, a, b, c));
    } catch (err) {
      fail(err, a, b, c);
    }
  };
}

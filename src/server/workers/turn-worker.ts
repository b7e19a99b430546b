/**
 * A TURN worker process: one TurnServer on its own ports and relay slice, with its own event
 * loop, so relaying never waits behind signaling, the SFU or an MCU encode. Started and
 * restarted by turn-pool.ts; it pushes its counters every `snapshotMs` for /metrics and exits
 * when the main process closes it or goes away (parent-link.ts).
 */
import { pino } from 'pino';
import { SwitchboardError } from '../../protocol/errors.js';
import { TurnServer } from '../../turn/TurnServer.js';
import { entryFaults, guarded } from '../../util/guarded.js';
import { ParentLink } from './parent-link.js';
import type { TurnWorkerEvents, TurnWorkerInit, TurnWorkerMethods } from './turn-ipc.js';

const link = new ParentLink<TurnWorkerMethods, TurnWorkerEvents>();
const init = await link.init<TurnWorkerInit>();
const logger = pino({ level: init.logLevel, base: { app: 'switchboard', turnWorker: init.index } });
entryFaults.setLogger(logger);
// The main process's backstop does not reach this process: a library's stray throw is counted and logged here.
process.on('uncaughtException', (err) => entryFaults.record('process.uncaught-exception', err));
process.on('unhandledRejection', (err) => entryFaults.record('process.unhandled-rejection', err));

const server = new TurnServer({ ...init.settings, logger });
let listening = false;
try {
  await server.listen();
  listening = true;
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  link.failed(new SwitchboardError('unavailable', e.code === 'EADDRINUSE' ? 'a port is in use' : e.message));
  await server.close().catch(() => undefined);
  process.exitCode = 1;
}
if (listening) {
  server.allowOwnEndpoints(init.ownEndpoints);
  link.serve(
    {
      allowOwnEndpoints: ({ endpoints }) => {
        server.allowOwnEndpoints(endpoints);
        return null;
      },
      snapshot: () => server.snapshot(),
    },
    () => server.close(),
  );
  setInterval(
    guarded('turn-worker.snapshot', () => link.emit('snapshot', { turn: server.snapshot(), entryFaults: [...entryFaults.byEntryPoint()] })),
    init.snapshotMs,
  ).unref();
  link.emit('ready', { pid: process.pid, port: server.port, tlsPort: server.tlsPort, addresses: server.addresses });
}

/**
 * The STUN/TURN server as the rest of the server sees it, in either form: in this process
 * (`turnWorkers` 0: a TurnServer, as before workers) or as TURN worker processes
 * (workers/turn-pool.ts). Signaling asks it which endpoint a client gets, the SFU's wiring tells
 * it which own endpoints relays may reach, /metrics reads its counters.
 */
import type { Logger } from 'pino';
import type { TurnServer } from '../turn/TurnServer.js';
import type { SwitchboardConfig } from './config.js';
import type { TurnSnapshots } from './metrics.js';
import { startTurnServer, turnServerSettings, type TurnEndpoint, type TurnServerConfig } from './turn.js';
import type { OwnEndpoint } from './workers/turn-ipc.js';
import { TurnWorkerPool } from './workers/turn-pool.js';

export interface TurnService {
  /** The in-process server (turnWorkers 0), else undefined. */
  server: TurnServer | undefined;
  /** The TURN worker processes (turnWorkers ≥ 1), else undefined. */
  pool: TurnWorkerPool | undefined;
  /** The endpoint a client with this identity is handed. */
  endpointFor(identity: string): TurnEndpoint;
  /** Every endpoint, in worker order (one in-process). */
  endpoints(): TurnEndpoint[];
  /** Adds endpoints of this host relays may reach (the SFU's RTC ports); resolves once every live worker has them. */
  allowOwnEndpoints(endpoints: readonly OwnEndpoint[]): Promise<void>;
  snapshots: TurnSnapshots;
  close(): Promise<void>;
}

export async function startTurnService(
  config: TurnServerConfig & Pick<SwitchboardConfig, 'log'>,
  secret: string | undefined,
  logger: Logger,
): Promise<TurnService> {
  if (config.turn.workers === 0) {
    const server = await startTurnServer(config, secret, logger);
    return {
      server,
      pool: undefined,
      endpointFor: () => server,
      endpoints: () => [server],
      allowOwnEndpoints: (endpoints) => Promise.resolve(server.allowOwnEndpoints(endpoints)),
      snapshots: () => [{ worker: 'main', snapshot: server.snapshot() }],
      close: () => server.close(),
    };
  }
  const pool = await TurnWorkerPool.start({
    count: config.turn.workers,
    settings: turnServerSettings(config, secret),
    logLevel: config.log.level,
    logger,
  });
  return {
    server: undefined,
    pool,
    endpointFor: (identity) => pool.endpointFor(identity),
    endpoints: () => Array.from({ length: pool.count }, (_, i) => pool.endpoint(i)!),
    allowOwnEndpoints: (endpoints) => pool.allowOwnEndpoints(endpoints),
    snapshots: () => pool.snapshots(),
    close: () => pool.close(),
  };
}

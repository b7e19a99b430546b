/**
 * Wires all parts into one process: HTTP(S) server, signaling, metrics. The only module
 * that knows every part (../shared/DESIGN.md).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { SignalingServer } from '../signaling/SignalingServer.js';
import type { TurnServer } from '../turn/TurnServer.js';
import { resolveConfig, type ServerConfig, type SwitchboardConfig } from './config.js';
import { createMetricsRequestHandler, createRequestHandler, type HttpContext } from './http.js';
import {
  createMetrics,
  registerSfuGauges,
  registerSignalingGauges,
  registerTurnGauges,
  registerTurnWorkerGauges,
  registerWorkerGauges,
  workerMetricsText,
} from './metrics.js';
import { iceServersFor } from './turn.js';
import { startTurnService, type TurnService } from './turn-service.js';
import { WebRtcServer } from '../rtc/WebRtcServer.js';
import { SfuRooms } from './sfu.js';
import { entryFaults, guarded } from '../util/guarded.js';
import { MediaWorkerPool } from './workers/MediaWorkerPool.js';
import { joinCluster, type ClusterNode } from './cluster.js';

export interface Switchboard {
  /** The config by section, as each part received it. */
  config: SwitchboardConfig;
  /** Base URL, e.g. http://127.0.0.1:8080 (a wildcard host is shown as localhost). */
  url: string;
  wsUrl: string;
  port: number;
  /** The separate metrics listener's base URL (config metricsPort), else undefined. */
  metricsUrl: string | undefined;
  signaling: SignalingServer;
  /** The embedded STUN/TURN server when it runs in this process (turnWorkers 0), else undefined. */
  turn: TurnServer | undefined;
  /** The STUN/TURN server in either form (in this process, or TURN worker processes), unless turnEnabled is false. */
  turnService: TurnService | undefined;
  /** The SFU's WebRTC endpoint (RTC port + certificate) in this process: only with `workers: 0`. */
  rtc: WebRtcServer | undefined;
  /** The SFU and MCU rooms in this process: only with `workers: 0`. */
  sfu: SfuRooms | undefined;
  /** The media worker processes (`workers` > 0), unless rtcEnabled is false. */
  media: MediaWorkerPool | undefined;
  /** This node's cluster parts when config `redis` is set (src/server/cluster.ts). */
  cluster: ClusterNode | undefined;
  logger: Logger;
  /**
   * No new participants from now on (`join` answers `draining`; the cluster places nothing
   * here); resolves when every room of this node is empty, or after `timeoutMs`
   * (config drainTimeoutMs). Does not close: call close() after.
   */
  drain(timeoutMs?: number): Promise<'empty' | 'timeout'>;
  close(): Promise<void>;
}

/** Starts a server. `settings` (by YAML key) are validated like a config file; `port: 0` picks a free port. */
export async function startSwitchboard(settings: Partial<ServerConfig> = {}): Promise<Switchboard> {
  const config = resolveConfig(settings);
  const { server: http, tls: tlsFiles, metrics: metricsConfig } = config;
  const logger = pino({ level: config.log.level, base: { app: 'switchboard' } });
  entryFaults.setLogger(logger);
  const metrics = createMetrics();
  // Clients of the embedded TURN server get REST credentials; without a configured secret,
  // one made now (it only needs to be shared with ourselves).
  const turnSecret = config.turn.secret ?? (config.turn.enabled ? randomBytes(32).toString('base64url') : undefined);
  const inProcess = config.rtc.enabled && config.rtc.workers === 0;
  // TURN (its workers) and the media workers fork, load and bind in parallel.
  const [turnStarted, mediaStarted] = await Promise.allSettled([
    config.turn.enabled ? startTurnService(config, turnSecret, logger) : undefined,
    config.rtc.enabled && !inProcess
      ? MediaWorkerPool.start({
          workers: config.rtc.workers,
          mcuWorkers: config.rtc.mcuWorkers,
          rtc: config.rtc,
          mcu: config.mcu,
          logLevel: config.log.level,
          logger,
        })
      : undefined,
  ]);
  if (turnStarted.status === 'rejected' || mediaStarted.status === 'rejected') {
    if (turnStarted.status === 'fulfilled') await turnStarted.value?.close();
    if (mediaStarted.status === 'fulfilled') await mediaStarted.value?.close();
    throw turnStarted.status === 'rejected' ? turnStarted.reason : (mediaStarted as PromiseRejectedResult).reason;
  }
  const turnService = turnStarted.value;
  const turn = turnService?.server;
  const media = mediaStarted.value;
  const rtc = inProcess
    ? await WebRtcServer.start({
        port: config.rtc.port,
        ...(config.rtc.host !== undefined ? { listenAddresses: [config.rtc.host] } : {}),
        ...(config.rtc.announcedIps.length > 0 ? { announcedAddresses: config.rtc.announcedIps } : {}),
      }).catch(async (err: unknown) => {
        await turnService?.close();
        throw err;
      })
    : undefined;
  // A client that can only use TURN may still reach the SFU on this host through a relay.
  if (turnService && rtc) await turnService.allowOwnEndpoints(rtc.port.localCandidates());
  // Every worker's candidates; again when a restarted worker (rtcPort 0) picked another port.
  if (turnService && media) {
    await turnService.allowOwnEndpoints(media.candidates);
    media.onCandidates = () => void turnService.allowOwnEndpoints(media.candidates).catch(() => undefined);
  }
  const sfu = rtc ? new SfuRooms(rtc, logger, config.mcu, (await import('../mcu/Mixer.js')).Mixer) : undefined;
  const signaling = new SignalingServer({
    ...config.signaling,
    authSecret: config.auth.secret,
    iceServers: (identity, host) => iceServersFor(config, turnSecret, turnService && ((id) => turnService.endpointFor(id)), identity, host),
    observer: metrics.observer,
    media: sfu ?? media,
    logger,
  });
  registerSignalingGauges(metrics, () => signaling.stats);
  if (turnService) registerTurnGauges(metrics, turnService.snapshots);
  if (turnService?.pool) registerTurnWorkerGauges(metrics, turnService.pool);
  if (rtc && sfu) registerSfuGauges(metrics, rtc, sfu);
  if (media) registerWorkerGauges(metrics, media);
  const httpContext: HttpContext = {
    signaling,
    metrics,
    webRoot: http.webRoot,
    startedAt: Date.now(),
    logger,
    metricsToken: metricsConfig.token,
    metricsOnAppPort: metricsConfig.port === undefined,
    workers: media ? { status: () => media.status(), metricsText: () => workerMetricsText(media) } : undefined,
    cluster: () => cluster?.health(),
    ...(turnService?.pool ? { turnWorkers: () => turnService.pool!.status() } : {}),
  };
  const handler = createRequestHandler(httpContext);
  const tls = tlsFiles.cert !== undefined && tlsFiles.key !== undefined;
  const server: Server = tls
    ? createHttpsServer({ cert: readFileSync(tlsFiles.cert as string), key: readFileSync(tlsFiles.key as string) }, handler)
    : createHttpServer(handler);
  signaling.attach(server);
  // Plain HTTP: meant for a loopback or private address (metricsHost, default 127.0.0.1).
  const metricsServer = metricsConfig.port !== undefined ? createHttpServer(createMetricsRequestHandler(httpContext)) : undefined;
  const stopEarly = async (err: unknown): Promise<never> => {
    await signaling.close();
    await turnService?.close();
    await rtc?.close();
    await media?.close();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  };
  await listen(server, http.port, http.host).catch(stopEarly);
  // Several nodes: signaling is federated now, before any client can have joined.
  const cluster = config.cluster.redis === undefined ? undefined : joinCluster(config, server, tls, signaling, metrics.registry, logger);
  if (metricsServer) await listen(metricsServer, metricsConfig.port as number, metricsConfig.host ?? '127.0.0.1').catch(stopEarly);
  const port = (server.address() as AddressInfo).port;
  const shownHost = urlHost(http.host);
  const url = `${tls ? 'https' : 'http'}://${shownHost}:${port}`;
  const metricsUrl = metricsServer
    ? `http://${urlHost(metricsConfig.host ?? '127.0.0.1')}:${(metricsServer.address() as AddressInfo).port}`
    : undefined;
  logger.info(
    {
      url,
      auth: config.auth.secret ? 'token' : 'open',
      tls,
      turn: turnService
        ? turnService.endpoints().map((t) => ({ port: t.port, tlsPort: t.tlsPort || undefined, addresses: t.addresses }))
        : false,
      rtcPort: rtc?.port.udpPort ?? (media ? media.status().map((w) => w.port) : false),
      metrics: metricsUrl ?? 'app port',
    },
    'switchboard started',
  );
  return {
    config,
    url,
    wsUrl: `${tls ? 'wss' : 'ws'}://${shownHost}:${port}/ws`,
    port,
    metricsUrl,
    signaling,
    turn,
    turnService,
    rtc,
    sfu,
    media,
    cluster,
    logger,
    async drain(timeoutMs = http.drainTimeoutMs) {
      signaling.drain();
      cluster?.setDraining();
      const { rooms, participants } = signaling.stats;
      logger.info({ rooms, participants, timeoutMs }, 'draining: no new participants; closing when every room is empty');
      const end = Date.now() + timeoutMs;
      while (signaling.stats.participants > 0 && Date.now() < end) {
        await new Promise<void>((resolve) => setTimeout(guarded('app.drain.wait', resolve), Math.min(250, Math.max(1, end - Date.now()))));
      }
      return signaling.stats.participants === 0 ? 'empty' : 'timeout';
    },
    async close() {
      await signaling.close();
      await cluster?.close();
      sfu?.close();
      await rtc?.close();
      await media?.close();
      await turnService?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (metricsServer) {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      }
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A host for a URL: wildcards as localhost, IPv6 in brackets. */
function urlHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
}

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
import { createMetrics, registerSfuGauges, registerSignalingGauges, registerTurnGauges, registerTurnWorkerGauges } from './metrics.js';
import { iceServersFor } from './turn.js';
import { startTurnService, type TurnService } from './turn-service.js';
import { WebRtcServer } from '../rtc/WebRtcServer.js';
import { SfuRooms } from './sfu.js';
import { entryFaults } from '../util/guarded.js';

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
  /** The SFU's WebRTC endpoint (RTC port + certificate), unless rtcEnabled is false. */
  rtc: WebRtcServer | undefined;
  sfu: SfuRooms | undefined;
  logger: Logger;
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
  // TURN workers take a fork each: started alongside the RTC port rather than before it.
  const [turnStart, rtcStart] = await Promise.allSettled([
    config.turn.enabled ? startTurnService(config, turnSecret, logger) : undefined,
    config.rtc.enabled
      ? WebRtcServer.start({
          port: config.rtc.port,
          ...(config.rtc.host !== undefined ? { listenAddresses: [config.rtc.host] } : {}),
          ...(config.rtc.announcedIps.length > 0 ? { announcedAddresses: config.rtc.announcedIps } : {}),
        })
      : undefined,
  ]);
  if (turnStart.status === 'rejected' || rtcStart.status === 'rejected') {
    if (turnStart.status === 'fulfilled') await turnStart.value?.close();
    if (rtcStart.status === 'fulfilled') await rtcStart.value?.close();
    throw turnStart.status === 'rejected' ? turnStart.reason : (rtcStart as PromiseRejectedResult).reason;
  }
  const turnService = turnStart.value;
  const turn = turnService?.server;
  const rtc = rtcStart.value;
  // A client that can only use TURN may still reach the SFU on this host through a relay.
  if (turnService && rtc) await turnService.allowOwnEndpoints(rtc.port.localCandidates());
  const sfu = rtc ? new SfuRooms(rtc, logger, config.mcu) : undefined;
  const signaling = new SignalingServer({
    ...config.signaling,
    authSecret: config.auth.secret,
    iceServers: (identity, host) => iceServersFor(config, turnSecret, turnService && ((id) => turnService.endpointFor(id)), identity, host),
    observer: metrics.observer,
    media: sfu,
    logger,
  });
  registerSignalingGauges(metrics, () => signaling.stats);
  if (turnService) registerTurnGauges(metrics, turnService.snapshots);
  if (turnService?.pool) registerTurnWorkerGauges(metrics, turnService.pool);
  if (rtc && sfu) registerSfuGauges(metrics, rtc, sfu);
  const httpContext: HttpContext = {
    signaling,
    metrics,
    webRoot: http.webRoot,
    startedAt: Date.now(),
    logger,
    metricsToken: metricsConfig.token,
    metricsOnAppPort: metricsConfig.port === undefined,
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
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  };
  await listen(server, http.port, http.host).catch(stopEarly);
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
      rtcPort: rtc?.port.udpPort ?? false,
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
    logger,
    async close() {
      await signaling.close();
      sfu?.close();
      await rtc?.close();
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

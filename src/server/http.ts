/** HTTP routing: health, metrics, REST API, then the web app's static files. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SignalingServer } from '../signaling/SignalingServer.js';
import { guarded } from '../util/guarded.js';
import { handleCallsApi, sendError, sendJson } from './calls-api.js';
import type { ClusterHealth } from './cluster.js';
import { checkMetricsAccess } from './metrics-access.js';
import type { Metrics } from './metrics.js';
import { serveStatic } from './static.js';
import type { TurnWorkerStatus } from './workers/turn-pool.js';

export interface HttpContext {
  signaling: SignalingServer;
  metrics: Metrics;
  webRoot: string;
  startedAt: number;
  logger: Logger;
  /** config.metricsToken: when set, every /metrics request must carry it. */
  metricsToken: string | undefined;
  /** False when a separate metrics listener serves /metrics instead of the app port. */
  metricsOnAppPort: boolean;
  /** Media worker processes (config workers > 0): listed in /healthz, their metrics added to /metrics. */
  workers?: { status(): unknown[]; metricsText(): Promise<string> } | undefined;
  /** The cluster as this node sees it, when it is a node of one (config `redis`). */
  cluster?: () => ClusterHealth | undefined;
  /** The TURN worker processes, for /healthz (absent: TURN in this process, or off). */
  turnWorkers?: () => TurnWorkerStatus[];
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** An entry point for requests: a fault answers 500 (or drops the socket once headers are out). */
function requestEntry(
  where: string,
  ctx: HttpContext,
  route: (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<string>,
): Handler {
  const fault = (err: unknown, req: IncomingMessage, res: ServerResponse): void => {
    ctx.logger.error({ err, url: req.url }, 'http handler failed');
    if (!res.headersSent) sendError(res, 500, 'internal-error', 'internal error');
    else res.destroy();
  };
  return guarded(
    where,
    async (req: IncomingMessage, res: ServerResponse) => {
      let pathname: string;
      try {
        pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      } catch {
        sendError(res, 400, 'invalid-message', 'bad request URL');
        return;
      }
      const label = await route(req, res, pathname);
      ctx.metrics.httpRequests.inc({ route: label, status: String(res.statusCode) });
    },
    fault,
  );
}

export function createRequestHandler(ctx: HttpContext): Handler {
  return requestEntry('http.request', ctx, (req, res, pathname) => route(ctx, req, res, pathname));
}

/** The separate metrics listener (config metricsPort): /metrics and /healthz, nothing else. */
export function createMetricsRequestHandler(ctx: HttpContext): Handler {
  return requestEntry('http.metrics-listener.request', ctx, async (req, res, pathname) => {
    if (pathname === '/healthz') return healthz(ctx, res);
    if (pathname === '/metrics') return metrics(ctx, req, res, false);
    sendError(res, 404, 'not-found', 'this listener serves /metrics and /healthz only');
    return 'not-found';
  });
}

function healthz(ctx: HttpContext, res: ServerResponse): string {
  const s = ctx.signaling.stats;
  sendJson(res, 200, {
    status: 'ok',
    uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
    rooms: s.rooms,
    participants: s.participants,
    connections: s.connections,
    ...(ctx.workers ? { workers: ctx.workers.status() } : {}),
    ...(ctx.cluster?.() ? { cluster: ctx.cluster() } : {}),
    ...(ctx.turnWorkers ? { turnWorkers: ctx.turnWorkers() } : {}),
  });
  return 'healthz';
}

async function metrics(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, loopbackOnly: boolean): Promise<string> {
  const access = checkMetricsAccess(
    { remoteAddress: req.socket.remoteAddress, authorization: req.headers.authorization },
    { token: ctx.metricsToken, loopbackOnly },
  );
  if (!access.ok) {
    if (access.status === 401) res.setHeader('www-authenticate', 'Bearer realm="switchboard-metrics"');
    sendError(res, access.status, access.status === 401 ? 'unauthorized' : 'forbidden', access.message);
    return 'metrics-refused';
  }
  const text = (await ctx.metrics.registry.metrics()) + (ctx.workers ? await ctx.workers.metricsText() : '');
  res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType, 'cache-control': 'no-store' });
  res.end(text);
  return 'metrics';
}

/** Returns a low-cardinality route label for metrics. */
async function route(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, pathname: string): Promise<string> {
  if (pathname === '/healthz') return healthz(ctx, res);
  if (pathname === '/metrics' && ctx.metricsOnAppPort) return metrics(ctx, req, res, true);
  if (pathname.startsWith('/api/')) {
    if (await handleCallsApi(req, res, pathname, ctx.signaling)) return 'api-calls';
    sendError(res, 404, 'not-found', `no API route ${pathname}`);
    return 'api-unknown';
  }
  if ((req.method === 'GET' || req.method === 'HEAD') && (await serveStatic(ctx.webRoot, req, res, pathname))) return 'static';
  sendError(res, 404, 'not-found', `nothing at ${pathname}`);
  return 'not-found';
}

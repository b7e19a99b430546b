/** HTTP routing: health, metrics, REST API, then the web app's static files. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SignalingServer } from '../signaling/SignalingServer.js';
import { handleCallsApi, sendError, sendJson } from './calls-api.js';
import type { Metrics } from './metrics.js';
import { serveStatic } from './static.js';

export interface HttpContext {
  signaling: SignalingServer;
  metrics: Metrics;
  webRoot: string;
  startedAt: number;
  logger: Logger;
}

export function createRequestHandler(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      sendError(res, 400, 'invalid-message', 'bad request URL');
      return;
    }
    route(ctx, req, res, pathname)
      .then((route) => ctx.metrics.httpRequests.inc({ route, status: String(res.statusCode) }))
      .catch((err: unknown) => {
        ctx.logger.error({ err, url: req.url }, 'http handler failed');
        if (!res.headersSent) sendError(res, 500, 'internal-error', 'internal error');
        else res.destroy();
      });
  };
}

/** Returns a low-cardinality route label for metrics. */
async function route(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, pathname: string): Promise<string> {
  if (pathname === '/healthz') {
    const s = ctx.signaling.stats;
    sendJson(res, 200, { status: 'ok', uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000), rooms: s.rooms, participants: s.participants, connections: s.connections });
    return 'healthz';
  }
  if (pathname === '/metrics') {
    const text = await ctx.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType });
    res.end(text);
    return 'metrics';
  }
  if (pathname.startsWith('/api/')) {
    if (await handleCallsApi(req, res, pathname, ctx.signaling)) return 'api-calls';
    sendError(res, 404, 'not-found', `no API route ${pathname}`);
    return 'api-unknown';
  }
  if ((req.method === 'GET' || req.method === 'HEAD') && (await serveStatic(ctx.webRoot, req, res, pathname))) return 'static';
  sendError(res, 404, 'not-found', `nothing at ${pathname}`);
  return 'not-found';
}

/**
 * Who may read `/metrics`. The page names rooms' sizes, error rates and process internals:
 * not for the public. Three modes (config `metricsToken`, `metricsPort`):
 * - a token is set: every request needs `Authorization: Bearer <token>` (RFC 6750 §2.1),
 *   else 401, wherever /metrics is served;
 * - no token, a separate metrics listener: whoever reaches that listener (the operator chose
 *   its address, 127.0.0.1 by default);
 * - no token, on the app port: loopback clients only, else 403.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export type MetricsDecision = { ok: true } | { ok: false; status: 401 | 403; message: string };

export interface MetricsRequest {
  /** The TCP peer (`req.socket.remoteAddress`): the only address a client cannot forge. */
  remoteAddress: string | undefined;
  authorization: string | undefined;
}

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback (::ffff:127.x.y.z). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase();
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return isIP(a) === 6 && (a === '::1' || a === '0:0:0:0:0:0:0:1');
}

/** Constant-time comparison of the presented token with ours (hashes first: equal lengths). */
function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function checkMetricsAccess(req: MetricsRequest, opts: { token: string | undefined; loopbackOnly: boolean }): MetricsDecision {
  if (opts.token !== undefined) {
    // The scheme name is case-insensitive (RFC 7235 §2.1); the token is compared whole.
    const m = /^Bearer ([\x21-\x7e]+)$/i.exec(req.authorization ?? '');
    if (!m || !tokenMatches(m[1] as string, opts.token))
      return { ok: false, status: 401, message: 'send "Authorization: Bearer <metricsToken>"' };
    return { ok: true };
  }
  if (opts.loopbackOnly && !isLoopbackAddress(req.remoteAddress)) {
    return {
      ok: false,
      status: 403,
      message: '/metrics answers loopback clients only; set metricsToken or metricsPort to serve it elsewhere',
    };
  }
  return { ok: true };
}

/**
 * Access tokens: HS256 JWTs (RFC 7519) carrying an identity (`sub`), a room grant
 * (`room`: a room name or "*") and an expiry. Issued by `switchboard token` or by an
 * application backend that shares the secret; checked by the signaling server on `hello`.
 */
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { SwitchboardError } from '../protocol/index.js';

export interface AccessGrant {
  identity: string;
  /** Room name, or "*" for any room. */
  room: string;
  name?: string;
  expiresAt: number;
}

const ISSUER = 'switchboard';

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export async function createAccessToken(opts: {
  secret: string;
  identity: string;
  room: string;
  ttlSeconds: number;
  /** Left out of the token when absent or empty. */
  name?: string | undefined;
}): Promise<string> {
  const jwt = new SignJWT({ room: opts.room, ...(opts.name ? { name: opts.name } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(opts.identity)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + opts.ttlSeconds);
  return jwt.sign(key(opts.secret));
}

const IDENTITY = /^[A-Za-z0-9_.:@-]{1,64}$/;

/** Verifies signature (HS256 only: `alg: none` and others are refused), expiry and claims. */
export async function verifyAccessToken(token: string, secret: string): Promise<AccessGrant> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, key(secret), { algorithms: ['HS256'], issuer: ISSUER, requiredClaims: ['exp', 'sub'] }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new SwitchboardError('token-expired', 'token has expired');
    throw new SwitchboardError('token-invalid', `token rejected: ${err instanceof Error ? err.message : 'invalid'}`);
  }
  const { sub, room, name, exp } = payload;
  const invalid = (why: string): SwitchboardError => new SwitchboardError('token-invalid', `token rejected: ${why}`);
  if (typeof sub !== 'string' || !IDENTITY.test(sub)) throw invalid('"sub" must be an identity');
  if (typeof room !== 'string' || room.length === 0 || room.length > 64) throw invalid('"room" grant missing');
  if (name !== undefined && (typeof name !== 'string' || name.length > 64)) throw invalid('"name" must be a string');
  return { identity: sub, room, expiresAt: exp as number, ...(typeof name === 'string' ? { name } : {}) };
}

export function grantsRoom(grant: AccessGrant, room: string): boolean {
  return grant.room === '*' || grant.room === room;
}

/** Parses "30s", "10m", "1h", "2d" or a bare number of seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return n * unit;
}

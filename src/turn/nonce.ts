/**
 * Stateless NONCE values (RFC 8489 §9.2): an expiry and an HMAC over it and the client's IP,
 * so the server keeps no per-client state before authentication (an unauthenticated
 * Allocate leaves nothing behind) and a nonce works only from the address it was issued to.
 * An expired nonce is "stale" (438), a forged or foreign one is simply invalid.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type NonceCheck = 'valid' | 'stale' | 'invalid';

const MAC_BYTES = 12;

export class NonceIssuer {
  private readonly key: Buffer;

  /** `prefix`: RFC 8489 §9.2 nonce cookie announcing security features, or ''. */
  constructor(
    private readonly lifetimeMs: number,
    private readonly prefix = '',
    key = randomBytes(32),
  ) {
    this.key = key;
  }

  issue(clientIp: string, now = Date.now()): string {
    const body = Buffer.alloc(4 + MAC_BYTES);
    body.writeUInt32BE(Math.floor((now + this.lifetimeMs) / 1000), 0);
    this.mac(body.subarray(0, 4), clientIp).copy(body, 4);
    return this.prefix + body.toString('base64url');
  }

  check(nonce: string, clientIp: string, now = Date.now()): NonceCheck {
    if (!nonce.startsWith(this.prefix)) return 'invalid';
    const body = Buffer.from(nonce.slice(this.prefix.length), 'base64url');
    if (body.length !== 4 + MAC_BYTES) return 'invalid';
    if (!timingSafeEqual(this.mac(body.subarray(0, 4), clientIp), body.subarray(4))) return 'invalid';
    return body.readUInt32BE(0) * 1000 < now ? 'stale' : 'valid';
  }

  private mac(expiry: Buffer, clientIp: string): Buffer {
    return createHmac('sha256', this.key).update(expiry).update(clientIp).digest().subarray(0, MAC_BYTES);
  }
}

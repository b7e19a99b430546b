/**
 * The long-term credential mechanism on the server side (RFC 8489 §9.2.4), in its order:
 * no integrity → 401 with REALM and a fresh NONCE; missing USERNAME/REALM/NONCE → 400;
 * unknown user or wrong MESSAGE-INTEGRITY(-SHA256) → 401; a nonce that is not (or no longer)
 * ours → 438 with a fresh one. The integrity check runs in constant time
 * (stun/integrity.ts). Nothing is stored for a request that fails.
 */
import { Attr } from '../../stun/constants.js';
import { checkIntegrity } from '../../stun/integrity.js';
import { getAttribute, type StunMessage } from '../../stun/message.js';
import { encodeNonceCookie } from '../../stun/nonce-cookie.js';
import { PasswordAlgorithm, decodePasswordAlgorithm, encodePasswordAlgorithms } from '../../stun/password-algorithms.js';
import type { CredentialStore, KeyAlgorithm } from '../credentials.js';
import type { NonceIssuer } from '../nonce.js';
import { errorBuilder, errorResponse, finish, type Signer } from './responses.js';

export type AuthResult =
  { ok: true; username: string; algorithm: KeyAlgorithm; signer: Signer } | { ok: false; response: Buffer; code: number };

/**
 * What a 401 offers (§9.2.3, §14.11): SHA-256 first, MD5 for RFC 5389 clients. Announced by
 * the nonce cookie's "password algorithms" bit (nonceCookie()).
 */
const OFFERED = encodePasswordAlgorithms([{ algorithm: PasswordAlgorithm.SHA256 }, { algorithm: PasswordAlgorithm.MD5 }]);

/** The nonce prefix announcing the security features this server has (§9.2). */
export function nonceCookie(hasStaticUsers: boolean): string {
  // Username anonymity (USERHASH) only works for users known in advance, not REST usernames.
  return encodeNonceCookie({ passwordAlgorithms: true, usernameAnonymity: hasStaticUsers });
}

export class TurnAuthenticator {
  constructor(
    private readonly credentials: CredentialStore,
    private readonly nonces: NonceIssuer,
  ) {}

  get realm(): string {
    return this.credentials.realm;
  }

  /** 401 or 438 with REALM and a fresh NONCE: the client retries with credentials. */
  challenge(req: StunMessage, code: 401 | 438, clientIp: string): Buffer {
    return finish(
      errorBuilder(req, code)
        .add(Attr.Realm, Buffer.from(this.credentials.realm, 'utf8'))
        .add(Attr.Nonce, Buffer.from(this.nonces.issue(clientIp), 'utf8'))
        .add(Attr.PasswordAlgorithms, OFFERED),
      req,
    );
  }

  authenticate(req: StunMessage, clientIp: string, now = Date.now()): AuthResult {
    const sha256 = getAttribute(req, Attr.MessageIntegritySha256) !== undefined;
    if (!sha256 && getAttribute(req, Attr.MessageIntegrity) === undefined) return this.fail(req, 401, clientIp);
    const realm = getAttribute(req, Attr.Realm);
    const nonce = getAttribute(req, Attr.Nonce);
    const username = this.username(req);
    if (username === null || !realm || !nonce) return { ok: false, code: 400, response: errorResponse(req, 400) };
    const algorithm = this.algorithm(req);
    if (!algorithm) return { ok: false, code: 400, response: errorResponse(req, 400) };
    if (realm.toString('utf8') !== this.credentials.realm) return this.fail(req, 401, clientIp);
    const key = username === undefined ? undefined : this.credentials.key(username, algorithm, now);
    if (!key || username === undefined || !checkIntegrity(req, key, sha256)) return this.fail(req, 401, clientIp);
    if (this.nonces.check(nonce.toString('utf8'), clientIp, now) !== 'valid') return this.fail(req, 438, clientIp);
    return { ok: true, username, algorithm, signer: { key, sha256 } };
  }

  private fail(req: StunMessage, code: 401 | 438, clientIp: string): AuthResult {
    return { ok: false, code, response: this.challenge(req, code, clientIp) };
  }

  /** USERNAME, or the static user a USERHASH (§14.4) stands for; null when neither is there. */
  private username(req: StunMessage): string | undefined | null {
    const name = getAttribute(req, Attr.Username);
    if (name) return name.length <= 513 ? name.toString('utf8') : undefined;
    const hash = getAttribute(req, Attr.Userhash);
    if (hash) return hash.length === 32 ? this.credentials.usernameForHash(hash) : undefined;
    return null;
  }

  /**
   * §9.2.4: PASSWORD-ALGORITHM picks the key's hash, and must come with the PASSWORD-ALGORITHMS
   * we offered, unchanged (no downgrade); neither means MD5 (RFC 5389 clients). Undefined: 400.
   */
  private algorithm(req: StunMessage): KeyAlgorithm | undefined {
    const chosen = getAttribute(req, Attr.PasswordAlgorithm);
    const offered = getAttribute(req, Attr.PasswordAlgorithms);
    if (!chosen && !offered) return 'md5';
    if (!chosen || !offered || !offered.equals(OFFERED)) return undefined;
    const alg = decodePasswordAlgorithm(chosen)?.algorithm;
    return alg === PasswordAlgorithm.SHA256 ? 'sha256' : alg === PasswordAlgorithm.MD5 ? 'md5' : undefined;
  }
}

/**
 * Long-term credentials for TURN (RFC 8489 §9.2): static users (`--turn-user name:password`)
 * and the TURN REST scheme (`--turn-secret`, see rest-credentials.ts), where the password is
 * derived from the username and an expiry sits in the username. The server never needs the
 * password itself, only the key = H(username:realm:password).
 */
import { longTermKey, userHash } from '../stun/credentials.js';
import { restUsernameValid, turnRestPassword } from './rest-credentials.js';
import { InternalErrorCode, SwitchboardError } from '../protocol/errors.js';

export type KeyAlgorithm = 'md5' | 'sha256';

export class CredentialStore {
  private readonly users = new Map<string, string>();
  /** USERHASH (§14.4) → username, for static users: REST usernames are not known in advance. */
  private readonly byHash = new Map<string, string>();

  constructor(
    readonly realm: string,
    users: readonly string[],
    private readonly secret?: string,
  ) {
    for (const entry of users) {
      const i = entry.indexOf(':');
      if (i <= 0 || i === entry.length - 1)
        throw new SwitchboardError(InternalErrorCode.InvalidConfig, `a TURN user must be name:password (got "${entry}")`, 'turnUsers');
      const name = entry.slice(0, i);
      this.users.set(name, entry.slice(i + 1));
      this.byHash.set(userHash(name, realm).toString('hex'), name);
    }
    if (this.users.size === 0 && !secret)
      throw new SwitchboardError(
        InternalErrorCode.InvalidConfig,
        'TURN needs credentials: a secret (--turn-secret) or users (--turn-user)',
      );
  }

  /**
   * The long-term key for `username`, or undefined when the user is unknown or its REST
   * credential has expired. Static users win over the REST scheme.
   */
  key(username: string, algorithm: KeyAlgorithm, now = Date.now()): Buffer | undefined {
    const password = this.users.get(username) ?? this.restPassword(username, now);
    return password === undefined ? undefined : longTermKey(username, this.realm, password, algorithm);
  }

  usernameForHash(hash: Buffer): string | undefined {
    return this.byHash.get(hash.toString('hex'));
  }

  private restPassword(username: string, now: number): string | undefined {
    if (!this.secret) return undefined;
    return restUsernameValid(username, now) ? turnRestPassword(this.secret, username) : undefined;
  }
}

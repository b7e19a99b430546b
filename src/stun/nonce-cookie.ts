/**
 * The nonce cookie (RFC 8489 §9.2): a server that implements RFC 8489 starts NONCE with
 * "obMatJos2" and the base64 of its 24-bit security feature set, so that a client can detect
 * a bid-down attack (§9.2.1).
 */

export const NONCE_COOKIE_PREFIX = 'obMatJos2';
/** Prefix plus 4 base64 characters (§9.2: "the complete 13-character string"). */
export const NONCE_COOKIE_LENGTH = 13;

export interface SecurityFeatures {
  passwordAlgorithms: boolean;
  usernameAnonymity: boolean;
}

// §18.1: bit 0 is the leftmost (most significant) bit of the 3 bytes, bit 23 the rightmost.
const PASSWORD_ALGORITHMS_BIT = 1 << 23;
const USERNAME_ANONYMITY_BIT = 1 << 22;

export function encodeNonceCookie(features: SecurityFeatures): string {
  const bits = (features.passwordAlgorithms ? PASSWORD_ALGORITHMS_BIT : 0) | (features.usernameAnonymity ? USERNAME_ANONYMITY_BIT : 0);
  return NONCE_COOKIE_PREFIX + Buffer.from([bits >>> 16, (bits >>> 8) & 0xff, bits & 0xff]).toString('base64');
}

/**
 * The features a NONCE advertises; undefined when it carries no cookie (an RFC 5389 server).
 * Unassigned bits are ignored, as later RFCs may give them a meaning.
 */
export function parseNonceCookie(nonce: string): SecurityFeatures | undefined {
  if (!nonce.startsWith(NONCE_COOKIE_PREFIX)) return undefined;
  const b64 = nonce.slice(NONCE_COOKIE_PREFIX.length, NONCE_COOKIE_LENGTH);
  // Buffer's base64 decoder skips foreign characters, so check the alphabet (RFC 4648 §4) first.
  if (!/^[A-Za-z0-9+/]{4}$/.test(b64)) return undefined;
  const b = Buffer.from(b64, 'base64');
  const bits = ((b[0] as number) << 16) | ((b[1] as number) << 8) | (b[2] as number);
  return { passwordAlgorithms: (bits & PASSWORD_ALGORITHMS_BIT) !== 0, usernameAnonymity: (bits & USERNAME_ANONYMITY_BIT) !== 0 };
}

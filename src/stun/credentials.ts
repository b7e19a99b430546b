/**
 * Long-term credential strings and keys (RFC 8489 §9.2.2, §14.3–14.4, §18.5.1): string
 * preparation, the HMAC key and the USERHASH value.
 */
import { createHash } from 'node:crypto';

/** RFC 8265 §4.2.2 rule 2: non-ASCII spaces (Unicode Zs other than U+0020) become U+0020. */
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/g;

/**
 * OpaqueString preparation of a username or realm (RFC 8265 §4.2.2, required by RFC 8489
 * §14.3, §14.4 and §14.9; §14.3 explains why not UsernameCasePreserved): spaces mapped,
 * then NFC. Code points the profile disallows are passed through, not refused.
 */
export function prepUsername(s: string): string {
  return s.replace(NON_ASCII_SPACE, ' ').normalize('NFC');
}

/**
 * Password preparation as RFC 8489 §9.2.2 asks (OpaqueString), done SASLprep-style so that
 * the RFC's own examples hold (RFC 5769 §2.4, RFC 8489 B.1: "The\u00adM\u00aatr\u2168" →
 * "TheMatrIX", which needs the mapping to nothing and NFKC): non-ASCII spaces become U+0020,
 * characters "commonly mapped to nothing" are removed, then NFKC.
 */
export function prepPassword(password: string): string {
  return (
    password
      .replace(NON_ASCII_SPACE, ' ')
      // RFC 4013 §2.2 / RFC 3454 B.1: these code points one by one (combining ones included) map to nothing.
      // eslint-disable-next-line no-misleading-character-class -- each listed code point is meant alone, not as a sequence
      .replace(/[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/g, '')
      .normalize('NFKC')
  );
}

/**
 * Long-term credential key (§9.2.2, §18.5.1): MD5 or SHA-256 of
 * username ":" OpaqueString(realm) ":" OpaqueString(password). The username is taken as
 * sent in USERNAME, which §14.3 requires to be prepared already.
 */
export function longTermKey(username: string, realm: string, password: string, algorithm: 'md5' | 'sha256' = 'md5'): Buffer {
  return createHash(algorithm)
    .update(`${username}:${prepUsername(realm)}:${prepPassword(password)}`, 'utf8')
    .digest();
}

/** USERHASH value (§14.4): SHA-256(OpaqueString(username) ":" OpaqueString(realm)), 32 bytes. */
export function userHash(username: string, realm: string): Buffer {
  return createHash('sha256')
    .update(`${prepUsername(username)}:${prepUsername(realm)}`, 'utf8')
    .digest();
}

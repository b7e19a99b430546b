/**
 * ICE credentials (RFC 8445 §5.3, RFC 8839 §5.4): ufrag and password are made of ice-chars
 * (ALPHA / DIGIT / "+" / "/"); the ufrag carries at least 24 random bits (≥ 4 chars) and the
 * password at least 128 (≥ 22 chars).
 */
import { randomBytes } from 'node:crypto';

/** The 64 ice-chars, so that one random byte's low 6 bits pick one without bias. */
const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ICE_CHARS_RE = /^[A-Za-z0-9+/]+$/;

export const MIN_UFRAG_CHARS = 4;
export const MIN_PASSWORD_CHARS = 22;
/** What this server generates: 48 and 144 random bits, above the RFC's minimums. */
export const UFRAG_CHARS = 8;
export const PASSWORD_CHARS = 24;

export function randomIceString(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ICE_CHARS[(bytes[i] as number) & 63];
  return out;
}

/** RFC 8839 §5.4: ice-ufrag is 4–256 ice-chars, ice-pwd 22–256. */
export function isValidUfrag(s: string): boolean {
  return s.length >= MIN_UFRAG_CHARS && s.length <= 256 && ICE_CHARS_RE.test(s);
}

export function isValidPassword(s: string): boolean {
  return s.length >= MIN_PASSWORD_CHARS && s.length <= 256 && ICE_CHARS_RE.test(s);
}

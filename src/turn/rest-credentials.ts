/**
 * Ephemeral TURN credentials, the "TURN REST API" scheme shared with coturn and most TURN
 * servers (draft-uberti-behave-turn-rest): username = "<expiry unix seconds>:<identity>",
 * password = base64(HMAC-SHA1(secret, username)). The signaling server hands a fresh pair to
 * each client; a TURN server holding the same secret accepts it until the expiry.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TurnCredential {
  username: string;
  credential: string;
  /** Unix seconds after which the TURN server refuses it. */
  expiresAt: number;
}

export function turnRestCredential(secret: string, identity: string, ttlSeconds: number, nowMs = Date.now()): TurnCredential {
  const expiresAt = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = `${expiresAt}:${identity}`;
  return { username, credential: turnRestPassword(secret, username), expiresAt };
}

export function turnRestPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/** True when `username` is a REST username ("expiry:identity") whose expiry has not passed. */
export function restUsernameValid(username: string, nowMs = Date.now()): boolean {
  const m = /^(\d{1,12}):/.exec(username);
  return m !== null && Number(m[1]) * 1000 >= nowMs;
}

/** Checks a REST username/password pair: the right HMAC and not expired. */
export function verifyTurnRestCredential(secret: string, username: string, password: string, nowMs = Date.now()): boolean {
  if (!restUsernameValid(username, nowMs)) return false;
  const expected = Buffer.from(turnRestPassword(secret, username));
  const given = Buffer.from(password);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * A random SSRC for a stream we send (RFC 3550 §8.1: chosen at random so that two sources in one
 * session are unlikely to collide). Never 0: the SFU uses 0 for a stream whose SSRC is not bound
 * yet (a simulcast layer before its first packet).
 */
import { randomBytes } from 'node:crypto';

export function randomSsrc(): number {
  return randomBytes(4).readUInt32BE(0) || 1;
}

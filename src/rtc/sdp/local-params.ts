/** Checks on the server's own transport parameters: a mistake here is a bug, so it throws. */
import { isFingerprint, isIcePwd, isIceUfrag } from './tokens.js';
import type { LocalTransportParameters } from './types.js';

export function assertLocalTransport(local: LocalTransportParameters): void {
  if (!isIceUfrag(local.iceUfrag)) throw new TypeError('local ICE ufrag must be 4-256 ice-chars (RFC 8839 §5.4)');
  if (!isIcePwd(local.icePwd)) throw new TypeError('local ICE password must be 22-256 ice-chars (RFC 8839 §5.4)');
  if (!isFingerprint(local.fingerprint)) throw new TypeError('local fingerprint is not a sha-1/224/256/384/512 fingerprint');
  for (const c of local.candidates) {
    if (!/^[A-Za-z0-9+/]{1,32}$/.test(c.foundation)) throw new TypeError('candidate foundation must be 1-32 ice-chars (RFC 8839 §5.1)');
    if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535) throw new TypeError('candidate port out of range');
    if (!Number.isInteger(c.priority) || c.priority < 1 || c.priority > 0xffffffff) throw new TypeError('candidate priority out of range');
    if (!/^[0-9A-Fa-f:.]+$/.test(c.ip)) throw new TypeError('candidate address must be a literal IP address');
  }
}

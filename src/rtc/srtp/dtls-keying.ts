/** Splitting the DTLS exporter output into per-direction SRTP master keys (RFC 5764 §4.2). */
import { srtpKeyLengths, type SrtpMasterKeys, type SrtpProfileName } from './profiles.js';

/** RFC 5764 §4.2: the exporter label; ask for 2·(key + salt) bytes. */
export const DTLS_SRTP_EXPORTER_LABEL = 'EXTRACTOR-dtls_srtp';

/**
 * RFC 5764 §4.2 layout: client_write_key | server_write_key | client_write_salt | server_write_salt.
 * Our local (sending) keys are the client's when we are the DTLS client. The returned buffers
 * are copies, so the caller may wipe `material`.
 */
export function splitDtlsSrtpKeyingMaterial(
  material: Buffer,
  profile: SrtpProfileName,
  weAreDtlsClient: boolean,
): { local: SrtpMasterKeys; remote: SrtpMasterKeys } {
  const { key, salt } = srtpKeyLengths(profile);
  if (material.length !== 2 * (key + salt)) {
    throw new RangeError(`${profile} keying material must be ${2 * (key + salt)} bytes, got ${material.length}`);
  }
  const take = (at: number, n: number): Buffer => Buffer.from(material.subarray(at, at + n));
  const client: SrtpMasterKeys = { key: take(0, key), salt: take(2 * key, salt) };
  const server: SrtpMasterKeys = { key: take(key, key), salt: take(2 * key + salt, salt) };
  return weAreDtlsClient ? { local: client, remote: server } : { local: server, remote: client };
}

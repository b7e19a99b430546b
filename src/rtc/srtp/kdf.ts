/**
 * SRTP key derivation, RFC 3711 §4.3 with the AES-CM PRF (§4.3.3), key_derivation_rate 0.
 * RFC 7714 §11 reuses it unchanged for AEAD_AES_128_GCM, with a 96-bit master salt.
 */
import { createCipheriv } from 'node:crypto';
import { AES_CM_AUTH_KEY_LENGTH, srtpKeyLengths, type SrtpMasterKeys, type SrtpProfileName } from './profiles.js';

/** RFC 3711 §4.3.2 labels. */
export const KdfLabel = {
  RtpEncryption: 0,
  RtpAuthentication: 1,
  RtpSalt: 2,
  RtcpEncryption: 3,
  RtcpAuthentication: 4,
  RtcpSalt: 5,
} as const;

/** Session keys of one direction: SRTP and SRTCP each get their own (auth is empty for GCM). */
export interface SrtpSessionKeys {
  rtpKey: Buffer;
  rtpSalt: Buffer;
  rtpAuth: Buffer;
  rtcpKey: Buffer;
  rtcpSalt: Buffer;
  rtcpAuth: Buffer;
}

/**
 * The PRF output for one label: AES-128 in counter mode keyed by the master key, starting at
 * x·2^16 where x = (label << 48) XOR master_salt (§4.3.1 with r = 0). The salt is left-aligned in
 * the 112-bit field, so a 96-bit GCM salt is zero-padded on the right (RFC 7714 §11).
 */
export function srtpKdf(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  if (masterKey.length !== 16) throw new RangeError(`SRTP master key must be 16 bytes, got ${masterKey.length}`);
  if (masterSalt.length > 14) throw new RangeError(`SRTP master salt must be at most 14 bytes, got ${masterSalt.length}`);
  const blocks = Math.ceil(length / 16);
  const input = Buffer.alloc(blocks * 16);
  for (let b = 0; b < blocks; b++) {
    const at = b * 16;
    masterSalt.copy(input, at);
    input[at + 7]! ^= label; // key_id = label || r, r = 0: the label sits 7 bytes from the right of 112 bits
    input.writeUInt16BE(b, at + 14);
  }
  const ecb = createCipheriv('aes-128-ecb', masterKey, null);
  ecb.setAutoPadding(false);
  const out = Buffer.concat([ecb.update(input), ecb.final()]);
  return out.subarray(0, length);
}

/** All six session keys for one direction (§4.3.2), sized for the profile. */
export function deriveSessionKeys(profile: SrtpProfileName, master: SrtpMasterKeys): SrtpSessionKeys {
  const { key, salt } = srtpKeyLengths(profile);
  if (master.key.length !== key || master.salt.length !== salt) {
    throw new RangeError(`${profile} needs a ${key}-byte key and ${salt}-byte salt`);
  }
  const authLength = profile === 'AES_CM_128_HMAC_SHA1_80' ? AES_CM_AUTH_KEY_LENGTH : 0;
  const derive = (label: number, n: number): Buffer => (n === 0 ? Buffer.alloc(0) : srtpKdf(master.key, master.salt, label, n));
  return {
    rtpKey: derive(KdfLabel.RtpEncryption, key),
    rtpAuth: derive(KdfLabel.RtpAuthentication, authLength),
    rtpSalt: derive(KdfLabel.RtpSalt, salt),
    rtcpKey: derive(KdfLabel.RtcpEncryption, key),
    rtcpAuth: derive(KdfLabel.RtcpAuthentication, authLength),
    rtcpSalt: derive(KdfLabel.RtcpSalt, salt),
  };
}

/**
 * The two SRTP protection profiles Switchboard negotiates over DTLS-SRTP, their DTLS profile
 * ids (RFC 5764 §4.1.2, RFC 7714 §14.2) and their key, salt and tag sizes.
 */

export type SrtpProfileName = 'AES_CM_128_HMAC_SHA1_80' | 'AEAD_AES_128_GCM';

/** DTLS-SRTP protection profile ids as carried in the use_srtp extension. */
export const SRTP_PROFILE_IDS: Record<SrtpProfileName, number> = {
  AES_CM_128_HMAC_SHA1_80: 0x0001,
  AEAD_AES_128_GCM: 0x0007,
};

/** The profile name for a DTLS-SRTP protection profile id, or undefined if we do not support it. */
export function srtpProfileById(id: number): SrtpProfileName | undefined {
  if (id === SRTP_PROFILE_IDS.AES_CM_128_HMAC_SHA1_80) return 'AES_CM_128_HMAC_SHA1_80';
  if (id === SRTP_PROFILE_IDS.AEAD_AES_128_GCM) return 'AEAD_AES_128_GCM';
  return undefined;
}

/** Master key and master salt lengths in bytes (RFC 5764 §4.1.2; RFC 7714 §14.2: 96-bit salt). */
export function srtpKeyLengths(p: SrtpProfileName): { key: number; salt: number } {
  return p === 'AEAD_AES_128_GCM' ? { key: 16, salt: 12 } : { key: 16, salt: 14 };
}

/** One master key and salt: what DTLS-SRTP exports for one direction. */
export interface SrtpMasterKeys {
  key: Buffer;
  salt: Buffer;
}

/** RFC 3711 §4.2 / RFC 5764 §4.1.2: HMAC-SHA1 tag truncated to 80 bits, key 160 bits. */
export const AES_CM_AUTH_TAG_LENGTH = 10;
export const AES_CM_AUTH_KEY_LENGTH = 20;
/** RFC 7714 §7.2: AEAD_AES_128_GCM carries a 16-byte authentication tag. */
export const GCM_AUTH_TAG_LENGTH = 16;
/** RFC 3711 §3.4: the SRTCP trailer's E flag and 31-bit index. */
export const SRTCP_INDEX_LENGTH = 4;

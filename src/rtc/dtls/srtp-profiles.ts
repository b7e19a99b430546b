/** DTLS-SRTP protection profiles we negotiate (RFC 5764 §4.1.2, RFC 7714 §14.2). */
export const SRTP_AES128_CM_HMAC_SHA1_80 = 0x0001;
export const SRTP_AEAD_AES_128_GCM = 0x0007;

/** Our default preference: AEAD first (RFC 8827 §6.5 recommends GCM where available). */
export const DEFAULT_SRTP_PROFILE_IDS: readonly number[] = [SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80];

/** Master key and salt lengths in bytes per profile (RFC 5764 §4.1.2; RFC 7714 §12). */
const KEY_SALT: ReadonlyMap<number, readonly [key: number, salt: number]> = new Map([
  [SRTP_AES128_CM_HMAC_SHA1_80, [16, 14] as const],
  [SRTP_AEAD_AES_128_GCM, [16, 12] as const],
]);

export function isSupportedSrtpProfile(id: number): boolean {
  return KEY_SALT.has(id);
}

/**
 * RFC 5764 §4.2: the exporter output is client key, server key, client salt,
 * server salt, so its length is 2 × (key + salt). Null for an unknown profile.
 */
export function srtpKeyingMaterialLength(id: number): number | null {
  const ks = KEY_SALT.get(id);
  return ks ? 2 * (ks[0] + ks[1]) : null;
}

/** RFC 5764 §4.2 label for the TLS exporter (RFC 5705). */
export const DTLS_SRTP_EXPORTER_LABEL = 'EXTRACTOR-dtls_srtp';

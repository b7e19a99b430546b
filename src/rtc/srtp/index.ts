/** SRTP and SRTCP (RFC 3711, RFC 7714) keyed by DTLS-SRTP (RFC 5764). */
export { SRTP_PROFILE_IDS, srtpKeyLengths, srtpProfileById, type SrtpMasterKeys, type SrtpProfileName } from './profiles.js';
export { DTLS_SRTP_EXPORTER_LABEL, splitDtlsSrtpKeyingMaterial } from './dtls-keying.js';
export { deriveSessionKeys, type SrtpSessionKeys } from './kdf.js';
export { SrtpContext, type SrtpStats } from './context.js';

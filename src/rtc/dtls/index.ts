export { DtlsCertificate } from './certificate.js';
export {
  DtlsTransport,
  type DatagramLink,
  type DtlsConnectedInfo,
  type DtlsRole,
  type DtlsState,
  type DtlsStats,
  type DtlsTransportEvents,
  type DtlsTransportOptions,
} from './dtls-transport.js';
export { certificateMatchesFingerprints, computeFingerprint, formatFingerprint, type CertificateFingerprint } from './fingerprint.js';
export {
  DEFAULT_SRTP_PROFILE_IDS,
  DTLS_SRTP_EXPORTER_LABEL,
  SRTP_AEAD_AES_128_GCM,
  SRTP_AES128_CM_HMAC_SHA1_80,
  srtpKeyingMaterialLength,
} from './srtp-profiles.js';

import { X509Certificate } from 'node:crypto';
import { createSelfSignedCertificate, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm } from 'werift';
import { computeFingerprint, type CertificateFingerprint } from './fingerprint.js';

/**
 * Our DTLS identity: an ECDSA P-256 self-signed certificate (RFC 8827 §6.5 requires
 * ECDSA P-256 support) and its SDP fingerprint (RFC 8122 §5).
 */
export class DtlsCertificate {
  private static processCertificate: Promise<DtlsCertificate> | undefined;

  readonly der: Buffer;
  readonly fingerprint: CertificateFingerprint;

  private constructor(
    readonly certPem: string,
    readonly keyPem: string,
  ) {
    this.der = new X509Certificate(certPem).raw;
    // sha-256 is always computable, so the fallback never happens; it keeps the type honest.
    this.fingerprint = computeFingerprint(this.der, 'sha-256') ?? { algorithm: 'sha-256', value: '' };
  }

  /** The process-wide certificate: made on first call, the same one afterwards. */
  static generate(): Promise<DtlsCertificate> {
    DtlsCertificate.processCertificate ??= DtlsCertificate.create();
    return DtlsCertificate.processCertificate;
  }

  /** A fresh certificate (tests and anything needing a distinct identity). */
  static async create(): Promise<DtlsCertificate> {
    const made = await createSelfSignedCertificate(
      { hash: HashAlgorithm.sha256_4, signature: SignatureAlgorithm.ecdsa_3 },
      NamedCurveAlgorithm.secp256r1_23,
    );
    return new DtlsCertificate(made.certPem, made.keyPem);
  }

  /** Wraps an existing PEM pair; throws if the certificate does not parse. */
  static fromPem(certPem: string, keyPem: string): DtlsCertificate {
    return new DtlsCertificate(certPem, keyPem);
  }
}

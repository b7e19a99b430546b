import { createHash } from 'node:crypto';

/** An SDP a=fingerprint value (RFC 8122 §5). */
export interface CertificateFingerprint {
  algorithm: string;
  value: string;
}

/** RFC 8122 §5 hash function names we can compute, strongest first, mapped to Node digest names. */
const HASHES: ReadonlyArray<readonly [sdpName: string, nodeName: string]> = [
  ['sha-512', 'sha512'],
  ['sha-384', 'sha384'],
  ['sha-256', 'sha256'],
  ['sha-224', 'sha224'],
  ['sha-1', 'sha1'],
];

/** Uppercase hex pairs joined by colons, as SDP writes them (RFC 8122 §5). */
export function formatFingerprint(digest: Buffer): string {
  const parts: string[] = [];
  for (const byte of digest) parts.push(byte.toString(16).toUpperCase().padStart(2, '0'));
  return parts.join(':');
}

/** The fingerprint of a DER certificate, or null for a hash function we do not know. */
export function computeFingerprint(der: Buffer, algorithm: string): CertificateFingerprint | null {
  const name = algorithm.toLowerCase();
  const entry = HASHES.find(([sdp]) => sdp === name);
  if (!entry) return null;
  return { algorithm: entry[0], value: formatFingerprint(createHash(entry[1]).update(der).digest()) };
}

/**
 * RFC 8122 §5: use the peer's fingerprints made with the strongest hash function we
 * support, and accept if the certificate matches one of them. Values compare
 * case-insensitively; fingerprints with unknown hash functions are ignored, and if
 * none is usable the certificate is refused.
 */
export function certificateMatchesFingerprints(der: Buffer, fingerprints: readonly CertificateFingerprint[]): boolean {
  for (const [sdpName] of HASHES) {
    const offered = fingerprints.filter((f) => f.algorithm.toLowerCase() === sdpName);
    if (offered.length === 0) continue;
    const ours = computeFingerprint(der, sdpName);
    if (!ours) return false;
    return offered.some((f) => f.value.trim().toUpperCase() === ours.value);
  }
  return false;
}

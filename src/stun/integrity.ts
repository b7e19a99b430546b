/**
 * MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5), MESSAGE-INTEGRITY-SHA256 (§14.6) and
 * FINGERPRINT (§14.7). Each covers the message up to its own attribute, with the header's
 * length field set as if that attribute were the last one.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Attr, HEADER_LENGTH } from './constants.js';
import { crc32 } from './crc32.js';
import type { StunAttribute, StunMessage } from './message.js';

export const FINGERPRINT_XOR = 0x5354554e;

function find(msg: StunMessage, type: number): StunAttribute | undefined {
  for (const a of msg.attributes) if (a.type === type) return a;
  return undefined;
}

/**
 * The covered bytes are the header, with its length field as if the attribute at `offset`
 * (with `valueLength` bytes of value) ended the message, then everything up to `offset`.
 * Only the 20-byte header is copied; the rest is hashed where it lies.
 */
function coveredHeader(raw: Buffer, offset: number, valueLength: number): Buffer {
  const header = Buffer.from(raw.subarray(0, HEADER_LENGTH));
  header.writeUInt16BE(offset + 4 + valueLength - HEADER_LENGTH, 2);
  return header;
}

/** The HMAC for an integrity attribute at `offset` whose value will be `valueLength` bytes. */
function integrityMac(raw: Buffer, offset: number, valueLength: number, key: Buffer, sha256: boolean): Buffer {
  return createHmac(sha256 ? 'sha256' : 'sha1', key)
    .update(coveredHeader(raw, offset, valueLength))
    .update(raw.subarray(HEADER_LENGTH, offset))
    .digest();
}

export function computeIntegrity(raw: Buffer, offset: number, key: Buffer, sha256: boolean): Buffer {
  return integrityMac(raw, offset, sha256 ? 32 : 20, key, sha256);
}

/**
 * Checks MESSAGE-INTEGRITY (or -SHA256) in constant time. False when the attribute is absent,
 * malformed or wrong.
 */
export function checkIntegrity(msg: StunMessage, key: Buffer, sha256 = false): boolean {
  const attr = find(msg, sha256 ? Attr.MessageIntegritySha256 : Attr.MessageIntegrity);
  if (!attr) return false;
  // §14.6: the SHA-256 variant may be truncated to 16..32 bytes, in 4-byte steps.
  if (sha256 ? attr.value.length < 16 || attr.value.length > 32 || attr.value.length % 4 !== 0 : attr.value.length !== 20) return false;
  const mac = integrityMac(msg.raw, attr.offset, attr.value.length, key, sha256).subarray(0, attr.value.length);
  return timingSafeEqual(mac, attr.value);
}

export function computeFingerprint(raw: Buffer, offset: number): number {
  return (crc32(raw, HEADER_LENGTH, offset, crc32(coveredHeader(raw, offset, 4))) ^ FINGERPRINT_XOR) >>> 0;
}

/** undefined: no FINGERPRINT; otherwise whether it is the last attribute and matches. */
export function checkFingerprint(msg: StunMessage): boolean | undefined {
  const attr = find(msg, Attr.Fingerprint);
  if (!attr) return undefined;
  if (attr.value.length !== 4 || attr.offset + 8 !== msg.raw.length) return false;
  return computeFingerprint(msg.raw, attr.offset) === attr.value.readUInt32BE(0);
}

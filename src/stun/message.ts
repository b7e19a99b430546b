/**
 * STUN message framing (RFC 8489 §5, §14): header, then TLV attributes padded to 32 bits.
 * `decodeStun` never throws; attributes are views into the input, kept in order with their
 * offsets so that integrity and fingerprint can be checked over the exact received bytes.
 *
 * Attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT,
 * and after MESSAGE-INTEGRITY-SHA256 other than FINGERPRINT, are not integrity-protected and
 * are left out of `attributes` (RFC 8489 §14.5, §14.6: agents MUST ignore them), so no caller
 * can act on bytes anyone on the path could append to a signed request.
 */
import { Attr, HEADER_LENGTH, MAGIC_COOKIE, splitMessageType, type StunClass } from './constants.js';

export interface StunAttribute {
  type: number;
  /** The value without padding (a view into the message buffer). */
  value: Buffer;
  /** Offset of the attribute header within the message. */
  offset: number;
}

export interface StunMessage {
  type: number;
  method: number;
  cls: StunClass;
  transactionId: Buffer;
  attributes: StunAttribute[];
  /** The whole message as received (header + attributes). */
  raw: Buffer;
  /** Attributes after the integrity attribute(s) that were ignored (§14.5): not in `attributes`. */
  ignoredAfterIntegrity: number;
}

export type DecodeResult = { ok: true; message: StunMessage } | { ok: false; reason: string };

/** More attributes than any real message carries: a bound against crafted input. */
export const MAX_ATTRIBUTES = 64;

export function decodeStun(buf: Buffer): DecodeResult {
  if (buf.length < HEADER_LENGTH) return { ok: false, reason: 'shorter than a STUN header' };
  if (((buf[0] as number) & 0xc0) !== 0) return { ok: false, reason: 'first two bits are not zero' };
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) return { ok: false, reason: 'no magic cookie' };
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0) return { ok: false, reason: 'length is not a multiple of 4' };
  if (HEADER_LENGTH + length > buf.length) return { ok: false, reason: 'length runs past the datagram' };
  const raw = buf.subarray(0, HEADER_LENGTH + length);
  const attributes: StunAttribute[] = [];
  /** 0: no integrity yet; 1: after MESSAGE-INTEGRITY; 2: after MESSAGE-INTEGRITY-SHA256. */
  let sealed = 0;
  let ignored = 0;
  let off = HEADER_LENGTH;
  while (off < raw.length) {
    if (attributes.length + ignored >= MAX_ATTRIBUTES) return { ok: false, reason: 'too many attributes' };
    if (off + 4 > raw.length) return { ok: false, reason: 'truncated attribute header' };
    const type = raw.readUInt16BE(off);
    const len = raw.readUInt16BE(off + 2);
    const end = off + 4 + len;
    if (end > raw.length) return { ok: false, reason: `attribute 0x${type.toString(16)} runs past the message` };
    const kept = sealed === 0 || type === Attr.Fingerprint || (sealed === 1 && type === Attr.MessageIntegritySha256);
    if (kept) attributes.push({ type, value: raw.subarray(off + 4, end), offset: off });
    else ignored++;
    if (kept && type === Attr.MessageIntegrity) sealed = Math.max(sealed, 1);
    if (kept && type === Attr.MessageIntegritySha256) sealed = 2;
    off = end + ((4 - (len % 4)) % 4);
  }
  const type = raw.readUInt16BE(0);
  const { method, cls } = splitMessageType(type);
  return { ok: true, message: { type, method, cls, transactionId: raw.subarray(8, 20), attributes, raw, ignoredAfterIntegrity: ignored } };
}

export function getAttribute(msg: StunMessage, type: number): Buffer | undefined {
  for (const a of msg.attributes) if (a.type === type) return a.value;
  return undefined;
}

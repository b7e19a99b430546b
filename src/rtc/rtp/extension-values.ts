/**
 * Values of the header extensions an SFU reads or writes. Readers take the element's offset
 * and length as `findHeaderExtension` returned them and reject a wrong length (-1 or null);
 * writers put the value at `offset` and return the bytes written.
 */

// --- mid (RFC 8843 §15.2), rtp-stream-id and repaired-rtp-stream-id (RFC 8852 §3) ----------

/**
 * The ASCII identifier in a mid / rid / repaired-rid element; null when empty or when a byte is
 * outside printable ASCII. RFC 8852 §3 and RFC 8843 §15.2 allow no terminator; some senders
 * still pad with NULs, so trailing NULs are dropped.
 */
export function readSdesIdentifier(buf: Buffer, offset: number, length: number): string | null {
  if (offset < 0 || length <= 0 || offset + length > buf.length) return null;
  let end = offset + length;
  while (end > offset && buf[end - 1] === 0) end--;
  if (end === offset) return null;
  for (let i = offset; i < end; i++) {
    const c = buf[i] as number;
    if (c < 0x21 || c > 0x7e) return null;
  }
  return buf.toString('latin1', offset, end);
}

/** Writes an identifier (printable ASCII, 1–255 bytes; RangeError otherwise). */
export function writeSdesIdentifier(out: Buffer, offset: number, value: string): number {
  if (value.length === 0 || value.length > 255) throw new RangeError('identifier must be 1-255 characters');
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) throw new RangeError('identifier must be printable ASCII');
  }
  return out.write(value, offset, 'latin1');
}

/** True when the element holds exactly `ascii` (no string allocated: for per-packet checks). */
export function sdesIdentifierEquals(buf: Buffer, offset: number, length: number, ascii: Buffer): boolean {
  if (offset < 0 || offset + length > buf.length) return false;
  let end = offset + length;
  while (end > offset && buf[end - 1] === 0) end--;
  return end - offset === ascii.length && buf.compare(ascii, 0, ascii.length, offset, end) === 0;
}

// --- abs-send-time (http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time) --------------

/** 6.18 fixed point: 18 fractional bits, 6 integer bits of seconds (wraps every 64 s). */
export const ABS_SEND_TIME_FRACTION_BITS = 18;

/** The raw 24-bit value; -1 when the element is not 3 bytes. */
export function readAbsSendTime(buf: Buffer, offset: number, length: number): number {
  if (length !== 3 || offset < 0 || offset + 3 > buf.length) return -1;
  return buf.readUIntBE(offset, 3);
}

export function writeAbsSendTime(out: Buffer, offset: number, raw: number): number {
  out.writeUIntBE(raw & 0xffffff, offset, 3);
  return 3;
}

/** The 24-bit value for a time in milliseconds (e.g. performance.now()). */
export function absSendTimeFromMs(ms: number): number {
  return Math.round((ms * (1 << ABS_SEND_TIME_FRACTION_BITS)) / 1000) & 0xffffff;
}

export function absSendTimeToSeconds(raw: number): number {
  return raw / (1 << ABS_SEND_TIME_FRACTION_BITS);
}

// --- transport-wide-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2) -------------

/** The 16-bit transport-wide sequence number; -1 when the element is not 2 bytes. */
export function readTransportSequence(buf: Buffer, offset: number, length: number): number {
  if (length !== 2 || offset < 0 || offset + 2 > buf.length) return -1;
  return buf.readUInt16BE(offset);
}

export function writeTransportSequence(out: Buffer, offset: number, seq: number): number {
  out.writeUInt16BE(seq & 0xffff, offset);
  return 2;
}

// --- ssrc-audio-level (RFC 6464 §3) ---------------------------------------------------------

/** Reusable result of `readAudioLevel`. */
export class AudioLevel {
  /** The V bit: the sender's voice activity detector says this packet holds speech. */
  voice = false;
  /** The level in -dBov, 0 (loudest) to 127 (silence). */
  level = 127;
}

/**
 * Fills `out`; false when the element is empty. RFC 6464 §3 defines one byte; the two-byte
 * form may carry padding after it, which is ignored.
 */
export function readAudioLevel(buf: Buffer, offset: number, length: number, out: AudioLevel): boolean {
  if (length < 1 || offset < 0 || offset >= buf.length) return false;
  const b = buf[offset] as number;
  out.voice = (b & 0x80) !== 0;
  out.level = b & 0x7f;
  return true;
}

export function writeAudioLevel(out: Buffer, offset: number, voice: boolean, level: number): number {
  const clamped = level < 0 ? 0 : level > 127 ? 127 : Math.round(level);
  out[offset] = (voice ? 0x80 : 0) | clamped;
  return 1;
}

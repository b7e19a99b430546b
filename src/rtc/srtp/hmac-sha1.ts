/**
 * HMAC-SHA1 (RFC 2104) as two one-shot `crypto.hash` calls over buffers that already hold the
 * padded key: measured faster per packet than `createHmac` (no Hmac object, no key schedule per
 * packet). The caller writes the message straight into `buffer` at MESSAGE_OFFSET, so protecting
 * a packet needs no extra copy.
 */
import { hash } from 'node:crypto';

/** The message starts after the 64-byte inner pad (SHA-1 block size). */
export const MESSAGE_OFFSET = 64;
const BLOCK = 64;
const DIGEST = 20;

export class HmacSha1 {
  /** ipad-key || message. Grows (rarely) when a message does not fit; re-read it after `reserve`. */
  buffer: Buffer;
  private readonly outer = Buffer.alloc(BLOCK + DIGEST); // opad-key || inner digest
  private readonly ipad = Buffer.alloc(BLOCK);

  constructor(key: Buffer, initialCapacity = 2048) {
    if (key.length > BLOCK) throw new RangeError('HMAC key longer than one block is not used by SRTP');
    for (let i = 0; i < BLOCK; i++) {
      const k = i < key.length ? key[i]! : 0;
      this.ipad[i] = k ^ 0x36;
      this.outer[i] = k ^ 0x5c;
    }
    this.buffer = Buffer.alloc(MESSAGE_OFFSET + initialCapacity);
    this.ipad.copy(this.buffer);
  }

  /** Make room for a message of `length` bytes; returns `buffer` (possibly a new one). */
  reserve(length: number): Buffer {
    if (MESSAGE_OFFSET + length > this.buffer.length) {
      this.buffer = Buffer.alloc(MESSAGE_OFFSET + Math.max(length, 2 * (this.buffer.length - MESSAGE_OFFSET)));
      this.ipad.copy(this.buffer);
    }
    return this.buffer;
  }

  /** HMAC of buffer[MESSAGE_OFFSET, MESSAGE_OFFSET + length): the 20-byte digest. */
  sign(length: number): Buffer {
    const inner = hash('sha1', this.buffer.subarray(0, MESSAGE_OFFSET + length), 'buffer');
    inner.copy(this.outer, BLOCK);
    return hash('sha1', this.outer, 'buffer');
  }
}

/** Constant-time comparison of `tagLength` bytes (RFC 3711 §3.3: do not leak where tags differ). */
export function tagsEqual(a: Buffer, aOffset: number, b: Buffer, bOffset: number, tagLength: number): boolean {
  let diff = 0;
  for (let i = 0; i < tagLength; i++) diff |= a[aOffset + i]! ^ b[bOffset + i]!;
  return diff === 0;
}

/**
 * Builds STUN messages attribute by attribute into one buffer; integrity and fingerprint go
 * last (§14.5–14.7) and are computed over the bytes already written, without copies.
 */
import { randomBytes } from 'node:crypto';
import { Attr, HEADER_LENGTH, MAGIC_COOKIE, messageType, type StunClass } from './constants.js';
import { computeFingerprint, computeIntegrity } from './integrity.js';

/** Room for a typical message; larger ones grow the buffer. */
const INITIAL_BYTES = 256;

export class StunMessageBuilder {
  private buf: Buffer;
  private length = HEADER_LENGTH;
  readonly transactionId: Buffer;

  constructor(method: number, cls: StunClass, transactionId?: Buffer) {
    this.transactionId = transactionId ?? randomBytes(12);
    this.buf = Buffer.allocUnsafe(INITIAL_BYTES);
    this.buf.writeUInt16BE(messageType(method, cls), 0);
    this.buf.writeUInt32BE(MAGIC_COOKIE, 4);
    this.transactionId.copy(this.buf, 8);
  }

  /** Adds an attribute; `pad` fills the 0–3 padding bytes (any value is allowed, §14). */
  add(type: number, value: Buffer, pad = 0): this {
    const padding = (4 - (value.length % 4)) % 4;
    const end = this.length + 4 + value.length + padding;
    if (end > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(end, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.buf.writeUInt16BE(type, this.length);
    this.buf.writeUInt16BE(value.length, this.length + 2);
    value.copy(this.buf, this.length + 4);
    this.buf.fill(pad, end - padding, end);
    this.length = end;
    return this;
  }

  addIntegrity(key: Buffer, sha256 = false): this {
    return this.add(sha256 ? Attr.MessageIntegritySha256 : Attr.MessageIntegrity, computeIntegrity(this.bytes(), this.length, key, sha256));
  }

  addFingerprint(): this {
    const v = Buffer.allocUnsafe(4);
    v.writeUInt32BE(computeFingerprint(this.bytes(), this.length), 0);
    return this.add(Attr.Fingerprint, v);
  }

  /** The message: a buffer of its own (the builder may go on adding to its buffer). */
  build(): Buffer {
    return Buffer.from(this.bytes());
  }

  /** A view of what is written so far, with the header's length field up to date. */
  private bytes(): Buffer {
    this.buf.writeUInt16BE(this.length - HEADER_LENGTH, 2);
    return this.buf.subarray(0, this.length);
  }
}

/** Builds STUN messages attribute by attribute; integrity and fingerprint go last (§14.5–14.7). */
import { randomBytes } from 'node:crypto';
import { Attr, HEADER_LENGTH, MAGIC_COOKIE, messageType, type StunClass } from './constants.js';
import { computeFingerprint, computeIntegrity } from './integrity.js';

export class StunMessageBuilder {
  private readonly parts: Buffer[] = [];
  private length = 0;
  readonly transactionId: Buffer;

  constructor(private readonly method: number, private readonly cls: StunClass, transactionId?: Buffer) {
    this.transactionId = transactionId ?? randomBytes(12);
  }

  /** Adds an attribute; `pad` fills the 0–3 padding bytes (any value is allowed, §14). */
  add(type: number, value: Buffer, pad = 0): this {
    const padding = (4 - (value.length % 4)) % 4;
    const a = Buffer.alloc(4 + value.length + padding, pad);
    a.writeUInt16BE(type, 0);
    a.writeUInt16BE(value.length, 2);
    value.copy(a, 4);
    this.parts.push(a);
    this.length += a.length;
    return this;
  }

  addIntegrity(key: Buffer, sha256 = false): this {
    const raw = this.bytes();
    const mac = computeIntegrity(raw, raw.length, key, sha256);
    return this.add(sha256 ? Attr.MessageIntegritySha256 : Attr.MessageIntegrity, mac);
  }

  addFingerprint(): this {
    const raw = this.bytes();
    const v = Buffer.alloc(4);
    v.writeUInt32BE(computeFingerprint(raw, raw.length), 0);
    return this.add(Attr.Fingerprint, v);
  }

  build(): Buffer {
    return this.bytes();
  }

  private bytes(): Buffer {
    const header = Buffer.alloc(HEADER_LENGTH);
    header.writeUInt16BE(messageType(this.method, this.cls), 0);
    header.writeUInt16BE(this.length, 2);
    header.writeUInt32BE(MAGIC_COOKIE, 4);
    this.transactionId.copy(header, 8);
    return Buffer.concat([header, ...this.parts]);
  }
}

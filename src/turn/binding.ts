/**
 * STUN Binding (RFC 8489 §6.3): answers a request with the source transport address it came
 * from, XOR-encoded. No authentication: a Binding request reveals nothing the sender does not
 * already know, and the response is never larger than needed (no amplification beyond the
 * fixed attributes).
 */
import { Attr, StunClass, StunMethod } from '../stun/constants.js';
import { StunMessageBuilder } from '../stun/builder.js';
import { encodeErrorCode, encodeXorAddress } from '../stun/address.js';
import { checkFingerprint } from '../stun/integrity.js';
import type { StunMessage } from '../stun/message.js';

export const SOFTWARE = Buffer.from('switchboard');

/** Comprehension-required attributes (type < 0x8000, §14) a Binding request may carry. */
const KNOWN_REQUIRED = new Set<number>([
  Attr.Username, Attr.MessageIntegrity, Attr.MessageIntegritySha256, Attr.Userhash, Attr.Realm, Attr.Nonce,
  Attr.Priority, Attr.UseCandidate, Attr.PasswordAlgorithm,
]);

export interface Remote {
  address: string;
  port: number;
}

/**
 * The response to a Binding request, or undefined to drop it silently (a bad FINGERPRINT:
 * §7.3, the packet may not be STUN at all).
 */
export function answerBinding(req: StunMessage, from: Remote): Buffer | undefined {
  if (checkFingerprint(req) === false) return undefined;
  const unknown = req.attributes.filter((a) => a.type < 0x8000 && !KNOWN_REQUIRED.has(a.type)).map((a) => a.type);
  if (unknown.length > 0) {
    // §6.3.1.1: 420 with UNKNOWN-ATTRIBUTES listing them.
    const list = Buffer.alloc(unknown.length * 2);
    unknown.forEach((t, i) => list.writeUInt16BE(t, i * 2));
    return new StunMessageBuilder(StunMethod.Binding, StunClass.Error, req.transactionId)
      .add(Attr.ErrorCode, encodeErrorCode(420, 'Unknown Attribute'))
      .add(Attr.UnknownAttributes, list)
      .addFingerprint()
      .build();
  }
  return new StunMessageBuilder(StunMethod.Binding, StunClass.Success, req.transactionId)
    .add(Attr.XorMappedAddress, encodeXorAddress(from, req.transactionId))
    .add(Attr.Software, SOFTWARE)
    .addFingerprint()
    .build();
}

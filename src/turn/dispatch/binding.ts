/**
 * STUN Binding (RFC 8489 §6.3): answers a request with the source transport address it came
 * from, XOR-encoded. No authentication: a Binding request reveals nothing the sender does not
 * already know, and the response is never larger than needed (no amplification beyond the
 * fixed attributes).
 */
import { Attr, StunClass, StunMethod } from '../../stun/constants.js';
import { StunMessageBuilder } from '../../stun/builder.js';
import { encodeXorAddress } from '../../stun/address.js';
import { checkFingerprint } from '../../stun/integrity.js';
import type { StunMessage } from '../../stun/message.js';
import { unknownAttributesResponse, unknownRequired } from './responses.js';

export const SOFTWARE = Buffer.from('switchboard');

/** Comprehension-required attributes (type < 0x8000, §14) a Binding request may carry. */
const KNOWN_REQUIRED = new Set<number>([
  Attr.Username,
  Attr.MessageIntegrity,
  Attr.MessageIntegritySha256,
  Attr.Userhash,
  Attr.Realm,
  Attr.Nonce,
  Attr.Priority,
  Attr.UseCandidate,
  Attr.PasswordAlgorithm,
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
  const unknown = unknownRequired(req, KNOWN_REQUIRED);
  if (unknown.length > 0) return unknownAttributesResponse(req, unknown);
  return new StunMessageBuilder(StunMethod.Binding, StunClass.Success, req.transactionId)
    .add(Attr.XorMappedAddress, encodeXorAddress(from, req.transactionId))
    .add(Attr.Software, SOFTWARE)
    .addFingerprint()
    .build();
}

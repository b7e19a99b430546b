/**
 * Building TURN responses. Errors carry only what the client needs to act (ERROR-CODE with a
 * short reason, plus REALM/NONCE where §9.2 asks for them): a response to an unauthenticated
 * request must not be a useful amplifier.
 */
import { Attr, StunClass } from '../../stun/constants.js';
import { encodeErrorCode } from '../../stun/address.js';
import { StunMessageBuilder } from '../../stun/builder.js';
import type { StunMessage } from '../../stun/message.js';

export const REASONS: Record<number, string> = {
  300: 'Try Alternate',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  446: 'Connection Already Exists', // RFC 6062 §6.3
  447: 'Connection Timeout or Failure',
  486: 'Allocation Quota Reached',
  500: 'Server Error',
  508: 'Insufficient Capacity',
};

/** How a response is signed: the request's key, and SHA-256 if the request used it. */
export interface Signer {
  key: Buffer;
  sha256: boolean;
}

/** Ends a response: MESSAGE-INTEGRITY when signed, FINGERPRINT when the request had one (§7.3). */
export function finish(b: StunMessageBuilder, req: StunMessage, signer?: Signer): Buffer {
  if (signer) b.addIntegrity(signer.key, signer.sha256);
  if (req.attributes.some((a) => a.type === Attr.Fingerprint)) b.addFingerprint();
  return b.build();
}

export function errorBuilder(req: StunMessage, code: number): StunMessageBuilder {
  return new StunMessageBuilder(req.method, StunClass.Error, req.transactionId).add(
    Attr.ErrorCode,
    encodeErrorCode(code, REASONS[code] ?? ''),
  );
}

export function errorResponse(req: StunMessage, code: number, signer?: Signer): Buffer {
  return finish(errorBuilder(req, code), req, signer);
}

export function successBuilder(req: StunMessage): StunMessageBuilder {
  return new StunMessageBuilder(req.method, StunClass.Success, req.transactionId);
}

/** Comprehension-required attributes (type < 0x8000, RFC 8489 §14) outside `known`. */
export function unknownRequired(req: StunMessage, known: ReadonlySet<number>): number[] {
  const out: number[] = [];
  for (const a of req.attributes) if (a.type < 0x8000 && !known.has(a.type)) out.push(a.type);
  return out;
}

/** 420 with the comprehension-required attributes we do not know (RFC 8489 §6.3.1.1). */
export function unknownAttributesResponse(req: StunMessage, unknown: number[]): Buffer {
  const list = Buffer.alloc(unknown.length * 2);
  unknown.forEach((t, i) => list.writeUInt16BE(t, i * 2));
  return finish(errorBuilder(req, 420).add(Attr.UnknownAttributes, list), req);
}

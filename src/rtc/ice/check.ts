/**
 * Answers one ICE connectivity check (a STUN Binding request, RFC 8445 §7.3) for an ICE-lite
 * agent, which is always the controlled one. Pure: the verdict says what to send and whether
 * the check proves the remote agent knows this session's password.
 *
 * Order of the tests follows RFC 8489: FINGERPRINT first (RFC 8445 §7.2.2 requires it in
 * checks; without it the packet may not be STUN at all, so it is dropped), then the
 * short-term credential rules of §9.1.3 (400 / 401, sent without MESSAGE-INTEGRITY since the
 * request was not authenticated), then unknown comprehension-required attributes (§6.3.1,
 * 420) and role conflicts (RFC 8445 §7.3.1.1, 487), both signed.
 */
import { Attr, StunClass, StunMethod } from '../../stun/constants.js';
import { StunMessageBuilder } from '../../stun/builder.js';
import { encodeErrorCode, encodeXorAddress } from '../../stun/address.js';
import { checkFingerprint, checkIntegrity } from '../../stun/integrity.js';
import { getAttribute, type StunMessage } from '../../stun/message.js';

export type CheckFailure =
  | 'not-binding-request'
  | 'no-fingerprint'
  | 'bad-fingerprint'
  | 'bad-request'
  | 'wrong-username'
  | 'bad-integrity'
  | 'unknown-attribute'
  | 'role-conflict';

export type CheckVerdict =
  | { kind: 'accept'; response: Buffer; useCandidate: boolean }
  | { kind: 'reject'; response: Buffer; reason: CheckFailure }
  | { kind: 'drop'; reason: CheckFailure };

export interface CheckCredentials {
  localUfrag: string;
  /** Short-term credential key: the password itself (RFC 8489 §9.1.2; ice-chars need no preparation). */
  localKey: Buffer;
  /** Null until signaling delivers it: RFC 8445 §7.3 says checks may arrive before. */
  remoteUfrag: string | null;
}

export interface CheckSource {
  address: string;
  port: number;
}

/** Comprehension-required attributes (type < 0x8000) a check may carry. */
const KNOWN_REQUIRED: ReadonlySet<number> = new Set([
  Attr.Username,
  Attr.MessageIntegrity,
  Attr.MessageIntegritySha256,
  Attr.Priority,
  Attr.UseCandidate,
]);

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 420: 'Unknown Attribute', 487: 'Role Conflict' };

/** The local ufrag a check is addressed to: USERNAME is "LFRAG:RFRAG" (RFC 8445 §7.2.2). */
export function localUfragOf(req: StunMessage): string | null {
  const username = getAttribute(req, Attr.Username);
  if (!username) return null;
  const colon = username.indexOf(0x3a);
  if (colon <= 0) return null;
  return username.toString('latin1', 0, colon);
}

export function answerCheck(req: StunMessage, from: CheckSource, creds: CheckCredentials): CheckVerdict {
  if (req.method !== StunMethod.Binding || req.cls !== StunClass.Request) return { kind: 'drop', reason: 'not-binding-request' };
  const fingerprint = checkFingerprint(req);
  if (fingerprint === undefined) return { kind: 'drop', reason: 'no-fingerprint' };
  if (!fingerprint) return { kind: 'drop', reason: 'bad-fingerprint' };

  const username = getAttribute(req, Attr.Username);
  if (!username || !getAttribute(req, Attr.MessageIntegrity)) return reject(req, 400, 'bad-request');
  if (!usernameMatches(username, creds)) return reject(req, 401, 'wrong-username');
  if (!checkIntegrity(req, creds.localKey)) return reject(req, 401, 'bad-integrity');

  const unknown: number[] = [];
  for (const a of req.attributes) if (a.type < 0x8000 && !KNOWN_REQUIRED.has(a.type)) unknown.push(a.type);
  if (unknown.length > 0) {
    const list = Buffer.alloc(unknown.length * 2);
    unknown.forEach((t, i) => list.writeUInt16BE(t, i * 2));
    return reject(req, 420, 'unknown-attribute', creds.localKey, list);
  }
  // A lite agent is always controlled (RFC 8445 §6.1.1) and cannot switch roles, so a peer
  // that also claims to be controlled is told to take the controlling role.
  if (getAttribute(req, Attr.IceControlled)) return reject(req, 487, 'role-conflict', creds.localKey);

  let xorAddress: Buffer;
  try {
    xorAddress = encodeXorAddress(from, req.transactionId);
  } catch {
    return { kind: 'drop', reason: 'bad-request' };
  }
  const response = new StunMessageBuilder(StunMethod.Binding, StunClass.Success, req.transactionId)
    .add(Attr.XorMappedAddress, xorAddress)
    .addIntegrity(creds.localKey)
    .addFingerprint()
    .build();
  return { kind: 'accept', response, useCandidate: getAttribute(req, Attr.UseCandidate) !== undefined };
}

/** "LFRAG:RFRAG" with our ufrag first; the remote part is checked once signaling gave it. */
function usernameMatches(username: Buffer, creds: CheckCredentials): boolean {
  const text = username.toString('latin1');
  const colon = text.indexOf(':');
  if (colon < 0 || text.slice(0, colon) !== creds.localUfrag) return false;
  return creds.remoteUfrag === null || text.slice(colon + 1) === creds.remoteUfrag;
}

function reject(req: StunMessage, code: 400 | 401 | 420 | 487, reason: CheckFailure, key?: Buffer, unknownList?: Buffer): CheckVerdict {
  const b = new StunMessageBuilder(StunMethod.Binding, StunClass.Error, req.transactionId).add(
    Attr.ErrorCode,
    encodeErrorCode(code, REASONS[code] ?? ''),
  );
  if (unknownList) b.add(Attr.UnknownAttributes, unknownList);
  if (key) b.addIntegrity(key);
  return { kind: 'reject', response: b.addFingerprint().build(), reason };
}

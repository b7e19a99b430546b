/** Limits and token checks for untrusted SDP values. */
import type { Direction, Fingerprint, SetupRole } from './types.js';

export const SDP_LIMITS = {
  maxBytes: 60 * 1024,
  maxMediaSections: 64,
  maxCodecsPerSection: 32,
  maxSsrcsPerSection: 64,
  maxRidsPerSection: 16,
  maxHeaderExtensionsPerSection: 32,
  maxMidLength: 32,
  maxRidLength: 32,
} as const;

/** RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/"; ufrag 4–256, pwd 22–256 characters. */
const ICE_UFRAG = /^[A-Za-z0-9+/]{4,256}$/;
const ICE_PWD = /^[A-Za-z0-9+/]{22,256}$/;
/** Our own limit (RFC 8843 §5 only says token): short, safe in logs and in a=group lines. */
const MID = /^[A-Za-z0-9_-]{1,32}$/;
/** RFC 8851 §10: rid-id = 1*(alpha-numeric / "-" / "_"); length capped by us. */
const RID = /^[A-Za-z0-9_-]{1,32}$/;
const HEX_PAIRS = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})*$/;

/** RFC 8122 §5 hash functions we accept, with their digest sizes in bytes. */
const FINGERPRINT_BYTES: Record<string, number> = { 'sha-1': 20, 'sha-224': 28, 'sha-256': 32, 'sha-384': 48, 'sha-512': 64 };

export function isIceUfrag(s: string): boolean {
  return ICE_UFRAG.test(s);
}
export function isIcePwd(s: string): boolean {
  return ICE_PWD.test(s);
}
export function isMid(s: string): boolean {
  return MID.test(s);
}
export function isRid(s: string): boolean {
  return RID.test(s);
}

/** Parses `sha-256 AB:CD:…` (the value of a=fingerprint), or null. */
export function parseFingerprint(value: string): Fingerprint | null {
  const m = /^(\S+) (\S+)$/.exec(value.trim());
  if (!m) return null;
  const algorithm = (m[1] ?? '').toLowerCase();
  const hex = m[2] ?? '';
  const bytes = FINGERPRINT_BYTES[algorithm];
  if (bytes === undefined || !HEX_PAIRS.test(hex) || hex.length !== bytes * 3 - 1) return null;
  return { algorithm, value: hex.toUpperCase() };
}

export function isFingerprint(f: Fingerprint): boolean {
  return parseFingerprint(`${f.algorithm} ${f.value}`) !== null;
}

export function asSetup(s: string | undefined): SetupRole | null {
  return s === 'actpass' || s === 'active' || s === 'passive' ? s : null;
}

export function asDirection(s: string | undefined): Direction | null {
  return s === 'sendrecv' || s === 'sendonly' || s === 'recvonly' || s === 'inactive' ? s : null;
}

/** RFC 3264 §6.1: the answer's direction for an offered one, when the answerer is willing to receive only. */
export function reverseDirection(d: Direction): Direction {
  return d === 'sendonly' ? 'recvonly' : d === 'recvonly' ? 'sendonly' : d;
}

export function isUint32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}
export function isPayloadType(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 127;
}
/** RFC 8285 §5: ids 1–255 (0 is padding, 15 is reserved in the one-byte form only). */
export function isExtensionId(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 255;
}

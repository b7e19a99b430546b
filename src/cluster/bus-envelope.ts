/**
 * The JSON envelope of every message between nodes:
 * `{"v":1,"from":"<node id>","seq":N,"type":"<name>","room":"<name>"?,"body":…}`.
 * `seq` counts the sender's messages (all channels together). What arrives is checked whole
 * (version, field types, a known `type`, the type's body check) before anyone sees it.
 */
import { isNodeId } from './node-identity.js';
import { MAX_ROOM_NAME_LENGTH } from './room-record.js';

export const BUS_ENVELOPE_VERSION = 1;
/** A larger message is refused when sent and dropped when received. */
export const MAX_BUS_MESSAGE_BYTES = 64 * 1024;

/** Message type name → body type: `{ ping: { i: number } }` (an interface works too, like TypedEmitter's maps). */
export type BusMessageMap<M> = { [K in keyof M]: unknown };

/** Message type name → check of a received body. */
export type BusValidators<M extends BusMessageMap<M>> = { readonly [K in keyof M & string]: (body: unknown) => body is M[K] };

export type BusEnvelope<M extends BusMessageMap<M>> = {
  [K in keyof M & string]: { v: 1; from: string; seq: number; type: K; room?: string; body: M[K] };
}[keyof M & string];

export type DecodeOutcome<M extends BusMessageMap<M>> =
  { ok: true; envelope: BusEnvelope<M> } | { ok: false; reason: 'malformed' | 'unknown-type' | 'invalid-body' };

export function decodeEnvelope<M extends BusMessageMap<M>>(text: string, validators: BusValidators<M>): DecodeOutcome<M> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'malformed' };
  const o = v as Record<string, unknown>;
  const { from, seq, type, room } = o;
  if (
    o['v'] !== BUS_ENVELOPE_VERSION ||
    typeof from !== 'string' ||
    !isNodeId(from) ||
    typeof seq !== 'number' ||
    !Number.isSafeInteger(seq) ||
    seq < 0 ||
    typeof type !== 'string' ||
    (room !== undefined && (typeof room !== 'string' || room.length === 0 || room.length > MAX_ROOM_NAME_LENGTH)) ||
    !('body' in o)
  )
    return { ok: false, reason: 'malformed' };
  if (!Object.prototype.hasOwnProperty.call(validators, type)) return { ok: false, reason: 'unknown-type' };
  const check = validators[type as keyof M & string];
  if (!check(o['body'])) return { ok: false, reason: 'invalid-body' };
  return { ok: true, envelope: o as BusEnvelope<M> };
}

/**
 * 1:1 calls: the classic WebRTC sequence. The caller creates a call over REST, the callee
 * is notified over its WebSocket (`call-incoming`) and accepts or rejects; after accept the
 * two may relay offer/answer/candidates to each other. A call rings for `ringMs` at most.
 *
 * Who may ring whom, and how often:
 * - A caller whose token grants one room (not `*`) reaches only identities that are in that
 *   room now. Anyone else, online or not, is answered exactly like an identity nobody uses
 *   (`callee-not-found`), so a scoped token cannot probe who is online elsewhere.
 * - Every attempt, whatever its outcome, takes a token from the caller's bucket
 *   (`invitesPer10s`), and every ring one from the callee's (`ringsPer10s`): a ring/cancel
 *   loop, from one caller or many, cannot flood one callee with `call-incoming`.
 */
import { randomBytes } from 'node:crypto';
import { SwitchboardError, type CallEndReason, type CallPeer, type ErrorCode } from '../protocol/index.js';
import { TokenBucket } from '../util/TokenBucket.js';
import { guarded } from '../util/guarded.js';
import type { Session } from './Session.js';

export interface CallManagerOptions {
  ringMs: number;
  /** Call attempts per caller session: bucket size, refilled at this many per 10 s. */
  invitesPer10s: number;
  /** Rings (`call-incoming`) per callee session, likewise. */
  ringsPer10s: number;
  onEnded?: (reason: CallEndReason) => void;
  /** An attempt was refused with this code (counted; `rate-limited` among them). */
  onRefused?: (code: ErrorCode) => void;
}

const LIMIT_WINDOW_S = 10;

export type CallState = 'ringing' | 'active';

export interface Call {
  readonly id: string;
  readonly caller: Session;
  readonly callee: Session;
  state: CallState;
  readonly createdAt: number;
  ringTimer: NodeJS.Timeout | null;
}

export function callPeer(s: Session): CallPeer {
  return { sessionId: s.id, identity: s.identity, name: s.name };
}

/**
 * True when `caller` may ring `callee`: no grant (open mode), a `*` grant, or the callee is
 * in the one room the caller's token grants.
 */
export function callScopeAllows(caller: Session, callee: Session): boolean {
  const grant = caller.grant;
  return !grant || grant.room === '*' || (callee.room !== null && callee.room.name === grant.room);
}

export class CallManager {
  private readonly calls = new Map<string, Call>();
  /** Per-session buckets; they go with their session. */
  private readonly inviteBuckets = new WeakMap<Session, TokenBucket>();
  private readonly ringBuckets = new WeakMap<Session, TokenBucket>();

  constructor(private readonly opts: CallManagerOptions) {}

  get size(): number {
    return this.calls.size;
  }

  create(caller: Session, callee: Session | undefined, calleeIdentity: string): Call {
    const now = Date.now();
    if (!bucket(this.inviteBuckets, caller, this.opts.invitesPer10s).take(now)) {
      throw this.refused('rate-limited', `at most ${this.opts.invitesPer10s} call attempts per ${LIMIT_WINDOW_S} s; try again later`);
    }
    if (callee === caller) throw this.refused('invalid-message', 'to: cannot call yourself', 'to');
    // Offline, unknown and out of scope are one answer, word for word.
    if (!callee || !callScopeAllows(caller, callee))
      throw this.refused('callee-not-found', `no one is online as "${calleeIdentity}"`, 'to');
    if (caller.callId) throw this.refused('call-state-invalid', 'you are already in a call');
    if (callee.callId) throw this.refused('busy', `"${calleeIdentity}" is busy in another call`);
    if (!bucket(this.ringBuckets, callee, this.opts.ringsPer10s).take(now)) {
      throw this.refused('rate-limited', `"${calleeIdentity}" has been called too often; try again later`);
    }
    const call: Call = {
      id: `c-${randomBytes(9).toString('base64url')}`,
      caller,
      callee,
      state: 'ringing',
      createdAt: now,
      ringTimer: null,
    };
    call.ringTimer = setTimeout(
      guarded('signaling.call.ring-timeout', () => this.end(call, 'timeout')),
      this.opts.ringMs,
    );
    this.calls.set(call.id, call);
    caller.callId = call.id;
    callee.callId = call.id;
    callee.send({ type: 'call-incoming', callId: call.id, from: callPeer(caller) });
    return call;
  }

  /** The call `session` takes part in, by id; anyone else gets call-not-found (no probing). */
  find(session: Session, callId: string): Call {
    const call = this.calls.get(callId);
    if (!call || (call.caller !== session && call.callee !== session)) {
      throw new SwitchboardError('call-not-found', `no call "${callId}" of yours`, 'callId');
    }
    return call;
  }

  accept(session: Session, callId: string): void {
    const call = this.find(session, callId);
    if (call.callee !== session || call.state !== 'ringing') throw this.stateError(call, 'accept');
    call.state = 'active';
    this.clearTimer(call);
    call.caller.send({ type: 'call-accepted', callId, peer: callPeer(call.callee) });
  }

  reject(session: Session, callId: string): void {
    const call = this.find(session, callId);
    if (call.callee !== session || call.state !== 'ringing') throw this.stateError(call, 'reject');
    this.end(call, 'rejected', session);
  }

  cancel(session: Session, callId: string): void {
    const call = this.find(session, callId);
    if (call.caller !== session || call.state !== 'ringing') throw this.stateError(call, 'cancel');
    this.end(call, 'cancelled', session);
  }

  hangup(session: Session, callId: string): void {
    const call = this.find(session, callId);
    if (call.state !== 'active') throw this.stateError(call, 'hang up');
    this.end(call, 'hangup', session);
  }

  /** True when `a` and `b` are the two parties of one accepted call (and it is `callId`, if given). */
  connects(a: Session, b: Session, callId?: string): boolean {
    if (!a.callId || a.callId !== b.callId) return false;
    if (callId !== undefined && callId !== a.callId) return false;
    const call = this.calls.get(a.callId);
    return call !== undefined && call.state === 'active';
  }

  /** Ends whatever call `session` is in (it went away for good). */
  endFor(session: Session, reason: CallEndReason): void {
    const call = session.callId ? this.calls.get(session.callId) : undefined;
    if (call) this.end(call, reason, session);
  }

  closeAll(): void {
    for (const call of this.calls.values()) this.clearTimer(call);
    this.calls.clear();
  }

  private end(call: Call, reason: CallEndReason, by?: Session): void {
    if (!this.calls.delete(call.id)) return;
    this.clearTimer(call);
    call.caller.callId = null;
    call.callee.callId = null;
    const msg = { type: 'call-ended' as const, callId: call.id, reason, ...(by ? { by: by.id } : {}) };
    call.caller.send(msg);
    call.callee.send(msg);
    this.opts.onEnded?.(reason);
  }

  private refused(code: ErrorCode, message: string, field?: string): SwitchboardError {
    this.opts.onRefused?.(code);
    return new SwitchboardError(code, message, field);
  }

  private clearTimer(call: Call): void {
    if (call.ringTimer) clearTimeout(call.ringTimer);
    call.ringTimer = null;
  }

  private stateError(call: Call, action: string): SwitchboardError {
    return new SwitchboardError('call-state-invalid', `cannot ${action} call "${call.id}" in state ${call.state}`);
  }
}

/** `owner`'s bucket of `perWindow` tokens, refilled at `perWindow` per LIMIT_WINDOW_S. */
function bucket(buckets: WeakMap<Session, TokenBucket>, owner: Session, perWindow: number): TokenBucket {
  let b = buckets.get(owner);
  if (!b) {
    b = new TokenBucket(perWindow / LIMIT_WINDOW_S, perWindow);
    buckets.set(owner, b);
  }
  return b;
}

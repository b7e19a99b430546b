/**
 * 1:1 calls: the classic WebRTC sequence. The caller creates a call over REST, the callee
 * is notified over its WebSocket (`call-incoming`) and accepts or rejects; after accept the
 * two may relay offer/answer/candidates to each other. A call rings for `ringMs` at most.
 */
import { randomBytes } from 'node:crypto';
import type { CallEndReason, CallPeer, ErrorCode } from '../protocol/index.js';
import type { Session } from './Session.js';

export type CallState = 'ringing' | 'active';

export interface Call {
  readonly id: string;
  readonly caller: Session;
  readonly callee: Session;
  state: CallState;
  readonly createdAt: number;
  ringTimer: NodeJS.Timeout | null;
}

export class CallError extends Error {
  constructor(readonly status: number, readonly code: ErrorCode, message: string, readonly field?: string) {
    super(message);
  }
}

export function callPeer(s: Session): CallPeer {
  return { sessionId: s.id, identity: s.identity, name: s.name };
}

export class CallManager {
  private readonly calls = new Map<string, Call>();

  constructor(private readonly ringMs: number, private readonly onEnded: (reason: CallEndReason) => void = () => undefined) {}

  get size(): number {
    return this.calls.size;
  }

  create(caller: Session, callee: Session | undefined, calleeIdentity: string): Call {
    if (!callee) throw new CallError(404, 'callee-not-found', `no one is online as "${calleeIdentity}"`, 'to');
    if (callee === caller) throw new CallError(400, 'invalid-message', 'to: cannot call yourself', 'to');
    if (caller.callId) throw new CallError(409, 'call-state-invalid', 'you are already in a call');
    if (callee.callId) throw new CallError(409, 'busy', `"${calleeIdentity}" is busy in another call`);
    const call: Call = { id: `c-${randomBytes(9).toString('base64url')}`, caller, callee, state: 'ringing', createdAt: Date.now(), ringTimer: null };
    call.ringTimer = setTimeout(() => this.end(call, 'timeout'), this.ringMs);
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
      throw new CallError(404, 'call-not-found', `no call "${callId}" of yours`, 'callId');
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
    this.onEnded(reason);
  }

  private clearTimer(call: Call): void {
    if (call.ringTimer) clearTimeout(call.ringTimer);
    call.ringTimer = null;
  }

  private stateError(call: Call, action: string): CallError {
    return new CallError(409, 'call-state-invalid', `cannot ${action} call "${call.id}" in state ${call.state}`);
  }
}

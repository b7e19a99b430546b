/**
 * CallClient: the 1:1 call flow (classic WebRTC sequence) on top of the signaling session.
 *
 *   caller: call(identity) → POST /api/calls {to}  (Authorization: Bearer <sessionToken>)
 *   callee: ← call-incoming → accept() / reject()   (the app asks the user; never auto-accepts)
 *   caller: ← call-accepted → creates the offer; offer/answer/candidates carry `callId`
 *   either: hangup(); caller: cancel() while ringing; server: call-ended {reason}
 *
 * One RTCPeerConnection per call (a PeerLink, same negotiation code as the mesh).
 */
import type { CallEndReason, CallPeer, CreateCallResponse, RestError, ServerMessage } from '../src/protocol/index.js';
import { Emitter } from './emitter.js';
import { rtcConfiguration, type RelayTransport } from './ice.js';
import type { LocalMedia, MediaKind } from './local-media.js';
import { PeerLink } from './peer-link.js';
import type { SignalingClient } from './signaling.js';
import { StatsSampler, type PeerStats } from './stats.js';

export type CallState = 'idle' | 'outgoing' | 'incoming' | 'connecting' | 'connected';

export interface CallInfo {
  callId: string;
  peer: CallPeer;
  direction: 'outgoing' | 'incoming';
}

export interface CallEvents {
  state: CallState;
  incoming: CallInfo;
  accepted: CallInfo;
  ended: { callId: string; reason: CallEndReason; by?: string; peer: CallPeer | null };
  track: { kind: MediaKind; track: MediaStreamTrack };
  'connection-state': RTCPeerConnectionState;
}

export class CallError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'CallError';
  }
}

export interface CallClientOptions {
  /** Base URL for the REST API; defaults to the page's origin. */
  apiBase?: string;
  /** 'relay' sends all media through TURN. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Only TURN over this transport (see ice.ts). */
  relayTransport?: RelayTransport;
}

export class CallClient extends Emitter<CallEvents> {
  private stateValue: CallState = 'idle';
  private current: CallInfo | null = null;
  private link: PeerLink | null = null;
  private sampler: StatsSampler | null = null;
  /** Call messages that arrived before our POST returned the call's id. */
  private early: ServerMessage[] = [];
  private placing = false;
  lastEnd: { reason: CallEndReason; by?: string } | null = null;

  constructor(
    private readonly signaling: SignalingClient,
    private readonly media: LocalMedia,
    private readonly opts: CallClientOptions = {},
  ) {
    super();
    signaling.on('message', (m) => this.onMessage(m));
    media.on('tracks-changed', (t) => {
      if (!this.link) return;
      void this.link.setTrack('audio', t.audio);
      void this.link.setTrack('video', t.video);
    });
  }

  get state(): CallState {
    return this.stateValue;
  }
  get currentCall(): CallInfo | null {
    return this.current;
  }
  get remoteStream(): MediaStream | null {
    return this.link?.remoteStream ?? null;
  }
  get connectionState(): RTCPeerConnectionState | null {
    return this.link?.connectionState ?? null;
  }

  async stats(): Promise<PeerStats | null> {
    return this.sampler ? this.sampler.sample() : null;
  }

  /** Rings `identity`. Rejects with CallError (e.g. code `busy`, `callee-not-found`). */
  async call(identity: string): Promise<CallInfo> {
    if (this.stateValue !== 'idle') throw new CallError('call-state-invalid', `cannot call while ${this.stateValue}`);
    const token = this.signaling.sessionToken;
    if (!token) throw new CallError('not-identified', 'not connected to the server');
    this.placing = true;
    this.early = [];
    this.lastEnd = null;
    this.setState('outgoing');
    let res: Response;
    try {
      res = await fetch(`${this.opts.apiBase ?? ''}/api/calls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ to: identity }),
      });
    } catch (err) {
      this.placing = false;
      this.setState('idle');
      throw new CallError('network', `could not reach the server: ${String(err)}`);
    }
    this.placing = false;
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as RestError | null;
      const code = body?.error?.code ?? `http-${res.status}`;
      const message = body?.error?.message ?? `call failed with HTTP ${res.status}`;
      this.setState('idle');
      if (code === 'busy') {
        this.lastEnd = { reason: 'busy' };
        this.emit('ended', { callId: '', reason: 'busy', peer: null });
      }
      throw new CallError(code, message, res.status);
    }
    const created = (await res.json()) as CreateCallResponse;
    this.current = { callId: created.callId, peer: created.to, direction: 'outgoing' };
    const early = this.early;
    this.early = [];
    for (const m of early) this.onMessage(m);
    return this.current;
  }

  accept(): void {
    const c = this.current;
    if (!c || this.stateValue !== 'incoming') throw new CallError('call-state-invalid', 'no incoming call to accept');
    // Create the link first: the caller's offer may arrive right after our accept.
    this.openLink(c, false);
    this.setState('connecting');
    this.signaling.send({ type: 'call-accept', callId: c.callId });
  }

  reject(): void {
    const c = this.current;
    if (!c || this.stateValue !== 'incoming') throw new CallError('call-state-invalid', 'no incoming call to reject');
    this.signaling.send({ type: 'call-reject', callId: c.callId });
    this.finish(c.callId, 'rejected', 'self');
  }

  cancel(): void {
    const c = this.current;
    if (!c || this.stateValue !== 'outgoing') throw new CallError('call-state-invalid', 'no outgoing call to cancel');
    this.signaling.send({ type: 'call-cancel', callId: c.callId });
    this.finish(c.callId, 'cancelled', 'self');
  }

  hangup(): void {
    const c = this.current;
    if (!c) return;
    if (this.stateValue === 'outgoing') {
      this.cancel();
      return;
    }
    if (this.stateValue === 'incoming') {
      this.reject();
      return;
    }
    this.signaling.send({ type: 'call-hangup', callId: c.callId });
    this.finish(c.callId, 'hangup', 'self');
  }

  // ---- internals ---------------------------------------------------------------------

  private setState(s: CallState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.emit('state', s);
  }

  private onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'call-incoming':
        if (this.stateValue !== 'idle') {
          // One call at a time; the server normally answers `busy` itself before we ever see this.
          this.signaling.send({ type: 'call-reject', callId: m.callId });
          return;
        }
        this.lastEnd = null;
        this.current = { callId: m.callId, peer: m.from, direction: 'incoming' };
        this.setState('incoming');
        this.emit('incoming', this.current);
        break;
      case 'call-accepted':
        if (this.placing && !this.current) {
          this.early.push(m);
          return;
        }
        if (!this.current || m.callId !== this.current.callId) return;
        if (this.current.direction === 'outgoing' && this.stateValue === 'outgoing') {
          this.current = { ...this.current, peer: m.peer };
          this.openLink(this.current, true);
          this.setState('connecting');
          this.emit('accepted', this.current);
        } else if (this.current.direction === 'incoming') {
          this.emit('accepted', this.current);
        }
        break;
      case 'call-ended':
        if (this.placing && !this.current) {
          this.early.push(m);
          return;
        }
        if (this.current && m.callId === this.current.callId) this.finish(m.callId, m.reason, m.by);
        break;
      case 'offer':
      case 'answer':
        if (this.routable(m)) this.link?.handleDescription({ type: m.type, sdp: m.sdp });
        break;
      case 'candidate':
        if (this.routable(m)) this.link?.handleCandidate(m.candidate);
        break;
      case 'end-of-candidates':
        if (this.routable(m)) this.link?.handleCandidate(null);
        break;
      default:
        break;
    }
  }

  private routable(m: { from: string; callId?: string }): boolean {
    return m.callId !== undefined && m.callId === this.current?.callId && m.from === this.current.peer.sessionId;
  }

  private openLink(c: CallInfo, initiator: boolean): void {
    this.link?.close();
    const to = c.peer.sessionId;
    const callId = c.callId;
    const sig = this.signaling;
    const link = new PeerLink({
      polite: (sig.sessionId ?? '') > to,
      initiator,
      rtcConfig: rtcConfiguration(sig.welcome?.iceServers, this.opts.iceTransportPolicy, this.opts.relayTransport),
      tracks: { audio: this.media.outgoing('audio'), video: this.media.outgoing('video') },
      label: `call ${callId}`,
      signal: {
        description: (d) => sig.send({ type: d.type, to, sdp: d.sdp, callId }),
        candidate: (candidate) => sig.send({ type: 'candidate', to, candidate, callId }),
        endOfCandidates: () => sig.send({ type: 'end-of-candidates', to, callId }),
      },
    });
    link.on('track', (t) => this.emit('track', t));
    link.on('connection-state', (s) => {
      if (s === 'connected' && this.link === link) this.setState('connected');
      this.emit('connection-state', s);
    });
    this.link = link;
    this.sampler = new StatsSampler(link.pc);
  }

  private finish(callId: string, reason: CallEndReason, by?: string): void {
    const peer = this.current?.peer ?? null;
    this.link?.close();
    this.link = null;
    this.sampler = null;
    this.current = null;
    this.lastEnd = by === undefined ? { reason } : { reason, by };
    this.setState('idle');
    const ev: CallEvents['ended'] = { callId, reason, peer };
    if (by !== undefined) ev.by = by;
    this.emit('ended', ev);
  }
}

/**
 * PeerLink: one RTCPeerConnection to one remote peer, with the W3C "perfect negotiation"
 * pattern (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example).
 *
 * - Either side may renegotiate at any time; on glare the polite side rolls back and the
 *   impolite side ignores the colliding offer. Who is polite is decided by the caller of this
 *   class (by comparing session ids) so that both ends agree without a message.
 * - Exactly one audio and one video transceiver. The initiator creates them; the other side
 *   adopts the ones the first offer creates. Track changes then use `replaceTrack`, so mute,
 *   device switch and screen share need no renegotiation. A side with no device uses
 *   `recvonly`, and flips to `sendrecv` (one renegotiation) when it later gets a track.
 * - Trickle ICE; remote candidates that arrive before the remote description are buffered.
 *   `end-of-candidates` is forwarded both ways.
 * - ICE restart (`restartIce()`) when the connection fails, or stays disconnected for a while.
 * - Inbound signals are processed strictly in order on one promise chain: an answer must not
 *   race the candidates that follow it.
 */
import type { IceCandidateInit } from '../src/protocol/index.js';
import { Emitter } from './emitter.js';
import type { MediaKind } from './local-media.js';

export interface SignalSink {
  description(desc: { type: 'offer' | 'answer'; sdp: string }): void;
  candidate(candidate: IceCandidateInit): void;
  endOfCandidates(): void;
}

export interface PeerLinkOptions {
  polite: boolean;
  /** This side creates the transceivers and so makes the first offer. */
  initiator: boolean;
  rtcConfig: RTCConfiguration;
  /** Current outgoing tracks; null means receive-only for that kind. */
  tracks: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null };
  signal: SignalSink;
  /** Label for logs. */
  label: string;
  /** Runs once after the first remote offer is applied, before answering (e.g. data channels). */
  onFirstRemoteOffer?: (pc: RTCPeerConnection) => void;
}

export interface PeerLinkEvents {
  /** A remote track arrived (also re-emitted after renegotiation turns sending back on). */
  track: { kind: MediaKind; track: MediaStreamTrack };
  'connection-state': RTCPeerConnectionState;
  'ice-state': RTCIceConnectionState;
  /** ICE restart was triggered (for logs / UI). */
  'ice-restart': { reason: string };
  closed: void;
}

/** How long `disconnected` may last before we restart ICE instead of waiting for `failed`. */
const DISCONNECTED_RESTART_MS = 5000;

export class PeerLink extends Emitter<PeerLinkEvents> {
  readonly pc: RTCPeerConnection;
  /** The remote peer's audio + video, one stream for the <video>/<audio> elements. */
  readonly remoteStream = new MediaStream();
  private makingOffer = false;
  private ignoreOffer = false;
  /** ICE restarts this link has started (shown in stats; tests read it). */
  iceRestarts = 0;
  private settingRemoteAnswer = false;
  private gotRemoteOffer = false;
  private pendingCandidates: Array<IceCandidateInit | null> = [];
  private inbound: Promise<void> = Promise.resolve();
  private disconnectedTimer: ReturnType<typeof setTimeout> | null = null;
  private tracks: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null };
  private closedFlag = false;
  private sentEndOfCandidates = false;

  constructor(private readonly opts: PeerLinkOptions) {
    super();
    this.tracks = { ...opts.tracks };
    this.pc = new RTCPeerConnection(opts.rtcConfig);
    this.pc.onnegotiationneeded = () => void this.negotiate();
    this.pc.onicecandidate = (ev) => this.onLocalCandidate(ev.candidate);
    this.pc.ontrack = (ev) => this.onRemoteTrack(ev.track);
    this.pc.onconnectionstatechange = () => this.onConnectionState();
    this.pc.oniceconnectionstatechange = () => this.onIceState();
    if (opts.initiator) {
      for (const kind of ['audio', 'video'] as const) {
        const track = this.tracks[kind];
        this.pc.addTransceiver(track ?? kind, { direction: track ? 'sendrecv' : 'recvonly' });
      }
    }
  }

  get polite(): boolean {
    return this.opts.polite;
  }
  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  /** Queue an inbound offer/answer from the remote peer. */
  handleDescription(desc: { type: 'offer' | 'answer'; sdp: string }): void {
    this.enqueue(() => this.applyDescription(desc));
  }

  /** Queue an inbound candidate; null is end-of-candidates. */
  handleCandidate(candidate: IceCandidateInit | null): void {
    this.enqueue(() => this.applyCandidate(candidate));
  }

  /** Swaps what we send for `kind`. No renegotiation unless we go from receive-only to sending. */
  async setTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void> {
    this.tracks[kind] = track;
    const tr = this.transceiver(kind);
    if (!tr) return; // not negotiated yet: adopted when the first offer arrives
    await tr.sender.replaceTrack(track);
    if (track && tr.direction === 'recvonly') tr.direction = 'sendrecv';
  }

  transceiver(kind: MediaKind): RTCRtpTransceiver | undefined {
    // The first transceiver of each kind: we only ever have one, and it never stops.
    return this.pc.getTransceivers().find((t) => t.receiver.track.kind === kind && t.currentDirection !== 'stopped');
  }

  restartIce(reason: string): void {
    if (this.closedFlag) return;
    this.iceRestarts++;
    console.info(`[switchboard] ${this.opts.label}: ICE restart (${reason})`);
    this.sentEndOfCandidates = false;
    this.emit('ice-restart', { reason });
    this.pc.restartIce();
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.disconnectedTimer) clearTimeout(this.disconnectedTimer);
    this.pc.close();
    for (const t of this.remoteStream.getTracks()) t.stop();
    this.emit('closed', undefined);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  // ---- negotiation -----------------------------------------------------------------------

  private async negotiate(): Promise<void> {
    // The answering side does not offer before it has adopted the initiator's transceivers;
    // otherwise both sides would create their own and the call would carry four m-lines.
    if (this.closedFlag || (!this.opts.initiator && !this.gotRemoteOffer)) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      const d = this.pc.localDescription;
      if (d && (d.type === 'offer' || d.type === 'answer')) this.opts.signal.description({ type: d.type, sdp: d.sdp });
    } catch (err) {
      console.warn(`[switchboard] ${this.opts.label}: negotiation failed`, err);
    } finally {
      this.makingOffer = false;
    }
  }

  private enqueue(job: () => Promise<void>): void {
    this.inbound = this.inbound.then(job).catch((err: unknown) => {
      console.warn(`[switchboard] ${this.opts.label}: signal handling failed`, err);
    });
  }

  private async applyDescription(desc: { type: 'offer' | 'answer'; sdp: string }): Promise<void> {
    if (this.closedFlag) return;
    const pc = this.pc;
    const readyForOffer = !this.makingOffer && (pc.signalingState === 'stable' || this.settingRemoteAnswer);
    const offerCollision = desc.type === 'offer' && !readyForOffer;
    this.ignoreOffer = !this.opts.polite && offerCollision;
    if (this.ignoreOffer) return;
    this.settingRemoteAnswer = desc.type === 'answer';
    try {
      await pc.setRemoteDescription(desc); // rolls back our own offer when polite and colliding
    } finally {
      this.settingRemoteAnswer = false;
    }
    if (desc.type === 'offer') {
      const first = !this.gotRemoteOffer;
      this.gotRemoteOffer = true;
      if (first && !this.opts.initiator) {
        await this.adoptTransceivers();
        this.opts.onFirstRemoteOffer?.(pc);
      }
      await pc.setLocalDescription();
      const d = pc.localDescription;
      if (d) this.opts.signal.description({ type: 'answer', sdp: d.sdp });
    }
    await this.flushCandidates();
  }

  /** Non-initiator: attach our tracks to the transceivers the remote offer created. */
  private async adoptTransceivers(): Promise<void> {
    for (const kind of ['audio', 'video'] as const) {
      const tr = this.transceiver(kind);
      if (!tr) continue;
      const track = this.tracks[kind];
      await tr.sender.replaceTrack(track);
      tr.direction = track ? 'sendrecv' : 'recvonly';
    }
  }

  private async applyCandidate(c: IceCandidateInit | null): Promise<void> {
    if (this.closedFlag) return;
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(c);
      return;
    }
    await this.addCandidate(c);
  }

  private async addCandidate(c: IceCandidateInit | null): Promise<void> {
    try {
      if (c === null) await this.pc.addIceCandidate();
      else await this.pc.addIceCandidate(c);
    } catch (err) {
      // Candidates of an offer we ignored (impolite side during glare) are expected to fail.
      if (!this.ignoreOffer) console.warn(`[switchboard] ${this.opts.label}: addIceCandidate failed`, err);
    }
  }

  private async flushCandidates(): Promise<void> {
    if (!this.pc.remoteDescription) return;
    const list = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of list) await this.addCandidate(c);
  }

  // ---- events ----------------------------------------------------------------------------

  private onLocalCandidate(candidate: RTCIceCandidate | null): void {
    // Firefox signals the end of a generation with an empty candidate string, Chromium with null.
    if (!candidate || candidate.candidate === '') {
      if (!this.sentEndOfCandidates) {
        this.sentEndOfCandidates = true;
        this.opts.signal.endOfCandidates();
      }
      return;
    }
    this.sentEndOfCandidates = false;
    const j = candidate.toJSON();
    const out: IceCandidateInit = { candidate: j.candidate ?? candidate.candidate };
    if (j.sdpMid != null) out.sdpMid = j.sdpMid;
    if (j.sdpMLineIndex != null) out.sdpMLineIndex = j.sdpMLineIndex;
    if (j.usernameFragment != null) out.usernameFragment = j.usernameFragment;
    this.opts.signal.candidate(out);
  }

  private onRemoteTrack(track: MediaStreamTrack): void {
    const kind = track.kind === 'audio' ? 'audio' : 'video';
    for (const t of this.remoteStream.getTracks()) {
      if (t.kind === kind && t !== track) this.remoteStream.removeTrack(t);
    }
    if (!this.remoteStream.getTracks().includes(track)) this.remoteStream.addTrack(track);
    this.emit('track', { kind, track });
  }

  private onConnectionState(): void {
    const s = this.pc.connectionState;
    this.emit('connection-state', s);
    if (s === 'failed') this.restartIce('connection failed');
  }

  private onIceState(): void {
    const s = this.pc.iceConnectionState;
    this.emit('ice-state', s);
    if (this.disconnectedTimer) {
      clearTimeout(this.disconnectedTimer);
      this.disconnectedTimer = null;
    }
    // Firefox reports `failed` on the ICE state only; Chromium on both (restartIce is idempotent
    // until the next offer, so a double call does no harm).
    if (s === 'failed' && this.pc.connectionState !== 'failed') this.restartIce('ICE failed');
    if (s === 'disconnected') {
      this.disconnectedTimer = setTimeout(() => {
        if (this.pc.iceConnectionState === 'disconnected') this.restartIce('disconnected too long');
      }, DISCONNECTED_RESTART_MS);
    }
  }
}

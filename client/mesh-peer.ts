/**
 * MeshPeer: everything this page shares with one remote participant in a mesh room:
 * a PeerLink (media + negotiation) and two data channels.
 *
 * The data channels are created with `negotiated: true` and fixed ids on both sides, so neither
 * side has to wait for an `ondatachannel` and both agree on which channel is which.
 */
import type { IceCandidateInit } from '../src/protocol/index.js';
import { Emitter } from './emitter.js';
import { FileReceiver, sendFile, type FileHeader, type Progress, type ReceivedFile } from './file-transfer.js';
import type { MediaKind } from './local-media.js';
import { PeerLink, type SignalSink } from './peer-link.js';
import { StatsSampler, type PeerStats } from './stats.js';

export const CHAT_CHANNEL_ID = 0;
export const FILE_CHANNEL_ID = 1;
/** Longest chat line we send or accept. */
export const MAX_CHAT_CHARS = 4000;

export interface MeshPeerOptions {
  selfId: string;
  remoteId: string;
  /** The newcomer offers to everyone already in the room; the others wait for that offer. */
  initiator: boolean;
  rtcConfig: RTCConfiguration;
  tracks: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null };
  signal: SignalSink;
}

export interface MeshPeerEvents {
  chat: { text: string };
  'file-progress': Progress;
  file: ReceivedFile;
  'connection-state': RTCPeerConnectionState;
  track: { kind: MediaKind; track: MediaStreamTrack };
  'channels-open': void;
}

export class MeshPeer extends Emitter<MeshPeerEvents> {
  readonly link: PeerLink;
  private chat: RTCDataChannel | null = null;
  private files: RTCDataChannel | null = null;
  private readonly sampler: StatsSampler;
  /** Outgoing file sends run one after another on the ordered channel. */
  private fileQueue: Promise<void> = Promise.resolve();

  constructor(readonly opts: MeshPeerOptions) {
    super();
    this.link = new PeerLink({
      // Both ends compare the same two ids, so exactly one of them is polite.
      polite: opts.selfId > opts.remoteId,
      initiator: opts.initiator,
      rtcConfig: opts.rtcConfig,
      tracks: opts.tracks,
      signal: opts.signal,
      label: `peer ${opts.remoteId}`,
      onFirstRemoteOffer: (pc) => this.createChannels(pc),
    });
    this.sampler = new StatsSampler(this.link.pc);
    this.link.on('connection-state', (s) => this.emit('connection-state', s));
    this.link.on('track', (t) => this.emit('track', t));
    // The initiator's channels must exist before its first offer so the offer has m=application.
    if (opts.initiator) this.createChannels(this.link.pc);
  }

  get remoteStream(): MediaStream { return this.link.remoteStream; }
  get connectionState(): RTCPeerConnectionState { return this.link.connectionState; }

  handleDescription(desc: { type: 'offer' | 'answer'; sdp: string }): void { this.link.handleDescription(desc); }
  handleCandidate(c: IceCandidateInit | null): void { this.link.handleCandidate(c); }
  setTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void> { return this.link.setTrack(kind, track); }
  stats(): Promise<PeerStats> { return this.sampler.sample(); }

  sendChat(text: string): boolean {
    if (!this.chat || this.chat.readyState !== 'open') return false;
    this.chat.send(JSON.stringify({ text: text.slice(0, MAX_CHAT_CHARS) }));
    return true;
  }

  sendFile(header: FileHeader, bytes: Uint8Array, onProgress: (p: Progress) => void): Promise<void> {
    const run = this.fileQueue.then(() => {
      if (!this.files) throw new Error('file channel not created yet');
      return sendFile(this.files, header, bytes, onProgress);
    });
    this.fileQueue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.chat?.close();
    this.files?.close();
    this.link.close();
  }

  private createChannels(pc: RTCPeerConnection): void {
    if (this.chat) return;
    this.chat = pc.createDataChannel('chat', { negotiated: true, id: CHAT_CHANNEL_ID, ordered: true });
    this.files = pc.createDataChannel('files', { negotiated: true, id: FILE_CHANNEL_ID, ordered: true });
    this.files.binaryType = 'arraybuffer';
    this.chat.onmessage = (ev) => this.onChat(ev.data);
    const receiver = new FileReceiver(
      (p) => this.emit('file-progress', p),
      (f) => this.emit('file', f),
      (m) => console.warn(`[switchboard] file from ${this.opts.remoteId}: ${m}`),
    );
    this.files.onmessage = (ev) => receiver.handle(ev.data);
    let open = 0;
    const onOpen = (): void => { if (++open === 2) this.emit('channels-open', undefined); };
    this.chat.addEventListener('open', onOpen);
    this.files.addEventListener('open', onOpen);
  }

  private onChat(data: unknown): void {
    if (typeof data !== 'string' || data.length > MAX_CHAT_CHARS * 2 + 64) return;
    try {
      const msg = JSON.parse(data) as { text?: unknown };
      if (typeof msg.text === 'string') this.emit('chat', { text: msg.text.slice(0, MAX_CHAT_CHARS) });
    } catch {
      // A peer sending junk on the chat channel is ignored, not fatal.
    }
  }
}

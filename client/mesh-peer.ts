/**
 * MeshPeer: everything this page shares with one remote participant in a mesh room:
 * a PeerLink (media + negotiation) and two data channels.
 *
 * The data channels are created with `negotiated: true` and fixed ids on both sides, so neither
 * side has to wait for an `ondatachannel` and both agree on which channel is which.
 */
import type { IceCandidateInit } from '../src/protocol/index.js';
import { Emitter } from './emitter.js';
import { createNegotiatedChannels, readChat, readFiles, sendChatLine, SerialFileSender } from './data-channels.js';
import type { FileHeader, Progress, ReceivedFile } from './file-transfer.js';
import type { MediaKind } from './local-media.js';
import { PeerLink, type SignalSink } from './peer-link.js';
import { StatsSampler, type PeerStats } from './stats.js';

export { CHAT_CHANNEL_ID, FILE_CHANNEL_ID } from './data-channels.js';
export { MAX_CHAT_CHARS } from './chat-line.js';

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
  /** Part of the participant-transport surface; never emitted here (a replaced track is swapped in place). */
  'track-removed': { kind: MediaKind; track: MediaStreamTrack };
  'channels-open': void;
}

export class MeshPeer extends Emitter<MeshPeerEvents> {
  readonly link: PeerLink;
  private chat: RTCDataChannel | null = null;
  private files: RTCDataChannel | null = null;
  private readonly sampler: StatsSampler;
  private readonly fileSender = new SerialFileSender(() => this.files);

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

  get remoteStream(): MediaStream {
    return this.link.remoteStream;
  }
  get connectionState(): RTCPeerConnectionState {
    return this.link.connectionState;
  }

  handleDescription(desc: { type: 'offer' | 'answer'; sdp: string }): void {
    this.link.handleDescription(desc);
  }
  handleCandidate(c: IceCandidateInit | null): void {
    this.link.handleCandidate(c);
  }
  setTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void> {
    return this.link.setTrack(kind, track);
  }
  stats(): Promise<PeerStats> {
    return this.sampler.sample();
  }

  sendChat(text: string): boolean {
    return sendChatLine(this.chat, text);
  }

  sendFile(header: FileHeader, bytes: Uint8Array, onProgress: (p: Progress) => void): Promise<void> {
    return this.fileSender.send(header, bytes, onProgress);
  }

  close(): void {
    this.chat?.close();
    this.files?.close();
    this.link.close();
  }

  private createChannels(pc: RTCPeerConnection): void {
    if (this.chat) return;
    const { chat, files } = createNegotiatedChannels(pc);
    this.chat = chat;
    this.files = files;
    readChat(chat, (text) => this.emit('chat', { text }));
    readFiles(files, {
      progress: (p) => this.emit('file-progress', p),
      file: (f) => this.emit('file', f),
      error: (m) => console.warn(`[switchboard] file from ${this.opts.remoteId}: ${m}`),
    });
    let open = 0;
    const onOpen = (): void => {
      if (++open === 2) this.emit('channels-open', undefined);
    };
    this.chat.addEventListener('open', onOpen);
    this.files.addEventListener('open', onOpen);
  }
}

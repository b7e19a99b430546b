/**
 * The libdatachannel side of a headless SFU peer (node-datachannel): its own ICE (libjuice),
 * DTLS (OpenSSL/GnuTLS), SRTP (libsrtp) and SCTP (usrsctp), none of them libwebrtc's.
 *
 * Tracks are described by hand, as libdatachannel's users do: an `Audio`/`Video` description
 * with a direction, codec and SSRC. Without a media handler a Track sends what it is given as
 * one RTP packet (SRTP-protected) and delivers every packet it receives, RTP and RTCP, as is.
 * Negotiation is explicit (disableAutoNegotiation): the peer decides when each offer/answer is made.
 */
import nodeDataChannel, { type DataChannel, type PeerConnection, type Track } from 'node-datachannel';
import { hasKeyframeRequest } from '../../bench/loadtest/ndc-peers.js';
import { PUBLISH_CODECS, type ChatLine, type SfuPeerRtc } from './sfu-node-peer.js';

/** RFC 4585 §6.3.1 PLI / RFC 5104 §4.3.1 FIR anywhere in an RTCP compound (shared with the load tool). */
export { hasKeyframeRequest };

const isRtcp = (p: Buffer): boolean => p.length >= 2 && (p[1] as number) >= 192 && (p[1] as number) <= 223;

export class NodeDataChannelRtc implements SfuPeerRtc {
  readonly library = `node-datachannel (libdatachannel ${nodeDataChannel.getLibraryVersion()})`;
  private readonly publish: PeerConnection;
  private readonly subscribe: PeerConnection;
  private readonly tracks: Partial<Record<'audio' | 'video', Track>> = {};
  private readonly subscribeTracks: Track[] = [];
  private readonly channels: DataChannel[] = [];
  private chat: DataChannel | null = null;
  private files: DataChannel | null = null;
  private filesCb: (from: string, data: Buffer | string) => void = () => undefined;
  private keyframeCb: () => void = () => undefined;
  private rtpCb: (p: Buffer) => void = () => undefined;
  private chatCb: (l: ChatLine) => void = () => undefined;
  private publishState = 'new';

  /** `rewriteSubscribeOffer`: applied to each subscribe offer before libdatachannel sees it (e.g. a proxy's candidates). */
  constructor(
    name: string,
    private readonly rewriteSubscribeOffer: (sdp: string) => string = (sdp) => sdp,
  ) {
    const config = { iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: true };
    this.publish = new nodeDataChannel.PeerConnection(`${name}-publish`, config);
    // libdatachannel picks DTLS or DTLS-SRTP once, when the transport starts, from the
    // descriptions it has then. The server's first subscribe offer may hold only the data
    // channel (nobody publishes yet); media sections come in later revisions, and without
    // forceMediaTransport their SRTP would be dropped by a plain DTLS transport.
    this.subscribe = new nodeDataChannel.PeerConnection(`${name}-subscribe`, { ...config, forceMediaTransport: true });
    this.publish.onStateChange((s) => {
      this.publishState = s;
    });
    this.subscribe.onTrack((track) => {
      this.subscribeTracks.push(track);
      track.onMessage((msg) => this.rtpCb(msg));
    });
    this.subscribe.onDataChannel((dc) => {
      this.channels.push(dc);
      const from = dc.getProtocol();
      dc.onMessage((msg) => {
        if (dc.getLabel() === 'files') {
          this.filesCb(from, typeof msg === 'string' ? msg : Buffer.isBuffer(msg) ? msg : Buffer.from(new Uint8Array(msg)));
          return;
        }
        if (typeof msg !== 'string' || dc.getLabel() !== 'chat') return;
        try {
          const text = (JSON.parse(msg) as { text?: unknown }).text;
          if (typeof text === 'string') this.chatCb({ from, text });
        } catch {
          /* not a chat line */
        }
      });
    });
  }

  async createPublishOffer(ssrcs: { audio: number; video: number }): Promise<string> {
    const audio = new nodeDataChannel.Audio('0', 'SendOnly');
    audio.addOpusCodec(PUBLISH_CODECS.audio.payloadType);
    audio.addSSRC(ssrcs.audio, 'ndc', 'ndc-stream', 'ndc-audio');
    const video = new nodeDataChannel.Video('1', 'SendOnly');
    video.addVP8Codec(PUBLISH_CODECS.video.payloadType);
    video.addSSRC(ssrcs.video, 'ndc', 'ndc-stream', 'ndc-video');
    this.tracks.audio = this.publish.addTrack(audio);
    this.tracks.video = this.publish.addTrack(video);
    for (const t of [this.tracks.audio, this.tracks.video]) {
      t.onMessage((msg) => {
        if (isRtcp(msg) && hasKeyframeRequest(msg)) this.keyframeCb();
      });
    }
    // The server's relay reads chat on the pre-negotiated stream id 0 (DataRelay.ts).
    this.chat = this.publish.createDataChannel('chat', { negotiated: true, id: 0 });
    this.files = this.publish.createDataChannel('files', { negotiated: true, id: 1 });
    this.publish.setLocalDescription('offer');
    const sdp = this.publish.localDescription()?.sdp;
    if (!sdp) throw new Error('libdatachannel made no offer');
    return sdp;
  }

  async applyPublishAnswer(sdp: string): Promise<void> {
    this.publish.setRemoteDescription(sdp, 'answer');
  }

  async publishConnected(): Promise<void> {
    const video = this.tracks.video;
    for (let i = 0; i < 400; i++) {
      if (video?.isOpen()) return;
      if (this.publishState === 'failed' || this.publishState === 'closed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`publish track not open (connection ${this.publishState})`);
  }

  sendRtp(kind: 'audio' | 'video', packet: Buffer): void {
    const t = this.tracks[kind];
    if (t?.isOpen()) t.sendMessageBinary(packet);
  }

  onKeyframeRequest(cb: () => void): void {
    this.keyframeCb = cb;
  }

  async answerSubscribeOffer(sdp: string): Promise<string> {
    this.subscribe.setRemoteDescription(this.rewriteSubscribeOffer(sdp), 'offer');
    this.subscribe.setLocalDescription('answer');
    const answer = this.subscribe.localDescription();
    if (!answer || answer.type !== 'answer') throw new Error('libdatachannel made no answer');
    return answer.sdp;
  }

  onSubscribeRtp(cb: (packet: Buffer) => void): void {
    this.rtpCb = cb;
  }

  sendChat(text: string): boolean {
    return this.chat?.isOpen() === true && this.chat.sendMessage(text);
  }

  onChat(cb: (line: ChatLine) => void): void {
    this.chatCb = cb;
  }

  /**
   * Sends `chunks` on the publish connection's `files` channel (id 1, relayed by the server),
   * keeping at most `highWater` bytes in libdatachannel's buffer as the web app does.
   */
  async sendFileChunks(chunks: Buffer[], highWater: number, timeoutMs: number): Promise<void> {
    const ch = this.files;
    if (!ch) throw new Error('no files channel');
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 400 && !ch.isOpen(); i++) await new Promise((r) => setTimeout(r, 50));
    for (const chunk of chunks) {
      while (ch.bufferedAmount() > highWater) {
        if (Date.now() > deadline) throw new Error(`files channel still ${ch.bufferedAmount()} bytes buffered after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
      // libdatachannel returns false when it buffers the message rather than sending it now.
      if (!ch.isOpen()) throw new Error('files channel closed during the transfer');
      ch.sendMessageBinary(chunk);
    }
  }

  /** Messages on the `files` channels the server opened toward us: (sender id, data). */
  onFiles(cb: (from: string, data: Buffer | string) => void): void {
    this.filesCb = cb;
  }

  async close(): Promise<void> {
    // Every Track and DataChannel with a callback holds the Node event loop (a thread-safe
    // function in the addon) until it is closed itself: closing the PeerConnection is not enough.
    for (const t of [this.tracks.audio, this.tracks.video, ...this.subscribeTracks]) t?.close();
    for (const dc of [this.chat, this.files, ...this.channels]) dc?.close();
    for (const pc of [this.publish, this.subscribe]) {
      const closed = new Promise<void>((r) =>
        pc.onStateChange((st) => {
          if (st === 'closed') r();
        }),
      );
      pc.close();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
    }
  }
}

/**
 * Call once, after every NodeDataChannelRtc is closed: without it the addon keeps the Node event
 * loop alive (its PeerConnection callbacks are released only by the library's cleanup), and a
 * test file never exits. rtc-port-interop.test.ts saw cleanup() abort the process now and then
 * when connections were still winding down; closing tracks and channels first, then waiting a
 * moment, made 10 of 10 runs here exit cleanly.
 */
export async function releaseNodeDataChannel(): Promise<void> {
  await new Promise((r) => setTimeout(r, 200));
  nodeDataChannel.cleanup();
}

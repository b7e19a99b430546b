/**
 * Load-tool peers on node-datachannel (libdatachannel: its own ICE, DTLS, SRTP — none of
 * libwebrtc's). Tracks are described by hand; without a media handler a Track sends each buffer
 * as one RTP packet (SRTP-protected) and delivers every packet it receives, RTP and RTCP, as is.
 * Negotiation is explicit (disableAutoNegotiation): the driver decides when offers are made.
 */
import type { PeerConnection, Track } from 'node-datachannel';
import type { NodeDataChannel } from './peer-libraries.js';
import { PUBLISH_CODECS, type PublisherPeer, type SubscriberPeer } from './peer.js';
import type { MediaKind } from '../../src/protocol/media.js';
import { InternalErrorCode, SwitchboardError } from '../../src/protocol/errors.js';

const PT_PSFB = 206;
const FMT_PLI = 1;
const FMT_FIR = 4;

/** RFC 4585 §6.3.1 PLI / RFC 5104 §4.3.1 FIR anywhere in an RTCP compound (bounded walk). */
export function hasKeyframeRequest(rtcp: Buffer): boolean {
  let off = 0;
  for (let n = 0; n < 64 && off + 4 <= rtcp.length; n++) {
    const fmt = (rtcp[off] as number) & 0x1f;
    const pt = rtcp[off + 1] as number;
    if (pt === PT_PSFB && (fmt === FMT_PLI || fmt === FMT_FIR)) return true;
    off += (rtcp.readUInt16BE(off + 2) + 1) * 4;
  }
  return false;
}

/** RFC 5761 §4: RTP and RTCP share the port; payload types 192–223 (with M) are RTCP. */
export const isRtcp = (p: Buffer): boolean => p.length >= 2 && (p[1] as number) >= 192 && (p[1] as number) <= 223;

const CONFIG = { iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: true };

async function closeAll(tracks: (Track | undefined)[], pc: PeerConnection): Promise<void> {
  // Every Track with a callback holds the Node event loop (a thread-safe function in the addon)
  // until it is closed itself: closing the PeerConnection is not enough.
  for (const t of tracks) {
    try {
      t?.close();
    } catch {
      /* already closed */
    }
  }
  const closed = new Promise<void>((r) =>
    pc.onStateChange((st) => {
      if (st === 'closed') r();
    }),
  );
  try {
    pc.close();
  } catch {
    /* already closed */
  }
  await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
}

export class NdcPublisher implements PublisherPeer {
  private readonly pc: PeerConnection;
  private readonly tracks: Partial<Record<MediaKind, Track>> = {};
  private keyframeCb: () => void = () => undefined;
  private state = 'new';
  readonly replaysRecording = true;

  constructor(
    private readonly ndc: NodeDataChannel,
    name: string,
  ) {
    this.pc = new ndc.PeerConnection(`${name}-publish`, CONFIG);
    this.pc.onStateChange((s) => {
      this.state = s;
    });
  }

  async createOffer(ssrcs: { audio: number; video: number }): Promise<string> {
    const audio = new this.ndc.Audio('0', 'SendOnly');
    audio.addOpusCodec(PUBLISH_CODECS.audio.payloadType);
    audio.addSSRC(ssrcs.audio, 'loadtest', 'loadtest-stream', 'loadtest-audio');
    const video = new this.ndc.Video('1', 'SendOnly');
    video.addVP8Codec(PUBLISH_CODECS.video.payloadType);
    video.addSSRC(ssrcs.video, 'loadtest', 'loadtest-stream', 'loadtest-video');
    this.tracks.audio = this.pc.addTrack(audio);
    this.tracks.video = this.pc.addTrack(video);
    for (const t of [this.tracks.audio, this.tracks.video]) {
      t.onMessage((msg) => {
        if (isRtcp(msg) && hasKeyframeRequest(msg)) this.keyframeCb();
      });
    }
    this.pc.setLocalDescription('offer');
    const sdp = this.pc.localDescription()?.sdp;
    if (!sdp) throw new SwitchboardError(InternalErrorCode.Unavailable, 'libdatachannel made no offer');
    return sdp;
  }

  async applyAnswer(sdp: string): Promise<void> {
    this.pc.setRemoteDescription(sdp, 'answer');
  }

  async connected(timeoutMs: number): Promise<void> {
    const video = this.tracks.video;
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (video?.isOpen()) return;
      if (this.state === 'failed' || this.state === 'closed') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new SwitchboardError(InternalErrorCode.Unavailable, `publish track not open within ${timeoutMs} ms (connection ${this.state})`);
  }

  sendRtp(kind: MediaKind, packet: Buffer): void {
    const t = this.tracks[kind];
    if (t?.isOpen()) t.sendMessageBinary(packet);
  }

  onKeyframeRequest(cb: () => void): void {
    this.keyframeCb = cb;
  }

  async close(): Promise<void> {
    await closeAll([this.tracks.audio, this.tracks.video], this.pc);
  }
}

export class NdcSubscriber implements SubscriberPeer {
  private readonly pc: PeerConnection;
  private readonly tracks: Track[] = [];
  private rtpCb: (p: Buffer) => void = () => undefined;

  constructor(ndc: NodeDataChannel, name: string) {
    // libdatachannel picks DTLS or DTLS-SRTP once, when the transport starts. A first subscribe
    // offer may hold only a data channel (nobody publishes yet); forceMediaTransport keeps SRTP
    // for the media sections of later offers.
    this.pc = new ndc.PeerConnection(`${name}-subscribe`, { ...CONFIG, forceMediaTransport: true });
    this.pc.onTrack((track) => {
      this.tracks.push(track);
      track.onMessage((msg) => {
        if (!isRtcp(msg)) this.rtpCb(msg);
      });
    });
    // Data channels the server opens are not measured; closing them keeps the loop free to exit.
    this.pc.onDataChannel((dc) => {
      try {
        dc.close();
      } catch {
        /* gone */
      }
    });
  }

  async answer(offerSdp: string): Promise<string> {
    this.pc.setRemoteDescription(offerSdp, 'offer');
    this.pc.setLocalDescription('answer');
    const answer = this.pc.localDescription();
    if (!answer || answer.type !== 'answer') throw new SwitchboardError(InternalErrorCode.Unavailable, 'libdatachannel made no answer');
    return answer.sdp;
  }

  onRtp(cb: (packet: Buffer) => void): void {
    this.rtpCb = cb;
  }

  async close(): Promise<void> {
    await closeAll(this.tracks, this.pc);
  }
}

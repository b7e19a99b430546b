/**
 * The werift side of a headless SFU peer: a pure-TypeScript WebRTC stack (its own ICE, DTLS,
 * SRTP and SCTP). Raw RTP goes out through a MediaStreamTrack's `writeRtp` (its sender sets
 * its own SSRC, payload type and header extensions) and comes in through `onReceiveRtp`.
 *
 * Our server's DTLS also uses werift's handshake code (src/rtc/dtls), so werift-to-server DTLS
 * proves less than libdatachannel or the browsers do; its ICE, SRTP, SCTP and SDP are separate.
 */
import { MediaStreamTrack, RTCPeerConnection, useNACK, useOPUS, usePLI, useVP8, type RTCDataChannel } from 'werift';
import { PUBLISH_CODECS, type ChatLine, type SfuPeerRtc } from './sfu-node-peer.js';

function peerConnection(): RTCPeerConnection {
  return new RTCPeerConnection({
    codecs: {
      video: [useVP8({ payloadType: PUBLISH_CODECS.video.payloadType, rtcpFeedback: [useNACK(), usePLI()] })],
      audio: [useOPUS({ payloadType: PUBLISH_CODECS.audio.payloadType })],
    },
    // Loopback only: the server listens there, and nothing of the test should leave the machine.
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
  });
}

export class WeriftRtc implements SfuPeerRtc {
  readonly library = 'werift';
  private readonly publish = peerConnection();
  private readonly subscribe = peerConnection();
  private readonly tracks = { audio: new MediaStreamTrack({ kind: 'audio' }), video: new MediaStreamTrack({ kind: 'video' }) };
  private chat: RTCDataChannel | null = null;
  private keyframeCb: () => void = () => undefined;
  private rtpCb: (p: Buffer) => void = () => undefined;
  private chatCb: (l: ChatLine) => void = () => undefined;

  constructor() {
    this.subscribe.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => this.rtpCb(rtp.serialize()));
    });
    this.subscribe.onDataChannel.subscribe((dc) => {
      dc.onMessage.subscribe((msg) => {
        if (typeof msg !== 'string' || dc.label !== 'chat') return;
        try {
          const text = (JSON.parse(msg) as { text?: unknown }).text;
          if (typeof text === 'string') this.chatCb({ from: dc.protocol, text });
        } catch {
          /* not a chat line */
        }
      });
    });
  }

  async createPublishOffer(): Promise<string> {
    this.publish.addTransceiver(this.tracks.audio, { direction: 'sendonly' });
    const video = this.publish.addTransceiver(this.tracks.video, { direction: 'sendonly' });
    video.sender.onPictureLossIndication.subscribe(() => this.keyframeCb());
    // The server's relay reads chat on the pre-negotiated stream id 0 (DataRelay.ts).
    this.chat = this.publish.createDataChannel('chat', { negotiated: true, id: 0, ordered: true });
    await this.publish.setLocalDescription(await this.publish.createOffer());
    const sdp = this.publish.localDescription?.sdp;
    if (!sdp) throw new Error('werift made no offer');
    return sdp;
  }

  async applyPublishAnswer(sdp: string): Promise<void> {
    await this.publish.setRemoteDescription({ type: 'answer', sdp });
  }

  async publishConnected(): Promise<void> {
    for (let i = 0; i < 400; i++) {
      const s = this.publish.connectionState;
      if (s === 'connected') return;
      if (s === 'failed' || s === 'closed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`publish connection ${this.publish.connectionState}`);
  }

  sendRtp(kind: 'audio' | 'video', packet: Buffer): void {
    this.tracks[kind].writeRtp(packet);
  }

  onKeyframeRequest(cb: () => void): void {
    this.keyframeCb = cb;
  }

  async answerSubscribeOffer(sdp: string): Promise<string> {
    await this.subscribe.setRemoteDescription({ type: 'offer', sdp });
    await this.subscribe.setLocalDescription(await this.subscribe.createAnswer());
    const answer = this.subscribe.localDescription?.sdp;
    if (!answer) throw new Error('werift made no answer');
    return answer;
  }

  onSubscribeRtp(cb: (packet: Buffer) => void): void {
    this.rtpCb = cb;
  }

  sendChat(text: string): boolean {
    if (this.chat?.readyState !== 'open') return false;
    this.chat.send(text);
    return true;
  }

  onChat(cb: (line: ChatLine) => void): void {
    this.chatCb = cb;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.publish.close(), this.subscribe.close()]);
  }
}

/**
 * SfuSession: an SFU room's two connections to the server (messages.ts describes the exchange).
 *
 * - publish: our audio and video (one sendonly transceiver each, so mute, device switch and
 *   screen share stay `replaceTrack` calls) and our `chat`/`files` channels, created like the
 *   mesh's. We offer once, right after setLocalDescription: the server is ICE-lite (RFC 8445
 *   §2.5) and lists its candidates in its answer, so nothing is trickled either way.
 * - subscribe: everyone else's media and relayed data channels. The server offers each time the
 *   forwarded set changes; offers are applied strictly one after another, stale revisions are
 *   skipped, and every applied offer re-derives which track belongs to whom.
 *
 * Failures are reported once (console + the sink's `error`); nothing here retries on its own.
 */
import {
  MCU_MIX_PARTICIPANT_ID,
  type McuLayout,
  type ParticipantInfo,
  type ServerMessage,
  type SfuServerOfferMsg,
} from '../src/protocol/index.js';
import { createNegotiatedChannels, SerialFileSender, sendChatLine, type ChannelPair } from './data-channels.js';
import type { FileHeader, Progress } from './file-transfer.js';
import { rtcConfiguration, type RelayTransport } from './ice.js';
import type { LocalMedia, MediaKind } from './local-media.js';
import type { ParticipantTransport } from './participant.js';
import type { FileSendResult, InboundSink, RoomTransport } from './room-transport.js';
import { readRelayedChannels } from './sfu-data-relay.js';
import { SIMULCAST_ENCODINGS, SVC_SCALABILITY_MODE, VideoSizeReports, readLayersMessage, type VideoLayering } from './sfu-layers.js';
import { SfuParticipant } from './sfu-participant.js';
import { readPublishAnswer, readSubscribeOffer, SfuTrackTable } from './sfu-tracks.js';
import type { SignalingClient } from './signaling.js';
import { StatsSampler, type PeerStats } from './stats.js';

/** The `peerId` of outgoing file progress in SFU rooms: one send, to the server. */
export const SFU_PEER_ID = 'sfu';

export interface SfuSessionOptions {
  iceTransportPolicy?: RTCIceTransportPolicy;
  relayTransport?: RelayTransport;
  /** How our camera is published: one encoding (default), 3 simulcast rids (VP8), or VP9 L3T3 SVC. */
  videoLayering?: VideoLayering;
  /**
   * An MCU room: the same two connections, but what arrives is the server's mix for us — one
   * audio and one composed video track (`mix`) — instead of everyone's tracks.
   */
  mcu?: boolean;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class SfuSession implements RoomTransport {
  readonly topology: 'sfu' | 'mcu';
  /** MCU rooms: the mixed audio and composed video the server makes for us; null in SFU rooms. */
  readonly mix: SfuParticipant | null = null;
  readonly publishPc: RTCPeerConnection;
  private subscribe: RTCPeerConnection | null = null;
  private readonly channels: ChannelPair;
  private readonly fileSender: SerialFileSender;
  private readonly publishSampler: StatsSampler;
  private readonly table = new SfuTrackTable();
  private readonly views = new Map<string, SfuParticipant>();
  private readonly rtcConfig: RTCConfiguration;
  /** Subscribe offers, applied one after another. */
  private offers: Promise<void> = Promise.resolve();
  private closed = false;
  /** Stops telling the server whether we send our screen or our camera. */
  private readonly stopSourceReports: () => void;
  private readonly sharingScreenAtStart: boolean;
  private readonly sizes = new VideoSizeReports();
  /** Server messages and channels refused as malformed (dropped, counted). */
  rejected = 0;

  constructor(
    private readonly signaling: SignalingClient,
    media: LocalMedia,
    private readonly sink: InboundSink,
    opts: SfuSessionOptions = {},
  ) {
    this.rtcConfig = rtcConfiguration(signaling.welcome?.iceServers, opts.iceTransportPolicy, opts.relayTransport);
    this.topology = opts.mcu ? 'mcu' : 'sfu';
    if (opts.mcu) {
      this.mix = new SfuParticipant(MCU_MIX_PARTICIPANT_ID, () => this.subscribe);
      this.views.set(MCU_MIX_PARTICIPANT_ID, this.mix);
    }
    const pc = new RTCPeerConnection(this.rtcConfig);
    this.publishPc = pc;
    pc.addTransceiver(media.outgoing('audio') ?? 'audio', { direction: 'sendonly' });
    const layering = opts.videoLayering ?? 'none';
    const video = pc.addTransceiver(media.outgoing('video') ?? 'video', {
      direction: 'sendonly',
      ...(layering === 'simulcast' ? { sendEncodings: SIMULCAST_ENCODINGS.map((e) => ({ ...e })) } : {}),
      ...(layering === 'svc' ? { sendEncodings: [{ scalabilityMode: SVC_SCALABILITY_MODE } as RTCRtpEncodingParameters] } : {}),
    });
    if (layering === 'svc') preferVp9(video);
    this.channels = createNegotiatedChannels(pc);
    this.fileSender = new SerialFileSender(() => this.channels.files);
    this.publishSampler = new StatsSampler(pc);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') this.fail('the publish connection to the server failed');
    };
    // The server serves a screen share before cameras in every subscriber's bandwidth.
    this.stopSourceReports = media.on('screen-share', ({ active }) => {
      if (!this.closed) this.signaling.send({ type: 'sfu-video-source', source: active ? 'screen' : 'camera' });
    });
    this.sharingScreenAtStart = media.sharingScreen;
  }

  get subscribePc(): RTCPeerConnection | null {
    return this.subscribe;
  }

  /** Offers the publish connection; resolves once the server's answer is applied (or the failure reported). */
  async start(): Promise<void> {
    const pc = this.publishPc;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('no local description');
      const reply = readPublishAnswer(await this.signaling.request({ type: 'sfu-offer', transport: 'publish', sdp }));
      if (!reply) {
        this.rejected++;
        throw new Error('malformed sfu-answer from the server');
      }
      if (this.closed) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
      if (this.sharingScreenAtStart) this.signaling.send({ type: 'sfu-video-source', source: 'screen' });
    } catch (err) {
      if (!this.closed) this.fail(`publishing to the server failed: ${errorText(err)}`, err);
    }
  }

  attach(info: ParticipantInfo): ParticipantTransport {
    this.views.get(info.id)?.close();
    const view = new SfuParticipant(info.id, () => this.subscribe);
    this.views.set(info.id, view);
    this.reconcile(); // their tracks may have arrived before `participant-joined`
    return view;
  }

  detach(id: string): void {
    this.sizes.forget(id);
    this.views.get(id)?.close();
    this.views.delete(id);
  }

  handleSignal(m: ServerMessage): void {
    if (this.closed) return;
    if (m.type === 'sfu-offer') {
      const offer = readSubscribeOffer(m);
      if (!offer) {
        this.rejected++;
        console.warn('[switchboard] sfu: dropped a malformed subscribe offer');
        return;
      }
      this.offers = this.offers
        .then(() => this.applyOffer(offer))
        .catch((err: unknown) => {
          if (!this.closed) this.fail(`applying the server's offer ${offer.revision} failed: ${errorText(err)}`, err);
        });
    } else if (m.type === 'sfu-layers') {
      const layers = readLayersMessage(m);
      if (!layers) {
        this.rejected++;
        return;
      }
      void this.setActiveLayers(layers.mid, layers.active);
    } else if (m.type === 'error' && (m.inReplyTo === 'sfu-answer' || m.inReplyTo === 'sfu-offer')) {
      this.fail(`the server refused our ${m.inReplyTo}: ${m.message}`);
    }
  }

  /**
   * The app renders participant `id`'s video at `width` × `height` device pixels (0 × 0: not
   * shown). The server forwards the smallest layer that covers it.
   */
  setVideoRenderSize(id: string, width: number, height: number): void {
    this.sendSizes(this.sizes.set(id, width, height, (pid) => this.videoTrackIdOf(pid)));
  }

  /** MCU rooms: asks the server to compose our video in another layout (it arrives as a new track of `mix`). */
  setLayout(layout: McuLayout): void {
    if (this.topology === 'mcu' && !this.closed) this.signaling.send({ type: 'mcu-layout', layout });
  }

  /** The server asked us to encode only these rids of section `mid` (the rest nobody receives). */
  private async setActiveLayers(mid: string, active: readonly string[]): Promise<void> {
    const tr = this.publishPc.getTransceivers().find((t) => t.mid === mid);
    if (!tr) return;
    const params = tr.sender.getParameters();
    let changed = false;
    for (const e of params.encodings) {
      if (e.rid === undefined) continue;
      const on = active.includes(e.rid);
      if ((e.active ?? true) !== on) {
        e.active = on;
        changed = true;
      }
    }
    if (!changed) return;
    try {
      await tr.sender.setParameters(params);
    } catch (err) {
      console.warn('[switchboard] sfu: could not change the active simulcast layers', err);
    }
  }

  private videoTrackIdOf(participantId: string): string | undefined {
    return this.table.videoTrackOf(participantId)?.trackId;
  }

  private sendSizes(list: Array<{ trackId: string; width: number; height: number }>): void {
    for (const r of list) this.signaling.send({ type: 'sfu-video-size', trackId: r.trackId, width: r.width, height: r.height });
  }

  setTrack(kind: MediaKind, track: MediaStreamTrack | null): void {
    const tr = this.publishPc.getTransceivers().find((t) => t.receiver.track.kind === kind);
    tr?.sender.replaceTrack(track).catch((err: unknown) => console.warn(`[switchboard] sfu: replacing the ${kind} track failed`, err));
  }

  sendChat(text: string, to: readonly ParticipantInfo[]): string[] {
    if (to.length === 0) return [];
    return sendChatLine(this.channels.chat, text) ? [] : [SFU_PEER_ID];
  }

  async sendFile(
    header: FileHeader,
    bytes: Uint8Array,
    to: readonly ParticipantInfo[],
    onProgress: (peerId: string, p: Progress) => void,
  ): Promise<FileSendResult> {
    if (to.length === 0) return { failures: [] };
    try {
      await this.fileSender.send(header, bytes, (p) => onProgress(SFU_PEER_ID, p));
      return { failures: [] };
    } catch (err) {
      return { failures: [`server: ${errorText(err)}`] };
    }
  }

  publishStats(): Promise<PeerStats | null> {
    return this.publishSampler.sample();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopSourceReports();
    for (const view of this.views.values()) view.close();
    this.views.clear();
    this.channels.chat.close();
    this.channels.files.close();
    this.publishPc.close();
    this.subscribe?.close();
  }

  // ---- subscribe connection ---------------------------------------------------------------

  private async applyOffer(offer: SfuServerOfferMsg): Promise<void> {
    if (this.closed) return;
    if (!this.table.isNewer(offer.revision)) {
      // The same revision again (e.g. re-sent after a signaling resume): repeat our answer to it.
      const answer = this.subscribe?.localDescription?.sdp;
      if (offer.revision === this.table.revision && answer) {
        this.signaling.send({ type: 'sfu-answer', transport: 'subscribe', sdp: answer, revision: offer.revision });
      } else {
        console.warn(`[switchboard] sfu: skipped stale offer ${offer.revision} (have ${this.table.revision})`);
      }
      return;
    }
    const pc = this.subscribe ?? this.createSubscribe();
    await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    this.table.replace(offer.revision, offer.tracks);
    this.reconcile();
    await pc.setLocalDescription(await pc.createAnswer());
    const sdp = pc.localDescription?.sdp;
    if (!sdp || this.closed) return;
    this.signaling.send({ type: 'sfu-answer', transport: 'subscribe', sdp, revision: offer.revision });
    // New tracks (a new producer of someone already shown) get the size their tile has.
    this.sendSizes(this.sizes.pending((pid) => this.videoTrackIdOf(pid)));
  }

  private createSubscribe(): RTCPeerConnection {
    const pc = new RTCPeerConnection(this.rtcConfig);
    this.subscribe = pc;
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      for (const view of this.views.values()) view.setConnectionState(s);
      if (s === 'failed') this.fail('the subscribe connection to the server failed');
    };
    readRelayedChannels(pc, this.sink, (why) => {
      this.rejected++;
      console.warn(`[switchboard] sfu: ${why}`);
    });
    return pc;
  }

  /** Gives every participant view the receiver tracks the table assigns to them. */
  private reconcile(): void {
    const pc = this.subscribe;
    if (!pc) return;
    const byMid = new Map<string, MediaStreamTrack>();
    for (const t of pc.getTransceivers()) {
      if (t.mid !== null && t.currentDirection !== 'stopped') byMid.set(t.mid, t.receiver.track);
    }
    const plan = this.table.plan((mid) => byMid.get(mid));
    for (const [id, view] of this.views) view.setTracks(plan.get(id) ?? []);
  }

  private fail(message: string, cause?: unknown): void {
    console.error(`[switchboard] sfu: ${message}`, cause ?? '');
    this.sink.error(message);
  }
}

/** VP9 first in the video transceiver's codec list (SVC needs it); a browser without VP9 keeps its order. */
function preferVp9(tr: RTCRtpTransceiver): void {
  const codecs = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
  const vp9 = codecs.filter((c) => /video\/vp9/i.test(c.mimeType) && (!c.sdpFmtpLine || /profile-id=0/.test(c.sdpFmtpLine)));
  if (vp9.length === 0) return;
  try {
    tr.setCodecPreferences([...vp9, ...codecs.filter((c) => !vp9.includes(c))]);
  } catch (err) {
    console.warn('[switchboard] sfu: could not prefer VP9', err);
  }
}

/**
 * SfuParticipant: one participant of an SFU room as the session layer holds it — a publish
 * transport (their offer, our answer; one Producer per sending m-section) and a subscribe
 * transport (our offers, their answers; one Consumer per track sent to them). It turns SDP into
 * calls on the room's media core (Router) and wires the per-subscriber parts: the stream
 * allocator on the subscribe transport, a layer pauser on each simulcast producer.
 */
import { randomBytes } from 'node:crypto';
import {
  answerKeepsRed,
  buildPublishAnswer,
  buildSubscribeOffer,
  checkSubscribeAnswer,
  HEADER_EXTENSION_URIS,
  OPUS_FMTP,
  parseRemoteSdp,
  type AcceptedMedia,
  type RemoteDescription,
  type RtpCodecParameters,
} from '../rtc/sdp/index.js';
import { randomSsrc } from '../rtc/rtp/index.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { WebRtcTransport } from '../rtc/WebRtcTransport.js';
import { TRANSPORT_CC_EXTENSION_ID } from '../sfu/bwe/transport-cc-extension.js';
import { PRIORITY } from '../sfu/allocation/allocate.js';
import { ConsumerTrack } from '../sfu/allocation/ConsumerTrack.js';
import { StreamAllocator } from '../sfu/allocation/StreamAllocator.js';
import type { Consumer } from '../sfu/Consumer.js';
import { LayerPauser } from '../sfu/forward/LayerPauser.js';
import type { Producer } from '../sfu/Producer.js';
import type { ProducerView } from '../sfu/ProducerView.js';
import type { Router } from '../sfu/Router.js';
import type { SfuTransport } from '../sfu/SfuTransport.js';
import { SubscribeNegotiation, type OutgoingOffer } from './SubscribeNegotiation.js';
import type { MediaKind, VideoSource } from '../sfu/types.js';

/** A refused SDP: the message says what was wrong. */
function sdpError(message: string): SwitchboardError {
  return new SwitchboardError('invalid-sdp', message);
}

export interface SubscribeOffer extends OutgoingOffer {
  sdp: string;
}

/** The codecs the server sends with, whatever the publisher used (the same codec, our payload types). */
const SUBSCRIBE_PT = { audio: 111, video: 96, rtx: 97, red: 63 } as const;
/** transport-cc feedback drives the send-side estimate; goog-remb is its fallback (./bwe/). */
const VIDEO_FEEDBACK = [
  { type: 'nack' },
  { type: 'nack', parameter: 'pli' },
  { type: 'ccm', parameter: 'fir' },
  { type: 'goog-remb' },
  { type: 'transport-cc' },
];
const AUDIO_FEEDBACK = [{ type: 'transport-cc' }];

export class SfuParticipant {
  readonly publish: SfuTransport<WebRtcTransport>;
  readonly subscribe: SfuTransport<WebRtcTransport>;
  private readonly producersByMid = new Map<string, Producer>();
  private readonly negotiation = new SubscribeNegotiation();
  private lastOffer: SubscribeOffer | null = null;
  private publishVersion = 0;
  private readonly publishSessionId = BigInt(`0x${randomBytes(7).toString('hex')}`).toString();
  closed = false;
  /** Whether the last subscribe answer kept the transport-cc extension on every active section. */
  transportCcAnswered = false;
  /** Shares our subscribe transport's estimate among our consumers; null when the room does not allocate. */
  readonly allocator: StreamAllocator | null = null;
  private readonly priorityOf: (c: Consumer) => number = () => PRIORITY.normal;
  private videoSource: VideoSource = 'camera';

  constructor(
    readonly id: string,
    private readonly router: Router<WebRtcTransport>,
    private readonly hooks: {
      /** A new producer of ours: the room gives it to everyone else. */
      onProducer(p: Producer): void;
      /** An offer for our subscribe connection, to send to the page. */
      sendOffer(offer: SubscribeOffer): void;
      /** Which simulcast layers of our publish section `mid` someone receives (LayerPauser). */
      sendLayers?: ((mid: string, activeRids: string[]) => void) | undefined;
      /** A forwarded track's rank in our bandwidth budget (PRIORITY); absent: no allocation. */
      priorityOf?: (producer: ProducerView) => number;
    },
  ) {
    this.publish = router.createTransport(`${id}/publish`);
    this.subscribe = router.createTransport(`${id}/subscribe`);
    const priorityOf = hooks.priorityOf;
    if (priorityOf) {
      this.priorityOf = (c) => priorityOf(c.producer);
      this.allocator = new StreamAllocator(this.subscribe, this.subscribe);
      this.subscribe.on('close', () => this.allocator?.close());
    }
    // Once the subscribe path is up, every video consumer needs a keyframe to start decoding.
    this.subscribeRtc.on('connected', () => {
      for (const c of this.subscribe.consumers) c.requestKeyframe();
    });
  }

  get publishRtc(): WebRtcTransport {
    return this.publish.media;
  }
  get subscribeRtc(): WebRtcTransport {
    return this.subscribe.media;
  }
  get producers(): IterableIterator<Producer> {
    return this.producersByMid.values();
  }

  /** The page's publish offer → our answer. Producers follow the offer's sending sections. */
  handlePublishOffer(sdp: string): string {
    const parsed = parseRemoteSdp(sdp, 'offer');
    if (!parsed.ok) throw sdpError(parsed.error);
    const offer = parsed.description;
    const rtc = this.publishRtc;
    const answer = buildPublishAnswer(offer, rtc.localParameters, {
      sessionId: this.publishSessionId,
      sessionVersion: this.publishVersion++,
    });
    rtc.connect({ iceUfrag: offer.iceUfrag, icePwd: offer.icePwd, fingerprints: offer.fingerprints, dtlsRole: answer.dtlsRole });
    const twcc = answer.accepted.flatMap((m) => m.headerExtensions).find((e) => e.uri === HEADER_EXTENSION_URIS.transportCc);
    if (twcc) this.publish.enableTransportFeedback(twcc.id);
    const seen = new Set<string>();
    for (const media of answer.accepted) {
      const simulcast = media.rids.length > 0;
      if (media.ssrc === undefined && !simulcast) continue; // neither SSRC nor rids: nothing to bind packets to
      if (simulcast) this.learnRidExtensions(media);
      seen.add(media.mid);
      const existing = this.producersByMid.get(media.mid);
      if (
        existing &&
        existing.codec.payloadType === media.codec.payloadType &&
        existing.codec.redPayloadType === media.codec.redPayloadType &&
        (simulcast ? sameRids(existing, media.rids) : !existing.simulcast && existing.ssrc === media.ssrc)
      )
        continue;
      existing?.close();
      this.createProducer(media);
    }
    for (const [mid, p] of this.producersByMid) {
      if (!seen.has(mid)) {
        p.close();
        this.producersByMid.delete(mid);
      }
    }
    return answer.sdp;
  }

  /** Adds a consumer of another participant's producer; an offer follows. */
  consume(producer: Producer): Consumer {
    const video = producer.kind === 'video';
    const consumer = this.router.consume(producer, this.subscribe, {
      id: `${producer.id}>${this.id}`,
      subscriberId: this.id,
      ssrc: randomSsrc(),
      ...(video ? { rtxSsrc: randomSsrc(), rtxPayloadType: SUBSCRIBE_PT.rtx } : {}),
      ...(producer.codec.redPayloadType !== undefined ? { redPayloadType: SUBSCRIBE_PT.red } : {}),
      payloadType: video ? SUBSCRIBE_PT.video : SUBSCRIBE_PT.audio,
    });
    this.negotiation.addConsumer(consumer, subscribeCodec(producer.kind, producer.codec), this.subscribe.cname);
    this.allocator?.add(new ConsumerTrack(consumer, this.priorityOf));
    consumer.on('close', () => {
      this.allocator?.remove(consumer.id);
      this.negotiation.removeConsumer(consumer);
      this.offerIfNeeded();
    });
    this.offerIfNeeded();
    return consumer;
  }

  /** The page answered our subscribe offer `revision`. */
  handleSubscribeAnswer(revision: number, sdp: string): void {
    const offer = this.lastOffer;
    if (!offer || !this.negotiation.isPending(revision)) throw sdpError(`no subscribe offer ${revision} is waiting for an answer`);
    const parsed = parseRemoteSdp(sdp, 'answer');
    if (!parsed.ok) throw sdpError(parsed.error);
    const problem = checkSubscribeAnswer(parsed.description, offer.sections);
    if (problem) throw sdpError(problem);
    const answer: RemoteDescription = parsed.description;
    // RFC 8842 §5.3: the answer's setup says who is the DTLS client.
    this.subscribeRtc.connect({
      iceUfrag: answer.iceUfrag,
      icePwd: answer.icePwd,
      fingerprints: answer.fingerprints,
      dtlsRole: answer.setup === 'passive' ? 'client' : 'server',
    });
    // The estimator needs the subscriber to read the transport-cc extension in every active section.
    this.transportCcAnswered = offer.sections
      .filter((s) => s.active)
      .every((s) => {
        const a = answer.media.find((m) => m.mid === s.mid);
        return (
          a !== undefined &&
          a.headerExtensions.some((e) => e.uri === HEADER_EXTENSION_URIS.transportCc && e.id === TRANSPORT_CC_EXTENSION_ID)
        );
      });
    this.negotiation.answered(revision);
    // RED only where the browser kept it (Firefox may not decode RED); elsewhere the consumer sends the primary blocks.
    for (const s of this.negotiation.sections) {
      if (s.consumer && s.kind === 'audio') s.consumer.useRed(answerKeepsRed(answer, s.offered));
    }
    for (const c of this.subscribe.consumers) c.requestKeyframe();
    this.offerIfNeeded();
  }

  /** The page renders forwarded video track `trackId` (a producer id) at this size; false if no such track. */
  setVideoSize(trackId: string, width: number, height: number): boolean {
    for (const c of this.subscribe.consumers) {
      if (c.producer.id === trackId && c.kind === 'video') {
        c.setRenderSize(width, height);
        this.allocator?.invalidate();
        return true;
      }
    }
    return false;
  }

  /**
   * Our page sends its screen instead of its camera, or back (`sfu-video-source`): our video
   * producers, and later ones, carry it. True when it changed.
   */
  setVideoSource(source: VideoSource): boolean {
    if (source === this.videoSource) return false;
    this.videoSource = source;
    for (const p of this.producers) if (p.kind === 'video') p.source = source;
    return true;
  }

  /** Sends the first subscribe offer (data channels only, or the tracks already present). */
  start(): void {
    this.offerIfNeeded();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.publish.close();
    this.subscribe.close();
    this.producersByMid.clear();
  }

  /** The publish transport's mid / rid / repaired-rid extension ids (one BUNDLE: one id per URI). */
  private learnRidExtensions(media: AcceptedMedia): void {
    const id = (uri: string): number | undefined => media.headerExtensions.find((e) => e.uri === uri)?.id;
    const mid = id(HEADER_EXTENSION_URIS.mid);
    const rid = id(HEADER_EXTENSION_URIS.rid);
    const repairedRid = id(HEADER_EXTENSION_URIS.repairedRid);
    this.publish.ridBinder.ids = { mid, rid, repairedRid };
  }

  private createProducer(media: AcceptedMedia): void {
    const simulcast = media.rids.length > 0;
    const tag = simulcast ? `sc${randomBytes(3).toString('hex')}` : (media.ssrc as number).toString(16);
    const producer = this.router.produce({
      id: `${this.id}-${media.mid}-${tag}`, // an a=msid token (RFC 8830)
      kind: media.kind,
      ownerId: this.id,
      mid: media.mid,
      ...(simulcast ? { rids: media.rids } : { ssrc: media.ssrc as number }),
      rtxSsrc: media.rtxSsrc,
      codec: media.codec,
      ...audioLevelId(media),
      transport: this.publish,
    });
    if (producer.kind === 'video') producer.source = this.videoSource;
    this.producersByMid.set(media.mid, producer);
    producer.on('close', () => {
      if (this.producersByMid.get(media.mid) === producer) this.producersByMid.delete(media.mid);
    });
    const sendLayers = this.hooks.sendLayers;
    if (producer.simulcast && sendLayers) new LayerPauser(producer, this.router.demandOf(producer), (mid, rids) => sendLayers(mid, rids)); // lives with the producer
    this.hooks.onProducer(producer);
  }

  private offerIfNeeded(): void {
    if (this.closed) return;
    const next = this.negotiation.nextOffer();
    if (!next) return;
    const sdp = buildSubscribeOffer({
      local: this.subscribeRtc.localParameters,
      sessionId: this.negotiation.sessionId,
      sessionVersion: next.revision,
      sections: next.sections,
      data: true,
    });
    this.lastOffer = { ...next, sdp };
    this.hooks.sendOffer(this.lastOffer);
  }
}

function sameRids(p: Producer, rids: readonly string[]): boolean {
  return p.simulcast && p.streams.length === rids.length && p.streams.every((s, i) => s.rid === rids[i]);
}

/** The RFC 6464 extension id the publish answer accepted for this section, if any. */
function audioLevelId(media: AcceptedMedia): { audioLevelExtensionId?: number } {
  const ext = media.kind === 'audio' ? media.headerExtensions.find((e) => e.uri === HEADER_EXTENSION_URIS.audioLevel) : undefined;
  return ext ? { audioLevelExtensionId: ext.id } : {};
}

function subscribeCodec(kind: MediaKind, source: RtpCodecParameters): RtpCodecParameters {
  const video = kind === 'video';
  return {
    name: source.name,
    clockRate: source.clockRate,
    ...(source.channels !== undefined ? { channels: source.channels } : {}),
    // RFC 7587 §7: useinbandfec=1 tells the subscriber FEC is there to decode; usedtx=1 that silence may be DTX.
    fmtp: video ? source.fmtp : OPUS_FMTP,
    // RFC 2198: RED offered only when the publisher sends it; the answer decides (useRed).
    ...(!video && source.redPayloadType !== undefined ? { redPayloadType: SUBSCRIBE_PT.red } : {}),
    payloadType: video ? SUBSCRIBE_PT.video : SUBSCRIBE_PT.audio,
    rtcpFeedback: (video ? VIDEO_FEEDBACK : AUDIO_FEEDBACK).map((f) => ({ ...f })),
    ...(video ? { rtxPayloadType: SUBSCRIBE_PT.rtx } : {}),
  };
}

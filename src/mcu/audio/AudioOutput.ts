/**
 * AudioOutput: what one listener hears — their N−1 mix, level-normalised, Opus-encoded and sent
 * as RTP through a Producer that only they consume. Its producer exists from the listener's
 * join (their subscribe offer lists the track); the encoder only once their media connection
 * is up (`listening`): nothing is encoded for a page that never connects.
 */
import { parseRtpHeader, randomSsrc, RtpHeaderView, writeRtpHeader, type RtpHeaderFields } from '../../rtc/rtp/index.js';
import type { Producer } from '../../sfu/Producer.js';
import type { Router } from '../../sfu/Router.js';
import { OpusFrameEncoder } from '../codec/opus.js';
import { createMixProducer, MIX_AUDIO_CODEC } from '../output-producer.js';
import { RTP_TICKS_PER_FRAME } from './format.js';
import { LevelNormaliser } from './LevelNormaliser.js';

const NO_EXTENSIONS: never[] = [];

export class AudioOutput {
  readonly producer: Producer;
  readonly normaliser = new LevelNormaliser();
  private encoder: OpusFrameEncoder | null = null;
  /** The listener's subscribe connection is up (ICE + DTLS): the mixer encodes for them. */
  listening = false;
  /** RFC 3550 §5.1: random first sequence number and timestamp. */
  private readonly header: RtpHeaderFields = {
    marker: false,
    payloadType: MIX_AUDIO_CODEC.payloadType,
    ssrc: randomSsrc(),
    sequenceNumber: Math.floor(Math.random() * 0x10000),
    timestamp: Math.floor(Math.random() * 0x100000000),
  };
  private readonly packet = Buffer.allocUnsafe(1500);
  private readonly view = new RtpHeaderView();
  framesSent = 0;

  constructor(
    readonly listenerId: string,
    router: Router,
  ) {
    this.producer = createMixProducer(router, { id: `mix-audio-${listenerId}`, kind: 'audio', ssrc: this.header.ssrc });
  }

  /** One 20 ms frame of the listener's mix. */
  send(pcm: Int16Array, now: number): void {
    this.encoder ??= new OpusFrameEncoder();
    const payload = this.encoder.encode(pcm);
    const h = this.header;
    const headerLength = writeRtpHeader(this.packet, 0, h, NO_EXTENSIONS);
    this.packet.set(payload, headerLength);
    const packet = this.packet.subarray(0, headerLength + payload.length);
    h.sequenceNumber = (h.sequenceNumber + 1) & 0xffff;
    h.timestamp = (h.timestamp + RTP_TICKS_PER_FRAME) >>> 0;
    if (parseRtpHeader(packet, this.view)) this.producer.receive(packet, this.view, now);
    this.framesSent++;
  }

  close(): void {
    this.producer.close();
  }
}

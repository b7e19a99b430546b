/**
 * AudioOutput: what one listener hears — their N−1 mix, level-normalised, Opus-encoded and sent
 * as RTP through a Producer that only they consume.
 */
import { parseRtpHeader, RtpHeaderView } from '../../rtc/rtp/index.js';
import type { Producer } from '../../sfu/Producer.js';
import { OpusFrameEncoder } from '../codec/opus.js';
import { createMixProducer, MIX_AUDIO_CODEC, randomSsrc } from '../output-producer.js';
import { RTP_TICKS_PER_FRAME } from './format.js';
import { LevelNormaliser } from './LevelNormaliser.js';

const RTP_HEADER = 12;

export class AudioOutput {
  readonly producer: Producer;
  readonly normaliser = new LevelNormaliser();
  private readonly encoder = new OpusFrameEncoder();
  private readonly ssrc = randomSsrc();
  private seq = Math.floor(Math.random() * 0x10000);
  private timestamp = Math.floor(Math.random() * 0x100000000);
  private readonly packet = Buffer.allocUnsafe(1500);
  private readonly view = new RtpHeaderView();
  framesSent = 0;

  constructor(readonly listenerId: string) {
    this.producer = createMixProducer({ id: `mix-audio-${listenerId}`, kind: 'audio', ssrc: this.ssrc });
  }

  /** One 20 ms frame of the listener's mix. */
  send(pcm: Int16Array, now: number): void {
    const payload = this.encoder.encode(pcm);
    const p = this.packet;
    p[0] = 0x80;
    p[1] = MIX_AUDIO_CODEC.payloadType;
    p.writeUInt16BE(this.seq, 2);
    p.writeUInt32BE(this.timestamp, 4);
    p.writeUInt32BE(this.ssrc, 8);
    p.set(payload, RTP_HEADER);
    const packet = p.subarray(0, RTP_HEADER + payload.length);
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + RTP_TICKS_PER_FRAME) >>> 0;
    if (parseRtpHeader(packet, this.view)) this.producer.receive(packet, this.view, now);
    this.framesSent++;
  }

  close(): void {
    this.producer.close();
  }
}

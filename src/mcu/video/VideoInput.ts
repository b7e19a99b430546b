/**
 * VideoInput: one participant's camera (or screen) as the mixer takes it — a tap on their video
 * Producer. Packets of the stream being decoded go through a VideoJitterBuffer into the VP8
 * decoder (VP8 or VP9); the compositor samples the latest picture at its own frame rate.
 *
 * Simulcast publishers: only the top stream is decoded (an MCU page publishes one encoding).
 */
import type { Producer, ProducerTap } from '../../sfu/Producer.js';
import type { ProducerStream } from '../../sfu/ProducerStream.js';
import type { RtpHeaderView } from '../../rtc/rtp/index.js';
import { VideoFrameDecoder } from '../codec/video-decoder.js';
import type { DecodedCodec } from './frame-bits.js';
import { VideoJitterBuffer } from './VideoJitterBuffer.js';

export class VideoInput implements ProducerTap {
  readonly decoder: VideoFrameDecoder;
  readonly jitter: VideoJitterBuffer;
  private readonly streamIndex: number;
  /** performance.now() of the last decoded picture; -1 before one. */
  lastPictureAt = -1;
  framesDecoded = 0;
  closed = false;

  constructor(readonly producer: Producer, codec: DecodedCodec, private readonly onClose: (input: VideoInput) => void) {
    this.streamIndex = producer.streams.length - 1;
    this.decoder = new VideoFrameDecoder(codec);
    this.jitter = new VideoJitterBuffer({
      codec,
      onFrame: (data) => {
        if (this.decoder.decode(data)) {
          this.framesDecoded++;
          this.lastPictureAt = performance.now();
        }
      },
      onKeyframeNeeded: () => producer.requestKeyframe(this.streamIndex),
    });
    producer.taps.add(this);
    producer.requestKeyframe(this.streamIndex);
  }

  get id(): string { return this.producer.id; }
  get ownerId(): string { return this.producer.ownerId; }
  get screen(): boolean { return this.producer.source === 'screen'; }
  get hasPicture(): boolean { return this.decoder.hasFrame; }

  onRtp(packet: Buffer, view: RtpHeaderView, _info: unknown, stream: ProducerStream, _rtx: boolean, now: number): void {
    if (stream.index !== this.streamIndex) return;
    const start = view.headerLength;
    this.jitter.push(view.sequenceNumber, view.timestamp, view.marker, packet.subarray(start, start + view.payloadLength), now);
  }

  /** The compositor's clock: a frame stalled on a gap is given up in time. */
  poll(now: number): void {
    this.jitter.poll(now);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.producer.taps.delete(this);
    this.decoder.close();
    this.onClose(this);
  }
}

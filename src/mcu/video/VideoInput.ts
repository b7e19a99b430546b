/**
 * VideoInput: one participant's camera (or screen) as the mixer takes it — a sink of their video
 * Producer. Packets of the stream being decoded go through a VideoJitterBuffer into the VP8
 * decoder (VP8 or VP9); the compositor samples the latest picture at its own frame rate.
 *
 * Simulcast publishers: only the top stream is decoded (an MCU page publishes one encoding).
 *
 * Nothing is decoded while no composition is encoded (`setDecoding(false)`: nobody's media
 * connection is up); when decoding starts again the buffer starts over from a keyframe, which is
 * asked for. Packets come from the network: a fault while taking one is counted
 * ('mcu.video.rtp'), the buffer starts over and a keyframe is asked for.
 */
import type { MediaSink } from '../../sfu/MediaSink.js';
import type { ProducerView } from '../../sfu/ProducerView.js';
import type { ProducerStream } from '../../sfu/ProducerStream.js';
import type { RtpHeaderView } from '../../rtc/rtp/index.js';
import { guarded } from '../../util/guarded.js';
import { VideoFrameDecoder } from '../codec/video-decoder.js';
import { McuCounters } from '../counters.js';
import type { DecodedCodec } from './frame-bits.js';
import { VideoJitterBuffer } from './VideoJitterBuffer.js';

export class VideoInput implements MediaSink {
  readonly decoder: VideoFrameDecoder;
  readonly jitter: VideoJitterBuffer;
  private readonly streamIndex: number;
  private readonly take: (payload: Buffer, view: RtpHeaderView, now: number) => void;
  /** performance.now() of the last decoded picture; -1 before one. */
  lastPictureAt = -1;
  framesDecoded = 0;
  /** Packets are decoded only while a composition is encoded. */
  decoding = false;
  closed = false;

  constructor(
    readonly producer: ProducerView,
    codec: DecodedCodec,
    private readonly onClose: (input: VideoInput) => void,
    private readonly counters = new McuCounters(),
    decoding = true,
  ) {
    // The top simulcast layer; a plain or SVC track is one stream.
    this.streamIndex = producer.simulcast ? producer.spatialLayers - 1 : 0;
    this.decoder = new VideoFrameDecoder(codec);
    this.jitter = new VideoJitterBuffer({
      codec,
      onFrame: (data) => {
        if (this.decoder.decode(data)) {
          this.framesDecoded++;
          this.counters.videoFramesDecoded++;
          this.lastPictureAt = performance.now();
        }
      },
      onKeyframeNeeded: () => producer.requestKeyframe(this.streamIndex),
    });
    this.take = guarded(
      'mcu.video.rtp',
      (payload: Buffer, view: RtpHeaderView, now: number) => {
        this.jitter.push(view.sequenceNumber, view.timestamp, view.marker, payload, now);
      },
      () => this.startOver(),
    );
    this.setDecoding(decoding);
  }

  get id(): string {
    return this.producer.id;
  }
  get ownerId(): string {
    return this.producer.ownerId;
  }
  get screen(): boolean {
    return this.producer.source === 'screen';
  }
  get hasPicture(): boolean {
    return this.decoder.hasFrame;
  }

  /** Decode from now on (from the next keyframe, asked for) or stop decoding. */
  setDecoding(decoding: boolean): void {
    if (decoding === this.decoding || this.closed) return;
    this.decoding = decoding;
    if (decoding) this.startOver();
  }

  onRtp(packet: Buffer, view: RtpHeaderView, _info: unknown, stream: ProducerStream, _rtx: boolean, now: number): void {
    if (!this.decoding || stream.index !== this.streamIndex) return;
    const start = view.headerLength;
    this.take(packet.subarray(start, start + view.payloadLength), view, now);
  }

  /** The compositor's clock: a frame stalled on a gap is given up in time. */
  poll(now: number): void {
    this.jitter.poll(now);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder.close();
    this.onClose(this);
  }

  private startOver(): void {
    this.jitter.reset();
    this.producer.requestKeyframe(this.streamIndex);
  }
}

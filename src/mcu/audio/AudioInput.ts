/**
 * AudioInput: one participant's microphone as the mixer takes it — a sink of their audio
 * Producer. Opus payloads go into a jitter buffer by RTP timestamp; RED packets (RFC 2198,
 * Chromium's `red/48000`) give their redundant blocks too, at timestamp − offset, so a lost
 * packet is often recovered from the next one. Every mixing tick takes one frame out and
 * decodes it (or conceals a lost one), and measures its level for the active speaker.
 *
 * Packets come from the network: a fault while taking one is counted ('mcu.audio.rtp') and the
 * packet dropped.
 */
import { AudioLevelMeter } from '../../sfu/receive/AudioLevelMeter.js';
import type { MediaSink } from '../../sfu/MediaSink.js';
import type { ProducerView } from '../../sfu/ProducerView.js';
import { RedBlocks, parseRed, type RtpHeaderView } from '../../rtc/rtp/index.js';
import { guarded } from '../../util/guarded.js';
import { OpusFrameDecoder } from '../codec/opus.js';
import { AudioJitterBuffer } from './AudioJitterBuffer.js';
import { RTP_TICKS_PER_FRAME } from './format.js';
import { frameLevelDbov, MIN_DBOV } from './frame-level.js';

/** Louder than this (dBov) counts as voice for the speaker observer. */
const VOICE_DBOV = -50;

export class AudioInput implements MediaSink {
  readonly jitter = new AudioJitterBuffer();
  readonly decoder = new OpusFrameDecoder();
  /** Decoded levels, read by the mixer's active speaker observer (RFC 6464 scale: 0..127 = −dBov). */
  readonly audioLevel = new AudioLevelMeter(0);
  private readonly red = new RedBlocks();
  /** Whether this tick's frame carries sound (false: silence, nothing to add to the mix). */
  audible = false;
  redRecovered = 0;
  malformed = 0;
  closed = false;
  private readonly take = guarded('mcu.audio.rtp', (packet: Buffer, view: RtpHeaderView) => this.takePacket(packet, view));

  /** The mixer connects it to the producer (Router.addSink) and disconnects it in `onClose`. */
  constructor(
    readonly producer: ProducerView,
    private readonly onClose: (input: AudioInput) => void,
  ) {}

  get id(): string {
    return this.producer.id;
  }
  get ownerId(): string {
    return this.producer.ownerId;
  }

  onRtp(packet: Buffer, view: RtpHeaderView): void {
    this.take(packet, view);
  }

  private takePacket(packet: Buffer, view: RtpHeaderView): void {
    const start = view.headerLength;
    const end = start + view.payloadLength;
    const codecPt = this.producer.codec.payloadType;
    if (view.payloadType !== this.producer.codec.redPayloadType) {
      if (view.payloadType === codecPt && end > start) this.jitter.push(view.sequenceNumber, view.timestamp, packet.subarray(start, end));
      return;
    }
    const red = this.red;
    if (!parseRed(packet, start, end, red) || red.count === 0) {
      this.malformed++;
      return;
    }
    // Redundant blocks first (older frames), each at its own timestamp; then the primary one.
    // The jitter buffer drops what it already holds or has played.
    for (let i = 0; i < red.count; i++) {
      if (red.payloadTypes[i] !== codecPt || red.lengths[i] === 0) continue;
      const offset = red.timestampOffsets[i] as number;
      const start = red.offsets[i] as number;
      const data = packet.subarray(start, start + (red.lengths[i] as number));
      // A redundant block has no sequence number of its own: one packet back per frame of offset.
      const seq = (view.sequenceNumber - Math.round(offset / RTP_TICKS_PER_FRAME)) & 0xffff;
      const before = this.jitter.depth;
      this.jitter.push(seq, (view.timestamp - offset) >>> 0, data);
      if (i < red.count - 1 && this.jitter.depth > before) this.redRecovered++;
    }
  }

  /** One tick: the next frame decoded into `decoder.frame`, concealed, or silence. */
  pull(): Int16Array {
    const f = this.jitter.pop();
    if (f.kind === 'frame') {
      this.decoder.decode(f.payload);
      this.audible = true;
    } else if (f.kind === 'lost') {
      this.decoder.conceal();
      this.audible = true;
    } else {
      this.decoder.silence();
      this.audible = false;
    }
    const dbov = this.audible ? frameLevelDbov(this.decoder.frame) : MIN_DBOV;
    this.audioLevel.add(-dbov, dbov > VOICE_DBOV);
    return this.decoder.frame;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
  }
}

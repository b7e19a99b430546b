/**
 * Replays one recorded track (test/fixtures/media, SBRTP1) as a new live stream: own SSRC,
 * sequence numbers, timestamps and VP8 PictureIDs, at the pace it was recorded, looping.
 *
 * For volume a video stream can be grown to a target bit rate: each recorded frame is followed by
 * continuation packets of the same picture (VP8 descriptor with S=0, RFC 7741 §4.2) filled with
 * zeros, the marker bit moved to the last one (RFC 7741 §4.1). The start of every frame stays the
 * recorded, valid VP8; only the frame's tail is filler, which an SFU forwards like any payload.
 * The filler tops a byte budget up: the budget grows by target/8 bytes per second and
 * every packet sent spends it, so a keyframe (sent again on each PLI) is paid back by the frames
 * after it instead of pushing the average over the target.
 *
 * With `trackId` set, every packet ends with the load tool's trailer (media-trailer.ts): the
 * track and the capture time, written just before the packet is handed to the WebRTC library.
 *
 * Across loops the stream stays continuous (RFC 7741 §4.2: a PictureID must not go backwards);
 * `requestKeyframe()` (a PLI, RFC 4585 §6.3.1) restarts the loop — which starts with a keyframe —
 * at the next frame boundary, as an encoder answers a PLI.
 */
import {
  RtpHeaderView,
  Vp8Descriptor,
  parseRtpHeader,
  parseVp8Descriptor,
  setMarker,
  setPayloadType,
  setSequenceNumber,
  setSsrc,
  setTimestamp,
  writeVp8PictureId,
} from '../../src/rtc/rtp/index.js';
import { TRAILER_LENGTH, nowUs, writeTrailer } from './media-trailer.js';
import type { RecordedPacket } from './rtp-file.js';
import type { MediaKind } from '../../src/protocol/media.js';
import { InternalErrorCode, SwitchboardError } from '../../src/protocol/errors.js';

export interface ReplayOptions {
  kind: MediaKind;
  ssrc: number;
  payloadType: number;
  clockRate: number;
  /** Hands one finished RTP packet to the WebRTC library (which copies it: the buffer is reused). */
  send(packet: Buffer): void;
  /** Video only: grow the stream to about this many bit/s (RTP header + payload); absent = as recorded. */
  targetBitrate?: number;
  /** Mark every packet with this track id and its capture time (media-trailer.ts). */
  trackId?: number;
}

const TICK_MS = 5;
/** Largest RTP packet we make (header + payload): well under a 1500-byte MTU after SRTP and UDP/IP. */
export const MAX_RTP_PACKET = 1200;
const random32 = (): number => Math.floor(Math.random() * 0x1_0000_0000) >>> 0;

/** Bits per second of a recording (RTP header + payload), over its duration plus one packet interval. */
export function recordedBitrate(packets: readonly RecordedPacket[], extraBytesPerPacket = 0): number {
  if (packets.length < 2) return 0;
  const first = (packets[0] as RecordedPacket).arrivalUs;
  const last = (packets[packets.length - 1] as RecordedPacket).arrivalUs;
  const seconds = ((last - first) * packets.length) / (packets.length - 1) / 1e6;
  let bytes = 0;
  for (const p of packets) bytes += p.packet.length + extraBytesPerPacket;
  return seconds > 0 ? (bytes * 8) / seconds : 0;
}

export class RtpReplayer {
  private index = 0;
  private loopStartMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private seq = random32() & 0xffff;
  private readonly tsBase = random32();
  private tsLoopOffset = 0;
  private lastTs = 0;
  private pidLoopOffset = 0;
  private lastPid = -1;
  private keyframeWanted = false;
  private readonly firstTs: number;
  private readonly firstPid: number;
  private readonly view = new RtpHeaderView();
  private readonly vp8 = new Vp8Descriptor();
  /** One packet under construction; the library copies what it is given. */
  private readonly scratch = Buffer.alloc(MAX_RTP_PACKET + TRAILER_LENGTH);
  /** Bytes still to send to stay on the target bit rate (negative: ahead of it). */
  private budget = 0;
  private lastFrameEndMs = -1;
  packetsSent = 0;
  bytesSent = 0;
  firstSendUs = NaN;
  lastSendUs = NaN;
  loops = 0;

  constructor(
    private readonly packets: readonly RecordedPacket[],
    private readonly opts: ReplayOptions,
  ) {
    const first = packets[0];
    if (!first || !parseRtpHeader(first.packet, this.view))
      throw new SwitchboardError(InternalErrorCode.Malformed, 'empty or malformed recording');
    for (const p of packets)
      if (p.packet.length > MAX_RTP_PACKET)
        throw new SwitchboardError(InternalErrorCode.Malformed, `recorded packet of ${p.packet.length} bytes > ${MAX_RTP_PACKET}`);
    this.firstTs = this.view.timestamp;
    this.firstPid =
      opts.kind === 'video' && parseVp8Descriptor(first.packet, this.view.headerLength, this.view.payloadLength, this.vp8)
        ? Math.max(0, this.vp8.pictureId)
        : 0;
  }

  /** Average bit rate sent so far (RTP header + payload). */
  get bitrate(): number {
    const span = (this.lastSendUs - this.firstSendUs) / 1e6;
    return this.packetsSent < 2 || !(span > 0) ? 0 : (this.bytesSent * 8) / span;
  }

  start(): void {
    if (this.timer) return;
    this.loopStartMs = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  requestKeyframe(): void {
    if (this.opts.kind === 'video') this.keyframeWanted = true;
  }

  private tick(): void {
    const elapsedUs = (performance.now() - this.loopStartMs) * 1000;
    // Bounded: at most one recording's worth of packets per tick.
    for (let n = 0; n < this.packets.length; n++) {
      if (this.index >= this.packets.length || (this.keyframeWanted && this.atFrameStart())) {
        this.restartLoop();
        return;
      }
      const rec = this.packets[this.index] as RecordedPacket;
      if (rec.arrivalUs > elapsedUs) return;
      this.index++;
      this.sendRecorded(rec.packet);
    }
  }

  private atFrameStart(): boolean {
    const cur = this.packets[this.index];
    const prev = this.packets[this.index - 1];
    if (!cur || !prev) return true;
    return cur.packet.readUInt32BE(4) !== prev.packet.readUInt32BE(4);
  }

  private restartLoop(): void {
    const frameStep = Math.round(this.opts.clockRate / (this.opts.kind === 'video' ? 30 : 50));
    this.tsLoopOffset = (this.lastTs - this.tsBase + frameStep) >>> 0;
    this.pidLoopOffset = this.lastPid + 1;
    this.index = 0;
    this.keyframeWanted = false;
    this.loops++;
    this.loopStartMs = performance.now();
  }

  private sendRecorded(recorded: Buffer): void {
    const extra = this.opts.trackId !== undefined ? TRAILER_LENGTH : 0;
    const packet = this.scratch.subarray(0, recorded.length + extra);
    recorded.copy(packet);
    const view = this.view;
    if (!parseRtpHeader(recorded, view)) return; // the copy's header and payload offsets are the recording's
    const ts = (this.tsBase + this.tsLoopOffset + ((view.timestamp - this.firstTs) >>> 0)) >>> 0;
    setSsrc(packet, this.opts.ssrc);
    setPayloadType(packet, this.opts.payloadType);
    setTimestamp(packet, ts);
    this.lastTs = ts;
    const isVideo = this.opts.kind === 'video';
    let vp8 = false;
    if (isVideo && parseVp8Descriptor(packet, view.headerLength, view.payloadLength, this.vp8)) {
      vp8 = true;
      if (this.vp8.pictureId >= 0) {
        const pid = this.pidLoopOffset + ((this.vp8.pictureId - this.firstPid) & 0x7fff);
        writeVp8PictureId(packet, view.headerLength, this.vp8, pid);
        this.lastPid = pid;
      }
    }
    const target = this.opts.targetBitrate ?? 0;
    this.budget -= packet.length;
    const grow = vp8 && view.marker && target > 0 && this.topUpBudget(target);
    if (grow) setMarker(packet, false);
    this.finishAndSend(packet);
    if (grow) this.sendFiller(view.headerLength, this.vp8.descriptorLength);
  }

  /**
   * At the end of a frame: adds the bytes the time since the previous frame's end earns (wall
   * time: receivers measure rates in wall time, and the recording's RTP clock need not match it
   * exactly); true when there is filler to send.
   */
  private topUpBudget(target: number): boolean {
    const now = performance.now();
    const elapsedS = this.lastFrameEndMs < 0 ? 1 / 30 : Math.min(0.5, (now - this.lastFrameEndMs) / 1000);
    this.lastFrameEndMs = now;
    // At most one second of debt: a long run of big frames must not silence the filler for long.
    this.budget = Math.max(-target / 8, this.budget + (elapsedS * target) / 8);
    return this.budget > 0;
  }

  /**
   * Continuation packets of the frame just sent, until the budget is spent: the same RTP header
   * (timestamp), the same VP8 descriptor with S cleared, zero filler.
   * Reads the header and descriptor from the scratch buffer, which still holds the last packet.
   */
  private sendFiller(headerLength: number, descriptorLength: number): void {
    const extra = this.opts.trackId !== undefined ? TRAILER_LENGTH : 0;
    const prefix = headerLength + descriptorLength;
    const scratch = this.scratch;
    scratch[headerLength] = (scratch[headerLength] as number) & ~0x10; // S = 0: not a partition start
    const minPacket = prefix + 1 + extra;
    for (let n = 0; n < 1000 && this.budget > 0; n++) {
      const size = Math.max(minPacket, Math.min(MAX_RTP_PACKET, Math.ceil(this.budget)));
      const packet = scratch.subarray(0, size);
      packet.fill(0, prefix, size - extra);
      this.budget -= size;
      setMarker(packet, this.budget <= 0 || n === 999);
      this.finishAndSend(packet);
    }
  }

  /** Starts a new measurement window: the sent counters restart from zero. */
  resetCounters(): void {
    this.packetsSent = 0;
    this.bytesSent = 0;
    this.firstSendUs = NaN;
    this.lastSendUs = NaN;
  }

  private finishAndSend(packet: Buffer): void {
    setSequenceNumber(packet, this.seq);
    this.seq = (this.seq + 1) & 0xffff;
    const now = nowUs();
    if (this.opts.trackId !== undefined) writeTrailer(packet, this.opts.trackId, now);
    if (this.packetsSent === 0) this.firstSendUs = now;
    this.lastSendUs = now;
    this.packetsSent++;
    this.bytesSent += packet.length;
    this.opts.send(packet);
  }
}

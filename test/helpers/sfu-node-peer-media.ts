/**
 * Media for the headless SFU peers: the recorded Chromium RTP of test/fixtures/media replayed
 * at real rate as a new stream (own SSRC, sequence numbers, timestamps, VP8 PictureIDs), and a
 * count of what arrives, per publishing participant.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  RtpHeaderView, Vp8Descriptor, isVp8Keyframe, parseRtpHeader, parseVp8Descriptor, setPayloadType, setSequenceNumber, setSsrc,
  setTimestamp, writeVp8PictureId,
} from '../../src/rtc/rtp/index.js';
import { readRtpFile, type RecordedPacket } from '../fixtures/media/rtp-file.js';

/** dist/test/helpers → test/fixtures/media (the recordings are not copied into dist). */
const MEDIA_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/media');

export interface RecordedMedia {
  video: RecordedPacket[];
  audio: RecordedPacket[];
}

export function loadRecordedMedia(): RecordedMedia {
  return {
    video: readRtpFile(join(MEDIA_DIR, 'chromium-vp8.sbrtp')),
    audio: readRtpFile(join(MEDIA_DIR, 'chromium-opus.sbrtp')),
  };
}

export interface ReplayOptions {
  kind: 'audio' | 'video';
  ssrc: number;
  payloadType: number;
  clockRate: number;
  /** Hands one finished RTP packet to the WebRTC library. */
  send(packet: Buffer): void;
}

const TICK_MS = 5;
const random32 = (): number => Math.floor(Math.random() * 0x1_0000_0000) >>> 0;

/**
 * Loops one recorded track at the pace it was recorded. The recording starts with a keyframe,
 * so each loop does; `requestKeyframe()` (a PLI, RFC 4585 §6.3.1) restarts the loop at the next
 * frame boundary, as an encoder answers a PLI with a keyframe. Across loops the stream stays
 * continuous: sequence numbers, timestamps and VP8 PictureIDs keep counting up (RFC 7741 §4.2:
 * a receiver must not see a PictureID go backwards).
 */
export class RtpReplayer {
  private index = 0;
  private loopStartMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private seq = random32() & 0xffff;
  private readonly tsBase = random32();
  /** Added to (recorded timestamp − first recorded timestamp) in the current loop. */
  private tsLoopOffset = 0;
  private lastTs = 0;
  private pidLoopOffset = 0;
  private lastPid = -1;
  private keyframeWanted = false;
  private readonly firstTs: number;
  private readonly firstPid: number;
  private readonly view = new RtpHeaderView();
  private readonly vp8 = new Vp8Descriptor();
  packetsSent = 0;
  loops = 0;

  constructor(private readonly packets: readonly RecordedPacket[], private readonly opts: ReplayOptions) {
    const first = packets[0];
    if (!first || !parseRtpHeader(first.packet, this.view)) throw new Error('empty or malformed recording');
    this.firstTs = this.view.timestamp;
    this.firstPid = opts.kind === 'video' && parseVp8Descriptor(first.packet, this.view.headerLength, this.view.payloadLength, this.vp8)
      ? Math.max(0, this.vp8.pictureId) : 0;
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
      this.sendOne(rec.packet);
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

  private sendOne(recorded: Buffer): void {
    const packet = Buffer.from(recorded);
    const view = this.view;
    if (!parseRtpHeader(packet, view)) return;
    const ts = (this.tsBase + this.tsLoopOffset + ((view.timestamp - this.firstTs) >>> 0)) >>> 0;
    setSsrc(packet, this.opts.ssrc);
    setPayloadType(packet, this.opts.payloadType);
    setSequenceNumber(packet, this.seq);
    setTimestamp(packet, ts);
    this.seq = (this.seq + 1) & 0xffff;
    this.lastTs = ts;
    if (this.opts.kind === 'video' && parseVp8Descriptor(packet, view.headerLength, view.payloadLength, this.vp8) && this.vp8.pictureId >= 0) {
      const pid = this.pidLoopOffset + ((this.vp8.pictureId - this.firstPid) & 0x7fff);
      writeVp8PictureId(packet, view.headerLength, this.vp8, pid);
      this.lastPid = pid;
    }
    this.packetsSent++;
    this.opts.send(packet);
  }
}

/** What one subscriber received from one publishing participant. */
export interface ReceivedFrom {
  audioPackets: number;
  videoPackets: number;
  /** Packets starting a VP8 keyframe (RFC 7741 §4.3). */
  videoKeyframes: number;
}

/** RFC 5761 §4: RTP and RTCP share the port; payload types 192–223 (with M) are RTCP. */
export function isRtcp(packet: Buffer): boolean {
  const b1 = packet[1];
  return packet.length >= 2 && b1 !== undefined && b1 >= 192 && b1 <= 223;
}

/** Counts plain RTP arriving on a subscribe connection, attributed through the server's offer (SSRC → track → participant). */
export class RtpReceiveCounter {
  private readonly bySsrc = new Map<number, { participantId: string; kind: 'audio' | 'video' }>();
  readonly byParticipant = new Map<string, ReceivedFrom>();
  private readonly view = new RtpHeaderView();
  unknownSsrcPackets = 0;

  /** Called for every applied subscribe offer: its `a=ssrc` lines per mid and the message's track table. */
  mapSsrc(ssrc: number, participantId: string, kind: 'audio' | 'video'): void {
    this.bySsrc.set(ssrc, { participantId, kind });
  }

  onPacket(packet: Buffer): void {
    if (isRtcp(packet) || !parseRtpHeader(packet, this.view)) return;
    const owner = this.bySsrc.get(this.view.ssrc);
    if (!owner) {
      this.unknownSsrcPackets++;
      return;
    }
    let r = this.byParticipant.get(owner.participantId);
    if (!r) {
      r = { audioPackets: 0, videoPackets: 0, videoKeyframes: 0 };
      this.byParticipant.set(owner.participantId, r);
    }
    if (owner.kind === 'audio') {
      r.audioPackets++;
    } else {
      r.videoPackets++;
      if (isVp8Keyframe(packet, this.view.headerLength, this.view.payloadLength)) r.videoKeyframes++;
    }
  }
}

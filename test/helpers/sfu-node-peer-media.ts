/**
 * Media for the headless SFU peers: the recorded Chromium RTP of test/fixtures/media replayed
 * at real rate as a new stream (own SSRC, sequence numbers, timestamps, VP8 PictureIDs), and a
 * count of what arrives, per publishing participant.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RtpHeaderView, isVp8Keyframe, parseRtpHeader } from '../../src/rtc/rtp/index.js';
import { readRtpFile, type RecordedPacket } from '../../bench/loadtest/rtp-file.js';

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

/**
 * The replayer lives with the load tool (bench/loadtest/rtp-replayer.ts): it loops one recorded
 * track at the pace it was recorded, restarts at a keyframe on PLI, and keeps sequence numbers,
 * timestamps and VP8 PictureIDs continuous across loops. It hands `send` a reused buffer, so
 * callers that keep packets (werift) must copy.
 */
export { RtpReplayer, type ReplayOptions } from '../../bench/loadtest/rtp-replayer.js';

/** What one subscriber received from one publishing participant. */
export interface ReceivedFrom {
  audioPackets: number;
  /** Opus payload bytes: silence encodes to a few bytes a packet, speech to tens. */
  audioPayloadBytes: number;
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
      r = { audioPackets: 0, audioPayloadBytes: 0, videoPackets: 0, videoKeyframes: 0 };
      this.byParticipant.set(owner.participantId, r);
    }
    if (owner.kind === 'audio') {
      r.audioPackets++;
      r.audioPayloadBytes += this.view.payloadLength;
    } else {
      r.videoPackets++;
      if (isVp8Keyframe(packet, this.view.headerLength, this.view.payloadLength)) r.videoKeyframes++;
    }
  }
}

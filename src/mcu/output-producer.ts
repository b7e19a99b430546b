/**
 * The producers the MCU publishes into the Router: ordinary Producers whose packets come from
 * our encoders instead of a transport. Their feedback goes to the mixer: a keyframe request
 * (PLI/FIR from a consumer, ≤ 1/s) reaches `onKeyframeRequest` with the stream's SSRC.
 */
import { MCU_MIX_PARTICIPANT_ID } from '../protocol/index.js';
import { parseRtcpCompound } from '../rtc/rtcp/index.js';
import { randomSsrc } from '../rtc/rtp/index.js';
import type { Producer } from '../sfu/Producer.js';
import type { Router } from '../sfu/Router.js';
import type { CodecParameters } from '../sfu/types.js';
import type { MediaKind } from '../protocol/media.js';

/** Opus as every browser decodes it (RFC 7587: always `opus/48000/2` in SDP, mono inside is fine). */
export const MIX_AUDIO_CODEC: CodecParameters = {
  name: 'opus',
  payloadType: 111,
  clockRate: 48_000,
  channels: 2,
  fmtp: 'minptime=10;useinbandfec=1',
  rtcpFeedback: [],
};
/** VP8; no `nack` here: the producer would NACK our own encoder. Subscribers still NACK their consumer. */
export const MIX_VIDEO_CODEC: CodecParameters = {
  name: 'VP8',
  payloadType: 96,
  clockRate: 90_000,
  fmtp: '',
  rtcpFeedback: [
    { type: 'nack', parameter: 'pli' },
    { type: 'ccm', parameter: 'fir' },
  ],
};

export function createMixProducer(
  router: Router,
  opts: {
    id: string;
    kind: MediaKind;
    /** Quality tiers (video): one stream per rid, all bound to our own SSRCs. */
    tiers?: { rid: string; ssrc: number; bitrate: number }[];
    ssrc?: number;
    onKeyframeRequest?: (mediaSsrc: number) => void;
  },
): Producer {
  const onKeyframe = opts.onKeyframeRequest;
  const producer = router.produce({
    id: opts.id,
    kind: opts.kind,
    ownerId: MCU_MIX_PARTICIPANT_ID,
    mid: opts.id,
    codec: opts.kind === 'audio' ? MIX_AUDIO_CODEC : MIX_VIDEO_CODEC,
    ...(opts.tiers
      ? { rids: opts.tiers.map((t) => t.rid), encodedBitrates: opts.tiers.map((t) => t.bitrate) }
      : { ssrc: opts.ssrc ?? randomSsrc() }),
    feedbackSsrc: randomSsrc(),
    feedback: {
      sendRtcp(packet: Buffer): void {
        if (!onKeyframe) return;
        // PLI names the stream in its media SSRC; FIR in its entries (RFC 5104 §4.3.1.1).
        for (const p of parseRtcpCompound(packet) ?? []) {
          if (p.type === 'pli') onKeyframe(p.mediaSsrc);
          else if (p.type === 'fir') for (const e of p.entries) onKeyframe(e.ssrc);
        }
      },
    },
  });
  if (opts.tiers) opts.tiers.forEach((t, i) => producer.streams[i]?.bind(t.ssrc));
  return producer;
}

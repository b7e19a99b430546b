/**
 * What the video jitter buffer needs from one RTP payload, per codec: where the codec data
 * starts, whether the packet begins or ends a frame, and whether that frame is a keyframe.
 *
 * - VP8 (RFC 7741 §4.2–4.3): a frame begins with S=1, PID=0; a keyframe has P=0 in the first
 *   payload header byte; the frame ends with the RTP marker.
 * - VP9 (RFC 9628 §4.2): B and E mark a layer frame's first and last packet; a keyframe is a
 *   frame of spatial layer 0 that is not inter-picture predicted (P=0) and begins with B.
 */
import { Vp8Descriptor, Vp9Descriptor, parseVp8Descriptor, parseVp9Descriptor } from '../../rtc/rtp/index.js';

export type DecodedCodec = 'vp8' | 'vp9';

/** Reusable result of `readFrameBits`. */
export class FrameBits {
  descriptorLength = 0;
  start = false;
  end = false;
  keyframe = false;
}

const vp8 = new Vp8Descriptor();
const vp9 = new Vp9Descriptor();

/** Fills `out` from `payload`; false when the descriptor is malformed or carries no codec data. */
export function readFrameBits(codec: DecodedCodec, payload: Buffer, marker: boolean, out: FrameBits): boolean {
  if (codec === 'vp8') {
    if (!parseVp8Descriptor(payload, 0, payload.length, vp8) || vp8.descriptorLength >= payload.length) return false;
    out.descriptorLength = vp8.descriptorLength;
    out.start = vp8.startOfPartition && vp8.partitionId === 0;
    out.end = marker;
    out.keyframe = out.start && ((payload[vp8.descriptorLength] as number) & 0x01) === 0;
    return true;
  }
  if (!parseVp9Descriptor(payload, 0, payload.length, vp9) || vp9.descriptorLength >= payload.length) return false;
  out.descriptorLength = vp9.descriptorLength;
  out.start = vp9.beginningOfFrame;
  out.end = vp9.endOfFrame;
  out.keyframe = vp9.beginningOfFrame && !vp9.interPicturePredicted && vp9.spatialId === 0;
  return true;
}

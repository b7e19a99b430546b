/**
 * What a producer reads from each video packet once, for all its consumers: the layers it
 * belongs to (PacketLayers) and the parsed codec descriptor (VP8 for the munger; VP9 for
 * layer ids and the scalability structure).
 */
import type { RtpHeaderView } from '../../rtc/rtp/header.js';
import { Vp8Descriptor, Vp8FrameSize, parseVp8Descriptor, readVp8KeyframeSize } from '../../rtc/rtp/vp8.js';
import { Vp9Descriptor, isVp9Keyframe, parseVp9Descriptor } from '../../rtc/rtp/vp9.js';
import { PacketLayers } from '../forward/LayerSelector.js';

export type VideoCodecKind = 'vp8' | 'vp9' | 'other';

export function videoCodecKind(name: string): VideoCodecKind {
  const n = name.toLowerCase();
  return n === 'vp8' ? 'vp8' : n === 'vp9' ? 'vp9' : 'other';
}

export class PacketInfo extends PacketLayers {
  readonly vp8 = new Vp8Descriptor();
  hasVp8 = false;
  readonly vp9 = new Vp9Descriptor();
  hasVp9 = false;
  /** A keyframe's size, when this packet told it (VP8 keyframe header / VP9 scalability structure). */
  readonly size = new Vp8FrameSize();
  hasSize = false;
}

/**
 * Fills `out` for a packet of stream `streamIndex`; false when the payload descriptor is
 * malformed (the packet should be dropped and counted). The spatial layer is the stream index
 * for simulcast, the VP9 spatial id otherwise.
 */
export function describePacket(
  codec: VideoCodecKind,
  buf: Buffer,
  view: RtpHeaderView,
  streamIndex: number,
  simulcast: boolean,
  out: PacketInfo,
): boolean {
  out.hasVp8 = false;
  out.hasVp9 = false;
  out.hasSize = false;
  out.spatial = streamIndex;
  out.temporal = 0;
  out.keyframe = false;
  out.layerSync = false;
  out.beginningOfFrame = true;
  out.endOfFrame = view.marker;
  const off = view.headerLength;
  const len = view.payloadLength;
  if (codec === 'vp8') {
    if (!parseVp8Descriptor(buf, off, len, out.vp8)) return false;
    const d = out.vp8;
    out.hasVp8 = true;
    out.temporal = d.tid < 0 ? 0 : d.tid;
    out.layerSync = d.layerSync;
    out.beginningOfFrame = d.startOfPartition && d.partitionId === 0;
    if (out.beginningOfFrame && d.descriptorLength < len) {
      out.keyframe = ((buf[off + d.descriptorLength] as number) & 0x01) === 0;
      if (out.keyframe) out.hasSize = readVp8KeyframeSize(buf, off + d.descriptorLength, len - d.descriptorLength, out.size);
    }
    return true;
  }
  if (codec === 'vp9') {
    if (!parseVp9Descriptor(buf, off, len, out.vp9)) return false;
    const d = out.vp9;
    out.hasVp9 = true;
    if (!simulcast) out.spatial = d.spatialId;
    out.temporal = d.temporalId;
    out.layerSync = d.switchingUp;
    out.beginningOfFrame = d.beginningOfFrame;
    out.endOfFrame = d.endOfFrame;
    out.keyframe = isVp9Keyframe(d);
    return true;
  }
  out.keyframe = false;
  return true;
}

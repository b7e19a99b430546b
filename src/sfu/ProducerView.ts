/**
 * What a receiver of a producer's packets may see of it: its codec, the sizes and bitrates of
 * its layers, the packet cache that answers NACKs, and the keyframe request toward its
 * publisher. A Consumer holds this, not the Producer: it cannot reach the producer's other
 * receivers, streams or counters.
 */
import type { PacketCache } from './receive/PacketCache.js';
import type { VideoCodecKind } from './receive/packet-info.js';
import type { CodecParameters, MediaKind, VideoSource } from './types.js';

export interface ProducerView {
  readonly id: string;
  readonly kind: MediaKind;
  /** The publishing participant. */
  readonly ownerId: string;
  readonly codec: CodecParameters;
  readonly codecKind: VideoCodecKind;
  readonly simulcast: boolean;
  readonly source: VideoSource;
  readonly closed: boolean;
  /** Spatial layers a consumer can choose from: simulcast streams, or SVC spatial ids seen. */
  readonly spatialLayers: number;
  readonly maxTemporalSeen: number;
  readonly packetsReceived: number;
  /** Bit/s of each spatial layer when the server encodes them itself (the MCU's tiers). */
  readonly encodedBitrates: readonly number[] | undefined;
  layerSize(spatial: number): { width: number; height: number };
  layerBitrate(spatial: number, temporal?: number, now?: number): number;
  /** The cache that holds spatial layer `spatial`'s packets (its simulcast stream, else the one stream). */
  cacheOf(spatial: number): PacketCache | null;
  /** PLI toward the publisher (throttled per stream): for spatial layer `spatial`, or every stream. */
  requestKeyframe(spatial?: number): void;
  /** A layer's frame size changed (learned from a keyframe). */
  on(event: 'layer-size', listener: () => void): unknown;
  off(event: 'layer-size', listener: () => void): unknown;
}

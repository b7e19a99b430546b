/**
 * ConsumerTrack: a Consumer as the StreamAllocator sees it — what each of its layers costs,
 * up to the layers its subscriber wants (render size), and how to apply a decision (a layer
 * limit, or a pause).
 *
 * A layer the server encodes itself (the MCU's tiers: `encodedBitrates`) is priced at its
 * encoder's target bitrate, flowing or not.
 *
 * A layer that is not flowing (paused at the publisher because nobody needed it, or not
 * started yet) has no measured bitrate; it is priced at what it cost when last seen, else at
 * a nominal rate for its frame height, so that the allocator can still choose it — choosing
 * it is what resumes it at the publisher.
 */
import type { Consumer } from '../Consumer.js';
import type { MediaKind } from '../types.js';
import type { LayerOption } from './allocate.js';
import type { AllocatedTrack } from './StreamAllocator.js';

/** What an Opus track is assumed to take before its rate is measured. */
const NOMINAL_AUDIO_BPS = 50_000;

/** Nominal bit/s of a layer of this frame height (libwebrtc's simulcast defaults, roughly). */
function nominalBps(height: number, spatial: number): number {
  const h = height > 0 ? height : 180 << spatial;
  if (h <= 180) return 150_000;
  if (h <= 360) return 500_000;
  if (h <= 540) return 1_000_000;
  return 1_700_000;
}

/** Share of a spatial layer's rate taken by temporal layers 0..t of T (T0 ≈ half the frames). */
function temporalShare(t: number, top: number): number {
  if (top <= 0) return 1;
  return t >= top ? 1 : t === 0 ? 0.5 : 0.75;
}

export class ConsumerTrack implements AllocatedTrack {
  readonly id: string;
  readonly kind: MediaKind;
  /** Last measured rate per (spatial, temporal), for layers that stop flowing. */
  private readonly lastSeen = new Map<number, number>();

  constructor(
    readonly consumer: Consumer,
    private readonly priorityOf: (c: Consumer) => number,
  ) {
    this.id = consumer.id;
    this.kind = consumer.kind;
  }

  get priority(): number {
    return this.priorityOf(this.consumer);
  }

  get bps(): number {
    if (this.kind !== 'audio') return 0;
    return this.consumer.producer.layerBitrate(0) || NOMINAL_AUDIO_BPS;
  }

  get options(): LayerOption[] {
    if (this.kind !== 'video') return [];
    const producer = this.consumer.producer;
    // Nothing ever arrived (a page that offers video without a camera): nothing to budget for.
    if (producer.packetsReceived === 0) return [];
    const preferred = this.consumer.preferredLayers;
    const topSpatial = Math.min(preferred.spatial, producer.spatialLayers - 1);
    const topTemporal = Math.min(preferred.temporal, producer.maxTemporalSeen);
    const out: LayerOption[] = [];
    const now = performance.now();
    for (let s = 0; s <= topSpatial; s++) {
      for (let t = 0; t <= topTemporal; t++) {
        const encoded = producer.encodedBitrates?.[s];
        if (encoded !== undefined) {
          // Our own encoder's target: its rate control holds it over a second, while a measured
          // window swings several-fold with every keyframe.
          out.push({ spatial: s, temporal: t, bps: encoded * temporalShare(t, topTemporal) });
          continue;
        }
        const key = s * 16 + t;
        let bps = producer.layerBitrate(s, t, now);
        if (bps > 0) this.lastSeen.set(key, bps);
        else bps = this.lastSeen.get(key) ?? nominalBps(producer.layerSize(s).height, s) * temporalShare(t, topTemporal);
        out.push({ spatial: s, temporal: t, bps });
      }
    }
    // Ascending by cost; a higher layer measured cheaper than a lower one keeps its place after it.
    for (let i = 1; i < out.length; i++) {
      const prev = out[i - 1] as LayerOption;
      const cur = out[i] as LayerOption;
      if (cur.bps < prev.bps) cur.bps = prev.bps;
    }
    return out;
  }

  apply(option: LayerOption | null): void {
    if (option === null) this.consumer.pause();
    else this.consumer.setTargetLayers({ spatial: option.spatial, temporal: option.temporal });
  }
}

/**
 * The layers one consumer should receive. Preferred: from the size the subscriber renders the
 * track at — the smallest spatial layer whose frames cover that size (never a larger layer
 * than needed), the top one while sizes are unknown. Limit: set by the bandwidth allocator.
 * Target = min(preferred, limit); the LayerSelector moves the current layers toward it at the
 * points where a decoder can follow.
 */
import type { LayerSelector, Layers } from './LayerSelector.js';
import type { ProducerView } from '../ProducerView.js';

export class ConsumerLayers {
  readonly preferred: Layers;
  private readonly limit: Layers = { spatial: Number.MAX_SAFE_INTEGER, temporal: Number.MAX_SAFE_INTEGER };
  private renderWidth = 0;
  private renderHeight = 0;
  private readonly onLayerSize = (): void => this.update();

  constructor(
    private readonly producer: ProducerView,
    private readonly selector: LayerSelector,
    /** The target changed; `up` when it rose spatially (a keyframe of the new layer is needed). */
    private readonly onTarget: (target: Layers, up: boolean) => void,
  ) {
    this.preferred = { spatial: selector.maxSpatial, temporal: selector.maxTemporal };
    producer.on('layer-size', this.onLayerSize);
    this.update();
  }

  setRenderSize(width: number, height: number): void {
    this.renderWidth = width;
    this.renderHeight = height;
    this.update();
  }

  setLimit(limit: Layers): void {
    this.limit.spatial = limit.spatial;
    this.limit.temporal = limit.temporal;
    this.update();
  }

  close(): void {
    this.producer.off('layer-size', this.onLayerSize);
  }

  private update(): void {
    this.preferred.spatial = this.preferredSpatial();
    this.preferred.temporal = this.selector.maxTemporal;
    const spatial = Math.min(this.preferred.spatial, this.limit.spatial);
    const temporal = Math.min(this.preferred.temporal, this.limit.temporal);
    const before = this.selector.target;
    if (spatial === before.spatial && temporal === before.temporal) return;
    const up = spatial > before.spatial;
    this.selector.setTarget(spatial, temporal);
    this.onTarget(this.selector.target, up);
  }

  /** The smallest known layer covering the render size (the last of equal sizes); the top layer when none is known to. */
  private preferredSpatial(): number {
    const top = Math.max(0, this.producer.spatialLayers - 1);
    if (this.renderWidth <= 0 || this.renderHeight <= 0) return top;
    for (let s = 0; s <= top; s++) {
      const { width, height } = this.producer.layerSize(s);
      if (width === 0 || height === 0) continue;
      if (width >= this.renderWidth && height >= this.renderHeight) {
        // Layers of one size differ only in quality (the MCU's tiers): the best of them.
        while (s < top && sameSize(this.producer.layerSize(s + 1), width, height)) s++;
        return s;
      }
    }
    return top;
  }
}

function sameSize(size: { width: number; height: number }, width: number, height: number): boolean {
  return size.width === width && size.height === height;
}

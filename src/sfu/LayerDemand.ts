/**
 * LayerDemand: which spatial layers of one producer its receivers need, in one place. Each
 * layered receiver (a video Consumer) reports the layers it forwards now and the ones it is
 * moving to; the Router tells the demand when either changes, and whoever acts on demand (the
 * LayerPauser asking the publisher to pause unneeded simulcast layers, the MCU stopping tiers
 * nobody receives) listens to `changed` instead of watching each consumer.
 */
import { TypedEmitter } from '../util/TypedEmitter.js';
import type { Layers } from './forward/LayerSelector.js';

/** A receiver whose layers count: spatial −1 means none (paused, or waiting for a keyframe). */
export interface LayeredReceiver {
  readonly currentLayers: Layers;
  readonly targetLayers: Layers;
}

export interface LayerDemandEvents {
  changed: [];
}

export class LayerDemand extends TypedEmitter<LayerDemandEvents> {
  private readonly receivers = new Set<LayeredReceiver>();

  get size(): number {
    return this.receivers.size;
  }

  add(receiver: LayeredReceiver): void {
    this.receivers.add(receiver);
    this.emit('changed');
  }

  delete(receiver: LayeredReceiver): void {
    if (this.receivers.delete(receiver)) this.emit('changed');
  }

  /** A receiver's current or target layers moved. */
  update(): void {
    this.emit('changed');
  }

  /**
   * Marks in `needed` (one entry per spatial layer) every layer a receiver forwards, targets,
   * or climbs through between the two: a consumer moves up one layer at a time, and the
   * publisher's bandwidth estimate can only grow while it sends the layers in between.
   */
  markNeeded(needed: boolean[]): boolean[] {
    for (const r of this.receivers) {
      const t = r.targetLayers.spatial;
      const cur = r.currentLayers.spatial;
      if (t < 0 && cur < 0) continue;
      const lo = Math.max(0, Math.min(cur < 0 ? 0 : cur, t < 0 ? cur : t));
      const hi = Math.min(needed.length - 1, Math.max(cur, t));
      for (let s = lo; s <= hi; s++) needed[s] = true;
    }
    return needed;
  }

  close(): void {
    this.receivers.clear();
    this.removeAllListeners();
  }
}

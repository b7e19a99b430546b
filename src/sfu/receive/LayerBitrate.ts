/**
 * Received bitrate of one stream, per temporal layer, over the last complete window: what the
 * bandwidth allocator needs to know what a layer costs. Counting is two additions per packet.
 */
export const MAX_TEMPORAL_LAYERS = 4;
const WINDOW_MS = 1000;

export class LayerBitrate {
  private readonly bytes = new Float64Array(MAX_TEMPORAL_LAYERS);
  /** Bits per second of each temporal layer alone, over the last window. */
  private readonly rates = new Float64Array(MAX_TEMPORAL_LAYERS);
  private windowStart = -1;
  private lastPacketAt = -Infinity;

  onPacket(temporal: number, bytes: number, now: number): void {
    if (this.windowStart < 0) this.windowStart = now;
    this.roll(now);
    const t = temporal < 0 ? 0 : temporal >= MAX_TEMPORAL_LAYERS ? MAX_TEMPORAL_LAYERS - 1 : temporal;
    this.bytes[t] = (this.bytes[t] as number) + bytes;
    this.lastPacketAt = now;
  }

  /** Bits per second of temporal layers 0..`temporal` together (what forwarding them costs). */
  bitrate(now: number, temporal = MAX_TEMPORAL_LAYERS - 1): number {
    this.roll(now);
    // A stream silent for two windows (paused by its publisher) costs nothing.
    if (now - this.lastPacketAt > 2 * WINDOW_MS) return 0;
    let sum = 0;
    for (let t = 0; t <= temporal && t < MAX_TEMPORAL_LAYERS; t++) sum += this.rates[t] as number;
    return sum;
  }

  private roll(now: number): void {
    if (this.windowStart < 0) return;
    const elapsed = now - this.windowStart;
    if (elapsed < WINDOW_MS) return;
    const fresh = elapsed < 2 * WINDOW_MS; // otherwise the window holds stale data from long ago
    for (let t = 0; t < MAX_TEMPORAL_LAYERS; t++) {
      this.rates[t] = fresh ? ((this.bytes[t] as number) * 8 * 1000) / elapsed : 0;
      this.bytes[t] = 0;
    }
    this.windowStart = now;
  }
}

/**
 * Simulcast and SVC on the SFU publish connection, and render-size reports on the subscribe
 * one. Pure where it can be (no DOM types needed by the rules), so Node tests cover them.
 *
 * Simulcast layers (lowest first, as the server expects them): rid `q` at 1/4 resolution
 * capped at 150 kbit/s, `h` at 1/2 capped at 500 kbit/s, `f` at full resolution capped at
 * 1.5 Mbit/s — for a 1280×720 camera: 320×180, 640×360, 1280×720. SVC: one VP9 encoding with
 * `scalabilityMode: 'L3T3'` (3 spatial × 3 temporal layers; needs VP9 negotiated).
 */
export type VideoLayering = 'none' | 'simulcast' | 'svc';

export interface SimulcastEncoding {
  rid: string;
  scaleResolutionDownBy: number;
  maxBitrate: number;
  active: boolean;
}

export const SIMULCAST_ENCODINGS: readonly SimulcastEncoding[] = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000, active: true },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000, active: true },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000, active: true },
];

export const SVC_SCALABILITY_MODE = 'L3T3';

/** A well-formed `sfu-layers` message, or null. */
export function readLayersMessage(m: unknown): { mid: string; active: string[] } | null {
  if (typeof m !== 'object' || m === null) return null;
  const { type, mid, active } = m as Record<string, unknown>;
  if (type !== 'sfu-layers' || typeof mid !== 'string' || mid.length === 0 || mid.length > 64) return null;
  if (!Array.isArray(active) || active.length > 16 || !active.every((r) => typeof r === 'string' && r.length > 0 && r.length <= 64))
    return null;
  return { mid, active: active as string[] };
}

/**
 * Which render sizes to send: per participant, the last size the app reported; a report goes
 * out when the size or the track id changes (a new subscribe offer may assign a new track).
 * The app debounces its resize events; this dedupes.
 */
export class VideoSizeReports {
  private readonly wanted = new Map<string, { width: number; height: number }>();
  private readonly sent = new Map<string, string>();

  /** The app renders participant `id`'s video at this size (device pixels); returns what to send now. */
  set(
    id: string,
    width: number,
    height: number,
    trackOf: (id: string) => string | undefined,
  ): Array<{ trackId: string; width: number; height: number }> {
    this.wanted.set(id, { width: Math.max(0, Math.round(width)), height: Math.max(0, Math.round(height)) });
    return this.pending(trackOf);
  }

  forget(id: string): void {
    this.wanted.delete(id);
    this.sent.delete(id);
  }

  /** Reports that differ from what was last sent (call after every applied offer too). */
  pending(trackOf: (id: string) => string | undefined): Array<{ trackId: string; width: number; height: number }> {
    const out: Array<{ trackId: string; width: number; height: number }> = [];
    for (const [id, size] of this.wanted) {
      const trackId = trackOf(id);
      if (!trackId) continue;
      const key = `${trackId} ${size.width}x${size.height}`;
      if (this.sent.get(id) === key) continue;
      this.sent.set(id, key);
      out.push({ trackId, ...size });
    }
    return out;
  }
}

/**
 * One subscriber's bandwidth shared among the tracks it receives (the allocation step of a
 * stream allocator, after LiveKit's StreamAllocator and mediasoup's consumer priorities):
 *
 * 1. Audio is always granted: video is paused before audio is ever touched.
 * 2. Video tracks in priority order (screen share, then the active speaker, then the rest)
 *    each get their lowest option while it fits; a track whose lowest option does not fit is
 *    paused — when pausing is allowed (the caller allows it only while the link is losing
 *    packets); otherwise every track keeps its lowest option, over budget if need be.
 * 3. Still in priority order, each track is raised to the best option that fits what is left.
 *    Raising a track above its previous target costs `upgradeMargin` × the extra bitrate, so a
 *    budget hovering at a layer's edge does not flip it up and down every second.
 */
import type { MediaKind } from '../types.js';

export interface LayerOption {
  spatial: number;
  temporal: number;
  /** Measured bitrate of the stream up to this layer, bit/s. */
  bps: number;
}

export interface AllocationTrack {
  readonly id: string;
  readonly kind: MediaKind;
  /** Higher goes first: PRIORITY.screen, PRIORITY.speaker, PRIORITY.normal. */
  readonly priority: number;
  /** Video: what the subscriber can use (up to its preferred layers), ascending by bitrate. */
  readonly options: readonly LayerOption[];
  /** Audio: the bitrate it takes. */
  readonly bps: number;
}

export const PRIORITY = { normal: 0, speaker: 1, screen: 2 } as const;

export interface AllocationResult {
  /** Per video track id: index into its options, -1 when paused. */
  targets: Map<string, number>;
  /** Bit/s the targets take, audio included. */
  usedBps: number;
  /** Bit/s more that would give every video track its best option (0 when none is held back). */
  deficitBps: number;
}

export const DEFAULT_UPGRADE_MARGIN = 1.15;

export function allocate(
  budgetBps: number,
  tracks: readonly AllocationTrack[],
  previous: ReadonlyMap<string, number> = new Map(),
  upgradeMargin = DEFAULT_UPGRADE_MARGIN,
  allowPause = true,
): AllocationResult {
  let left = Math.max(0, budgetBps);
  let usedBps = 0;
  for (const t of tracks) {
    if (t.kind !== 'audio') continue;
    left -= t.bps;
    usedBps += t.bps;
  }
  const video = tracks
    .filter((t) => t.kind === 'video' && t.options.length > 0)
    .sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const targets = new Map<string, number>();
  for (const t of tracks) if (t.kind === 'video') targets.set(t.id, -1);
  for (const t of video) {
    const lowest = (t.options[0] as LayerOption).bps;
    const cost = (previous.get(t.id) ?? -1) >= 0 ? lowest : lowest * upgradeMargin;
    if (cost > left && allowPause) continue;
    targets.set(t.id, 0);
    left -= lowest;
    usedBps += lowest;
  }
  let deficitBps = 0;
  for (const t of video) {
    const at = targets.get(t.id) as number;
    const best = t.options.length - 1;
    if (at < 0) {
      deficitBps += (t.options[best] as LayerOption).bps;
      continue;
    }
    const before = previous.get(t.id) ?? -1;
    const base = (t.options[at] as LayerOption).bps;
    let chosen = at;
    for (let i = best; i > at; i--) {
      const extra = (t.options[i] as LayerOption).bps - base;
      const cost = i > before ? extra * upgradeMargin : extra;
      if (cost <= left) {
        chosen = i;
        break;
      }
    }
    const extra = (t.options[chosen] as LayerOption).bps - base;
    left -= extra;
    usedBps += extra;
    targets.set(t.id, chosen);
    deficitBps += (t.options[best] as LayerOption).bps - (t.options[chosen] as LayerOption).bps;
  }
  return { targets, usedBps, deficitBps };
}

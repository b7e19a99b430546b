/**
 * StreamAllocator: one subscriber's bandwidth estimate shared among the tracks sent to it
 * (allocate.ts has the rules), re-run when the estimate moves, when tracks come and go or
 * change what they need, and every 500 ms; and a ProbeController that climbs back toward
 * what held-back tracks need.
 *
 * Each track applies its own target (a video consumer turns it into a layer limit, or a pause).
 */
import { allocate, type AllocationTrack, type LayerOption } from './allocate.js';
import { ProbeController, type PaddingSink, type ProbeControllerOptions } from './ProbeController.js';
import { guarded } from '../../util/guarded.js';

export interface EstimateSource {
  readonly estimateBps: number;
  /** Measurement windows (≥ 1 s each) in a row that lost more than 10 %. */
  readonly lossyWindows: number;
  /**
   * Whether the receiver ever sent congestion feedback. A receiver that sends none (some
   * headless peers) leaves the estimate at its start value, which says nothing: such a
   * subscriber gets its preferred layers and is never probed.
   */
  readonly hasFeedback: boolean;
  on(event: 'estimate', listener: (bps: number) => void): unknown;
  off(event: 'estimate', listener: (bps: number) => void): unknown;
}

export interface AllocatedTrack extends AllocationTrack {
  /** The allocator's decision: an option of `options`, or null to pause the track. */
  apply(option: LayerOption | null): void;
}

export interface StreamAllocatorOptions extends ProbeControllerOptions {
  /** Share of the estimate given to media; the rest is headroom (RTX, RTCP, estimate error). */
  budgetShare?: number;
  intervalMs?: number;
}

const DEFAULT_BUDGET_SHARE = 0.9;
const DEFAULT_INTERVAL_MS = 500;
/**
 * Video may be paused only once the link lost more than 10 % for PAUSE_LOSSY_WINDOWS
 * measurement windows in a row (about 2 s), and for PAUSE_MEMORY_MS after. A low estimate
 * alone is not enough: on a busy machine the receiver's arrival times jitter, the delay-based
 * estimate dips, and pausing would cut what the link still carries (LiveKit likewise does not
 * pause by default). Sustained loss is the evidence that even the lowest layers do not fit.
 */
const PAUSE_LOSSY_WINDOWS = 2;
const PAUSE_MEMORY_MS = 10_000;

export class StreamAllocator {
  readonly probe: ProbeController;
  private readonly tracks = new Map<string, AllocatedTrack>();
  /** What each video track was last given (null: paused); layers, not indices, since options change. */
  private readonly applied = new Map<string, LayerOption | null>();
  private readonly budgetShare: number;
  private readonly timer: NodeJS.Timeout;
  private readonly onEstimate = (bps: number): void => {
    this.probe.onEstimate(bps, performance.now());
    this.run();
  };
  private scheduled = false;
  closed = false;
  usedBps = 0;
  deficitBps = 0;
  allocations = 0;
  private lastLossyMs = -Infinity;

  constructor(
    private readonly source: EstimateSource,
    padding: PaddingSink,
    opts: StreamAllocatorOptions = {},
  ) {
    this.budgetShare = opts.budgetShare ?? DEFAULT_BUDGET_SHARE;
    this.probe = new ProbeController(padding, opts);
    source.on('estimate', this.onEstimate);
    this.timer = setInterval(
      guarded('sfu.allocator.timer', () => {
        this.run();
        if (this.source.hasFeedback) this.probe.tick(performance.now(), this.source.estimateBps, this.usedBps, this.deficitBps);
      }),
      opts.intervalMs ?? DEFAULT_INTERVAL_MS,
    );
    this.timer.unref();
  }

  /** The option last given to a video track (null: paused; undefined: not allocated yet). */
  targetOf(id: string): LayerOption | null | undefined {
    return this.applied.get(id);
  }

  add(track: AllocatedTrack): void {
    this.tracks.set(track.id, track);
    this.invalidate();
  }

  remove(id: string): void {
    this.tracks.delete(id);
    this.applied.delete(id);
    this.invalidate();
  }

  /** Something a track needs changed (layers, sizes, priority): re-run soon, once. */
  invalidate(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.run();
    });
  }

  /** Whether video may be paused now (sustained loss within the last 10 s). */
  get pauseAllowed(): boolean {
    return performance.now() - this.lastLossyMs < PAUSE_MEMORY_MS;
  }

  /** Allocates now. */
  run(): void {
    if (this.closed) return;
    if (this.source.lossyWindows >= PAUSE_LOSSY_WINDOWS) this.lastLossyMs = performance.now();
    const budget = this.source.hasFeedback ? this.source.estimateBps * this.budgetShare : Number.POSITIVE_INFINITY;
    // One reading of each track per run: `options` is computed from live layer bitrates, and
    // allocate() looks at it many times; the targets must index the same list they came from.
    const tracks = [...this.tracks.values()];
    const views: AllocationTrack[] = tracks.map((t) => ({ id: t.id, kind: t.kind, priority: t.priority, options: t.options, bps: t.bps }));
    const previous = new Map<string, number>();
    for (const v of views) {
      const was = this.applied.get(v.id);
      if (was)
        previous.set(
          v.id,
          v.options.findIndex((o) => o.spatial === was.spatial && o.temporal === was.temporal),
        );
    }
    const result = allocate(budget, views, previous, undefined, this.pauseAllowed);
    this.allocations++;
    this.usedBps = result.usedBps;
    this.deficitBps = result.deficitBps;
    tracks.forEach((t, i) => {
      const options = (views[i] as AllocationTrack).options;
      // Nothing measured yet (no packet from its producer): left as it is, so its first
      // packets are forwarded at once rather than after the next run.
      if (t.kind !== 'video' || options.length === 0) return;
      const index = result.targets.get(t.id) ?? -1;
      const option = index >= 0 ? (options[index] as LayerOption) : null;
      this.applied.set(t.id, option);
      t.apply(option);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.probe.close();
    this.source.off('estimate', this.onEstimate);
    this.tracks.clear();
  }
}

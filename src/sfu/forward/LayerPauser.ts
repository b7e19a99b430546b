/**
 * Pauses simulcast layers nobody receives, at the publisher: encoding a 720p layer that no
 * consumer forwards wastes the publisher's CPU and uplink. A layer is needed when a consumer
 * targets or currently forwards it; the lowest layer is always kept while anyone consumes the
 * track (and while nobody does, so a newcomer starts at once). A needed layer resumes at once
 * (and a keyframe is asked for); an unneeded one is paused only after `pauseAfterMs`, so
 * consumers moving between layers do not make the publisher thrash. Layers between a consumer's
 * current and target layers count as needed (it climbs through them). A layer whose frame size is
 * not known yet (no keyframe seen) is not paused: whether it is needed depends on its size.
 */
import { guarded } from '../../util/guarded.js';
import type { LayerDemand } from '../LayerDemand.js';
import type { Producer } from '../Producer.js';

export const LAYER_PAUSE_AFTER_MS = 4000;
const CHECK_INTERVAL_MS = 500;

export class LayerPauser {
  /** What the publisher was last told (all layers start active, as the page publishes them). */
  readonly active: boolean[];
  private readonly unneededSince: number[];
  private readonly timer: NodeJS.Timeout;
  pauses = 0;
  resumes = 0;

  constructor(
    private readonly producer: Producer,
    private readonly demand: LayerDemand,
    private readonly send: (mid: string, activeRids: string[]) => void,
    private readonly pauseAfterMs = LAYER_PAUSE_AFTER_MS,
  ) {
    this.active = producer.streams.map(() => true);
    this.unneededSince = producer.streams.map(() => -1);
    this.timer = setInterval(
      guarded('sfu.layer-pauser.timer', () => this.update()),
      CHECK_INTERVAL_MS,
    );
    this.timer.unref();
    demand.on('changed', () => this.update());
    producer.on('close', () => clearInterval(this.timer));
  }

  /** Recomputes what is needed; resumes at once, pauses after the delay. */
  update(now = performance.now()): void {
    if (this.producer.closed) return;
    const needed = this.demand.markNeeded(this.producer.streams.map((s, i) => i === 0 || s.height === 0));
    let changed = false;
    const resumed: number[] = [];
    for (let i = 0; i < needed.length; i++) {
      if (needed[i]) {
        this.unneededSince[i] = -1;
        if (!this.active[i]) {
          this.active[i] = true;
          this.resumes++;
          resumed.push(i);
          changed = true;
        }
      } else if (this.active[i]) {
        if ((this.unneededSince[i] as number) < 0) this.unneededSince[i] = now;
        else if (now - (this.unneededSince[i] as number) >= this.pauseAfterMs) {
          this.active[i] = false;
          this.pauses++;
          changed = true;
        }
      }
    }
    if (!changed) return;
    const rids: string[] = [];
    this.producer.streams.forEach((s, i) => {
      if (this.active[i] && s.rid !== undefined) rids.push(s.rid);
    });
    this.send(this.producer.mid, rids);
    // A resumed encoder starts with a keyframe; ask anyway in case that one is lost.
    for (const i of resumed) this.producer.requestKeyframe(i);
  }
}

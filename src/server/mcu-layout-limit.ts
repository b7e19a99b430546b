/**
 * A per-participant rate limit on `mcu-layout` changes. Each change moves the page to another
 * composition: a new consumer and subscribe offer, and (when that composition is new or was idle)
 * libvpx encoders opened for its tiers; a burst of 220 changes in 8 s cost 4.4 s of CPU. A page
 * changes its layout when its user picks one, so a couple per second with a small burst is
 * plenty. Over the limit the change is dropped; the sender hears `rate-limited` at most once per
 * second (errors must not amplify a flood). A request for the layout already viewed never gets
 * here (it costs nothing and takes no token).
 */
import { RateLimit, type RateVerdict } from '../util/RateLimit.js';

/** Sustained layout changes per second per participant. */
export const LAYOUT_CHANGES_PER_SECOND = 2;
/** Changes allowed at once (a user clicking through the picker). */
export const LAYOUT_CHANGE_BURST = 4;
/** At most one `rate-limited` answer per participant per this many ms. */
const ERROR_INTERVAL_MS = 1000;

export type LayoutVerdict = RateVerdict;

export class LayoutChangeLimit {
  private readonly byParticipant = new Map<string, RateLimit>();
  /** Changes dropped over the limit (answered or not). */
  dropped = 0;

  constructor(
    readonly perSecond = LAYOUT_CHANGES_PER_SECOND,
    readonly burst = LAYOUT_CHANGE_BURST,
  ) {}

  /** 'allow': make the change; 'refuse': drop it and answer `rate-limited`; 'drop': drop it silently. */
  take(participantId: string, now = Date.now()): LayoutVerdict {
    let limit = this.byParticipant.get(participantId);
    if (!limit) this.byParticipant.set(participantId, (limit = new RateLimit(this.perSecond, this.burst, ERROR_INTERVAL_MS, now)));
    const verdict = limit.take(now);
    if (verdict !== 'allow') this.dropped++;
    return verdict;
  }

  /** The participant left: their state goes. */
  forget(participantId: string): void {
    this.byParticipant.delete(participantId);
  }

  get tracked(): number {
    return this.byParticipant.size;
  }
}

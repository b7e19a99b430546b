/**
 * The receiving end of a pipe tells the sending end which layers its receivers need, so that the
 * origin's LayerPauser keeps those layers flowing and pauses the rest (PipeConsumer.setDemand).
 * This watches the far producer's LayerDemand and reports each change, as a plain boolean list
 * the caller can carry over its control channel.
 */
import { guarded } from '../../util/guarded.js';
import type { LayerDemand } from '../LayerDemand.js';

/**
 * Calls `report` at once with `demand`'s needed layers (index = spatial layer, `layers` of them),
 * then again whenever they change; repeated equal results are not reported. Each call gets a
 * fresh array (it is the caller's to keep or send). Ends when the demand closes (its producer did).
 * A throw from `report` (the caller's channel) is caught and counted: it must not break the
 * consumer whose layer change triggered it.
 */
export function reportLayerDemand(demand: LayerDemand, layers: number, report: (needed: boolean[]) => void): void {
  let last = '';
  const send = guarded<boolean[]>('sfu.pipe.demand-report', report);
  const check = (): void => {
    const needed = demand.markNeeded(new Array<boolean>(layers).fill(false));
    const key = needed.map((n) => (n ? '1' : '0')).join('');
    if (key === last) return;
    last = key;
    send(needed);
  };
  demand.on('changed', check);
  check();
}

/**
 * InterArrival: groups packets into bursts by send time and gives the deltas between
 * consecutive groups (draft-ietf-rmcat-gcc-02 §5.2): a group is the packets sent within 5 ms
 * of its first one; a packet that arrives within 5 ms of the previous one and earlier than its
 * send spacing predicts (a burst the network released at once) joins the current group too.
 * The delay gradient is then (arrival delta − send delta) between the groups' last packets.
 */
const GROUP_LENGTH_MS = 5;
const BURST_DELTA_MS = 5;
const MAX_BURST_DURATION_MS = 100;
/** An arrival clock that jumps by this much (a receiver reset) restarts grouping. */
const RESET_THRESHOLD_MS = 3000;
const REORDERED_RESET_COUNT = 3;

export class InterArrival {
  private hasCurrent = false;
  private hasPrevious = false;
  private curFirstSend = 0;
  private curLastSend = 0;
  private curFirstArrival = 0;
  private curLastArrival = 0;
  private curSize = 0;
  private prevLastSend = 0;
  private prevLastArrival = 0;
  private prevSize = 0;
  private reordered = 0;
  // The deltas of the last completed pair of groups, valid when `add` returned true.
  sendDeltaMs = 0;
  arrivalDeltaMs = 0;
  sizeDelta = 0;
  /** Arrival time of the last packet of the group just completed. */
  groupArrivalMs = 0;
  resets = 0;

  /** Adds one received packet; true when a group completed and the deltas are fresh. */
  add(sendMs: number, arrivalMs: number, size: number): boolean {
    if (!this.hasCurrent) {
      this.start(sendMs, arrivalMs, size);
      return false;
    }
    if (sendMs < this.curFirstSend) return false; // reordered in send time: belongs to an old group
    if (!this.isNewGroup(sendMs, arrivalMs)) {
      if (sendMs > this.curLastSend) this.curLastSend = sendMs;
      if (arrivalMs > this.curLastArrival) this.curLastArrival = arrivalMs;
      this.curSize += size;
      return false;
    }
    let fresh = false;
    if (this.hasPrevious) {
      const sendDelta = this.curLastSend - this.prevLastSend;
      const arrivalDelta = this.curLastArrival - this.prevLastArrival;
      if (Math.abs(arrivalDelta - sendDelta) > RESET_THRESHOLD_MS) {
        this.reset();
        this.start(sendMs, arrivalMs, size);
        return false;
      }
      if (arrivalDelta < 0) {
        // The whole group arrived before the previous one: reordered; several in a row is a reset.
        if (++this.reordered >= REORDERED_RESET_COUNT) {
          this.reset();
          this.start(sendMs, arrivalMs, size);
          return false;
        }
      } else {
        this.reordered = 0;
        this.sendDeltaMs = sendDelta;
        this.arrivalDeltaMs = arrivalDelta;
        this.sizeDelta = this.curSize - this.prevSize;
        this.groupArrivalMs = this.curLastArrival;
        fresh = true;
      }
    }
    this.hasPrevious = true;
    this.prevLastSend = this.curLastSend;
    this.prevLastArrival = this.curLastArrival;
    this.prevSize = this.curSize;
    this.start(sendMs, arrivalMs, size);
    return fresh;
  }

  reset(): void {
    this.hasCurrent = false;
    this.hasPrevious = false;
    this.reordered = 0;
    this.resets++;
  }

  private start(sendMs: number, arrivalMs: number, size: number): void {
    this.hasCurrent = true;
    this.curFirstSend = sendMs;
    this.curLastSend = sendMs;
    this.curFirstArrival = arrivalMs;
    this.curLastArrival = arrivalMs;
    this.curSize = size;
  }

  private isNewGroup(sendMs: number, arrivalMs: number): boolean {
    if (this.belongsToBurst(sendMs, arrivalMs)) return false;
    return sendMs - this.curFirstSend > GROUP_LENGTH_MS;
  }

  private belongsToBurst(sendMs: number, arrivalMs: number): boolean {
    const arrivalDelta = arrivalMs - this.curLastArrival;
    const sendDelta = sendMs - this.curLastSend;
    if (sendDelta === 0) return true;
    const propagationDelta = arrivalDelta - sendDelta;
    return propagationDelta < 0 && arrivalDelta <= BURST_DELTA_MS && arrivalMs - this.curFirstArrival < MAX_BURST_DURATION_MS;
  }
}

/**
 * PacketPacer: spreads an encoded frame's packets over time instead of sending them in one
 * burst. A keyframe of the composite is tens of packets; sent back to back it overflows the
 * queue of a slow receiver's bottleneck (a home router's buffer) and is lost, which brings a
 * keyframe request and the next burst. Browsers pace what they send for the same reason
 * (libwebrtc's pacer: 2.5 × the target bitrate, in 5 ms steps); the MCU's encoder is our sender.
 *
 * Packets are copied into a fixed ring of buffers; when the ring is full the oldest waiting
 * packet goes out at once (counted) rather than the memory growing.
 *
 * The step timer is an entry point (`guarded`, 'mcu.pacer.step'): sending reaches the
 * subscribers' consumers and transports; a fault there is counted, and the pacer keeps stepping
 * while packets wait.
 */
import { guarded } from '../../util/guarded.js';

const SLOTS = 256;
const MAX_PACKET = 1500;
/** How often the queue is drained while not empty. */
const STEP_MS = 5;
/**
 * Time's worth of budget a late step may use at once. The event loop also composes and encodes
 * (~20 ms a frame), so steps often fire late; budget lost to a late timer would throttle the
 * pacer below its rate and let the queue (and the latency) grow. An idle pacer saves nothing.
 */
const MAX_CATCH_UP_MS = 100;

export class PacketPacer {
  private readonly slots: Buffer[] = Array.from({ length: SLOTS }, () => Buffer.allocUnsafe(MAX_PACKET));
  private readonly lengths = new Uint16Array(SLOTS);
  private head = 0;
  private count = 0;
  private budgetBytes = 0;
  private lastAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly step = guarded(
    'mcu.pacer.step',
    () => this.drain(),
    () => this.stepLater(),
  );
  /** Packets sent before their turn because the ring was full. */
  overflows = 0;
  closed = false;

  constructor(
    private rateBps: number,
    private readonly send: (packet: Buffer, now: number) => void,
  ) {}

  /** Bits per second packets leave at. */
  setRate(bps: number): void {
    this.rateBps = bps;
  }

  get queued(): number {
    return this.count;
  }

  /** Queues a copy of `packet` (the caller may reuse its buffer). */
  push(packet: Buffer): void {
    if (this.closed || packet.length > MAX_PACKET) return;
    if (this.count === SLOTS) {
      this.overflows++;
      this.sendOne(performance.now());
    }
    const i = (this.head + this.count) % SLOTS;
    packet.copy(this.slots[i] as Buffer);
    this.lengths[i] = packet.length;
    this.count++;
    if (!this.timer) this.drain();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.count = 0;
  }

  private drain(): void {
    this.timer = null;
    if (this.closed) return;
    const now = performance.now();
    const elapsed = this.lastAt === 0 ? STEP_MS : Math.min(now - this.lastAt, MAX_CATCH_UP_MS);
    this.lastAt = now;
    this.budgetBytes += (this.rateBps / 8) * (elapsed / 1000);
    while (this.count > 0 && this.budgetBytes > 0) {
      this.budgetBytes -= this.lengths[this.head] as number;
      this.sendOne(now);
    }
    // Packets waiting, or a debt to pay off before the next packet may go: keep stepping.
    if (this.count > 0 || this.budgetBytes < 0) {
      this.stepLater();
    } else {
      // Idle: the next frame starts with one step's budget, not with what was left.
      this.lastAt = 0;
      this.budgetBytes = 0;
    }
  }

  private stepLater(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(this.step, STEP_MS);
    this.timer.unref();
  }

  private sendOne(now: number): void {
    const i = this.head;
    this.head = (this.head + 1) % SLOTS;
    this.count--;
    this.send((this.slots[i] as Buffer).subarray(0, this.lengths[i]), now);
  }
}

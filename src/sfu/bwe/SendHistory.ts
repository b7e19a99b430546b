/**
 * SendHistory: what the transport sent, by transport-wide sequence number
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2): send time, size and whether the
 * packet was a probe. A fixed ring of typed arrays, so recording a packet allocates nothing;
 * feedback for a packet older than the ring (about 8 s of video at 1000 packets/s) is unknown.
 */
const CAPACITY = 8192;
const MASK = CAPACITY - 1;

/** What the history knows about a packet from feedback already processed. */
export const Reported = { none: 0, lost: 1, received: 2 } as const;

export class SendHistory {
  private readonly seqs = new Float64Array(CAPACITY).fill(-1);
  private readonly sendMs = new Float64Array(CAPACITY);
  private readonly sizes = new Uint16Array(CAPACITY);
  private readonly probes = new Uint8Array(CAPACITY);
  /** Probe cluster id of packets sent while a probe ran (media and padding alike); 0 otherwise. */
  private readonly clusters = new Uint16Array(CAPACITY);
  private readonly reported = new Uint8Array(CAPACITY);
  /** The unwrapped sequence number of the next packet; its low 16 bits go on the wire. */
  private next = 0;

  /** Records a packet sent now; returns its 16-bit transport sequence number. */
  record(sizeBytes: number, nowMs: number, probe: boolean, cluster = 0): number {
    const seq = this.next++;
    const i = seq & MASK;
    this.seqs[i] = seq;
    this.sendMs[i] = nowMs;
    this.sizes[i] = sizeBytes > 0xffff ? 0xffff : sizeBytes;
    this.probes[i] = probe ? 1 : 0;
    this.clusters[i] = cluster;
    this.reported[i] = Reported.none;
    return seq & 0xffff;
  }

  get packetsSent(): number {
    return this.next;
  }

  /**
   * The ring slot of a 16-bit sequence number from feedback, taken as the unwrapped number
   * nearest the last one sent (RFC 3550 A.1 style); -1 when unknown (never sent, or too old).
   */
  slot(seq16: number): number {
    if (this.next === 0) return -1;
    const last = this.next - 1;
    const diff = ((seq16 - (last & 0xffff)) << 16) >> 16; // signed 16-bit distance
    const full = last + diff;
    if (full < 0 || full > last) return -1;
    const i = full & MASK;
    return this.seqs[i] === full ? i : -1;
  }

  sendTimeMs(slot: number): number {
    return this.sendMs[slot] as number;
  }
  size(slot: number): number {
    return this.sizes[slot] as number;
  }
  isProbe(slot: number): boolean {
    return this.probes[slot] === 1;
  }
  cluster(slot: number): number {
    return this.clusters[slot] as number;
  }
  reportedAs(slot: number): number {
    return this.reported[slot] as number;
  }
  markReported(slot: number, as: number): void {
    this.reported[slot] = as;
  }
}

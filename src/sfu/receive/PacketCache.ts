/**
 * The last packets of one producer, by sequence number, so that the SFU can answer its
 * subscribers' NACKs itself (RFC 4585 §6.2.1) without asking the publisher again.
 *
 * Slots are allocated once: a packet is copied into its slot (`seq mod size`), replacing
 * whatever was there. A lookup checks the stored sequence number, so a slot that was
 * overwritten by a newer packet answers "not cached".
 */
export const MAX_CACHED_PACKET = 1500;

export class PacketCache {
  private readonly slots: Buffer[];
  private readonly lengths: Int32Array;
  /** The sequence number held by each slot; -1 when empty. */
  private readonly seqs: Int32Array;
  private readonly mask: number;

  /** `size` is rounded up to a power of two. */
  constructor(size: number) {
    let n = 1;
    while (n < size) n <<= 1;
    this.mask = n - 1;
    this.slots = Array.from({ length: n }, () => Buffer.allocUnsafe(MAX_CACHED_PACKET));
    this.lengths = new Int32Array(n);
    this.seqs = new Int32Array(n).fill(-1);
  }

  get size(): number {
    return this.mask + 1;
  }

  /** Copies `packet` (a plain RTP packet) in; packets longer than a slot are not cached. */
  put(seq: number, packet: Buffer): void {
    if (packet.length > MAX_CACHED_PACKET) return;
    const i = seq & this.mask;
    packet.copy(this.slots[i] as Buffer, 0, 0, packet.length);
    this.lengths[i] = packet.length;
    this.seqs[i] = seq;
  }

  /** Whether packet `seq` is cached (no allocation: the per-packet duplicate check). */
  has(seq: number): boolean {
    return this.seqs[seq & this.mask] === seq;
  }

  /** A view of the cached packet (valid until that slot is reused), or undefined. */
  get(seq: number): Buffer | undefined {
    const i = seq & this.mask;
    if (this.seqs[i] !== seq) return undefined;
    return (this.slots[i] as Buffer).subarray(0, this.lengths[i]);
  }
}

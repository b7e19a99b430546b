/**
 * Media for bench/sfu-forward.ts: a VP8-shaped RTP source (RFC 7741 payload descriptor with a
 * 15-bit PictureID, a keyframe every KEYFRAME_INTERVAL_S or on request, marker on each frame's
 * last packet, 90 kHz timestamps at FPS frames/s), a pacer that sends it at a fixed packet
 * rate in PACER_TICK_MS bursts (as libwebrtc's pacer does), and a receive log that counts
 * which packets arrived. Every packet carries its source index (uint32) at payload byte 8,
 * which the SFU forwards untouched (it rewrites the header, and adds a transport-cc header
 * extension): loss is counted exactly by index, whatever the SFU does to sequence numbers.
 */
const RTP_HEADER = 12;
/** Payload byte 8: after the 4-byte VP8 descriptor and the 3-byte VP8 payload header. */
const INDEX_IN_PAYLOAD = 8;
/** Where the source writes the index (its own packets have a bare 12-byte header). */
export const INDEX_OFFSET = RTP_HEADER + INDEX_IN_PAYLOAD;

/**
 * The source index of a received RTP packet, past its CSRCs and header extension (RFC 3550
 * §5.1, RFC 8285); -1 when the packet is too short to hold one.
 */
export function readIndex(packet: Buffer): number {
  if (packet.length < RTP_HEADER) return -1;
  const first = packet[0] as number;
  let payload = RTP_HEADER + 4 * (first & 0x0f);
  if ((first & 0x10) !== 0) {
    if (packet.length < payload + 4) return -1;
    payload += 4 + 4 * packet.readUInt16BE(payload + 2);
  }
  const at = payload + INDEX_IN_PAYLOAD;
  return packet.length >= at + 4 ? packet.readUInt32BE(at) : -1;
}
const FPS = 30;
const KEYFRAME_INTERVAL_S = 2;
const PACER_TICK_MS = 5;

export class Vp8Source {
  /** Packets made so far; the next packet's index. */
  index = 0;
  keyframes = 0;
  private readonly packetsPerFrame: number;
  private frame = 0;
  private inFrame = 0;
  private keyframeWanted = true;
  private currentIsKey = true;
  private seq: number;
  private readonly timestampBase: number;
  private readonly filler: Buffer;

  constructor(
    readonly ssrc: number,
    readonly packetBytes: number,
    rate: number,
  ) {
    if (packetBytes < INDEX_OFFSET + 4) throw new RangeError(`packets need at least ${INDEX_OFFSET + 4} bytes`);
    this.packetsPerFrame = Math.max(1, Math.round(rate / FPS));
    this.seq = (Math.random() * 0x10000) | 0;
    this.timestampBase = (Math.random() * 0x100000000) >>> 0;
    this.filler = Buffer.alloc(packetBytes, 0xa5);
  }

  /** A PLI or FIR arrived: the next frame is a keyframe. */
  requestKeyframe(): void {
    this.keyframeWanted = true;
  }

  /** The next plain RTP packet (a new buffer). */
  next(): Buffer {
    const first = this.inFrame === 0;
    if (first && (this.keyframeWanted || this.frame % (FPS * KEYFRAME_INTERVAL_S) === 0)) {
      this.keyframeWanted = false;
      this.keyframes++;
      this.currentIsKey = true;
    } else if (first) {
      this.currentIsKey = false;
    }
    const last = this.inFrame === this.packetsPerFrame - 1;
    const p = Buffer.allocUnsafe(this.packetBytes);
    this.filler.copy(p, INDEX_OFFSET + 4, INDEX_OFFSET + 4);
    p[0] = 0x80;
    p[1] = (last ? 0x80 : 0) | 96;
    p.writeUInt16BE(this.seq, 2);
    p.writeUInt32BE((this.timestampBase + this.frame * (90000 / FPS)) >>> 0, 4);
    p.writeUInt32BE(this.ssrc >>> 0, 8);
    // RFC 7741 §4.2: X=1, S on the frame's first packet, PID 0; I=1; M=1 and a 15-bit PictureID.
    p[RTP_HEADER] = 0x80 | (first ? 0x10 : 0);
    p[RTP_HEADER + 1] = 0x80;
    p.writeUInt16BE(0x8000 | (this.frame & 0x7fff), RTP_HEADER + 2);
    // §4.3: the payload header's P bit is 0 for a keyframe (meaningful on the first packet only).
    p[RTP_HEADER + 4] = this.currentIsKey ? 0x10 : 0x11;
    p[RTP_HEADER + 5] = 0;
    p[RTP_HEADER + 6] = 0;
    p[RTP_HEADER + 7] = 0;
    p.writeUInt32BE(this.index >>> 0, INDEX_OFFSET);
    this.index++;
    this.seq = (this.seq + 1) & 0xffff;
    if (last) {
      this.inFrame = 0;
      this.frame++;
    } else this.inFrame++;
    return p;
  }
}

/**
 * Sends `rate` packets/s through `send`, in bursts every PACER_TICK_MS. A late tick catches
 * up, but by at most four ticks' worth: a stalled generator shows as a lower sent count, never
 * as an unbounded burst.
 */
export function startPacer(rate: number, send: () => void): { stop(): void; skipped(): number } {
  const t0 = performance.now();
  let accounted = 0;
  let skipped = 0;
  const maxBurst = Math.max(1, Math.ceil((rate * PACER_TICK_MS * 4) / 1000));
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) * rate) / 1000) - accounted;
    const n = Math.min(due, maxBurst);
    for (let i = 0; i < n; i++) send();
    // Anything beyond the burst limit is given up, not owed (and reported as skipped).
    if (due > n) skipped += due - n;
    accounted += Math.max(due, 0);
  }, PACER_TICK_MS);
  return { stop: () => clearInterval(timer), skipped: () => skipped };
}

/** Which source indexes one receiver got (a bitmap), and how many came twice. */
export class ReceiveLog {
  private seen = new Uint8Array(1 << 14);
  duplicates = 0;
  total = 0;

  record(index: number): void {
    if (index >= this.seen.length) {
      if (index > 1 << 26) return; // not one of ours: bounded memory
      let size = this.seen.length;
      while (size <= index) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.seen);
      this.seen = grown;
    }
    this.total++;
    if (this.seen[index] === 1) this.duplicates++;
    else this.seen[index] = 1;
  }

  /** Distinct packets received with index in [from, to). */
  countIn(from: number, to: number): number {
    let n = 0;
    const end = Math.min(to, this.seen.length);
    for (let i = from; i < end; i++) n += this.seen[i] as number;
    return n;
  }
}

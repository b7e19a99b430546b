/**
 * The MCU's receive buffer for one publisher's Opus RTP stream: packets go in as the network
 * delivers them (late, reordered, duplicated, in bursts); one frame comes out per 20 ms mixing
 * tick, in timestamp order, or word that the frame is missing (for the decoder's packet loss
 * concealment) or that there is nothing to play.
 *
 * Frames are placed by RTP timestamp, not sequence number: Opus timestamps count 48 kHz ticks
 * (RFC 7587 §4.1), so frame slot = timestamp / 960. A packet whose step is another multiple of
 * 960 (40 or 60 ms packets, DTX) takes one slot; the slots it skips read as missing. Timestamps
 * are compared modulo 2^32 and sequence numbers modulo 2^16 (RFC 3550 §5.1, §A.1), each relative
 * to the newest packet, into a frame index that never wraps (a double: exact for 2^53 frames).
 *
 * Play-out starts once `targetDepth` frames are buffered. When the buffer runs dry the missing
 * frames are concealed for at most `maxConcealed` ticks, then it goes silent and buffers to the
 * target depth again. A sender whose clock runs slightly fast fills the buffer; past `maxDepth`
 * the oldest frames are dropped back to the target. A jump of more than `maxJump` frames or
 * packets re-anchors the buffer, but only once a second packet follows the first one in
 * sequence (the probation of RFC 3550 §A.1): one stray packet must not throw the stream away.
 *
 * Memory is fixed: a ring of JITTER_SLOTS payload slots, allocated once.
 */
import { seqDelta } from '../../rtc/rtp/sequence.js';
import { RTP_TICKS_PER_FRAME } from './format.js';

export interface AudioJitterBufferOptions {
  /** Frames buffered before play-out starts, and again after the buffer ran dry (2 = 40 ms). */
  targetDepth: number;
  /** More frames than this buffered: the oldest are dropped back to targetDepth. At most JITTER_SLOTS. */
  maxDepth: number;
  /** Consecutive missing frames reported 'lost' once nothing later is buffered, before going 'silent'. */
  maxConcealed: number;
  /** A jump of more frames (by timestamp) or packets (by sequence number) than this re-anchors the buffer. */
  maxJump: number;
}

export const DEFAULT_JITTER_OPTIONS: AudioJitterBufferOptions = { targetDepth: 2, maxDepth: 10, maxConcealed: 5, maxJump: 50 };

/** Payload slots in the ring: more than any sane maxDepth, so a frame is never overwritten before it plays. */
export const JITTER_SLOTS = 64;
/** Largest payload kept; a UDP packet through a 1500-byte MTU cannot carry more. */
export const MAX_AUDIO_PAYLOAD = 1500;

/**
 * One tick's output. The object is reused: it (and `payload`, a view of the buffer's own
 * storage) is valid until the next `pop` or `push`.
 */
export type JitterFrame =
  { readonly kind: 'frame'; readonly payload: Uint8Array } | { readonly kind: 'lost' } | { readonly kind: 'silent' };

type Mode = 'idle' | 'buffering' | 'playing';

const EMPTY = new Uint8Array(0);
const MASK = JITTER_SLOTS - 1;

export class AudioJitterBuffer {
  framesPlayed = 0;
  framesConcealed = 0;
  /** Packets that arrived after their slot was played or concealed. */
  latePackets = 0;
  /** Packets whose slot already held one (a retransmission answered twice, a duplicating network). */
  duplicatePackets = 0;
  /** Buffered frames dropped because more than maxDepth were waiting. */
  overflowDrops = 0;
  /** Times a confirmed jump in timestamp or sequence number re-anchored the buffer (also a stream resuming after a pause longer than maxJump). */
  resets = 0;
  /** Packets after a jump that no second packet confirmed (dropped), and oversize payloads. */
  strayPackets = 0;

  private readonly opts: AudioJitterBufferOptions;
  private readonly storage = new Uint8Array(JITTER_SLOTS * MAX_AUDIO_PAYLOAD);
  /** The frame index each slot holds; NaN when empty (NaN equals nothing). */
  private readonly slotIndex = new Float64Array(JITTER_SLOTS).fill(NaN);
  /** Per slot, a view of its payload: remade only when the length changes, so pop never allocates. */
  private readonly views: Uint8Array[] = [];

  private mode: Mode = 'idle';
  private anchored = false;
  /** Frame index, timestamp and sequence number of the newest packet: the reference for the next. */
  private newestIndex = 0;
  private newestTs = 0;
  private newestSeq = 0;
  /** The next frame to play (or, while buffering, the oldest buffered). */
  private playIndex = 0;
  /** While not playing: frames before this one were already played or concealed. */
  private resumeFloor = -Infinity;
  private missingRun = 0;

  /** A packet after a jump, held until the next one confirms it (RFC 3550 §A.1). */
  private probationSeq = -1;
  private probationTs = 0;
  private probationLength = 0;
  private readonly probationPayload = new Uint8Array(MAX_AUDIO_PAYLOAD);

  private readonly result: { kind: JitterFrame['kind']; payload: Uint8Array } = { kind: 'silent', payload: EMPTY };

  constructor(options: Partial<AudioJitterBufferOptions> = {}) {
    const o = { ...DEFAULT_JITTER_OPTIONS, ...options };
    if (!(
      o.targetDepth >= 1 &&
      o.targetDepth <= o.maxDepth &&
      o.maxDepth <= JITTER_SLOTS &&
      o.maxConcealed >= 0 &&
      o.maxJump >= o.maxDepth
    )) {
      throw new RangeError(`AudioJitterBuffer: need 1 ≤ targetDepth ≤ maxDepth ≤ ${JITTER_SLOTS}, maxJump ≥ maxDepth, maxConcealed ≥ 0`);
    }
    this.opts = o;
    for (let i = 0; i < JITTER_SLOTS; i++) this.views.push(this.storage.subarray(i * MAX_AUDIO_PAYLOAD, i * MAX_AUDIO_PAYLOAD));
  }

  get options(): Readonly<AudioJitterBufferOptions> {
    return this.opts;
  }

  /** Frames from the play-out point to the newest buffered one (0 when idle). */
  get depth(): number {
    if (this.mode === 'idle') return 0;
    const d = this.newestIndex - this.playIndex + 1;
    return d > 0 ? d : 0;
  }

  /** Copies the packet's payload in (the caller's buffer may be reused at once). */
  push(sequenceNumber: number, timestamp: number, payload: Uint8Array): void {
    const seq = sequenceNumber & 0xffff;
    const ts = timestamp >>> 0;
    if (payload.length > MAX_AUDIO_PAYLOAD) {
      this.strayPackets++;
      return;
    }
    if (!this.anchored) {
      this.anchor(seq, ts);
      this.place(0, seq, ts, payload);
      return;
    }
    // Signed 32-bit timestamp difference (RFC 3550 §5.1: timestamps wrap like sequence numbers).
    const frames = Math.round(((ts - this.newestTs) | 0) / RTP_TICKS_PER_FRAME);
    const packets = seqDelta(seq, this.newestSeq);
    if (Math.abs(frames) > this.opts.maxJump || Math.abs(packets) > this.opts.maxJump) {
      this.onJump(seq, ts, payload);
      return;
    }
    this.place(this.newestIndex + frames, seq, ts, payload);
  }

  /** The frame for this tick; call once per 20 ms. The result is reused (see JitterFrame). */
  pop(): JitterFrame {
    if (this.mode !== 'playing') {
      if (this.mode === 'idle' || this.newestIndex - this.playIndex + 1 < this.opts.targetDepth) return this.output('silent', EMPTY);
      this.mode = 'playing';
    }
    const slot = this.playIndex & MASK;
    if (this.slotIndex[slot] === this.playIndex) {
      this.playIndex++;
      this.missingRun = 0;
      this.framesPlayed++;
      return this.output('frame', this.views[slot] as Uint8Array);
    }
    if (this.newestIndex < this.playIndex && this.missingRun >= this.opts.maxConcealed) {
      // Dry for too long: concealment would only stretch a fade-out. Buffer up again.
      this.mode = 'idle';
      this.resumeFloor = this.playIndex;
      this.missingRun = 0;
      return this.output('silent', EMPTY);
    }
    this.playIndex++;
    this.missingRun++;
    this.framesConcealed++;
    return this.output('lost', EMPTY);
  }

  /** Forgets everything buffered (counters stay). */
  reset(): void {
    this.slotIndex.fill(NaN);
    this.anchored = false;
    this.mode = 'idle';
    this.resumeFloor = -Infinity;
    this.missingRun = 0;
    this.probationSeq = -1;
  }

  private anchor(seq: number, ts: number): void {
    this.anchored = true;
    this.newestIndex = 0;
    this.newestTs = ts;
    this.newestSeq = seq;
    this.playIndex = 0;
    this.resumeFloor = -Infinity;
    this.missingRun = 0;
    this.mode = 'buffering';
  }

  private onJump(seq: number, ts: number, payload: Uint8Array): void {
    if (this.probationSeq >= 0 && seq === ((this.probationSeq + 1) & 0xffff)) {
      const frames = Math.round(((ts - this.probationTs) | 0) / RTP_TICKS_PER_FRAME);
      if (frames >= 0 && frames <= this.opts.maxJump) {
        // Two packets in sequence on the new timeline: the source restarted or resumed after a long pause.
        this.resets++;
        const probationSeq = this.probationSeq;
        this.reset();
        this.anchor(probationSeq, this.probationTs);
        this.place(0, probationSeq, this.probationTs, this.probationPayload.subarray(0, this.probationLength));
        this.place(frames, seq, ts, payload);
        return;
      }
    }
    if (this.probationSeq >= 0) this.strayPackets++;
    this.probationSeq = seq;
    this.probationTs = ts;
    this.probationLength = payload.length;
    this.probationPayload.set(payload);
  }

  private place(index: number, seq: number, ts: number, payload: Uint8Array): void {
    const slot = index & MASK;
    const floor = this.mode === 'playing' ? this.playIndex : this.resumeFloor;
    if (index < floor || (this.mode === 'buffering' && this.newestIndex - index + 1 > this.opts.maxDepth)) {
      if (this.slotIndex[slot] === index) this.duplicatePackets++;
      else this.latePackets++;
      return;
    }
    if (this.slotIndex[slot] === index) {
      this.duplicatePackets++;
      return;
    }
    if (this.mode === 'idle') {
      this.mode = 'buffering';
      this.playIndex = index;
    } else if (index < this.playIndex) {
      this.playIndex = index; // buffering: reordered ahead of the first packet
    }
    if (index - this.playIndex + 1 > this.opts.maxDepth) {
      // The sender outruns our clock (or a burst arrived after a stall): keep the newest targetDepth.
      const keepFrom = index - this.opts.targetDepth + 1;
      for (let i = this.playIndex; i < keepFrom; i++) {
        if (this.slotIndex[i & MASK] === i) this.overflowDrops++;
      }
      this.playIndex = keepFrom;
      this.missingRun = 0;
    }
    const offset = slot * MAX_AUDIO_PAYLOAD;
    this.storage.set(payload, offset);
    if ((this.views[slot] as Uint8Array).length !== payload.length)
      this.views[slot] = this.storage.subarray(offset, offset + payload.length);
    this.slotIndex[slot] = index;
    if (index > this.newestIndex) {
      this.newestIndex = index;
      this.newestTs = ts;
      this.newestSeq = seq;
    }
  }

  private output(kind: JitterFrame['kind'], payload: Uint8Array): JitterFrame {
    this.result.kind = kind;
    this.result.payload = payload;
    return this.result;
  }
}

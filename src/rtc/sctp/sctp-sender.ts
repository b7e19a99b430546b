/**
 * The sending half of an SCTP association — SACK processing, congestion control and
 * retransmission — per RFC 9260, installed over werift's own (werift 0.25.2, pinned).
 *
 * werift keeps the handshake, the receiving half, stream reconfiguration and heartbeats. Its
 * sender stalled or crawled toward browsers (werift issue #706 is the same family):
 *  - T3-rtx expiry marked gap-acknowledged chunks for retransmission too; when they were sent
 *    again their bytes were added to the flight size and never taken off (a chunk already
 *    acknowledged is skipped when the cumulative ack passes it). The flight size crept up until
 *    it reached cwnd with nothing outstanding: no DATA, no T3 timer, the association silent
 *    for good while its queue held the rest of the file.
 *  - A chunk struck again after being marked for fast retransmit left the flight size twice.
 *  - T3-rtx expiry did not back the RTO off (RFC 9260 §6.3.3 E2), so a receiver whose SACKs
 *    came late (a busy browser: round trips of 1–2 s) got the same chunks again every second
 *    and each expiry cut cwnd to one MTU and ssthresh to 4 MTU.
 *  - Nothing was sent while the peer's window was zero and nothing was in flight, with no timer
 *    left to probe it (RFC 9260 §6.1 rule A allows one chunk then).
 *  - Abandoning a PR-SCTP message marked the first chunks of the queue, not the message's.
 *
 * Each chunk here carries whether it counts in the flight size (`inFlight`), so every way out
 * of flight (cumulative ack, gap ack, marked for retransmission, abandoned) takes its bytes
 * off exactly once.
 */
import { entryFaults, guarded } from '../../util/guarded.js';
import type { WeriftSctp } from './werift-sctp.js';

const DATA_LAST_FRAG = 0x01;
const DATA_FIRST_FRAG = 0x02;
/** RFC 9260 §16: RTO.Max (seconds, as werift keeps rto). */
const RTO_MAX_SECONDS = 60;
/** RFC 9260 §16: Max.Burst — packets sent on one transmission opportunity beyond what was in flight. */
const MAX_BURST = 4;
/** RFC 9260 §7.2.4: a TSN with this many miss indications is fast-retransmitted. */
const FAST_RTX_MISSES = 3;
const TSN_MODULO = 2 ** 32;

interface SentChunk {
  tsn: number;
  flags: number;
  streamId: number;
  streamSeqNum: number;
  bookSize: number;
  /** Gap- or cumulatively acknowledged. */
  acked: boolean;
  /** Marked for retransmission, not yet resent. */
  retransmit: boolean;
  abandoned: boolean;
  misses: number;
  sentCount: number;
  /** Seconds (werift's unit). */
  sentTime: number;
  expiry?: number;
  maxRetransmits?: number;
  /** Ours: its bytes are in the flight size. */
  inFlight?: boolean;
}

interface SackChunk {
  cumulativeTsn: number;
  advertisedRwnd: number;
  /** Offsets from the cumulative TSN, inclusive (RFC 9260 §3.3.4). */
  gaps: Array<[number, number]>;
}

/** werift's SCTP fields and methods the sender reads and replaces (private in its typings). */
interface WeriftSenderInternals {
  cwnd: number;
  ssthresh?: number;
  flightSize: number;
  partialBytesAcked: number;
  peerAdvertisedRwnd: number;
  readonly peerRwnd: number;
  rto: number;
  readonly maxPayloadSize: number;
  sentQueue: SentChunk[];
  outboundQueue: SentChunk[];
  lastSackedTsn: number;
  fastRecoveryExit?: number | undefined;
  fastRecoveryTransmit: boolean;
  forwardTsnChunk?: unknown;
  timer3Handle?: NodeJS.Timeout | undefined;
  readonly isStopped: boolean;
  flush: { execute(): void };
  onSackReceived(): Promise<void>;
  sendChunk(chunk: unknown): Promise<void>;
  transmit(): Promise<void>;
  updateRto(seconds: number): void;
  updateAdvancedPeerAckPoint(): void;
  timer3Start(): void;
  timer3Restart(): void;
  timer3Cancel(): void;
  // replaced below
  receiveSackChunk(sack: SackChunk): Promise<void>;
  transmitOnce(): Promise<void>;
  timer3Expired: () => void;
  maybeAbandon(chunk: SentChunk): boolean;
}

const uint32Gt = (a: number, b: number): boolean => (a < b && b - a > 0x8000_0000) || (a > b && a - b < 0x8000_0000);
const uint32Gte = (a: number, b: number): boolean => a === b || uint32Gt(a, b);

/** Counters of the sending half, for diagnostics and tests. */
export interface SctpSenderCounters {
  t3Expiries: number;
  fastRetransmits: number;
  retransmittedChunks: number;
  zeroWindowProbes: number;
}

export class Rfc9260Sender {
  readonly counters: SctpSenderCounters = { t3Expiries: 0, fastRetransmits: 0, retransmittedChunks: 0, zeroWindowProbes: 0 };
  private readonly s: WeriftSenderInternals;
  /** werift's clock (seconds) of the last retransmission, for §6.3.1 C5. */
  private lastRetransmitAt = 0;

  constructor(sctp: WeriftSctp) {
    this.s = sctp as unknown as WeriftSenderInternals;
    const s = this.s;
    // Instance properties shadow werift's prototype methods; werift's own callers
    // (handleData → receiveChunk, transmit, timer3Start/Restart) reach ours.
    s.receiveSackChunk = (sack) => this.onSack(sack);
    s.transmitOnce = () => this.transmitOnce();
    s.maybeAbandon = (chunk) => this.maybeAbandon(chunk);
    s.timer3Expired = guarded('sctp.t3rtx', () => this.onT3Expired());
  }

  /**
   * RFC 9260 §6.3.1 C5: an RTT only from a chunk acknowledged for the first time, sent once,
   * and sent after the last retransmission (no chunk at or below it was resent since it left;
   * a chunk gap-acked long ago and cum-acked now would give the recovery time, not an RTT).
   */
  private rttOf(c: SentChunk, now: number): number | undefined {
    if (c.sentCount !== 1 || c.abandoned || c.sentTime <= this.lastRetransmitAt) return undefined;
    return now - c.sentTime;
  }

  private leaveFlight(c: SentChunk): void {
    if (!c.inFlight) return;
    c.inFlight = false;
    this.s.flightSize = Math.max(0, this.s.flightSize - c.bookSize);
  }

  private enterFlight(c: SentChunk): void {
    if (c.inFlight) return;
    c.inFlight = true;
    this.s.flightSize += c.bookSize;
  }

  /** RFC 9260 §6.2.1 (SACK processing), §7.2.1–7.2.2 (cwnd), §7.2.4 (fast retransmit), §6.3.2 (T3 rules). */
  private async onSack(sack: SackChunk): Promise<void> {
    const s = this.s;
    // §6.2.1 D-i: a SACK older than the cumulative TSN ack point is out of order; drop it.
    if (uint32Gt(s.lastSackedTsn, sack.cumulativeTsn)) return;
    const now = Date.now() / 1000;
    const mtu = s.maxPayloadSize;
    const cwndWasFull = s.flightSize >= s.cwnd;
    const inFastRecovery = s.fastRecoveryExit !== undefined;
    let ackedBytes = 0;
    let cumAdvanced = false;
    let rttSample: number | undefined;
    let highestNewlyAcked: number | undefined;
    while (s.sentQueue.length > 0 && uint32Gte(sack.cumulativeTsn, (s.sentQueue[0] as SentChunk).tsn)) {
      const c = s.sentQueue.shift() as SentChunk;
      cumAdvanced = true;
      if (!c.acked) {
        ackedBytes += c.bookSize;
        highestNewlyAcked = c.tsn;
        rttSample = this.rttOf(c, now) ?? rttSample;
      }
      c.acked = true;
      c.retransmit = false;
      this.leaveFlight(c);
    }
    if (s.sentQueue.length === 0) s.sentQueue = []; // werift's note: a shifted-out array stays slow in V8
    if (uint32Gt(sack.cumulativeTsn, s.lastSackedTsn)) s.lastSackedTsn = sack.cumulativeTsn;

    let highestGapTsn: number | undefined;
    if (sack.gaps.length > 0) {
      for (const c of s.sentQueue) {
        const offset = (c.tsn - sack.cumulativeTsn + TSN_MODULO) % TSN_MODULO;
        const inGap = sack.gaps.some(([start, end]) => offset >= start && offset <= end);
        if (inGap) {
          highestGapTsn = c.tsn;
          if (!c.acked) {
            c.acked = true;
            c.retransmit = false;
            ackedBytes += c.bookSize;
            highestNewlyAcked = c.tsn;
            rttSample = this.rttOf(c, now) ?? rttSample;
            this.leaveFlight(c);
          }
        } else if (c.acked) {
          // §6.2.1: the receiver reneged on a gap ack; the chunk is outstanding again and
          // T3-rtx (still running: this chunk is in the queue) will resend it.
          c.acked = false;
        }
      }
    }

    if (rttSample !== undefined) s.updateRto(rttSample);

    // §7.2.4: miss indications by HTNA; in fast recovery with the cumulative ack advancing,
    // for every TSN the SACK reports missing.
    let lost = false;
    const strikeLimit = inFastRecovery && cumAdvanced ? highestGapTsn : highestNewlyAcked;
    if (strikeLimit !== undefined && sack.gaps.length > 0) {
      for (const c of s.sentQueue) {
        if (uint32Gt(c.tsn, strikeLimit)) break;
        if (c.acked || c.retransmit || c.abandoned || !c.inFlight) continue;
        c.misses++;
        if (c.misses >= FAST_RTX_MISSES) {
          c.misses = 0;
          if (!this.maybeAbandon(c)) {
            c.retransmit = true;
            this.counters.fastRetransmits++;
          }
          this.leaveFlight(c);
          lost = true;
        }
      }
    }

    if (!inFastRecovery) {
      if (cumAdvanced && ackedBytes > 0) {
        if (s.cwnd <= (s.ssthresh ?? Infinity)) {
          // §7.2.1 slow start: only when cwnd was in use, by at most one MTU per SACK.
          if (cwndWasFull) s.cwnd += Math.min(ackedBytes, mtu);
        } else {
          // §7.2.2 congestion avoidance.
          s.partialBytesAcked += ackedBytes;
          if (s.partialBytesAcked >= s.cwnd && cwndWasFull) {
            s.partialBytesAcked -= s.cwnd;
            s.cwnd += mtu;
          }
        }
      }
      if (lost) {
        // §7.2.4 (2): enter fast recovery.
        s.ssthresh = Math.max(Math.floor(s.cwnd / 2), 4 * mtu);
        s.cwnd = s.ssthresh;
        s.partialBytesAcked = 0;
        s.fastRecoveryExit = (s.sentQueue[s.sentQueue.length - 1] as SentChunk).tsn;
        s.fastRecoveryTransmit = true;
      }
    } else if (s.fastRecoveryExit !== undefined && uint32Gte(sack.cumulativeTsn, s.fastRecoveryExit)) {
      s.fastRecoveryExit = undefined;
    }
    if (s.flightSize === 0) s.partialBytesAcked = 0; // §7.2.2: nothing outstanding

    // §6.3.2 R2/R3.
    if (s.sentQueue.length === 0) s.timer3Cancel();
    else if (cumAdvanced) s.timer3Restart();

    // §6.2.1 D-ii: rwnd = a_rwnd − bytes outstanding (werift's peerRwnd getter subtracts flightSize).
    s.peerAdvertisedRwnd = sack.advertisedRwnd;
    s.updateAdvancedPeerAckPoint();
    await s.onSackReceived();
    await s.transmit();
  }

  /** RFC 9260 §6.3.3: T3-rtx expiry. */
  private onT3Expired(): void {
    const s = this.s;
    s.timer3Handle = undefined;
    if (s.isStopped) return;
    this.counters.t3Expiries++;
    // E3: every chunk not acknowledged is to be sent again (gap-acked ones are not).
    for (const c of s.sentQueue) {
      if (c.acked || c.abandoned) continue;
      c.misses = 0;
      if (!this.maybeAbandon(c)) c.retransmit = true;
      this.leaveFlight(c);
    }
    s.updateAdvancedPeerAckPoint();
    // E1 / §7.2.3.
    s.ssthresh = Math.max(Math.floor(s.cwnd / 2), 4 * s.maxPayloadSize);
    s.cwnd = s.maxPayloadSize;
    s.partialBytesAcked = 0;
    s.fastRecoveryExit = undefined;
    s.fastRecoveryTransmit = false;
    // E2: back off; the next RTT measurement (§6.3.1 C3) recomputes it.
    s.rto = Math.min(s.rto * 2, RTO_MAX_SECONDS);
    s.transmit().catch((err: unknown) => entryFaults.record('sctp.t3rtx', err));
  }

  /** RFC 9260 §6.1 (rules A–D) and §7.2.4 (3): retransmissions first, then new DATA. */
  private async transmitOnce(): Promise<void> {
    const s = this.s;
    if (s.isStopped) return;
    if (s.forwardTsnChunk) {
      const forward = s.forwardTsnChunk;
      s.forwardTsnChunk = undefined;
      await s.sendChunk(forward).catch(() => undefined);
      if (!s.timer3Handle) s.timer3Start();
    }
    const mtu = s.maxPayloadSize;
    const limit = Math.min(s.cwnd, s.flightSize + MAX_BURST * mtu);
    const now = Date.now() / 1000;
    for (const c of s.sentQueue) {
      if (!c.retransmit) continue;
      if (s.fastRecoveryTransmit)
        s.fastRecoveryTransmit = false; // §7.2.4 (3): one packet regardless of cwnd
      else if (s.flightSize >= limit) break;
      if (this.maybeAbandon(c)) continue;
      c.retransmit = false;
      c.misses = 0;
      c.sentCount++;
      c.sentTime = now;
      this.lastRetransmitAt = now;
      this.enterFlight(c);
      this.counters.retransmittedChunks++;
      const earliest = c === s.sentQueue[0];
      await s.sendChunk(c).catch(() => undefined);
      if (earliest)
        s.timer3Restart(); // §7.2.4 (4)
      else if (!s.timer3Handle) s.timer3Start(); // §6.3.2 R1
    }
    s.updateAdvancedPeerAckPoint();
    if (s.forwardTsnChunk) {
      const forward = s.forwardTsnChunk;
      s.forwardTsnChunk = undefined;
      await s.sendChunk(forward).catch(() => undefined);
    }
    while (s.outboundQueue.length > 0 && s.flightSize < limit) {
      const c = s.outboundQueue[0] as SentChunk;
      // Rule A: within the peer's window, except one chunk when nothing is in flight (zero-window probe).
      if (s.flightSize > 0 && c.bookSize > s.peerRwnd) break;
      if (s.flightSize === 0 && c.bookSize > s.peerRwnd) this.counters.zeroWindowProbes++;
      s.outboundQueue.shift();
      s.sentQueue.push(c);
      c.sentCount++;
      c.sentTime = now;
      this.enterFlight(c);
      await s.sendChunk(c).catch(() => undefined);
      if (!s.timer3Handle) s.timer3Start(); // R1
      if (s.isStopped) return;
    }
    if (s.outboundQueue.length === 0) s.outboundQueue = [];
    s.flush.execute();
  }

  /**
   * RFC 3758 §3.5 A1–A3 (PR-SCTP): a chunk past its lifetime or retransmission limit is
   * abandoned with every fragment of its message, sent or not yet sent.
   */
  private maybeAbandon(chunk: SentChunk): boolean {
    if (chunk.abandoned) return true;
    const expired = chunk.expiry !== undefined && chunk.expiry < Date.now() / 1000;
    const tooMany = chunk.maxRetransmits !== undefined && chunk.sentCount > chunk.maxRetransmits;
    if (!expired && !tooMany) return false;
    const q = this.s.sentQueue;
    const at = q.indexOf(chunk);
    if (at < 0) return false;
    const mark = (c: SentChunk): void => {
      c.abandoned = true;
      c.retransmit = false;
      this.leaveFlight(c);
    };
    // A message's fragments have consecutive TSNs (werift queues them together).
    for (let i = at; i >= 0; i--) {
      const c = q[i] as SentChunk;
      mark(c);
      if (c.flags & DATA_FIRST_FRAG) break;
    }
    let done = (chunk.flags & DATA_LAST_FRAG) !== 0;
    for (let i = at + 1; i < q.length && !done; i++) {
      const c = q[i] as SentChunk;
      mark(c);
      done = (c.flags & DATA_LAST_FRAG) !== 0;
    }
    // The rest of the message may not have been sent yet: it goes into the sent queue as
    // abandoned, so the FORWARD TSN covers its TSNs (RFC 3758 §3.5 A3).
    const out = this.s.outboundQueue;
    while (!done && out.length > 0) {
      const c = out.shift() as SentChunk;
      done = (c.flags & DATA_LAST_FRAG) !== 0;
      c.abandoned = true;
      q.push(c);
    }
    return true;
  }
}

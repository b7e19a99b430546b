/**
 * The send half of an SFU transport: what goes to its peer. It owns the bandwidth estimate
 * toward the peer (../bwe/): every RTP packet carrying the transport-cc slot gets the next
 * transport-wide sequence number and a line in the send history; transport-cc, REMB and the
 * round-trip times measured from receiver reports feed the estimate. It sends padding probes
 * for the stream allocator, caps retransmissions at a budget of the estimate, routes the peer's
 * feedback about our streams (NACK, PLI, FIR) to their consumers, and lets each consumer write
 * its own sender report.
 */
import type { NtpTime, ReportBlock, RtcpPacket } from '../../rtc/rtcp/index.js';
import { ntpMiddle32 } from '../../rtc/rtcp/index.js';
import { TypedEmitter } from '../../util/TypedEmitter.js';
import { BandwidthEstimator, type BandwidthEstimatorOptions } from '../bwe/BandwidthEstimator.js';
import { RetransmissionBudget } from '../bwe/RetransmissionBudget.js';
import { transportCcSlot } from '../bwe/transport-cc-extension.js';
import type { Consumer } from '../Consumer.js';
import type { RtpSink } from '../types.js';

/** Largest padding probe packet: header + 255 padding bytes (RFC 3550 §5.1). */
const PADDING_PACKET_BYTES = 12 + 8 + 255;
/** A round trip this long or more is a stale or forged report block. */
const MAX_RTT_MS = 60_000;

/**
 * Who answers the peer's feedback about one of our SSRCs: a Consumer (its media and RTX
 * SSRCs), or a pipe consumer (each of its pipe SSRCs; `mediaSsrc` tells which layer).
 */
export interface FeedbackTarget {
  handleNack(seqs: readonly number[], mediaSsrc: number): void;
  requestKeyframe(mediaSsrc: number): void;
}

export interface TransportSenderEvents {
  /** The bandwidth estimate toward the peer (bit/s), throttled by the estimator. */
  estimate: [bps: number];
}

export class TransportSender extends TypedEmitter<TransportSenderEvents> {
  readonly consumers = new Set<Consumer>();
  /** Media and RTX SSRCs of our consumers and pipe consumers: where the peer's feedback about them goes. */
  private readonly consumersBySsrc = new Map<number, FeedbackTarget>();
  readonly bwe: BandwidthEstimator;
  /** Caps RTX toward the peer at the estimate; `rtxBudget.dropped` counts what it held back. */
  readonly rtxBudget = new RetransmissionBudget();
  private readonly paddingOut = Buffer.allocUnsafe(PADDING_PACKET_BYTES);
  private probeCluster = 0;
  /** Round-trip times measured from RR blocks about our SRs. */
  rttMs = 0;
  private closed = false;

  /** `wire`: the network transport that protects and sends. */
  constructor(
    private readonly wire: RtpSink,
    bwe: BandwidthEstimatorOptions = {},
  ) {
    super();
    this.bwe = new BandwidthEstimator(bwe);
    this.bwe.on('estimate', (bps) => this.emit('estimate', bps));
  }

  addConsumer(c: Consumer): void {
    this.consumers.add(c);
    this.consumersBySsrc.set(c.ssrc, c);
    if (c.rtxSsrc !== undefined) this.consumersBySsrc.set(c.rtxSsrc, c);
    c.on('close', () => {
      this.consumers.delete(c);
      if (this.consumersBySsrc.get(c.ssrc) === c) this.consumersBySsrc.delete(c.ssrc);
      if (c.rtxSsrc !== undefined && this.consumersBySsrc.get(c.rtxSsrc) === c) this.consumersBySsrc.delete(c.rtxSsrc);
    });
  }

  /** Feedback about `ssrc` goes to `target` (a pipe consumer's SSRC); false when the SSRC is taken. */
  addFeedbackTarget(ssrc: number, target: FeedbackTarget): boolean {
    if (this.closed || this.consumersBySsrc.has(ssrc)) return false;
    this.consumersBySsrc.set(ssrc, target);
    return true;
  }

  removeFeedbackTarget(ssrc: number, target: FeedbackTarget): void {
    if (this.consumersBySsrc.get(ssrc) === target) this.consumersBySsrc.delete(ssrc);
  }

  /** Whether some consumer or pipe consumer sends on `ssrc` here. */
  sendsSsrc(ssrc: number): boolean {
    return this.consumersBySsrc.has(ssrc);
  }

  /** Sends RTP; a packet with the transport-cc slot gets the next transport-wide number first. */
  sendRtp(packet: Buffer): void {
    this.send(packet, false);
  }

  /** Resends on a consumer's RTX SSRC share a budget of one estimate per second. */
  sendRtx(packet: Buffer): void {
    if (!this.rtxBudget.allow(packet.length, performance.now(), this.bwe.estimateBps)) return;
    this.send(packet, false);
  }

  /**
   * Sends up to `count` padding-only RTX packets of `packetBytes` each (header included, at most
   * 275) on a video consumer's RTX stream, stamped and recorded like media so the estimator
   * sees them: the probe the stream allocator uses to climb. Returns how many were sent (0 when
   * no video consumer with RTX has sent anything yet).
   */
  sendPadding(count: number, packetBytes: number): number {
    if (this.closed) return 0;
    let consumer: Consumer | undefined;
    for (const c of this.consumers)
      if (c.kind === 'video' && c.rtxSsrc !== undefined && c.packetsSent > 0) {
        consumer = c;
        break;
      }
    if (!consumer) return 0;
    const n = Math.min(Math.max(Math.floor(count), 0), 1000);
    let sent = 0;
    for (let i = 0; i < n; i++) {
      const len = consumer.writePadding(this.paddingOut, packetBytes - 20);
      if (len === 0) break;
      this.send(this.paddingOut.subarray(0, len), true);
      sent++;
    }
    return sent;
  }

  /**
   * A probe runs (`id` > 0) or ended (0): every packet sent meanwhile, media and padding, is
   * tagged with it so the estimator can read the rate the path carried (ProbeBitrateEstimator).
   */
  setProbeCluster(id: number): void {
    this.probeCluster = id & 0xffff;
  }

  /** The peer's feedback about what we send (SDES, BYE and unknown types are ignored). */
  onFeedback(p: RtcpPacket, now: number): void {
    switch (p.type) {
      case 'nack':
        this.consumersBySsrc.get(p.mediaSsrc)?.handleNack(p.seqs, p.mediaSsrc);
        break;
      case 'pli':
        this.consumersBySsrc.get(p.mediaSsrc)?.requestKeyframe(p.mediaSsrc);
        break;
      case 'fir':
        for (const e of p.entries) this.consumersBySsrc.get(e.ssrc)?.requestKeyframe(e.ssrc);
        break;
      case 'twcc':
        this.bwe.onTransportFeedback(p, now);
        break;
      case 'remb':
        this.bwe.onRemb(p.bitrate, now);
        break;
      case 'rr':
        this.onReportBlocks(p.reports);
        break;
      default:
        break;
    }
  }

  /**
   * RTT from report blocks about our consumers' streams (RFC 3550 §6.4.1): now − LSR − DLSR,
   * all in the middle 32 bits of NTP time (1/65536 s). Our SRs carry wall-clock NTP time.
   */
  onReportBlocks(reports: readonly ReportBlock[]): void {
    for (const r of reports) {
      if (r.lsr === 0 || !this.consumersBySsrc.has(r.ssrc)) continue;
      const rtt = ((ntpMiddle32(Date.now()) - r.lsr - r.dlsr) >>> 0) / 65.536;
      // A wrapped (negative) result or one over a minute is a stale or forged block.
      if (rtt >= MAX_RTT_MS) continue;
      this.rttMs = rtt;
      this.bwe.onRtt(rtt);
    }
  }

  /**
   * Each consumer that has sent writes its SR into `out` from `off`; `flush(off)` is called when
   * the next one might not fit before `room` and returns the new offset. Returns the offset after
   * the last one.
   */
  writeSenderReports(out: Buffer, off: number, room: number, ntp: NtpTime, now: number, flush: (off: number) => number): number {
    for (const c of this.consumers) {
      if (c.packetsSent === 0) continue;
      if (off + SENDER_REPORT_BYTES > room) off = flush(off);
      off += c.writeSenderReport(out, off, ntp, now);
    }
    return off;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.consumers]) c.close();
    this.removeAllListeners();
  }

  private send(packet: Buffer, probe: boolean): void {
    const slot = transportCcSlot(packet);
    if (slot >= 0) packet.writeUInt16BE(this.bwe.onPacketSent(packet.length, performance.now(), probe, this.probeCluster), slot);
    this.wire.sendRtp(packet);
  }
}

/** An SR without report blocks (RFC 3550 §6.4.1). */
export const SENDER_REPORT_BYTES = 28;

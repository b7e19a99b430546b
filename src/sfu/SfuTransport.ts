/**
 * SfuTransport: the SFU's side of one WebRTC transport. It routes what arrives — RTP to the
 * producer of its SSRC, RTCP feedback to the consumer it is about, sender reports to their
 * producer — and runs the transport's RTCP clock: NACKs for missing packets every 20 ms,
 * receiver reports for producers and sender reports for consumers every second
 * (RFC 3550 §6.2 leaves the interval to the profile; browsers send theirs at about that rate).
 *
 * It also owns the transport's bandwidth estimator (./bwe/): every RTP packet it sends that
 * carries the transport-cc slot gets the next transport-wide sequence number and a line in the
 * send history, and transport-cc / REMB feedback and RR round-trip times feed the estimate.
 *
 * Close cascade: closing the transport closes its producers (and so their consumers) and
 * its consumers.
 */
import { randomBytes } from 'node:crypto';
import {
  parseRtcpCompound, writeReceiverReport, writeSdesCname, writeSenderReport, type ReportBlock, type RtcpPacket,
} from '../rtc/rtcp/index.js';
import { RtpHeaderView, findHeaderExtension, parseRtpHeader, readTransportSequence } from '../rtc/rtp/index.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import { BandwidthEstimator, type BandwidthEstimatorOptions } from './bwe/BandwidthEstimator.js';
import { RetransmissionBudget } from './bwe/RetransmissionBudget.js';
import { transportCcSlot } from './bwe/transport-cc-extension.js';
import type { Consumer } from './Consumer.js';
import type { MediaTransport } from './MediaTransport.js';
import type { Producer } from './Producer.js';
import { RidBinder, type StreamRoute } from './receive/RidBinder.js';
import { TwccRecorder } from './receive/TwccRecorder.js';
import type { RtpSink } from './types.js';
import { guarded } from '../util/guarded.js';


export interface SfuTransportEvents {
  close: [];
  /** The bandwidth estimate toward this transport's peer (bit/s), throttled by the estimator. */
  estimate: [bps: number];
}

/** Largest padding probe packet: header + 255 padding bytes (RFC 3550 §5.1). */
const PADDING_PACKET_BYTES = 12 + 8 + 255;

const NACK_INTERVAL_MS = 20;
/** Transport-cc feedback every 5th NACK tick: 100 ms, libwebrtc's default interval. */
const TWCC_EVERY_TICKS = 5;
/** Feedbacks written per interval at most (each covers up to 400 packets). */
const TWCC_MAX_PER_INTERVAL = 4;
/** Room for reports in one compound, leaving space for the SDES chunk and SRTCP's trailer. */
const REPORT_ROOM = 1000;
const SR_BYTES = 28;
const RR_HEADER_BYTES = 8;
const REPORT_BLOCK_BYTES = 24;
const RR_BLOCKS = 31;
const REPORT_INTERVAL_MS = 1000;
/** 2208988800 s between the NTP epoch (1900) and the Unix epoch (RFC 5905 §6). */
const NTP_UNIX_OFFSET = 2_208_988_800;

export class SfuTransport<T extends MediaTransport = MediaTransport> extends TypedEmitter<SfuTransportEvents> implements RtpSink {
  /** Our SSRC as an RTCP sender on this transport (RR, NACK, PLI). */
  readonly rtcpSsrc = randomBytes(4).readUInt32BE(0);
  readonly cname = randomBytes(8).toString('base64url');
  /** Media and RTX SSRCs of every producer stream; rid layers are added as they are bound. */
  private readonly producersBySsrc = new Map<number, StreamRoute>();
  /** Binds simulcast layers' SSRCs from the mid/rid header extensions (RFC 8852). */
  readonly ridBinder = new RidBinder();
  private readonly consumersBySsrc = new Map<number, Consumer>();
  readonly producers = new Set<Producer>();
  readonly consumers = new Set<Consumer>();
  private readonly view = new RtpHeaderView();
  private readonly rtcpOut = Buffer.allocUnsafe(1200);
  /** Only transports that receive (have producers) need the 20 ms NACK clock. */
  private nackTimer: NodeJS.Timeout | null = null;
  private ticks = 0;
  /** Arrivals of the publisher's transport-wide sequence numbers, when it sends them. */
  private twcc: TwccRecorder | null = null;
  private twccExtensionId = 0;
  private readonly reportTimer: NodeJS.Timeout;
  closed = false;
  unknownSsrcPackets = 0;
  malformedRtp = 0;
  malformedRtcp = 0;

  /** Send-side bandwidth estimate toward the peer (meaningful on subscribe transports). */
  readonly bwe: BandwidthEstimator;
  private readonly paddingOut = Buffer.allocUnsafe(PADDING_PACKET_BYTES);
  /** Caps RTX toward the peer at the estimate; `rtxBudget.dropped` counts what it held back. */
  readonly rtxBudget = new RetransmissionBudget();
  private probeCluster = 0;
  /** Round-trip times measured from RR blocks about our SRs. */
  rttMs = 0;

  constructor(readonly id: string, readonly media: T, bwe: BandwidthEstimatorOptions = {}) {
    super();
    this.bwe = new BandwidthEstimator(bwe);
    this.bwe.on('estimate', (bps) => this.emit('estimate', bps));
    media.setReceiver({ onRtp: (p) => this.onRtp(p), onRtcp: (p) => this.onRtcp(p) });
    media.on('closed', () => this.close());
    this.reportTimer = setInterval(guarded('sfu.transport.report-timer', () => this.sendReports(), () => this.close()), REPORT_INTERVAL_MS);
    this.reportTimer.unref();
  }

  get estimateBps(): number { return this.bwe.estimateBps; }
  /** Loss fraction of the estimator's last measurement window (0–1). */
  get lossFraction(): number { return this.bwe.lossFraction; }
  /** Measurement windows (≥ 1 s each) in a row that lost more than 10 %. */
  get lossyWindows(): number { return this.bwe.lossyWindows; }
  /** Whether the subscriber ever sent congestion feedback (transport-cc or REMB). */
  get hasFeedback(): boolean { return this.bwe.hasFeedback; }

  /** Sends RTP; a packet with the transport-cc slot gets the next transport-wide number first. */
  sendRtp(packet: Buffer): void { this.send(packet, false); }

  /**
   * Sends up to `count` padding-only RTX packets of `packetBytes` each (header included, at most
   * 275) on a video consumer's RTX stream, stamped and recorded like media so the estimator
   * sees them: the probe the stream allocator uses to climb. Returns how many were sent (0 when
   * no video consumer with RTX has sent anything yet).
   */
  sendPadding(count: number, packetBytes: number): number {
    if (this.closed) return 0;
    let consumer: Consumer | undefined;
    for (const c of this.consumers) if (c.kind === 'video' && c.rtxSsrc !== undefined && c.packetsSent > 0) { consumer = c; break; }
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

  /** Resends on a consumer's RTX SSRC share a budget of one estimate per second. */
  sendRtx(packet: Buffer): void {
    if (!this.rtxBudget.allow(packet.length, performance.now(), this.bwe.estimateBps)) return;
    this.send(packet, false);
  }

  private send(packet: Buffer, probe: boolean): void {
    const slot = transportCcSlot(packet);
    if (slot >= 0) packet.writeUInt16BE(this.bwe.onPacketSent(packet.length, performance.now(), probe, this.probeCluster), slot);
    this.media.sendRtp(packet);
  }
  sendRtcp(packet: Buffer): void { this.media.sendRtcp(packet); }

  /**
   * The publisher's transport-wide-cc extension id (one id for the whole BUNDLE, RFC 8843
   * §9.2): from now on its sequence numbers are recorded and fed back every 100 ms.
   */
  enableTransportFeedback(extensionId: number): void {
    if (this.twccExtensionId === extensionId) return;
    this.twccExtensionId = extensionId;
    this.twcc ??= new TwccRecorder();
  }

  get transportFeedbacksSent(): number {
    return this.twcc?.feedbacksSent ?? 0;
  }

  addProducer(p: Producer): void {
    this.producers.add(p);
    if (!this.nackTimer && !this.closed) {
      this.nackTimer = setInterval(guarded('sfu.transport.nack-timer', () => this.sendNacks(), () => this.close()), NACK_INTERVAL_MS);
      this.nackTimer.unref();
    }
    for (const stream of p.streams) {
      if (stream.ssrc !== 0) this.producersBySsrc.set(stream.ssrc, { producer: p, stream });
      if (stream.rtxSsrc !== undefined) this.producersBySsrc.set(stream.rtxSsrc, { producer: p, stream });
    }
    p.on('close', () => {
      this.producers.delete(p);
      for (const [ssrc, route] of this.producersBySsrc) if (route.producer === p) this.producersBySsrc.delete(ssrc);
    });
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.nackTimer) clearInterval(this.nackTimer);
    clearInterval(this.reportTimer);
    for (const p of [...this.producers]) p.close();
    for (const c of [...this.consumers]) c.close();
    this.media.close();
    this.emit('close');
    this.removeAllListeners();
  }

  private onRtp(packet: Buffer): void {
    if (!parseRtpHeader(packet, this.view)) {
      this.malformedRtp++;
      return;
    }
    const now = performance.now();
    if (this.twcc) {
      // Every packet counts for the publisher's estimate, even one of an SSRC not yet bound.
      const off = findHeaderExtension(packet, this.view, this.twccExtensionId);
      const seq = off < 0 ? -1 : readTransportSequence(packet, off, this.view.extensionElementLength);
      if (seq >= 0) this.twcc.onPacket(seq, now);
    }
    let route = this.producersBySsrc.get(this.view.ssrc);
    if (!route) {
      route = this.ridBinder.bind(packet, this.view, this.producers) ?? undefined;
      if (!route) {
        this.unknownSsrcPackets++;
        return;
      }
      // A layer that moved to a new SSRC (encoder restart) forgets the old one.
      for (const [ssrc, r] of this.producersBySsrc) {
        if (r.stream === route.stream && ssrc !== route.stream.ssrc && ssrc !== route.stream.rtxSsrc) this.producersBySsrc.delete(ssrc);
      }
      this.producersBySsrc.set(this.view.ssrc, route);
    }
    route.producer.receive(packet, this.view, now, route.stream);
  }

  private onRtcp(packet: Buffer): void {
    const packets = parseRtcpCompound(packet);
    if (!packets) {
      this.malformedRtcp++;
      return;
    }
    const now = performance.now();
    for (const p of packets) this.onRtcpPacket(p, now);
  }

  private onRtcpPacket(p: RtcpPacket, now: number): void {
    switch (p.type) {
      case 'sr':
        {
          const route = this.producersBySsrc.get(p.ssrc);
          if (route && route.stream.ssrc === p.ssrc) route.producer.senderReport(route.stream, p.ntpSec, p.ntpFrac, now);
        }
        if (p.reports.length > 0) this.roundTrip(p.reports);
        break;
      case 'nack':
        this.consumersBySsrc.get(p.mediaSsrc)?.handleNack(p.seqs);
        break;
      case 'pli':
        this.consumersBySsrc.get(p.mediaSsrc)?.requestKeyframe();
        break;
      case 'fir':
        for (const e of p.entries) this.consumersBySsrc.get(e.ssrc)?.requestKeyframe();
        break;
      case 'twcc':
        this.bwe.onTransportFeedback(p, now);
        break;
      case 'remb':
        this.bwe.onRemb(p.bitrate, now);
        break;
      case 'rr':
        this.roundTrip(p.reports);
        break;
      default:
        // SDES, BYE, unknown: nothing to do.
        break;
    }
  }

  /**
   * RTT from report blocks about our consumers' streams (RFC 3550 §6.4.1): now − LSR − DLSR,
   * all in the middle 32 bits of NTP time (1/65536 s). Our SRs carry wall-clock NTP time.
   */
  private roundTrip(reports: readonly ReportBlock[]): void {
    for (const r of reports) {
      if (r.lsr === 0 || !this.consumersBySsrc.has(r.ssrc)) continue;
      const wallMs = Date.now();
      const ntpSec = Math.floor(wallMs / 1000) + NTP_UNIX_OFFSET;
      const frac16 = Math.floor(((wallMs % 1000) / 1000) * 0x10000);
      const mid = (((ntpSec & 0xffff) << 16) | frac16) >>> 0;
      const rtt = ((mid - r.lsr - r.dlsr) >>> 0) / 65.536;
      // A wrapped (negative) result or one over a minute is a stale or forged block.
      if (rtt >= 60_000) continue;
      this.rttMs = rtt;
      this.bwe.onRtt(rtt);
    }
  }

  private sendNacks(): void {
    const now = performance.now();
    for (const p of this.producers) p.sendNacks(now);
    if (this.twcc && ++this.ticks % TWCC_EVERY_TICKS === 0) this.sendTransportFeedback();
  }

  private sendTransportFeedback(): void {
    const twcc = this.twcc as TwccRecorder;
    const mediaSsrc = this.producers.values().next().value?.ssrc ?? 0;
    for (let i = 0; i < TWCC_MAX_PER_INTERVAL; i++) {
      const len = twcc.writeFeedback(this.rtcpOut, 0, this.rtcpSsrc, mediaSsrc);
      if (len === 0) break;
      this.media.sendRtcp(this.rtcpOut.subarray(0, len));
    }
  }

  /**
   * Every second: SRs for our consumers, RR blocks for our producers, each compound closed by
   * our SDES CNAME (RFC 3550 §6.1). Compounds are cut to fit one datagram.
   */
  private sendReports(): void {
    if (this.closed) return;
    const now = performance.now();
    const wallMs = Date.now();
    const ntpSec = Math.floor(wallMs / 1000) + NTP_UNIX_OFFSET;
    const ntpFrac = Math.floor(((wallMs % 1000) / 1000) * 0x100000000);
    const reports: ReportBlock[] = [];
    for (const p of this.producers) p.reportBlocks(now, reports);
    let off = 0;
    const flush = (): void => {
      off += writeSdesCname(this.rtcpOut, off, this.rtcpSsrc, this.cname);
      this.media.sendRtcp(this.rtcpOut.subarray(0, off));
      off = 0;
    };
    for (const c of this.consumers) {
      if (c.packetsSent === 0) continue;
      if (off + SR_BYTES > REPORT_ROOM) flush();
      // The RTP timestamp of "now" in the stream's clock, from its last packet (RFC 3550 §6.4.1).
      const clock = c.producer.codec.clockRate;
      const rtpTimestamp = (c.lastRtpTimestamp + Math.round(((now - c.lastSentAt) * clock) / 1000)) >>> 0;
      off += writeSenderReport(this.rtcpOut, off, {
        ssrc: c.ssrc, ntpSec, ntpFrac, rtpTimestamp, packetCount: c.packetsSent >>> 0, octetCount: c.octetsSent >>> 0, reports: [],
      });
    }
    // RR: up to 31 blocks per packet (5-bit count); at least one RR when nothing else was sent.
    for (let i = 0; i < reports.length || (i === 0 && off === 0); i += RR_BLOCKS) {
      const blocks = reports.slice(i, i + RR_BLOCKS);
      if (off + RR_HEADER_BYTES + blocks.length * REPORT_BLOCK_BYTES > REPORT_ROOM) flush();
      off += writeReceiverReport(this.rtcpOut, off, { ssrc: this.rtcpSsrc, reports: blocks });
    }
    if (off > 0) flush();
  }
}

/**
 * SfuTransport: the SFU's side of one WebRTC transport, made of two halves over the network
 * transport (`media`, from the Router's factory):
 * - the receive half (receive/TransportReceiver): RTP to the producer of its SSRC, NACKs every
 *   20 ms, transport-cc feedback, sender reports to their streams, RR blocks;
 * - the send half (send/TransportSender): bandwidth estimation, padding probes, the RTX
 *   budget, the peer's feedback (NACK, PLI/FIR, transport-cc, REMB, RR) to our consumers.
 * The network transport hands decrypted packets straight to this transport's receiver (wired at
 * construction); this class only sorts RTCP between the halves and, every second, sends one
 * report compound: each consumer's SR, the RR blocks of the producers, our SDES CNAME
 * (RFC 3550 §6.1; §6.2 leaves the interval to the profile, browsers send theirs about that often).
 *
 * Close cascade: closing the transport closes its producers (and so their consumers) and
 * its consumers.
 */
import { randomBytes } from 'node:crypto';
import { ntpTime, parseRtcpCompound, writeReceiverReport, writeSdesCname, type NtpTime, type ReportBlock } from '../rtc/rtcp/index.js';
import { guarded } from '../util/guarded.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import type { BandwidthEstimatorOptions } from './bwe/BandwidthEstimator.js';
import type { Consumer } from './Consumer.js';
import type { MediaTransport } from './MediaTransport.js';
import type { Producer } from './Producer.js';
import { TransportReceiver } from './receive/TransportReceiver.js';
import { TransportSender, type FeedbackTarget } from './send/TransportSender.js';
import type { RtpSink } from './types.js';

export interface SfuTransportEvents {
  close: [];
  /** The bandwidth estimate toward this transport's peer (bit/s), throttled by the estimator. */
  estimate: [bps: number];
}

/** Room for reports in one compound, leaving space for the SDES chunk and SRTCP's trailer. */
const REPORT_ROOM = 1000;
const RR_HEADER_BYTES = 8;
const REPORT_BLOCK_BYTES = 24;
const RR_BLOCKS = 31;
const REPORT_INTERVAL_MS = 1000;

export class SfuTransport<T extends MediaTransport = MediaTransport> extends TypedEmitter<SfuTransportEvents> implements RtpSink {
  /** Our SSRC as an RTCP sender on this transport (RR, NACK, PLI). */
  readonly rtcpSsrc = randomBytes(4).readUInt32BE(0);
  readonly cname = randomBytes(8).toString('base64url');
  readonly receiver: TransportReceiver;
  readonly sender: TransportSender;
  private readonly rtcpOut = Buffer.allocUnsafe(1200);
  private readonly ntp: NtpTime = { sec: 0, frac: 0 };
  private readonly reportBlocks: ReportBlock[] = [];
  private readonly reportTimer: NodeJS.Timeout;
  closed = false;
  malformedRtcp = 0;

  constructor(
    readonly id: string,
    readonly media: T,
    bwe: BandwidthEstimatorOptions = {},
  ) {
    super();
    this.receiver = new TransportReceiver(media, this.rtcpSsrc, () => this.close());
    this.sender = new TransportSender(media, bwe);
    this.sender.on('estimate', (bps) => this.emit('estimate', bps));
    media.setReceiver({ onRtp: (p) => this.receiver.onRtp(p), onRtcp: (p) => this.onRtcp(p) });
    media.on('closed', () => this.close());
    this.reportTimer = setInterval(
      guarded(
        'sfu.transport.report-timer',
        () => this.sendReports(),
        () => this.close(),
      ),
      REPORT_INTERVAL_MS,
    );
    this.reportTimer.unref();
  }

  get producers(): ReadonlySet<Producer> {
    return this.receiver.producers;
  }
  get consumers(): ReadonlySet<Consumer> {
    return this.sender.consumers;
  }
  get bwe(): TransportSender['bwe'] {
    return this.sender.bwe;
  }
  get rtxBudget(): TransportSender['rtxBudget'] {
    return this.sender.rtxBudget;
  }
  get ridBinder(): TransportReceiver['ridBinder'] {
    return this.receiver.ridBinder;
  }
  get rttMs(): number {
    return this.sender.rttMs;
  }
  get estimateBps(): number {
    return this.sender.bwe.estimateBps;
  }
  /** Loss fraction of the estimator's last measurement window (0–1). */
  get lossFraction(): number {
    return this.sender.bwe.lossFraction;
  }
  /** Measurement windows (≥ 1 s each) in a row that lost more than 10 %. */
  get lossyWindows(): number {
    return this.sender.bwe.lossyWindows;
  }
  /** Whether the subscriber ever sent congestion feedback (transport-cc or REMB). */
  get hasFeedback(): boolean {
    return this.sender.bwe.hasFeedback;
  }
  get unknownSsrcPackets(): number {
    return this.receiver.unknownSsrcPackets;
  }
  get malformedRtp(): number {
    return this.receiver.malformedRtp;
  }
  get transportFeedbacksSent(): number {
    return this.receiver.transportFeedbacksSent;
  }

  sendRtp(packet: Buffer): void {
    this.sender.sendRtp(packet);
  }
  sendRtx(packet: Buffer): void {
    this.sender.sendRtx(packet);
  }
  sendRtcp(packet: Buffer): void {
    this.media.sendRtcp(packet);
  }
  sendPadding(count: number, packetBytes: number): number {
    return this.sender.sendPadding(count, packetBytes);
  }
  setProbeCluster(id: number): void {
    this.sender.setProbeCluster(id);
  }
  enableTransportFeedback(extensionId: number): void {
    this.receiver.enableTransportFeedback(extensionId);
  }

  addProducer(p: Producer): void {
    if (!this.closed) this.receiver.addProducer(p);
  }
  addConsumer(c: Consumer): void {
    if (!this.closed) this.sender.addConsumer(c);
  }
  /** The peer's NACK/PLI/FIR about `ssrc` go to `target` (a pipe consumer); false when taken or closed. */
  addFeedbackTarget(ssrc: number, target: FeedbackTarget): boolean {
    return this.sender.addFeedbackTarget(ssrc, target);
  }
  removeFeedbackTarget(ssrc: number, target: FeedbackTarget): void {
    this.sender.removeFeedbackTarget(ssrc, target);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.reportTimer);
    this.receiver.close();
    this.sender.close();
    this.media.close();
    this.emit('close');
    this.removeAllListeners();
  }

  private onRtcp(packet: Buffer): void {
    const packets = parseRtcpCompound(packet);
    if (!packets) {
      this.malformedRtcp++;
      return;
    }
    const now = performance.now();
    for (const p of packets) {
      if (p.type === 'sr') {
        this.receiver.onSenderReport(p, now);
        if (p.reports.length > 0) this.sender.onReportBlocks(p.reports);
      } else {
        // The rest is the peer's feedback about what we send.
        this.sender.onFeedback(p, now);
      }
    }
  }

  /** Every second: our consumers' SRs and our producers' RR blocks, compounds cut to fit one datagram. */
  private sendReports(): void {
    if (this.closed) return;
    const now = performance.now();
    const blocks = this.reportBlocks;
    blocks.length = 0;
    this.receiver.reportBlocks(now, blocks);
    const flush = (off: number): number => {
      off += writeSdesCname(this.rtcpOut, off, this.rtcpSsrc, this.cname);
      this.media.sendRtcp(this.rtcpOut.subarray(0, off));
      return 0;
    };
    let off = this.sender.writeSenderReports(this.rtcpOut, 0, REPORT_ROOM, ntpTime(Date.now(), this.ntp), now, flush);
    // RR: up to 31 blocks per packet (5-bit count); at least one RR when nothing else was sent.
    for (let i = 0; i < blocks.length || (i === 0 && off === 0); i += RR_BLOCKS) {
      const chunk = blocks.slice(i, i + RR_BLOCKS);
      if (off + RR_HEADER_BYTES + chunk.length * REPORT_BLOCK_BYTES > REPORT_ROOM) off = flush(off);
      off += writeReceiverReport(this.rtcpOut, off, { ssrc: this.rtcpSsrc, reports: chunk });
    }
    if (off > 0) flush(off);
  }
}

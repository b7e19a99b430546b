/**
 * The receive half of an SFU transport: what its peer publishes. It routes each RTP packet to
 * the producer stream of its SSRC (binding simulcast layers' SSRCs from their rid, RFC 8852),
 * records transport-wide sequence numbers and feeds them back every 100 ms (transport-cc),
 * runs the 20 ms NACK clock of its producers, hands sender reports to their streams, and gives
 * the receiver-report blocks of its producers to the transport's report.
 */
import type { ReportBlock, RtcpSenderReport } from '../../rtc/rtcp/index.js';
import { RtpHeaderView, findHeaderExtension, parseRtpHeader, readTransportSequence } from '../../rtc/rtp/index.js';
import { guarded } from '../../util/guarded.js';
import type { Producer } from '../Producer.js';
import type { RtcpSink } from '../types.js';
import { RidBinder, type StreamRoute } from './RidBinder.js';
import { TwccRecorder } from './TwccRecorder.js';

const NACK_INTERVAL_MS = 20;
/** Transport-cc feedback every 5th NACK tick: 100 ms, libwebrtc's default interval. */
const TWCC_EVERY_TICKS = 5;
/** Feedbacks written per interval at most (each covers up to 400 packets). */
const TWCC_MAX_PER_INTERVAL = 4;

export class TransportReceiver {
  readonly producers = new Set<Producer>();
  /** Binds simulcast layers' SSRCs from the mid/rid header extensions (RFC 8852). */
  readonly ridBinder = new RidBinder();
  /** Media and RTX SSRCs of every producer stream; rid layers are added as they are bound. */
  private readonly routes = new Map<number, StreamRoute>();
  private readonly view = new RtpHeaderView();
  private readonly rtcpOut = Buffer.allocUnsafe(1200);
  /** Only transports that receive (have producers) need the 20 ms NACK clock. */
  private nackTimer: NodeJS.Timeout | null = null;
  private ticks = 0;
  /** Arrivals of the publisher's transport-wide sequence numbers, when it sends them. */
  private twcc: TwccRecorder | null = null;
  private twccExtensionId = 0;
  private closed = false;
  unknownSsrcPackets = 0;
  malformedRtp = 0;

  /**
   * `rtcp`: where feedback goes (the transport); `rtcpSsrc`: ours as its sender; `onFault`: what a
   * throw in the NACK clock does (the transport closes).
   */
  constructor(
    private readonly rtcp: RtcpSink,
    private readonly rtcpSsrc: number,
    private readonly onFault: () => void,
  ) {}

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
      this.nackTimer = setInterval(
        guarded('sfu.transport.nack-timer', () => this.tick(), this.onFault),
        NACK_INTERVAL_MS,
      );
      this.nackTimer.unref();
    }
    for (const stream of p.streams) {
      if (stream.ssrc !== 0) this.routes.set(stream.ssrc, { producer: p, stream });
      if (stream.rtxSsrc !== undefined) this.routes.set(stream.rtxSsrc, { producer: p, stream });
    }
    p.on('close', () => {
      this.producers.delete(p);
      for (const [ssrc, route] of this.routes) if (route.producer === p) this.routes.delete(ssrc);
    });
  }

  onRtp(packet: Buffer): void {
    const view = this.view;
    if (!parseRtpHeader(packet, view)) {
      this.malformedRtp++;
      return;
    }
    const now = performance.now();
    if (this.twcc) {
      // Every packet counts for the publisher's estimate, even one of an SSRC not yet bound.
      const off = findHeaderExtension(packet, view, this.twccExtensionId);
      const seq = off < 0 ? -1 : readTransportSequence(packet, off, view.extensionElementLength);
      if (seq >= 0) this.twcc.onPacket(seq, now);
    }
    let route = this.routes.get(view.ssrc);
    if (!route) {
      route = this.ridBinder.bind(packet, view, this.producers) ?? undefined;
      if (!route) {
        this.unknownSsrcPackets++;
        return;
      }
      // A layer that moved to a new SSRC (encoder restart) forgets the old one.
      for (const [ssrc, r] of this.routes) {
        if (r.stream === route.stream && ssrc !== route.stream.ssrc && ssrc !== route.stream.rtxSsrc) this.routes.delete(ssrc);
      }
      this.routes.set(view.ssrc, route);
    }
    route.producer.receive(packet, view, now, route.stream);
  }

  /** A sender report from the publisher: its stream's clock mapping (RFC 3550 §6.4.1). */
  onSenderReport(sr: RtcpSenderReport, now: number): void {
    const route = this.routes.get(sr.ssrc);
    if (route && route.stream.ssrc === sr.ssrc) route.producer.senderReport(route.stream, sr.ntpSec, sr.ntpFrac, now);
  }

  /** RR blocks of every producer stream with data, appended to `out`. */
  reportBlocks(now: number, out: ReportBlock[]): void {
    for (const p of this.producers) p.reportBlocks(now, out);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.nackTimer) clearInterval(this.nackTimer);
    for (const p of [...this.producers]) p.close();
  }

  private tick(): void {
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
      this.rtcp.sendRtcp(this.rtcpOut.subarray(0, len));
    }
  }
}

/**
 * One publisher → N subscribers through any SFU the load tool has a signaling driver for
 * (src/loadtest: SwitchboardDriver, JanusVideoRoomDriver), with the load tool's own peers
 * (node-datachannel, ndc-peers.ts) and media (the recorded Chromium VP8 + Opus grown to a target
 * bit rate, each packet ending with the capture-time trailer, media-trailer.ts). Used by
 * bench/sfu-vs-janus.ts to measure both servers the same way.
 *
 * Measurement is by window: packets whose capture time falls in [t0, t1) are counted on the
 * publisher as sent and on every subscriber as received (read from the trailer, so it does not
 * matter what the SFU did to SSRCs or sequence numbers; RTX payload types are left out), with
 * arrival − capture into a latency histogram. Packets captured in the window that arrive up to
 * GRACE_MS after t1 still count. Loss = 1 − received ÷ (sent × subscribers).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { SignalingDriver, PublishSession, SubscribeSession } from '../../src/loadtest/driver.js';
import { TRAILER_LENGTH, TrailerView, nowUs, readTrailer } from '../../src/loadtest/media-trailer.js';
import { NdcPublisher, NdcSubscriber } from '../../src/loadtest/ndc-peers.js';
import type { NodeDataChannel } from '../../src/loadtest/peer-libraries.js';
import { PUBLISH_CODECS } from '../../src/loadtest/peer.js';
import { LogHistogram } from '../../src/loadtest/percentiles.js';
import { readRtpFile } from '../../src/loadtest/rtp-file.js';
import { RtpReplayer } from '../../src/loadtest/rtp-replayer.js';
import { RtpHeaderView, parseRtpHeader } from '../../src/rtc/rtp/index.js';

/** How long after the window packets captured inside it may still arrive. */
const GRACE_MS = 400;
/** After the grace, how long packets of the window are still counted, as late (a diagnosis: queued, not lost). */
const LATE_MS = 1500;
const TRACK_VIDEO = 1;
const TRACK_AUDIO = 2;

export interface FanoutOptions {
  driver: SignalingDriver;
  ndc: NodeDataChannel;
  room: string;
  /** The publisher's video bit rate (RTP header + payload), bit/s. */
  videoBitrate: number;
  /** Folder of chromium-vp8.sbrtp and chromium-opus.sbrtp. */
  mediaDir: string;
  joinTimeoutMs: number;
  /** Subscribers joining at once. */
  joinConcurrency: number;
}

export interface WindowResult {
  subscribers: number;
  windowS: number;
  /** Packets (audio + video) the publisher captured in the window. */
  sent: number;
  /** Distinct-by-count packets captured in the window and received, over all subscribers. */
  received: number;
  lossPct: number;
  /** Subscribers that received nothing of the window. */
  silent: number;
  /** Packets of the window that arrived after the grace but within LATE_MS more (counted as lost above). */
  late: number;
  /** Event-loop delay of this process (the peers' JS thread) over the window, p99 in ms: a starved generator shows here. */
  peersLoopDelayP99Ms: number;
  latencyP50Us: number;
  latencyP99Us: number;
  /** CPU of this process (the peers) over the window, % of one core. */
  peersCpuPct: number;
}

/** The RTX payload types of an offer (a=fmtp:PT apt=…, RFC 4588 §8.6). */
function rtxPayloadTypes(sdp: string): Set<number> {
  const out = new Set<number>();
  for (const m of sdp.matchAll(/^a=fmtp:(\d+) apt=\d+/gm)) out.add(Number(m[1]));
  return out;
}

class Receiver {
  received = 0;
  late = 0;
  rtx = new Set<number>();
  constructor(readonly peer: NdcSubscriber, readonly session: SubscribeSession) {}
}

export class FanoutLoad {
  readonly subscribers: Receiver[] = [];
  readonly joinMs: number[] = [];
  private readonly replayers: RtpReplayer[] = [];
  private windowStartUs = Infinity;
  private windowEndUs = -Infinity;
  /** Set after the grace: packets of the window now count as late. */
  private counting: 'received' | 'late' = 'received';
  private loopDelay: IntervalHistogram | undefined;
  private sent = 0;
  private latency = new LogHistogram();
  private readonly view = new RtpHeaderView();
  private readonly trailer = new TrailerView();
  private closed = false;

  private constructor(
    private readonly opts: FanoutOptions, private readonly publisher: NdcPublisher, private readonly publishSession: PublishSession,
    /** Join failures and asynchronous session errors, in order. */
    readonly errors: string[],
  ) {}

  /** The publisher joins, connects and starts sending. */
  static async start(opts: FanoutOptions): Promise<FanoutLoad> {
    const publisher = new NdcPublisher(opts.ndc, 'bench-publisher');
    const ssrcs = { audio: 0x1111_0001, video: 0x2222_0002 };
    let session: PublishSession | undefined;
    const errors: string[] = [];
    try {
      const offer = await publisher.createOffer(ssrcs);
      session = await opts.driver.publish(opts.room, 'publisher', offer, { onError: (e) => errors.push(e) });
      await publisher.applyAnswer(session.answerSdp);
      await publisher.connected(opts.joinTimeoutMs);
    } catch (e) {
      await session?.close().catch(() => undefined);
      await publisher.close();
      throw e;
    }
    const load = new FanoutLoad(opts, publisher, session, errors);
    const video = new RtpReplayer(readRtpFile(`${opts.mediaDir}/chromium-vp8.sbrtp`), {
      kind: 'video', ssrc: ssrcs.video, payloadType: PUBLISH_CODECS.video.payloadType, clockRate: PUBLISH_CODECS.video.clockRate,
      targetBitrate: opts.videoBitrate, trackId: TRACK_VIDEO, send: (p) => load.onSend('video', p),
    });
    const audio = new RtpReplayer(readRtpFile(`${opts.mediaDir}/chromium-opus.sbrtp`), {
      kind: 'audio', ssrc: ssrcs.audio, payloadType: PUBLISH_CODECS.audio.payloadType, clockRate: PUBLISH_CODECS.audio.clockRate,
      trackId: TRACK_AUDIO, send: (p) => load.onSend('audio', p),
    });
    load.replayers.push(video, audio);
    publisher.onKeyframeRequest(() => video.requestKeyframe());
    for (const r of load.replayers) r.start();
    return load;
  }

  /** Publisher bit rate as sent so far (bit/s, RTP header + payload, audio + video). */
  get sentBitrate(): number {
    return this.replayers.reduce((s, r) => s + r.bitrate, 0);
  }

  /** Adds subscribers until there are `total` (joins `joinConcurrency` at a time); failures are kept in `errors`. */
  async growTo(total: number, deadlineMs: number): Promise<void> {
    while (this.subscribers.length < total && Date.now() < deadlineMs && !this.closed) {
      const batch = Math.min(this.opts.joinConcurrency, total - this.subscribers.length);
      const joins = [];
      for (let i = 0; i < batch; i++) joins.push(this.addSubscriber(this.subscribers.length + i));
      const results = await Promise.allSettled(joins);
      for (const r of results) {
        if (r.status === 'fulfilled') this.subscribers.push(r.value);
        else this.errors.push(r.reason instanceof Error ? r.reason.message : String(r.reason));
      }
      if (results.every((r) => r.status === 'rejected')) throw new Error(`no subscriber could join: ${this.errors.slice(-3).join('; ')}`);
    }
  }

  /** Counts packets captured from now until `endWindow()`. */
  startWindow(): { cpuStart: NodeJS.CpuUsage; startUs: number } {
    this.sent = 0;
    this.counting = 'received';
    for (const s of this.subscribers) { s.received = 0; s.late = 0; }
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
    this.latency = new LogHistogram();
    this.windowEndUs = Infinity;
    this.windowStartUs = nowUs();
    return { cpuStart: process.cpuUsage(), startUs: this.windowStartUs };
  }

  /** Closes the window, waits GRACE_MS for its last packets, and sums up. */
  async endWindow(started: { cpuStart: NodeJS.CpuUsage; startUs: number }): Promise<WindowResult> {
    this.windowEndUs = nowUs();
    const cpu = process.cpuUsage(started.cpuStart);
    const windowS = (this.windowEndUs - started.startUs) / 1e6;
    this.loopDelay?.disable();
    const loopDelayP99Ms = (this.loopDelay?.percentile(99) ?? NaN) / 1e6;
    await new Promise((r) => setTimeout(r, GRACE_MS));
    this.counting = 'late';
    let received = 0;
    let silent = 0;
    for (const s of this.subscribers) { received += s.received; if (s.received === 0) silent++; }
    const expected = this.sent * this.subscribers.length;
    await new Promise((r) => setTimeout(r, LATE_MS));
    let late = 0;
    for (const s of this.subscribers) late += s.late;
    // Stop counting: packets captured before windowStart are ignored.
    this.windowStartUs = Infinity;
    return {
      subscribers: this.subscribers.length, windowS, sent: this.sent, received,
      lossPct: expected > 0 ? Math.max(0, (100 * (expected - received)) / expected) : NaN,
      silent, late, peersLoopDelayP99Ms: loopDelayP99Ms, latencyP50Us: this.latency.percentile(50), latencyP99Us: this.latency.percentile(99),
      peersCpuPct: (100 * (cpu.user + cpu.system)) / 1e6 / windowS,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.replayers) r.stop();
    await Promise.allSettled(this.subscribers.map((s) => s.session.close()));
    await this.publishSession.close().catch(() => undefined);
    await Promise.allSettled([this.publisher.close(), ...this.subscribers.map((s) => s.peer.close())]);
  }

  private onSend(kind: 'audio' | 'video', packet: Buffer): void {
    this.publisher.sendRtp(kind, packet);
    // The trailer's capture time (media-trailer.ts) decides the window, as on the receivers.
    const captureUs = packet.readDoubleBE(packet.length - 8);
    if (captureUs >= this.windowStartUs && captureUs < this.windowEndUs && packet.length >= TRAILER_LENGTH) this.sent++;
  }

  private async addSubscriber(index: number): Promise<Receiver> {
    const name = `bench-subscriber-${index}`;
    const peer = new NdcSubscriber(this.opts.ndc, name);
    let receiver: Receiver | undefined;
    const rtx = new Set<number>();
    const t0 = performance.now();
    try {
      const session = await this.opts.driver.subscribe(this.opts.room, name, {
        onOffer: async (sdp) => {
          for (const pt of rtxPayloadTypes(sdp)) rtx.add(pt);
          return peer.answer(sdp);
        },
        onError: (e) => this.errors.push(e),
      });
      receiver = new Receiver(peer, session);
      receiver.rtx = rtx;
      const r = receiver;
      peer.onRtp((p) => this.onReceive(r, p));
      this.joinMs.push(performance.now() - t0);
      return receiver;
    } catch (e) {
      await peer.close();
      throw e;
    }
  }

  /** Per packet, per subscriber: allocates nothing. */
  private onReceive(r: Receiver, packet: Buffer): void {
    const v = this.view;
    if (!parseRtpHeader(packet, v) || r.rtx.has(v.payloadType)) return;
    if (!readTrailer(packet, v.headerLength, v.headerLength + v.payloadLength, this.trailer)) return;
    const c = this.trailer.captureUs;
    if (c < this.windowStartUs || c >= this.windowEndUs) return;
    if (this.counting === 'late') { r.late++; return; }
    r.received++;
    this.latency.add(nowUs() - c);
  }
}

/**
 * A headless SFU participant in Node: our signaling over `ws` (messages.ts: hello → join
 * {topology: 'sfu'} → `sfu-offer` publish → `sfu-answer`; the server's subscribe `sfu-offer`s
 * answered by revision, strictly one after another), with the WebRTC side supplied by an
 * independent library (sfu-node-peer-ndc.ts: libdatachannel; sfu-node-peer-werift.ts: werift).
 *
 * It publishes the recorded Chromium VP8 and Opus (test/fixtures/media) at real rate, answers
 * keyframe requests, counts the RTP it receives per publishing participant, and sends and
 * receives chat lines through the server's data-channel relay (DataRelay.ts).
 */
import sdpTransform from 'sdp-transform';
import { WebSocket } from 'ws';
import type { ServerMessage, SfuServerOfferMsg } from '../../src/protocol/index.js';
import { RtpReceiveCounter, RtpReplayer, loadRecordedMedia, type ReceivedFrom } from './sfu-node-peer-media.js';
import { wsText } from './ws-text.js';

/** The recordings' codecs, as the peer offers them (payload types as Chromium's). */
export const PUBLISH_CODECS = {
  video: { name: 'VP8', payloadType: 96, clockRate: 90000 },
  audio: { name: 'opus', payloadType: 111, clockRate: 48000, channels: 2 },
} as const;

/** A relayed chat line: who sent it (the channel's protocol) and its text. */
export interface ChatLine {
  from: string;
  text: string;
}

/** What a WebRTC library must do for the peer: two connections, raw RTP in and out, a chat channel. */
export interface SfuPeerRtc {
  readonly library: string;
  /** Publish connection: offer sendonly audio (opus) + video (VP8) with these SSRCs and a negotiated chat channel (id 0). */
  createPublishOffer(ssrcs: { audio: number; video: number }): Promise<string>;
  applyPublishAnswer(sdp: string): Promise<void>;
  /** Resolves when the publish connection can carry RTP (DTLS-SRTP up). */
  publishConnected(): Promise<void>;
  sendRtp(kind: 'audio' | 'video', packet: Buffer): void;
  /** Called on a PLI or FIR for our video. */
  onKeyframeRequest(cb: () => void): void;
  /** Subscribe connection: apply the server's offer, return our answer. */
  answerSubscribeOffer(sdp: string): Promise<string>;
  /** Plain RTP (and RTCP: the caller filters) received on the subscribe connection. */
  onSubscribeRtp(cb: (packet: Buffer) => void): void;
  sendChat(text: string): boolean;
  onChat(cb: (line: ChatLine) => void): void;
  close(): Promise<void>;
}

const random32 = (): number => (Math.floor(Math.random() * 0xffff_fff0) + 1) >>> 0;
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class SfuNodePeer {
  readonly received = new RtpReceiveCounter();
  readonly chatLog: ChatLine[] = [];
  readonly errors: string[] = [];
  readonly ssrcs = { audio: random32(), video: random32() };
  /** The room's other participants as signaling announced them: id → display name. */
  readonly names = new Map<string, string>();
  id = '';
  answeredRevisions: number[] = [];
  private readonly replayers: RtpReplayer[] = [];
  private offers: Promise<void> = Promise.resolve();
  private publishAnswer: ((sdp: string) => void) | null = null;
  private closed = false;

  private constructor(
    private readonly ws: WebSocket,
    readonly rtc: SfuPeerRtc,
    readonly name: string,
  ) {
    ws.on('message', (data) => this.onMessage(JSON.parse(wsText(data)) as ServerMessage));
    rtc.onSubscribeRtp((p) => this.received.onPacket(p));
    rtc.onChat((line) => this.chatLog.push(line));
  }

  /**
   * Connects, joins `room` as an SFU participant (or creates it as an MCU room: the same two
   * connections, the mixer's tracks come back), publishes, and starts sending the recorded media.
   */
  static async join(
    wsUrl: string,
    room: string,
    name: string,
    rtc: SfuPeerRtc,
    timeoutMs = 20_000,
    topology: 'sfu' | 'mcu' = 'sfu',
  ): Promise<SfuNodePeer> {
    const ws = new WebSocket(wsUrl);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      }),
      timeoutMs,
      `${name}: WebSocket open`,
    );
    const peer = new SfuNodePeer(ws, rtc, name);
    try {
      await peer.start(room, timeoutMs, topology);
    } catch (err) {
      await peer.close();
      throw err;
    }
    return peer;
  }

  receivedFrom(participantId: string): ReceivedFrom {
    return this.received.byParticipant.get(participantId) ?? { audioPackets: 0, audioPayloadBytes: 0, videoPackets: 0, videoKeyframes: 0 };
  }

  /** The participant id behind a display name, once signaling has announced it. */
  idOf(name: string): string | undefined {
    for (const [id, n] of this.names) if (n === name) return id;
    return undefined;
  }

  /** In an MCU room: asks to view another composition (`mcu-layout`). */
  setLayout(layout: 'grid' | 'speaker' | 'presentation'): void {
    this.send({ type: 'mcu-layout', layout });
  }

  sendChat(text: string): boolean {
    return this.rtc.sendChat(JSON.stringify({ text }));
  }

  get packetsSent(): number {
    return this.replayers.reduce((n, r) => n + r.packetsSent, 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.replayers) r.stop();
    this.ws.close(1000);
    await this.rtc.close();
  }

  /** Goes away without a word: the socket is cut (the server holds the session for its resume grace) and the media connections closed. */
  async drop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.replayers) r.stop();
    this.ws.terminate();
    await this.rtc.close();
  }

  private async start(room: string, timeoutMs: number, topology: 'sfu' | 'mcu'): Promise<void> {
    this.send({ type: 'hello', name: this.name });
    const welcome = await this.next('welcome', timeoutMs);
    this.id = welcome.sessionId;
    this.send({ type: 'join', room, topology });
    const joined = await this.next('joined', timeoutMs);
    for (const p of joined.participants) this.names.set(p.id, p.name);
    const offer = await this.rtc.createPublishOffer(this.ssrcs);
    const answer = new Promise<string>((resolve) => {
      this.publishAnswer = resolve;
    });
    this.send({ type: 'sfu-offer', transport: 'publish', sdp: offer, id: 'publish' });
    await this.rtc.applyPublishAnswer(await withTimeout(answer, timeoutMs, `${this.name}: sfu-answer`));
    await withTimeout(this.rtc.publishConnected(), timeoutMs, `${this.name}: publish connection (${this.rtc.library})`);
    const media = loadRecordedMedia();
    for (const kind of ['video', 'audio'] as const) {
      const codec = PUBLISH_CODECS[kind];
      this.replayers.push(
        new RtpReplayer(media[kind], {
          kind,
          ssrc: this.ssrcs[kind],
          payloadType: codec.payloadType,
          clockRate: codec.clockRate,
          send: (p) => this.rtc.sendRtp(kind, Buffer.from(p)), // the replayer reuses its buffer
        }),
      );
    }
    this.rtc.onKeyframeRequest(() => this.replayers[0]?.requestKeyframe());
    for (const r of this.replayers) r.start();
  }

  // ---- signaling -------------------------------------------------------------------------

  private readonly inbox: ServerMessage[] = [];
  private waiter: (() => void) | null = null;

  private onMessage(m: ServerMessage): void {
    if (m.type === 'sfu-offer') {
      this.offers = this.offers
        .then(() => this.applySubscribeOffer(m))
        .catch((err: unknown) => {
          this.errors.push(`subscribe offer ${m.revision}: ${errorText(err)}`);
        });
    } else if (m.type === 'sfu-answer') {
      this.publishAnswer?.(m.sdp);
    } else if (m.type === 'participant-joined') {
      this.names.set(m.participant.id, m.participant.name);
    } else if (m.type === 'error') {
      this.errors.push(`${m.inReplyTo ?? 'server'}: ${m.code} ${m.message}`);
    }
    this.inbox.push(m);
    this.waiter?.();
  }

  private async next<T extends ServerMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Extract<ServerMessage, { type: T }>;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no "${type}" within ${timeoutMs} ms (errors: ${this.errors.join('; ')})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private send(msg: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private async applySubscribeOffer(m: SfuServerOfferMsg): Promise<void> {
    if (this.closed) return;
    const answer = await this.rtc.answerSubscribeOffer(m.sdp);
    // The SSRC the server sends each track with: the first of its FID group (RFC 4588 §8.6), else its only one.
    for (const media of sdpTransform.parse(m.sdp).media) {
      const track = m.tracks.find((t) => t.mid === String(media.mid));
      const fid = media.ssrcGroups?.find((g) => g.semantics === 'FID');
      const primary = fid ? Number(fid.ssrcs.split(' ')[0]) : Number(media.ssrcs?.[0]?.id);
      if (track && Number.isInteger(primary)) this.received.mapSsrc(primary, track.participantId, track.kind);
    }
    this.send({ type: 'sfu-answer', transport: 'subscribe', sdp: answer, revision: m.revision });
    this.answeredRevisions.push(m.revision);
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

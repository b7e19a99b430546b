/**
 * The SignalingDriver for Switchboard's own protocol (src/protocol/messages.ts): one WebSocket
 * per session, hello → welcome → join {topology: 'sfu' (or 'mcu')} → joined; a publisher then sends
 * `sfu-offer {transport: 'publish'}` and gets `sfu-answer`; every participant receives subscribe
 * `sfu-offer`s (the first right after joining, then one per change of the forwarded set) and
 * answers each by revision, strictly one after another.
 *
 * A publish session never answers its subscribe offers: the load tool's publishers only send. The
 * server then keeps that offer pending and forwards nothing down that connection, which is what a
 * send-only participant costs a real deployment too.
 */
import { randomBytes } from 'node:crypto';
import sdpTransform from 'sdp-transform';
import { createAccessToken } from '../../src/signaling/auth.js';
import { WebSocket } from 'ws';
import type { ServerMessage, SfuServerOfferMsg } from '../../src/protocol/index.js';
import type {
  DriverOptions,
  OfferedTrack,
  PublishSession,
  SessionEvents,
  SignalingDriver,
  SubscribeHandlers,
  SubscribeSession,
} from './driver.js';
import { InternalErrorCode, SwitchboardError } from '../../src/protocol/errors.js';

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The signaling URL for a server URL: http(s)://host:port[/] → ws(s)://host:port/ws; ws(s):// as given. */
export function signalingUrl(url: URL): URL {
  if (url.protocol === 'ws:' || url.protocol === 'wss:') return url;
  const ws = new URL(url.href);
  ws.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (ws.pathname === '/' || ws.pathname === '') ws.pathname = '/ws';
  return ws;
}

/**
 * A frame from the server → the message, or why it is dropped. Only what the driver reads is
 * checked (the server is trusted to speak the protocol, but a bad frame must not crash a run):
 * a JSON object with a string `type`; `sfu-offer` with a string sdp, an integer revision and a
 * track table; `sfu-answer` with a string sdp; `joined` with a participant list.
 */
export function decodeServerFrame(text: string): ServerMessage | string {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return 'a frame that is not JSON';
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'a frame that is not a JSON object';
  const o = m as Record<string, unknown>;
  if (typeof o.type !== 'string') return 'a message without a type';
  const isText = (v: unknown, max: number): boolean => typeof v === 'string' && v.length <= max;
  const participantList = (v: unknown): boolean =>
    Array.isArray(v) &&
    v.length <= 10_000 &&
    v.every(
      (p) => typeof p === 'object' && p !== null && isText((p as { id?: unknown }).id, 256) && isText((p as { name?: unknown }).name, 1024),
    );
  switch (o.type) {
    case 'sfu-offer':
      if (!isText(o.sdp, 1_000_000) || !Number.isSafeInteger(o.revision) || !Array.isArray(o.tracks) || o.tracks.length > 10_000)
        return 'a malformed sfu-offer';
      if (
        !o.tracks.every(
          (t) =>
            typeof t === 'object' &&
            t !== null &&
            isText((t as { mid?: unknown }).mid, 64) &&
            isText((t as { participantId?: unknown }).participantId, 256) &&
            ((t as { kind?: unknown }).kind === 'audio' || (t as { kind?: unknown }).kind === 'video'),
        )
      )
        return 'a malformed sfu-offer track';
      break;
    case 'sfu-answer':
      if (!isText(o.sdp, 1_000_000)) return 'a malformed sfu-answer';
      break;
    case 'joined':
      if (!participantList(o.participants)) return 'a malformed joined';
      break;
    case 'participant-joined':
      if (!participantList([o.participant])) return 'a malformed participant-joined';
      break;
    case 'error':
      if (!isText(o.code, 256) || !isText(o.message, 4096)) return 'a malformed error';
      break;
    default:
  }
  return o as unknown as ServerMessage;
}

/** One participant's signaling connection. */
class Connection {
  readonly inbox: ServerMessage[] = [];
  private waiter: (() => void) | null = null;
  private offers: Promise<void> = Promise.resolve();
  closed = false;
  /** Frames from the server that were not messages the driver could use. */
  dropped = 0;
  /** The room's participants as signaling announced them: id → display name. */
  readonly names = new Map<string, string>();
  onSubscribeOffer: ((m: SfuServerOfferMsg) => Promise<void>) | null = null;
  onError: (message: string) => void = () => undefined;

  constructor(
    readonly ws: WebSocket,
    readonly name: string,
    private readonly timeoutMs: number,
  ) {
    // binaryType is ws's default ('nodebuffer'): every message arrives as one Buffer.
    ws.on('message', (data: Buffer) => {
      const m = decodeServerFrame(data.toString());
      if (typeof m === 'string') {
        this.dropped++;
        if (this.dropped <= 10) this.onError(`${name}: dropped ${m}`);
        return;
      }
      this.onMessage(m);
    });
    ws.on('close', (code) => {
      if (!this.closed) this.onError(`${name}: signaling closed (${code})`);
      this.waiter?.();
    });
    ws.on('error', (err) => this.onError(`${name}: signaling ${err.message}`));
  }

  static async open(url: URL, name: string, timeoutMs: number): Promise<Connection> {
    const ws = new WebSocket(url);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      }),
      timeoutMs,
      `${name}: WebSocket open`,
    ).catch((err: unknown) => {
      ws.terminate();
      throw err;
    });
    return new Connection(ws, name, timeoutMs);
  }

  async joinRoom(room: string, topology: 'sfu' | 'mcu', token?: string): Promise<void> {
    this.send({ type: 'hello', name: this.name, ...(token ? { token } : {}) });
    await this.next('welcome');
    this.send({ type: 'join', room, topology });
    await this.next('joined');
  }

  send(msg: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  async next<T extends ServerMessage['type']>(type: T): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = performance.now() + this.timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Extract<ServerMessage, { type: T }>;
      const err = this.inbox.find((m) => m.type === 'error');
      if (err && err.type === 'error')
        throw new SwitchboardError(InternalErrorCode.Unavailable, `${this.name}: server error ${err.code}: ${err.message}`);
      if (this.ws.readyState !== WebSocket.OPEN)
        throw new SwitchboardError(InternalErrorCode.Closed, `${this.name}: signaling closed while waiting for "${type}"`);
      const left = deadline - performance.now();
      if (left <= 0) throw new SwitchboardError(InternalErrorCode.Unavailable, `${this.name}: no "${type}" within ${this.timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ws.readyState === WebSocket.OPEN) {
      this.send({ type: 'leave' });
      const gone = new Promise<void>((r) => this.ws.once('close', () => r()));
      this.ws.close(1000);
      await Promise.race([gone, new Promise((r) => setTimeout(r, 1000))]);
    }
    this.ws.terminate();
  }

  private onMessage(m: ServerMessage): void {
    if (m.type === 'sfu-offer') {
      const handle = this.onSubscribeOffer;
      if (!handle) return; // a publish session: never answered (see the file comment)
      this.offers = this.offers
        .then(() => (this.closed ? undefined : handle(m)))
        .catch((err: unknown) => {
          this.onError(`${this.name}: subscribe offer ${m.revision}: ${errorText(err)}`);
        });
      return;
    }
    if (m.type === 'error' && this.inbox.length > 200) return; // bounded: errors nobody waits for
    if (m.type === 'participant-joined') this.names.set(m.participant.id, m.participant.name);
    if (m.type === 'joined') for (const p of m.participants) this.names.set(p.id, p.name);
    if (m.type === 'pong' || m.type === 'participant-joined' || m.type === 'participant-left') return;
    this.inbox.push(m);
    if (m.type === 'error') this.onError(`${this.name}: server error ${m.code}: ${m.message}`);
    this.waiter?.();
  }
}

/** The tracks of a subscribe offer: its track table joined with each section's primary SSRC (RFC 4588 §8.6 FID: the first). */
function offeredTracks(m: SfuServerOfferMsg, names: ReadonlyMap<string, string>): OfferedTrack[] {
  const out: OfferedTrack[] = [];
  for (const media of sdpTransform.parse(m.sdp).media) {
    const track = m.tracks.find((t) => t.mid === String(media.mid));
    const fid = media.ssrcGroups?.find((g) => g.semantics === 'FID');
    const ssrc = fid ? Number(fid.ssrcs.split(' ')[0]) : Number(media.ssrcs?.[0]?.id);
    if (!track || !track.active || !Number.isInteger(ssrc)) continue;
    const publisher = names.get(track.participantId);
    out.push({ mid: track.mid, kind: track.kind, ssrc, publisher });
  }
  return out;
}

export interface SwitchboardDriverOptions {
  /** The server's auth secret: each peer then joins with a token of its own (identity = peer name + a run id, this room only). */
  authSecret?: string;
  /** The topology rooms are joined with (default sfu). */
  topology?: 'sfu' | 'mcu';
}

export class SwitchboardDriver implements SignalingDriver {
  readonly name = 'switchboard';
  private readonly ws: URL;
  private readonly connections = new Set<Connection>();
  /** Keeps identities of two runs against one server apart. */
  private readonly runId = randomBytes(4).toString('hex');

  constructor(
    private readonly options: DriverOptions,
    private readonly own: SwitchboardDriverOptions = {},
  ) {
    this.ws = signalingUrl(options.url);
  }

  private async token(room: string, peerName: string): Promise<string | undefined> {
    if (!this.own.authSecret) return undefined;
    return createAccessToken({
      secret: this.own.authSecret,
      identity: `${peerName}.${this.runId}`,
      room,
      ttlSeconds: 3600,
      name: peerName,
    });
  }

  async publish(room: string, peerName: string, offerSdp: string, events: SessionEvents = {}): Promise<PublishSession> {
    const conn = await this.connect(peerName, events);
    try {
      await conn.joinRoom(room, this.own.topology ?? 'sfu', await this.token(room, peerName));
      conn.send({ type: 'sfu-offer', transport: 'publish', sdp: offerSdp, id: 'publish' });
      const answer = await conn.next('sfu-answer');
      return { answerSdp: answer.sdp, close: () => this.release(conn) };
    } catch (err) {
      await this.release(conn);
      throw err;
    }
  }

  async subscribe(room: string, peerName: string, handlers: SubscribeHandlers): Promise<SubscribeSession> {
    const conn = await this.connect(peerName, handlers);
    let firstAnswered: () => void = () => undefined;
    const first = new Promise<void>((r) => {
      firstAnswered = r;
    });
    conn.onSubscribeOffer = async (m) => {
      const answer = await handlers.onOffer(m.sdp);
      conn.send({ type: 'sfu-answer', transport: 'subscribe', sdp: answer, revision: m.revision });
      handlers.onTracks?.(offeredTracks(m, conn.names));
      firstAnswered();
    };
    try {
      await conn.joinRoom(room, this.own.topology ?? 'sfu', await this.token(room, peerName));
      await withTimeout(first, this.options.timeoutMs, `${peerName}: first subscribe offer`);
      return { close: () => this.release(conn) };
    } catch (err) {
      await this.release(conn);
      throw err;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections].map((c) => this.release(c)));
  }

  private async connect(peerName: string, events: SessionEvents): Promise<Connection> {
    const conn = await Connection.open(this.ws, peerName, this.options.timeoutMs);
    conn.onError = (message) => events.onError?.(message);
    this.connections.add(conn);
    return conn;
  }

  private async release(conn: Connection): Promise<void> {
    this.connections.delete(conn);
    await conn.close();
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SwitchboardError(InternalErrorCode.Unavailable, `timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

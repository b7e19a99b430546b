/**
 * A client of the Janus API over its WebSocket transport (subprotocol "janus-protocol"), for
 * the side-by-side benchmark against Janus only: sessions (create, keepalive, destroy), plugin
 * handles (attach, message with an optional JSEP, trickle, detach), and the events Janus pushes
 * (webrtcup, media, hangup, plugin events).
 *
 * Janus answers a plugin "message" either synchronously ({janus:"success", plugindata}) or with
 * an "ack" followed by an "event" carrying the same transaction (its asynchronous requests:
 * join, configure, start); `request()` resolves on whichever final reply comes. Everything
 * received is validated by `parseJanusMessage` (never throws); malformed frames are dropped
 * and counted in `malformed`.
 */
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { TypedEmitter } from '../../src/util/TypedEmitter.js';
import { InternalErrorCode, SwitchboardError } from '../../src/protocol/errors.js';

export interface JanusJsep {
  type: 'offer' | 'answer';
  sdp: string;
}

/** One frame from Janus, reduced to the fields this client reads. */
export interface JanusMessage {
  janus: string;
  transaction: string | undefined;
  sessionId: number | undefined;
  /** The handle an event is about. */
  sender: number | undefined;
  /** `data.id` of a create/attach success. */
  id: number | undefined;
  /** The plugin's reply or event (plugindata.data). */
  pluginData: Record<string, unknown> | undefined;
  jsep: JanusJsep | undefined;
  error: { code: number; reason: string } | undefined;
  /** Why a PeerConnection was hung up. */
  reason: string | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optNumber = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined);
const optString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A Janus API frame, or null when it is not JSON or lacks a string `janus` field. Never throws. */
export function parseJanusMessage(text: string): JanusMessage | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(v) || typeof v.janus !== 'string') return null;
  const data = isObject(v.data) ? v.data : undefined;
  const plugindata = isObject(v.plugindata) && isObject(v.plugindata.data) ? v.plugindata.data : undefined;
  let jsep: JanusJsep | undefined;
  if (isObject(v.jsep)) {
    const { type, sdp } = v.jsep;
    if ((type === 'offer' || type === 'answer') && typeof sdp === 'string') jsep = { type, sdp };
    else return null;
  }
  let error: JanusMessage['error'];
  if (isObject(v.error)) error = { code: optNumber(v.error.code) ?? 0, reason: optString(v.error.reason) ?? 'no reason given' };
  return {
    janus: v.janus,
    transaction: optString(v.transaction),
    sessionId: optNumber(v.session_id),
    sender: optNumber(v.sender),
    id: optNumber(data?.id),
    pluginData: plugindata,
    jsep,
    error,
    reason: optString(v.reason),
  };
}

/** Janus refused a request: its numeric error code is in the message. */
function janusError(what: string, code: number, reason: string): SwitchboardError {
  return new SwitchboardError(InternalErrorCode.Unavailable, `janus ${what}: ${code} ${reason}`);
}

interface Pending {
  resolve(m: JanusMessage): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  what: string;
}

/** Janus drops a session silent for session_timeout (60 s by default); keep well inside it. */
const KEEPALIVE_MS = 15_000;

/** One WebSocket to Janus; any number of sessions over it. */
export class JanusConnection {
  /** Frames that were not a valid Janus message (dropped). */
  malformed = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly handles = new Map<number, JanusHandle>();
  private readonly sessions = new Set<JanusSession>();
  private closed = false;

  private constructor(
    private readonly ws: WebSocket,
    readonly requestTimeoutMs: number,
  ) {
    // binaryType is ws's default ('nodebuffer'): every message arrives as one Buffer.
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const m = isBinary ? null : parseJanusMessage(data.toString());
      if (!m) {
        this.malformed++;
        return;
      }
      this.dispatch(m);
    });
    ws.on('close', () => this.fail(new SwitchboardError(InternalErrorCode.Closed, 'janus: WebSocket closed')));
    ws.on('error', () => {
      /* 'close' follows */
    });
  }

  static open(url: string, timeoutMs = 10_000, requestTimeoutMs = 15_000): Promise<JanusConnection> {
    const ws = new WebSocket(url, 'janus-protocol', { handshakeTimeout: timeoutMs });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.off('error', reject);
        resolve(new JanusConnection(ws, requestTimeoutMs));
      });
      ws.once('error', reject);
    });
  }

  /** Sends `msg` with a fresh transaction; resolves with the final reply (an "ack" is skipped). */
  request(msg: Record<string, unknown>, what: string): Promise<JanusMessage> {
    if (this.closed) return Promise.reject(new SwitchboardError(InternalErrorCode.Closed, `janus ${what}: connection closed`));
    const transaction = randomBytes(9).toString('base64url');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(transaction);
        reject(new SwitchboardError(InternalErrorCode.Unavailable, `janus ${what}: no reply within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(transaction, { resolve, reject, timer, what });
      this.ws.send(JSON.stringify({ ...msg, transaction }));
    });
  }

  /** A request whose reply only matters if it is an error (trickle, keepalive). */
  send(msg: Record<string, unknown>): void {
    if (!this.closed && this.ws.readyState === WebSocket.OPEN)
      this.ws.send(JSON.stringify({ ...msg, transaction: randomBytes(9).toString('base64url') }));
  }

  async createSession(): Promise<JanusSession> {
    const reply = await this.request({ janus: 'create' }, 'create session');
    if (reply.janus !== 'success' || reply.id === undefined) throw replyError('create session', reply);
    const session = new JanusSession(this, reply.id);
    this.sessions.add(session);
    return session;
  }

  /** Destroys every session still open, then closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.sessions].map((s) => s.destroy()));
    this.closed = true;
    this.ws.close(1000);
    this.fail(new SwitchboardError(InternalErrorCode.Closed, 'janus: connection closed'));
  }

  /** @internal */
  registerHandle(h: JanusHandle): void {
    this.handles.set(h.id, h);
  }
  /** @internal */
  forgetHandle(h: JanusHandle): void {
    this.handles.delete(h.id);
  }
  /** @internal */
  forgetSession(s: JanusSession): void {
    this.sessions.delete(s);
  }

  private dispatch(m: JanusMessage): void {
    if (m.janus === 'ack') return;
    const p = m.transaction !== undefined ? this.pending.get(m.transaction) : undefined;
    if (p) {
      this.pending.delete(m.transaction!);
      clearTimeout(p.timer);
      p.resolve(m);
      return;
    }
    // Unsolicited: webrtcup, media, slowlink, hangup, detached, plugin events.
    if (m.sender !== undefined) this.handles.get(m.sender)?.deliver(m);
  }

  private fail(err: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(
        new SwitchboardError(
          err instanceof SwitchboardError ? err.code : InternalErrorCode.Unavailable,
          `${err.message} (during ${p.what})`,
        ),
      );
    }
    this.pending.clear();
    for (const s of this.sessions) s.stopKeepalive();
  }
}

function replyError(what: string, m: JanusMessage): Error {
  if (m.error) return janusError(what, m.error.code, m.error.reason);
  const pe = m.pluginData;
  if (pe && typeof pe.error === 'string') return janusError(what, optNumber(pe.error_code) ?? 0, pe.error);
  return new SwitchboardError(InternalErrorCode.Malformed, `janus ${what}: unexpected reply "${m.janus}"`);
}

export class JanusSession {
  private readonly keepalive: NodeJS.Timeout;
  private destroyed = false;

  constructor(
    readonly conn: JanusConnection,
    readonly id: number,
  ) {
    this.keepalive = setInterval(() => conn.send({ janus: 'keepalive', session_id: id }), KEEPALIVE_MS);
    this.keepalive.unref();
  }

  async attach(plugin: string): Promise<JanusHandle> {
    const reply = await this.conn.request({ janus: 'attach', session_id: this.id, plugin }, `attach ${plugin}`);
    if (reply.janus !== 'success' || reply.id === undefined) throw replyError(`attach ${plugin}`, reply);
    const h = new JanusHandle(this, reply.id);
    this.conn.registerHandle(h);
    return h;
  }

  stopKeepalive(): void {
    clearInterval(this.keepalive);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.stopKeepalive();
    this.conn.forgetSession(this);
    await this.conn.request({ janus: 'destroy', session_id: this.id }, 'destroy session').catch(() => undefined);
  }
}

export interface JanusHandleEvents {
  /** A plugin event not tied to one of our requests (e.g. new publishers in a room). */
  event: [data: Record<string, unknown>, jsep: JanusJsep | undefined];
  /** ICE and DTLS are up for this handle's PeerConnection. */
  webrtcup: [];
  hangup: [reason: string];
}

export class JanusHandle extends TypedEmitter<JanusHandleEvents> {
  webrtcUp = false;

  constructor(
    readonly session: JanusSession,
    readonly id: number,
  ) {
    super();
  }

  /**
   * A plugin request with an optional JSEP; resolves with the plugin's reply data and JSEP
   * (the "success" of a synchronous request or the "event" of an asynchronous one).
   */
  async message(body: Record<string, unknown>, jsep?: JanusJsep): Promise<{ data: Record<string, unknown>; jsep: JanusJsep | undefined }> {
    const what = `${String(body.request)} (handle ${this.id})`;
    const msg: Record<string, unknown> = { janus: 'message', session_id: this.session.id, handle_id: this.id, body };
    if (jsep) msg.jsep = jsep;
    const reply = await this.session.conn.request(msg, what);
    if ((reply.janus !== 'success' && reply.janus !== 'event') || !reply.pluginData || typeof reply.pluginData.error === 'string') {
      throw replyError(what, reply);
    }
    return { data: reply.pluginData, jsep: reply.jsep };
  }

  /** Half-trickle: our candidates are in the SDP already; this says there are no more (janus.js does the same). */
  trickleCompleted(): void {
    this.session.conn.send({ janus: 'trickle', session_id: this.session.id, handle_id: this.id, candidate: { completed: true } });
  }

  async detach(): Promise<void> {
    this.session.conn.forgetHandle(this);
    await this.session.conn.request({ janus: 'detach', session_id: this.session.id, handle_id: this.id }, 'detach').catch(() => undefined);
  }

  /** @internal */
  deliver(m: JanusMessage): void {
    if (m.janus === 'webrtcup') {
      this.webrtcUp = true;
      this.emit('webrtcup');
    } else if (m.janus === 'hangup') this.emit('hangup', m.reason ?? 'hangup');
    else if (m.janus === 'event' && m.pluginData) this.emit('event', m.pluginData, m.jsep);
  }
}

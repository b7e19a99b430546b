/**
 * SignalingClient: the WebSocket to the server's `/ws`.
 *
 * - `connect()` sends `hello` and resolves with the `welcome`.
 * - `request()` tags a message with an id and resolves with the reply carrying that `ref`
 *   (or rejects with a SignalingError when the server answers with `error`).
 * - When the socket drops, it reconnects with backoff and sends `resume {sessionToken}` so the
 *   session keeps its identity and room (peers see nothing) as long as the server's grace period
 *   lasts. Messages sent meanwhile are queued and flushed after `resumed`. If the resume is refused,
 *   it says hello again and emits `session-lost` so the owner can rejoin.
 * - An application-level `ping` every heartbeat detects a dead server (browsers hide WS pings).
 */
import type { ClientMessage, ErrorMsg, ResumedMsg, ServerMessage, WelcomeMsg } from '../src/protocol/index.js';
import { Emitter } from './emitter.js';

export type SignalingState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface SignalingOptions {
  /** ws(s)://host/ws; defaults to the page's origin. */
  url?: string;
  token?: string;
  identity?: string;
  name?: string;
  /** Milliseconds to wait for a request's reply. */
  requestTimeoutMs?: number;
}

export interface SignalingEvents {
  message: ServerMessage;
  state: SignalingState;
  /** The session survived a reconnect. */
  resumed: ResumedMsg;
  /** The old session is gone (resume refused or grace over); a new one started. */
  'session-lost': WelcomeMsg;
  /** An `error` from the server that no pending request claimed. */
  error: ErrorMsg;
}

export class SignalingError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'SignalingError';
  }
}

/** Anything the client sends, minus the id the client assigns itself. */
type Outgoing = ClientMessage;

interface Pending {
  resolve(msg: ServerMessage): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export function defaultSignalingUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws`;
}

export class SignalingClient extends Emitter<SignalingEvents> {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private readonly pending = new Map<string | number, Pending>();
  private queue: Outgoing[] = [];
  private welcomeMsg: WelcomeMsg | null = null;
  private stateValue: SignalingState = 'idle';
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastPong = 0;
  private closedByUser = false;
  private disconnectedAt = 0;
  private reconnectAttempt = 0;
  private readonly url: string;
  private readonly timeoutMs: number;

  constructor(private readonly opts: SignalingOptions = {}) {
    super();
    this.url = opts.url ?? defaultSignalingUrl();
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  get state(): SignalingState {
    return this.stateValue;
  }
  get welcome(): WelcomeMsg | null {
    return this.welcomeMsg;
  }
  get sessionId(): string | null {
    return this.welcomeMsg?.sessionId ?? null;
  }
  get sessionToken(): string | null {
    return this.welcomeMsg?.sessionToken ?? null;
  }

  /** Opens the socket and identifies; resolves with the server's `welcome`. */
  async connect(): Promise<WelcomeMsg> {
    this.closedByUser = false;
    this.setState('connecting');
    await this.openSocket();
    return this.hello();
  }

  /** Sends without waiting for a reply; queued while reconnecting. */
  send(msg: Outgoing): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.stateValue === 'open') {
      this.ws.send(JSON.stringify(msg));
    } else if (this.stateValue !== 'closed') {
      this.queue.push(msg);
    }
  }

  /** Sends with a fresh id and resolves with the reply whose `ref` matches. */
  request<M extends ServerMessage = ServerMessage>(msg: Outgoing): Promise<M> {
    const id = this.nextId++;
    const tagged = { ...msg, id } as Outgoing;
    const reply = this.awaitRef(id) as Promise<M>;
    this.send(tagged);
    return reply;
  }

  close(): void {
    this.closedByUser = true;
    this.stopPing();
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('signaling closed'));
    }
    this.pending.clear();
    this.queue = [];
    this.ws?.close(1000, 'bye');
    this.ws = null;
    this.setState('closed');
  }

  // ---- internals ---------------------------------------------------------------------

  private setState(s: SignalingState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.emit('state', s);
  }

  private openSocket(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        resolve();
      };
      ws.onmessage = (ev) => {
        if (this.ws === ws) this.onFrame(ev.data);
      };
      ws.onclose = () => {
        if (!opened) reject(new Error(`cannot connect to ${this.url}`));
        if (this.ws === ws) this.onSocketClosed();
      };
      // `close` always follows `error`; handling happens there.
      ws.onerror = () => undefined;
    });
  }

  /** Raw send that bypasses the queue: used for hello/resume before the state is `open`. */
  private sendNow(msg: Outgoing): void {
    this.ws?.send(JSON.stringify(msg));
  }

  private async hello(): Promise<WelcomeMsg> {
    const id = this.nextId++;
    const reply = this.awaitRef(id);
    const hello: Outgoing = { type: 'hello', id };
    if (this.opts.token) hello.token = this.opts.token;
    if (this.opts.identity) hello.identity = this.opts.identity;
    if (this.opts.name) hello.name = this.opts.name;
    this.sendNow(hello);
    const msg = await reply;
    if (msg.type !== 'welcome') throw new SignalingError('unexpected', `expected welcome, got ${msg.type}`);
    this.welcomeMsg = msg;
    this.reconnectAttempt = 0;
    this.setState('open');
    this.startPing(msg.heartbeatMs);
    return msg;
  }

  private awaitRef(id: string | number): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalingError('timeout', `no reply to request ${id} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  private onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: ServerMessage;
    try {
      msg = JSON.parse(data) as ServerMessage;
    } catch {
      console.warn('[switchboard] dropped a non-JSON frame from the server');
      return;
    }
    if (msg.type === 'pong') this.lastPong = Date.now();
    const ref = 'ref' in msg ? msg.ref : undefined;
    if (ref !== undefined) {
      const p = this.pending.get(ref);
      if (p) {
        this.pending.delete(ref);
        clearTimeout(p.timer);
        if (msg.type === 'error') p.reject(new SignalingError(msg.code, msg.message, msg.field));
        else p.resolve(msg);
        if (msg.type !== 'error') this.emit('message', msg);
        return;
      }
    }
    if (msg.type === 'error') this.emit('error', msg);
    this.emit('message', msg);
  }

  private startPing(heartbeatMs: number): void {
    this.stopPing();
    const every = Math.max(1000, Math.min(heartbeatMs || 15_000, 30_000));
    this.lastPong = Date.now();
    this.pingTimer = setInterval(() => {
      // Two missed heartbeats: the socket is half-open; drop it and let reconnect resume.
      if (Date.now() - this.lastPong > every * 2.5) {
        console.warn('[switchboard] no pong from server; reconnecting');
        this.ws?.close();
        return;
      }
      if (this.stateValue === 'open') this.sendNow({ type: 'ping' });
    }, every);
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private onSocketClosed(): void {
    this.stopPing();
    this.ws = null;
    if (this.closedByUser || !this.welcomeMsg) {
      this.setState('closed');
      return;
    }
    if (this.stateValue !== 'reconnecting') this.disconnectedAt = Date.now();
    this.setState('reconnecting');
    const delay = Math.min(250 * 2 ** this.reconnectAttempt, 4000);
    this.reconnectAttempt++;
    setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    if (this.closedByUser) return;
    try {
      await this.openSocket();
    } catch {
      return; // onSocketClosed already scheduled the next attempt
    }
    const welcome = this.welcomeMsg;
    const graceMs = (welcome?.resumeGraceSeconds ?? 30) * 1000;
    if (welcome && Date.now() - this.disconnectedAt < graceMs) {
      const id = this.nextId++;
      const reply = this.awaitRef(id);
      this.sendNow({ type: 'resume', id, sessionToken: welcome.sessionToken });
      try {
        const msg = await reply;
        if (msg.type === 'resumed') {
          this.reconnectAttempt = 0;
          this.setState('open');
          this.startPing(welcome.heartbeatMs);
          this.flushQueue();
          this.emit('resumed', msg);
          return;
        }
      } catch (err) {
        console.warn('[switchboard] resume refused; starting a new session', err);
      }
    }
    // Resume impossible: a fresh session. Queued relay messages addressed old peers; drop them.
    this.queue = [];
    try {
      const fresh = await this.hello();
      this.emit('session-lost', fresh);
    } catch (err) {
      console.warn('[switchboard] hello after reconnect failed', err);
      this.ws?.close();
    }
  }

  private flushQueue(): void {
    const q = this.queue;
    this.queue = [];
    for (const m of q) this.send(m);
  }
}

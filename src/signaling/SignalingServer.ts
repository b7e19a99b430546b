/**
 * The WebSocket signaling server (`/ws`). It identifies clients (`hello`/`resume`), keeps
 * rooms, relays JSEP offers/answers and trickled ICE candidates between members of one
 * room or the two parties of one call, and runs the 1:1 call flow's WebSocket half.
 *
 * Every inbound frame is validated by src/protocol; a bad one is answered with an `error`
 * naming the field and never closes the connection or touches another one.
 *
 * Bounds (docs/ARCHITECTURE.md, "Signaling rules"): connections per client address
 * (`maxConnectionsPerIp`, excess upgrades get HTTP 429), a deadline for `hello`/`resume`
 * (`helloTimeoutMs`, close 1008), what `ws` may hold for a slow reader
 * (`maxOutboundBufferBytes`, close 1013, the session waits for `resume`), and call attempts
 * and rings (CallManager). Every socket and timer callback runs under `guarded`: a fault
 * closes only its own connection (1011).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  MAX_MESSAGE_BYTES, parseClientMessage,
  SwitchboardError, type ClientMessage, type ErrorCode, type IceServer, type ServerMessage,
} from '../protocol/index.js';
import { grantsRoom, verifyAccessToken, type AccessGrant } from './auth.js';
import { CallManager } from './CallManager.js';
import { TokenBucket } from '../util/TokenBucket.js';
import { entryFaults, guarded } from '../util/guarded.js';
import { ConnectionsByAddress, clientAddress } from './ConnectionsByAddress.js';
import { SLOW_READER_CLOSE_CODE, sendBounded, type OutboundPolicy } from './outbound.js';
import type { MediaRooms } from './MediaRooms.js';
import { Room, type RoomTopology } from './Room.js';
import { Session } from './Session.js';
import { nullObserver, type SignalingObserver } from './SignalingObserver.js';

export interface SignalingOptions {
  authSecret?: string;
  heartbeatMs: number;
  resumeGraceMs: number;
  callRingMs: number;
  maxRoomParticipants: number;
  /** Mesh rooms hold at most this many (default 8): every page connects to every other. */
  maxMeshParticipants?: number;
  rateLimit: { perSecond: number; burst: number };
  /** A connection that has not identified (`hello`/`resume`) by then is closed with 1008. */
  helloTimeoutMs: number;
  /** Open WebSockets per client IP address; upgrades beyond it are answered 429. */
  maxConnectionsPerIp: number;
  /** Bytes `ws` may hold for one slow reader before its connection is closed (1013). */
  maxOutboundBufferBytes: number;
  /** Call attempts per caller and rings per callee, each per 10 s (CallManager). */
  callInvitesPer10s: number;
  callRingsPer10s: number;
  /**
   * Called per session so that credentials (TURN REST) can be fresh for each client.
   * `host`: the host name the client used to reach signaling (its Host header, no port).
   */
  iceServers: (identity: string, host: string | undefined) => IceServer[];
  observer?: SignalingObserver;
  /** The media server for SFU rooms; without it `topology: 'sfu'` is refused. */
  media?: MediaRooms;
  logger: Logger;
}

/** Frames above this are refused by `ws` itself (close 1009); between 64 KiB and this we answer an error. */
const WS_MAX_PAYLOAD = 1024 * 1024;
/**
 * The heartbeat interval is cut into this many slices and each connection is checked in its
 * own slice: pinging thousands of sockets in one tick stalls the event loop (~90 ms for 2,000).
 */
const HEARTBEAT_SLICES = 50;
/** At most one rate-limited error per connection per this many ms: errors must not amplify a flood. */
const RATE_ERROR_INTERVAL_MS = 1000;
/**
 * After the server closes a connection, how long the peer has to answer the close before
 * its socket is destroyed: a peer that does not read never will, and what `ws` holds for it
 * is released only with the socket.
 */
const CLOSE_GRACE_MS = 1000;

/** Why the server closed a connection, for the metric. */
export type ServerCloseReason = Parameters<SignalingObserver['connectionClosed']>[0];

/** Per-WebSocket state; the Session (if any) is what survives a reconnect. */
interface Connection {
  socket: WebSocket;
  bucket: TokenBucket;
  session: Session | null;
  /** When the peer last sent anything (a frame or a pong). */
  lastSeenAt: number;
  /** When we pinged and are still waiting for any answer; 0 when not waiting. */
  pingSentAt: number;
  /** Which heartbeat slice checks this connection. */
  slice: number;
  lastRateErrorAt: number;
  /** Messages are handled one after another, even when one awaits (token verification). */
  chain: Promise<void>;
  /** The host the client reached us by, for ICE server URLs on this same host. */
  host: string | undefined;
  /** The client's IP address, as counted for the per-address cap. */
  address: string;
  /** Until `hello`/`resume` succeeds; null after. */
  helloTimer: NodeJS.Timeout | null;
  /** Set once the server has started closing this connection. */
  closeTimer: NodeJS.Timeout | null;
  closing: boolean;
}

/** "example.org:8443" → "example.org", "[::1]:80" → "[::1]"; undefined when absent or not a plain host. */
function hostName(header: string | undefined): string | undefined {
  const m = header ? /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d+)?$/.exec(header) : null;
  return m ? m[1] : undefined;
}

const PER_IP_BODY = 'too many connections from your address\n';

export class SignalingServer {
  private readonly wss: WebSocketServer;
  private readonly connections = new Map<WebSocket, Connection>();
  private readonly byAddress: ConnectionsByAddress;
  private readonly outbound: OutboundPolicy;
  private readonly sessionsById = new Map<string, Session>();
  private readonly sessionsByToken = new Map<string, Session>();
  private readonly sessionsByIdentity = new Map<string, Session>();
  private readonly rooms = new Map<string, Room>();
  readonly calls: CallManager;
  private readonly heartbeat: NodeJS.Timeout;
  private heartbeatSlice = 0;
  private connectionCount = 0;
  private readonly observer: SignalingObserver;

  constructor(private readonly opts: SignalingOptions) {
    this.observer = opts.observer ?? nullObserver;
    this.calls = new CallManager({
      ringMs: opts.callRingMs,
      invitesPer10s: opts.callInvitesPer10s,
      ringsPer10s: opts.callRingsPer10s,
      onEnded: (reason) => this.observer.callEnded(reason),
      onRefused: (code) => this.observer.callRefused(code),
    });
    this.byAddress = new ConnectionsByAddress(opts.maxConnectionsPerIp);
    this.outbound = {
      maxBufferedBytes: opts.maxOutboundBufferBytes,
      overflow: (socket) => {
        const conn = this.connections.get(socket);
        if (conn) this.closeConnection(conn, SLOW_READER_CLOSE_CODE, `reading too slowly: over ${opts.maxOutboundBufferBytes} bytes waiting`, 'slow-reader');
      },
      queueDropped: () => this.observer.resumeQueueDropped(),
    };
    this.wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD, clientTracking: false });
    this.heartbeat = setInterval(guarded('signaling.heartbeat', () => this.checkHeartbeats()), opts.heartbeatMs / HEARTBEAT_SLICES);
    this.heartbeat.unref();
  }

  get stats(): { connections: number; sessions: number; rooms: number; participants: number; calls: number; outboundBufferedBytes: number } {
    let participants = 0;
    for (const r of this.rooms.values()) participants += r.members.size;
    let outboundBufferedBytes = 0;
    for (const socket of this.connections.keys()) outboundBufferedBytes += socket.bufferedAmount;
    return { connections: this.connections.size, sessions: this.sessionsById.size, rooms: this.rooms.size, participants, calls: this.calls.size, outboundBufferedBytes };
  }

  /** Routes HTTP upgrades on `/ws` to this server; others are refused. */
  attach(server: HttpServer): void {
    server.on('upgrade', guarded('signaling.upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head),
      (_err, _req, socket) => socket.destroy()));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Until ws takes the socket over, a reset from the client must not be an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const address = clientAddress(req.socket.remoteAddress);
    if (this.byAddress.isFull(address)) {
      this.observer.upgradeRefused('per-ip-limit');
      socket.end(`HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${PER_IP_BODY.length}\r\n\r\n${PER_IP_BODY}`);
      return;
    }
    // Synchronous (no verifyClient): the count cannot be overtaken by another upgrade.
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, hostName(req.headers.host), address));
  }

  sessionByToken(token: string): Session | undefined {
    return this.sessionsByToken.get(token);
  }

  sessionByIdentity(identity: string): Session | undefined {
    return this.sessionsByIdentity.get(identity);
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.calls.closeAll();
    for (const s of this.sessionsById.values()) if (s.graceTimer) clearTimeout(s.graceTimer);
    for (const c of this.connections.values()) {
      if (c.helloTimer) clearTimeout(c.helloTimer);
      c.socket.close(1001, 'server shutting down');
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    for (const c of this.connections.values()) {
      if (c.closeTimer) clearTimeout(c.closeTimer);
      c.socket.terminate();
    }
    this.connections.clear();
  }

  // ---- connection lifecycle -----------------------------------------------------------

  private onConnection(socket: WebSocket, host: string | undefined, address: string): void {
    const conn: Connection = {
      host,
      address,
      helloTimer: null,
      closeTimer: null,
      closing: false,
      socket,
      bucket: new TokenBucket(this.opts.rateLimit.perSecond, this.opts.rateLimit.burst),
      session: null,
      lastSeenAt: Date.now(),
      pingSentAt: 0,
      slice: this.connectionCount++ % HEARTBEAT_SLICES,
      lastRateErrorAt: 0,
      chain: Promise.resolve(),
    };
    this.connections.set(socket, conn);
    this.byAddress.add(address);
    const dropOnFault = (): void => this.closeConnection(conn, 1011, 'internal error', 'fault');
    socket.on('pong', guarded('signaling.ws.pong', () => this.heard(conn), dropOnFault));
    socket.on('message', guarded('signaling.ws.message', (data: RawData, isBinary: boolean) => this.onFrame(conn, data, isBinary), dropOnFault));
    socket.on('close', guarded('signaling.ws.close', (code: number) => this.onClose(conn, code)));
    // Protocol violations (bad UTF-8, oversize) surface here before 'close'; nothing to add.
    socket.on('error', guarded('signaling.ws.error', () => this.observer.error('invalid-message')));
    conn.helloTimer = setTimeout(guarded('signaling.hello-deadline', () => this.onHelloDeadline(conn), dropOnFault), this.opts.helloTimeoutMs);
    conn.helloTimer.unref();
  }

  /** A connection that never identified holds a socket and a heartbeat slot for nothing. */
  private onHelloDeadline(conn: Connection): void {
    conn.helloTimer = null;
    if (conn.session) return;
    this.closeConnection(conn, 1008, `no "hello" or "resume" within ${this.opts.helloTimeoutMs} ms`, 'hello-timeout');
  }

  private identified(conn: Connection): void {
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    conn.helloTimer = null;
  }

  /**
   * Closes `conn` from our side with `code` (counted by `why`). Its socket is destroyed
   * CLOSE_GRACE_MS later if the peer has not completed the close by then; 'close' follows
   * either way, and a session on it waits for `resume` (any code but 1000/1001 is a loss).
   */
  private closeConnection(conn: Connection, code: number, reason: string, why: ServerCloseReason): void {
    if (conn.closing) return;
    conn.closing = true;
    this.observer.connectionClosed(why);
    conn.socket.close(code, reason);
    conn.closeTimer = setTimeout(guarded('signaling.close-grace', () => conn.socket.terminate()), CLOSE_GRACE_MS);
    conn.closeTimer.unref();
  }

  private heard(conn: Connection): void {
    conn.lastSeenAt = Date.now();
    conn.pingSentAt = 0;
  }

  /**
   * RFC 6455 §5.5.2: a connection silent for a heartbeat interval is pinged; one that has sent
   * nothing (no pong, no message) by its next check, an interval later, is dead. Connections
   * that are talking need no ping: their frames prove they are alive.
   */
  private checkHeartbeats(): void {
    const slice = this.heartbeatSlice;
    this.heartbeatSlice = (slice + 1) % HEARTBEAT_SLICES;
    const now = Date.now();
    for (const conn of this.connections.values()) {
      if (conn.slice !== slice) continue;
      if (conn.pingSentAt !== 0) {
        conn.socket.terminate();
        continue;
      }
      if (conn.closing) continue;
      if (now - conn.lastSeenAt < this.opts.heartbeatMs) continue;
      conn.pingSentAt = now;
      conn.socket.ping();
    }
  }

  private onClose(conn: Connection, code: number): void {
    if (this.connections.get(conn.socket) !== conn) return;
    this.connections.delete(conn.socket);
    this.byAddress.remove(conn.address);
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    if (conn.closeTimer) clearTimeout(conn.closeTimer);
    conn.helloTimer = null;
    conn.closeTimer = null;
    const session = conn.session;
    if (!session || session.socket !== conn.socket) return;
    session.socket = null;
    // A clean close (1000 normal, 1001 page going away) is a departure; anything else may be
    // a network blip, so the session waits for `resume` for the grace period.
    if (code === 1000 || code === 1001) {
      this.removeSession(session, 'left');
      return;
    }
    session.graceTimer = setTimeout(guarded('signaling.resume-grace', () => this.removeSession(session, 'disconnected')), this.opts.resumeGraceMs);
    session.graceTimer.unref();
  }

  private removeSession(session: Session, reason: 'left' | 'disconnected'): void {
    if (!this.sessionsById.has(session.id)) return;
    if (session.graceTimer) clearTimeout(session.graceTimer);
    session.graceTimer = null;
    this.leaveRoom(session, reason);
    this.calls.endFor(session, reason === 'left' ? 'hangup' : 'disconnected');
    this.sessionsById.delete(session.id);
    this.sessionsByToken.delete(session.token);
    if (this.sessionsByIdentity.get(session.identity) === session) this.sessionsByIdentity.delete(session.identity);
  }

  // ---- inbound frames -----------------------------------------------------------------

  private onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.closing) return;
    this.heard(conn);
    const now = conn.lastSeenAt;
    if (!conn.bucket.take(now)) {
      this.observer.error('rate-limited');
      if (now - conn.lastRateErrorAt >= RATE_ERROR_INTERVAL_MS) {
        conn.lastRateErrorAt = now;
        this.sendTo(conn, { type: 'error', code: 'rate-limited', message: 'too many messages; this one was dropped' });
      }
      return;
    }
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) {
      this.fail(conn, 'invalid-message', 'binary frames are not accepted; send JSON text');
      return;
    }
    if (buf.length > MAX_MESSAGE_BYTES) {
      this.fail(conn, 'message-too-large', `message is ${buf.length} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
      return;
    }
    const parsed = parseClientMessage(buf.toString('utf8'), buf.length);
    if (!parsed.ok) {
      this.fail(conn, parsed.code, parsed.message, parsed.field, parsed.ref, parsed.inReplyTo);
      return;
    }
    const msg = parsed.message;
    this.observer.messageIn(msg.type);
    conn.chain = conn.chain
      .then(() => this.handle(conn, msg))
      .catch((err: unknown) => this.answerFailure(conn, msg, err))
      .catch((err: unknown) => this.onHandlerFault(conn, err));
  }

  /** A refused request is answered; anything else is a fault of ours: answered, counted, and the connection closed (1011). */
  private answerFailure(conn: Connection, msg: ClientMessage, err: unknown): void {
    if (err instanceof SwitchboardError && err.isClientError) {
      this.fail(conn, err.code as ErrorCode, err.message, err.field, msg.id, msg.type);
      return;
    }
    this.fail(conn, 'internal-error', 'internal error', undefined, msg.id, msg.type);
    this.onHandlerFault(conn, err);
  }

  /** The end of a connection's chain: nothing may reject past it (an unhandled rejection stops Node). */
  private onHandlerFault(conn: Connection, err: unknown): void {
    entryFaults.record('signaling.ws.handler', err);
    try {
      this.closeConnection(conn, 1011, 'internal error', 'fault');
    } catch (again) {
      entryFaults.record('signaling.ws.handler.onFault', again);
    }
  }

  private async handle(conn: Connection, msg: ClientMessage): Promise<void> {
    if (msg.type === 'hello') return this.onHello(conn, msg);
    if (msg.type === 'resume') return this.onResume(conn, msg);
    if (msg.type === 'ping') return this.sendTo(conn, { type: 'pong', ...(msg.id !== undefined ? { ref: msg.id } : {}) });
    const session = conn.session;
    if (!session) throw new SwitchboardError('not-identified', 'send "hello" (or "resume") first');
    switch (msg.type) {
      case 'join': return this.onJoin(session, msg.room, msg.topology, msg.id);
      case 'leave': {
        const room = session.room;
        if (!room) throw new SwitchboardError('not-in-room', 'you are not in a room');
        this.leaveRoom(session, 'left');
        return session.send({ type: 'left', room: room.name, ...(msg.id !== undefined ? { ref: msg.id } : {}) });
      }
      case 'offer':
      case 'answer':
      case 'candidate':
      case 'end-of-candidates':
        return this.relay(session, msg);
      case 'sfu-offer': {
        const { room, media } = this.sfuRoomOf(session);
        const sdp = await media.publish(room.name, session.id, msg.sdp);
        return session.send({ type: 'sfu-answer', ...(msg.id !== undefined ? { ref: msg.id } : {}), transport: 'publish', sdp });
      }
      case 'sfu-answer': {
        const { room, media } = this.sfuRoomOf(session);
        return media.subscribeAnswer(room.name, session.id, msg.revision, msg.sdp);
      }
      case 'sfu-video-size': {
        const { room, media } = this.sfuRoomOf(session);
        return media.videoSize(room.name, session.id, msg.trackId, msg.width, msg.height);
      }
      case 'sfu-video-source': {
        const { room, media } = this.sfuRoomOf(session);
        return media.videoSource(room.name, session.id, msg.source);
      }
      case 'mcu-layout': {
        const { room, media } = this.sfuRoomOf(session);
        if (room.topology !== 'mcu') throw new SwitchboardError('not-mcu-room', `room "${room.name}" is a ${room.topology} room`);
        return media.layout(room.name, session.id, msg.layout);
      }
      case 'call-accept': return this.calls.accept(session, msg.callId);
      case 'call-reject': return this.calls.reject(session, msg.callId);
      case 'call-cancel': return this.calls.cancel(session, msg.callId);
      case 'call-hangup': return this.calls.hangup(session, msg.callId);
    }
  }

  private async onHello(conn: Connection, msg: Extract<ClientMessage, { type: 'hello' }>): Promise<void> {
    if (conn.session) throw new SwitchboardError('already-identified', 'this connection already sent "hello"');
    let grant: AccessGrant | undefined;
    let identity: string;
    let name: string;
    if (this.opts.authSecret) {
      if (!msg.token) throw new SwitchboardError('token-required', 'this server requires an access token', 'token');
      grant = await verifyAccessToken(msg.token, this.opts.authSecret);
      identity = grant.identity;
      name = grant.name ?? msg.name ?? identity;
    } else {
      identity = msg.identity ?? `guest-${randomBytes(6).toString('base64url')}`;
      name = msg.name ?? identity;
    }
    if (this.sessionsByIdentity.has(identity)) throw new SwitchboardError('identity-in-use', `identity "${identity}" is already connected`, 'identity');
    if (conn.socket.readyState !== 1) return; // closed while the token was being checked
    const session = new Session(`p-${randomBytes(9).toString('base64url')}`, identity, name, randomBytes(32).toString('base64url'), grant, this.outbound);
    session.socket = conn.socket;
    conn.session = session;
    this.identified(conn);
    this.sessionsById.set(session.id, session);
    this.sessionsByToken.set(session.token, session);
    this.sessionsByIdentity.set(identity, session);
    session.send({
      type: 'welcome',
      ...(msg.id !== undefined ? { ref: msg.id } : {}),
      sessionId: session.id,
      identity,
      name,
      sessionToken: session.token,
      iceServers: this.opts.iceServers(identity, conn.host),
      heartbeatMs: this.opts.heartbeatMs,
      resumeGraceSeconds: Math.round(this.opts.resumeGraceMs / 1000),
    });
  }

  private onResume(conn: Connection, msg: Extract<ClientMessage, { type: 'resume' }>): void {
    if (conn.session) throw new SwitchboardError('already-identified', 'this connection already has a session');
    const session = this.sessionsByToken.get(msg.sessionToken);
    if (!session) throw new SwitchboardError('resume-failed', 'unknown session or its grace period is over', 'sessionToken');
    if (session.graceTimer) clearTimeout(session.graceTimer);
    session.graceTimer = null;
    const old = session.socket;
    session.socket = conn.socket;
    conn.session = session;
    this.identified(conn);
    // The old socket may still look open (half-dead TCP); it no longer speaks for the session.
    if (old && old !== conn.socket) old.close(4000, 'session resumed elsewhere');
    const room = session.room;
    session.send({
      type: 'resumed',
      ...(msg.id !== undefined ? { ref: msg.id } : {}),
      sessionId: session.id,
      identity: session.identity,
      name: session.name,
      ...(room ? { room: room.name, participants: room.participants(session) } : {}),
    });
    session.flushQueue();
  }

  private onJoin(session: Session, roomName: string, topology: string | undefined, ref: string | number | undefined): void {
    if (session.room) throw new SwitchboardError('already-in-room', `already in room "${session.room.name}"; leave first`);
    if (session.grant && !grantsRoom(session.grant, roomName)) {
      throw new SwitchboardError('room-not-allowed', `your token does not grant room "${roomName}"`, 'room');
    }
    // SFU and MCU rooms need the media server; 'auto' starts as mesh.
    if ((topology === 'sfu' || topology === 'mcu') && !this.opts.media) {
      throw new SwitchboardError('unsupported-topology', `topology "${topology}" is not available on this server`, 'topology');
    }
    let room = this.rooms.get(roomName);
    // The room's first member picks its topology; later members join it as it is.
    if (room && room.members.size >= this.opts.maxRoomParticipants) {
      throw new SwitchboardError('room-full', `room "${roomName}" is full (${this.opts.maxRoomParticipants} participants)`);
    }
    const meshCap = this.opts.maxMeshParticipants ?? 8;
    if (room && room.topology === 'mesh' && room.members.size >= meshCap) {
      throw new SwitchboardError('room-full', `room "${roomName}" is full: mesh rooms hold at most ${meshCap} participants`);
    }
    if (!room) {
      const chosen: RoomTopology = topology === 'sfu' || topology === 'mcu' ? topology : 'mesh';
      if (chosen !== 'mesh') this.opts.media?.admitRoom(roomName, chosen); // e.g. mcu-capacity: nothing is created
      room = new Room(roomName, chosen);
      this.rooms.set(roomName, room);
    }
    const participants = room.participants();
    room.members.set(session.id, session);
    session.room = room;
    session.send({ type: 'joined', ...(ref !== undefined ? { ref } : {}), room: room.name, topology: room.topology, self: session.info, participants });
    room.broadcast({ type: 'participant-joined', room: room.name, participant: session.info }, session);
    // After `joined`: the media server's first subscribe offer must find the page in SFU mode.
    if (room.topology !== 'mesh') this.opts.media?.join(room.name, session, room.topology);
  }

  private leaveRoom(session: Session, reason: 'left' | 'disconnected'): void {
    const room = session.room;
    if (!room) return;
    room.members.delete(session.id);
    session.room = null;
    if (room.topology !== 'mesh') this.opts.media?.leave(room.name, session.id);
    if (room.members.size === 0) this.rooms.delete(room.name);
    else room.broadcast({ type: 'participant-left', room: room.name, participantId: session.id, reason });
  }

  private sfuRoomOf(session: Session): { room: Room; media: MediaRooms } {
    const room = session.room;
    if (!room) throw new SwitchboardError('not-in-room', 'you are not in a room');
    // An MCU room's media connections are an SFU room's: the same publish/subscribe exchange.
    if (room.topology === 'mesh' || !this.opts.media) throw new SwitchboardError('not-sfu-room', `room "${room.name}" is a ${room.topology} room`);
    return { room, media: this.opts.media };
  }

  private relay(from: Session, msg: Extract<ClientMessage, { type: 'offer' | 'answer' | 'candidate' | 'end-of-candidates' }>): void {
    const target = this.sessionsById.get(msg.to);
    const sameRoom = target !== undefined && target !== from && from.room !== null && target.room === from.room;
    const inCall = target !== undefined && this.calls.connects(from, target, msg.callId);
    // Same answer whether the id exists elsewhere or not: no probing of other rooms.
    if (!target || !(sameRoom || inCall)) throw new SwitchboardError('peer-not-found', `no peer "${msg.to}" in your room or call`, 'to');
    const callId = msg.callId !== undefined ? { callId: msg.callId } : {};
    let out: ServerMessage;
    switch (msg.type) {
      case 'offer': out = { type: 'offer', from: from.id, sdp: msg.sdp, ...callId }; break;
      case 'answer': out = { type: 'answer', from: from.id, sdp: msg.sdp, ...callId }; break;
      // msg.candidate is parseClientMessage's rebuild: its known fields only.
      case 'candidate': out = { type: 'candidate', from: from.id, candidate: msg.candidate, ...callId }; break;
      case 'end-of-candidates': out = { type: 'end-of-candidates', from: from.id, ...callId }; break;
    }
    target.send(out);
    this.observer.relayed(msg.type);
  }

  // ---- outbound -----------------------------------------------------------------------

  private sendTo(conn: Connection, msg: ServerMessage): void {
    if (conn.socket.readyState === 1) sendBounded(conn.socket, JSON.stringify(msg), this.outbound);
  }

  private fail(conn: Connection, code: ErrorCode, message: string, field?: string, ref?: string | number, inReplyTo?: string): void {
    this.observer.error(code);
    this.sendTo(conn, {
      type: 'error', code, message,
      ...(field !== undefined ? { field } : {}),
      ...(ref !== undefined ? { ref } : {}),
      ...(inReplyTo !== undefined ? { inReplyTo } : {}),
    });
  }
}

/**
 * The WebSocket signaling server (`/ws`). It identifies clients (`hello`/`resume`), keeps
 * rooms, relays JSEP offers/answers and trickled ICE candidates between members of one
 * room or the two parties of one call, and runs the 1:1 call flow's WebSocket half.
 *
 * It is the composition of four parts (docs/ARCHITECTURE.md, "Signaling"):
 * - connections/ — accept, per-address cap, hello deadline, heartbeat, rate limit, outbound
 *   bound, close codes; frames become validated messages (src/protocol) or `error` answers;
 * - SessionRegistry — sessions by id, resume token and identity; resume grace and takeover;
 * - RoomRegistry — rooms, topology, capacity, membership broadcast;
 * - handlers/ — one handler per message type.
 * CallManager keeps 1:1 calls for the WebSocket handlers and the REST API alike.
 */
import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import type { IceServer } from '../protocol/index.js';
import { CallManager } from './CallManager.js';
import { ConnectionManager } from './connections/ConnectionManager.js';
import { dispatch } from './handlers/index.js';
import type { SignalingParts } from './handlers/context.js';
import type { MediaRooms } from './MediaRooms.js';
import { federationEvents } from './federation-events.js';
import type { RoomFederation } from './RoomFederation.js';
import { RoomRegistry } from './RoomRegistry.js';
import type { Session } from './Session.js';
import { SessionRegistry } from './SessionRegistry.js';
import { nullObserver, type SignalingObserver, type SignalingStats } from './SignalingObserver.js';

export interface SignalingOptions {
  /** Undefined when the server runs without authentication (config auth.secret unset). */
  authSecret?: string | undefined;
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
  media?: MediaRooms | undefined;
  logger: Logger;
}

export class SignalingServer {
  readonly calls: CallManager;
  private readonly connections: ConnectionManager;
  private readonly sessions: SessionRegistry;
  private readonly rooms: RoomRegistry;
  private readonly parts: SignalingParts;
  private readonly observer: SignalingObserver;

  constructor(opts: SignalingOptions) {
    const observer = opts.observer ?? nullObserver;
    this.observer = observer;
    this.calls = new CallManager({
      ringMs: opts.callRingMs,
      invitesPer10s: opts.callInvitesPer10s,
      ringsPer10s: opts.callRingsPer10s,
      onEnded: (reason) => observer.callEnded(reason),
      onRefused: (code) => observer.callRefused(code),
    });
    this.rooms = new RoomRegistry(opts, opts.media);
    opts.media?.attachHost?.({ evict: (room, ids, code, message) => this.rooms.evict(room, ids, code, message) });
    this.connections = new ConnectionManager(opts, observer, {
      message: (conn, msg) => dispatch({ ...this.parts, conn }, msg),
      closed: (conn, code) => {
        if (conn.session) this.sessions.socketClosed(conn.session, conn.socket, code);
      },
    });
    this.sessions = new SessionRegistry({
      resumeGraceMs: opts.resumeGraceMs,
      outbound: this.connections.outbound,
      onEnded: (session, reason) => {
        this.rooms.leave(session, reason);
        this.calls.endFor(session, reason === 'left' ? 'hangup' : 'disconnected');
      },
    });
    this.parts = { sessions: this.sessions, rooms: this.rooms, calls: this.calls, media: opts.media, observer, settings: opts };
  }

  get stats(): SignalingStats {
    return {
      connections: this.connections.size,
      sessions: this.sessions.size,
      rooms: this.rooms.size,
      participants: this.rooms.participants,
      calls: this.calls.size,
      outboundBufferedBytes: this.connections.outboundBufferedBytes,
    };
  }

  /** Routes HTTP upgrades on `/ws` to this server; others are refused. */
  attach(server: HttpServer): void {
    this.connections.attach(server);
  }

  /** Rooms span the nodes of `federation` from now on (src/server calls it before clients arrive). */
  federate(federation: RoomFederation): void {
    this.rooms.federate(federation);
    federation.attach(federationEvents(this.rooms, this.observer));
  }

  /** No new participants from now on (`join` answers `draining`); rooms in progress go on. */
  drain(): void {
    this.rooms.draining = true;
  }

  sessionByToken(token: string): Session | undefined {
    return this.sessions.withToken(token);
  }

  sessionByIdentity(identity: string): Session | undefined {
    return this.sessions.withIdentity(identity);
  }

  async close(): Promise<void> {
    this.calls.closeAll();
    this.sessions.close();
    await this.connections.closeAll();
  }
}

/**
 * The WebSocket side of signaling: accepts upgrades on `/ws` (per-address cap), keeps each
 * `Connection` alive or ends it (hello deadline, heartbeat, outbound bound, close codes), and
 * turns inbound frames into validated messages for the handlers, one after another per
 * connection. A refused request is answered with an `error`; anything else a handler throws
 * is a fault of ours: answered `internal-error`, counted, and the connection closed (1011).
 *
 * Nothing here knows what a message means; `ConnectionEvents` hands them on.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { MAX_MESSAGE_BYTES, SwitchboardError, parseClientMessage, type ClientMessage, type ErrorCode } from '../../protocol/index.js';
import { entryFaults, guarded } from '../../util/guarded.js';
import type { SignalingObserver } from '../SignalingObserver.js';
import { Connection } from './Connection.js';
import { ConnectionsByAddress, clientAddress } from './ConnectionsByAddress.js';
import { Heartbeat } from './Heartbeat.js';
import { SLOW_READER_CLOSE_CODE, type OutboundPolicy } from './outbound.js';

export interface ConnectionOptions {
  heartbeatMs: number;
  /** A connection that has not identified (`hello`/`resume`) by then is closed with 1008. */
  helloTimeoutMs: number;
  /** Open WebSockets per client IP address; upgrades beyond it are answered 429. */
  maxConnectionsPerIp: number;
  /** Bytes `ws` may hold for one slow reader before its connection is closed (1013). */
  maxOutboundBufferBytes: number;
  rateLimit: { perSecond: number; burst: number };
}

/** What the connections hand on. */
export interface ConnectionEvents {
  /** A valid message; the next one of `conn` waits until this one has settled. */
  message(conn: Connection, msg: ClientMessage): void | Promise<void>;
  /** `conn`'s socket closed with `code` (from the peer, or ours). */
  closed(conn: Connection, code: number): void;
}

/** Why the server closed a connection, for the metric. */
export type ServerCloseReason = Parameters<SignalingObserver['connectionClosed']>[0];

/** Frames above this are refused by `ws` itself (close 1009); between 64 KiB and this we answer an error. */
const WS_MAX_PAYLOAD = 1024 * 1024;

const PER_IP_BODY = 'too many connections from your address\n';

/** "example.org:8443" → "example.org", "[::1]:80" → "[::1]"; undefined when absent or not a plain host. */
function hostName(header: string | undefined): string | undefined {
  const m = header ? /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d+)?$/.exec(header) : null;
  return m ? m[1] : undefined;
}

/** A refusal the sender is told about (its code is one of the client-facing ErrorCodes). */
function isClientRefusal(err: unknown): err is SwitchboardError & { code: ErrorCode } {
  return err instanceof SwitchboardError && err.isClientError;
}

export class ConnectionManager {
  private readonly wss: WebSocketServer;
  private readonly connections = new Map<WebSocket, Connection>();
  private readonly byAddress: ConnectionsByAddress;
  private readonly heartbeat: Heartbeat;
  /** The outbound bound of every connection, and of every session's resume queue. */
  readonly outbound: OutboundPolicy;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly observer: SignalingObserver,
    private readonly events: ConnectionEvents,
  ) {
    this.byAddress = new ConnectionsByAddress(opts.maxConnectionsPerIp);
    this.outbound = {
      maxBufferedBytes: opts.maxOutboundBufferBytes,
      overflow: (socket) => {
        const conn = this.connections.get(socket);
        if (conn)
          this.close(conn, SLOW_READER_CLOSE_CODE, `reading too slowly: over ${opts.maxOutboundBufferBytes} bytes waiting`, 'slow-reader');
      },
      queueDropped: () => observer.resumeQueueDropped(),
    };
    this.wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD, clientTracking: false });
    this.heartbeat = new Heartbeat(opts.heartbeatMs, () => this.connections.values());
  }

  get size(): number {
    return this.connections.size;
  }

  /** What `ws` holds for slow readers, summed over every connection. */
  get outboundBufferedBytes(): number {
    let bytes = 0;
    for (const socket of this.connections.keys()) bytes += socket.bufferedAmount;
    return bytes;
  }

  /** Routes HTTP upgrades on `/ws` to this server; others are refused. */
  attach(server: HttpServer): void {
    server.on(
      'upgrade',
      guarded(
        'signaling.upgrade',
        (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head),
        (_err, _req, socket) => socket.destroy(),
      ),
    );
  }

  /**
   * Closes `conn` from our side with `code` (counted by `why`). 'close' follows, and a session
   * on it waits for `resume` (any code but 1000/1001 is a loss).
   */
  close(conn: Connection, code: number, reason: string, why: ServerCloseReason): void {
    if (conn.closing) return;
    this.observer.connectionClosed(why);
    conn.close(code, reason);
  }

  /** Every connection is told 1001 and, once `ws` has shut down, destroyed. */
  async closeAll(): Promise<void> {
    this.heartbeat.stop();
    for (const c of this.connections.values()) {
      c.release();
      c.socket.close(1001, 'server shutting down');
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    for (const c of this.connections.values()) {
      c.release();
      c.socket.terminate();
    }
    this.connections.clear();
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
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${PER_IP_BODY.length}\r\n\r\n${PER_IP_BODY}`,
      );
      return;
    }
    // Synchronous (no verifyClient): the count cannot be overtaken by another upgrade.
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, hostName(req.headers.host), address));
  }

  private onConnection(socket: WebSocket, host: string | undefined, address: string): void {
    const conn = new Connection(socket, host, address, this.heartbeat.nextSlice(), this.opts.rateLimit, this.outbound);
    this.connections.set(socket, conn);
    this.byAddress.add(address);
    const dropOnFault = (): void => this.close(conn, 1011, 'internal error', 'fault');
    socket.on(
      'pong',
      guarded('signaling.ws.pong', () => conn.heard(), dropOnFault),
    );
    socket.on(
      'message',
      guarded('signaling.ws.message', (data: RawData, isBinary: boolean) => this.onFrame(conn, data, isBinary), dropOnFault),
    );
    socket.on(
      'close',
      guarded('signaling.ws.close', (code: number) => this.onClose(conn, code)),
    );
    // Protocol violations (bad UTF-8, oversize) surface here before 'close'; nothing to add.
    socket.on(
      'error',
      guarded('signaling.ws.error', () => this.observer.error('invalid-message')),
    );
    conn.helloTimer = setTimeout(
      guarded('signaling.hello-deadline', () => this.onHelloDeadline(conn), dropOnFault),
      this.opts.helloTimeoutMs,
    );
    conn.helloTimer.unref();
  }

  /** A connection that never identified holds a socket and a heartbeat slot for nothing. */
  private onHelloDeadline(conn: Connection): void {
    conn.helloTimer = null;
    if (conn.session) return;
    this.close(conn, 1008, `no "hello" or "resume" within ${this.opts.helloTimeoutMs} ms`, 'hello-timeout');
  }

  private onClose(conn: Connection, code: number): void {
    if (this.connections.get(conn.socket) !== conn) return;
    this.connections.delete(conn.socket);
    this.byAddress.remove(conn.address);
    conn.release();
    this.events.closed(conn, code);
  }

  // ---- inbound frames -----------------------------------------------------------------

  private onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.closing) return;
    conn.heard();
    const verdict = conn.rate.take(conn.lastSeenAt);
    if (verdict !== 'allow') {
      this.observer.error('rate-limited');
      if (verdict === 'refuse') conn.send({ type: 'error', code: 'rate-limited', message: 'too many messages; this one was dropped' });
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
      .then(() => this.events.message(conn, msg))
      .catch((err: unknown) => this.answerFailure(conn, msg, err))
      .catch((err: unknown) => this.onHandlerFault(conn, err));
  }

  /** A refused request is answered; anything else is a fault of ours: answered, counted, and the connection closed (1011). */
  private answerFailure(conn: Connection, msg: ClientMessage, err: unknown): void {
    if (isClientRefusal(err)) {
      this.fail(conn, err.code, err.message, err.field, msg.id, msg.type);
      return;
    }
    this.fail(conn, 'internal-error', 'internal error', undefined, msg.id, msg.type);
    this.onHandlerFault(conn, err);
  }

  /** The end of a connection's chain: nothing may reject past it (an unhandled rejection stops Node). */
  private onHandlerFault(conn: Connection, err: unknown): void {
    entryFaults.record('signaling.ws.handler', err);
    try {
      this.close(conn, 1011, 'internal error', 'fault');
    } catch (again) {
      entryFaults.record('signaling.ws.handler.onFault', again);
    }
  }

  private fail(conn: Connection, code: ErrorCode, message: string, field?: string, ref?: string | number, inReplyTo?: string): void {
    this.observer.error(code);
    conn.send({
      type: 'error',
      code,
      message,
      ...(field !== undefined ? { field } : {}),
      ...(ref !== undefined ? { ref } : {}),
      ...(inReplyTo !== undefined ? { inReplyTo } : {}),
    });
  }
}

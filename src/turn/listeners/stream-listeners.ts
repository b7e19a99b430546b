/**
 * The TCP and TLS sides of the TURN ports (RFC 8656 §3.1, RFC 7350 for TLS): a server per
 * served address and transport. Each connection is one client 5-tuple: its bytes are cut into
 * STUN messages and ChannelData (stream-framer.ts) for the dispatcher, until a ConnectionBind
 * (RFC 6062 §5.4) makes it a data connection that carries raw bytes to its peer. A connection
 * that has not allocated by its deadline is closed, and so are connections past the server's
 * cap; the allocation of a connection ends with it.
 */
import type { Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { connectionEnds } from '../../net/address.js';
import type { BoundListener } from '../../net/multi-bind.js';
import { closeServer, listenServer } from '../../net/tcp.js';
import { guarded } from '../../util/guarded.js';
import type { AllocationTable } from '../allocations/allocation-table.js';
import type { PeerConnection } from '../allocations/tcp-relay.js';
import { StreamLink } from '../client-link.js';
import type { TurnCounters } from '../counters.js';
import type { TurnDispatcher } from '../dispatch/dispatcher.js';
import { StreamFramer } from './stream-framer.js';

/** A TCP/TLS connection that has not allocated this long after it opened is closed, active or not. */
export const STREAM_ALLOCATE_DEADLINE_MS = 30_000;
const MAX_STREAM_CONNECTIONS = 10_000;
/** A TLS handshake not done by then is dropped. */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface StreamListenersOptions {
  /** The certificate of the TLS listeners. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** Unread bytes toward one client before media is dropped and control closes it (client-link.ts). */
  maxBuffered: number;
  allocateDeadlineMs: number;
  dispatcher: Pick<TurnDispatcher, 'onStun' | 'onChannelData'>;
  allocations: Pick<AllocationTable, 'ofStream' | 'streamClosed'>;
  counters: TurnCounters;
  logger?: Logger | undefined;
}

export class StreamListeners {
  /** Open client connections of every server. */
  readonly connections = new Set<Socket>();
  private readonly servers = new Set<Server>();

  constructor(private readonly opts: StreamListenersOptions) {}

  async listen(address: string, port: number, kind: 'tcp' | 'tls'): Promise<BoundListener> {
    const tls = this.opts.tls;
    const dropConnection = (_err: unknown, s: Socket): void => {
      s.destroy();
    };
    const server =
      kind === 'tls' && tls
        ? createTlsServer(
            { cert: tls.cert, key: tls.key, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
            guarded('turn.tls.connection', (s: Socket) => this.onConnection(s, 'tls'), dropConnection),
          )
        : createServer(guarded('turn.tcp.connection', (s: Socket) => this.onConnection(s, 'tcp'), dropConnection));
    // A failed TLS handshake is the client's problem, not an error of the server.
    server.on(
      'tlsClientError',
      guarded('turn.tls.client-error', (_err: Error, s: Socket) => {
        this.opts.counters.malformed++;
        s.destroy();
      }),
    );
    const bound = await listenServer(server, port, address);
    server.on(
      'error',
      guarded('turn.listener.error', (err: Error) => this.opts.logger?.warn({ err: err.message, address }, 'turn: listener error')),
    );
    this.servers.add(server);
    return {
      port: bound,
      unbind: () => {
        this.servers.delete(server);
        return closeServer(server);
      },
    };
  }

  private onConnection(sock: Socket, kind: 'tcp' | 'tls'): void {
    const { counters, allocations, dispatcher } = this.opts;
    const ends = connectionEnds(sock);
    if (!ends?.localAddress) {
      counters.malformed++;
      sock.destroy();
      return;
    }
    if (this.connections.size >= MAX_STREAM_CONNECTIONS) {
      sock.destroy();
      return;
    }
    this.connections.add(sock);
    const link = new StreamLink(kind, sock, ends.remoteAddress, ends.remotePort, ends.localAddress, this.opts.maxBuffered, counters);
    const framer = new StreamFramer();
    let dataConnection = false;
    sock.setNoDelay(true);
    // An absolute deadline, not an idle timeout: Bindings every few seconds must not keep a
    // connection that never allocates.
    const deadline = setTimeout(
      guarded('turn.stream.deadline', () => {
        if (allocations.ofStream(link) || dataConnection) return;
        counters.streamsTimedOut++;
        sock.destroy();
      }),
      this.opts.allocateDeadlineMs,
    );
    deadline.unref();
    const drop = (): void => {
      sock.destroy();
    };
    sock.on('error', guarded('turn.stream.error', drop));
    sock.on(
      'close',
      guarded('turn.stream.close', () => {
        clearTimeout(deadline);
        this.connections.delete(sock);
        allocations.streamClosed(link);
      }),
    );
    const onData = guarded(
      'turn.stream.data',
      (chunk: Buffer): void => {
        let bound: PeerConnection | undefined;
        const ok = framer.push(chunk, (frame) => {
          const a = allocations.ofStream(link);
          if ((frame[0] as number) >= 0x40) {
            dispatcher.onChannelData(a, frame);
            return;
          }
          // The frame is a view into a chunk that may be reused: copy what may outlive this call.
          bound = dispatcher.onStun(Buffer.from(frame), link, a);
          return bound ? 'stop' : undefined;
        });
        if (!ok) {
          counters.malformed++;
          sock.destroy();
        } else if (bound) {
          // RFC 6062 §5.4: a client data connection from now on; no more framing.
          dataConnection = true;
          clearTimeout(deadline);
          sock.off('data', onData);
          bound.bind(sock, framer.takeRest());
        }
      },
      drop,
    );
    sock.on('data', onData);
  }

  async close(): Promise<void> {
    for (const s of this.connections) s.destroy();
    const servers = [...this.servers];
    this.servers.clear();
    await Promise.all(servers.map(closeServer));
  }
}

/**
 * The TCP side of an RFC 6062 allocation: a listening socket on the relayed address, the
 * peer data connections it accepts (§5.3) or opens on Connect (§5.2), and the raw piping
 * between each of them and the client data connection that ConnectionBind (§5.4) ties to it.
 *
 * Until it is bound, a peer connection is not read: what the peer sends waits in the
 * kernel, and TCP flow control shrinks its window (§5.2, §5.3 ask the server to buffer and
 * to advertise only its free space), so an unbound connection costs no memory here.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, createServer, isIPv6, type Server, type Socket } from 'node:net';
import { Attr, StunClass, StunMethod } from '../../stun/constants.js';
import { encodeXorAddress, type TransportAddress } from '../../stun/address.js';
import { StunMessageBuilder } from '../../stun/builder.js';
import type { TokenBucket } from '../../util/TokenBucket.js';
import { guarded } from '../../util/guarded.js';
import type { ClientLink } from '../client-link.js';
import type { RelayCounters } from '../counters.js';
import { bindInRange, type PortRange } from './port-range.js';

/** §5.2, §5.3: a peer connection not bound within 30 s is closed. */
export const BIND_TIMEOUT_MS = 30_000;
/** §5.2: the server waits at least 30 s for an outgoing connection. */
export const CONNECT_TIMEOUT_MS = 30_000;
/** Abuse bounds: connections (any state) per allocation, unbound ones per allocation and in all. */
export const MAX_CONNECTIONS_PER_ALLOCATION = 64;
export const MAX_PENDING_PER_ALLOCATION = 16;
export const MAX_PENDING_TOTAL = 1024;
/** After one side ends, how long the other may take to flush and close. */
const LINGER_MS = 10_000;

/** What a TCP relay uses of its allocation (Allocation.ts). */
export interface TcpRelayOwner {
  /** Who made the allocation: only that user may ConnectionBind its peer connections. */
  readonly username: string;
  readonly relayed: TransportAddress;
  /** The control connection: ConnectionAttempt goes there. */
  readonly link: ClientLink;
  readonly toPeerBudget: TokenBucket | null;
  readonly toClientBudget: TokenBucket | null;
  readonly counters: RelayCounters;
  hasPermission(ip: string): boolean;
}

/** CONNECTION-ID → unbound peer connection, across every allocation (ConnectionBind arrives without one). */
export class ConnectionIds {
  private readonly pending = new Map<number, PeerConnection>();

  get size(): number {
    return this.pending.size;
  }

  add(c: PeerConnection): number | undefined {
    if (this.pending.size >= MAX_PENDING_TOTAL) return undefined;
    let id: number;
    do id = randomBytes(4).readUInt32BE(0);
    while (this.pending.has(id));
    this.pending.set(id, c);
    return id;
  }

  get(id: number): PeerConnection | undefined {
    return this.pending.get(id);
  }

  /** Forgets `id` if it still stands for `c` (a bound connection's id may have been given again). */
  delete(id: number, c: PeerConnection): void {
    if (this.pending.get(id) === c) this.pending.delete(id);
  }
}

/**
 * Bytes from `src` written to `dst`, with backpressure and the allocation's byte-rate cap.
 * Bounded: once `dst` holds more than its high-water mark unsent (a reader that does not
 * read), `src` is paused until 'drain', so at most that plus one chunk waits here per
 * direction; the sender's TCP window does the rest. Nothing is dropped (TCP is a byte stream).
 */
function pipe(src: Socket, dst: Socket, budget: TokenBucket | null, counters: RelayCounters, toPeer: boolean): void {
  const where = toPeer ? 'turn.tcp-relay.to-peer' : 'turn.tcp-relay.to-client';
  const kill = (): void => {
    src.destroy();
    dst.destroy();
  };
  let holds = 0;
  const hold = (): void => {
    if (holds++ === 0) src.pause();
  };
  const release = (): void => {
    if (--holds === 0 && !src.destroyed) src.resume();
  };
  const write = (chunk: Buffer): void => {
    if (toPeer) {
      counters.toPeerPackets++;
      counters.toPeerBytes += chunk.length;
    } else {
      counters.toClientPackets++;
      counters.toClientBytes += chunk.length;
    }
    if (!dst.destroyed && !dst.write(chunk)) {
      hold();
      dst.once('drain', guarded(`${where}.drain`, release, kill));
    }
  };
  src.on(
    'data',
    guarded(
      `${where}.data`,
      (chunk: Buffer) => {
        // TCP bytes cannot be dropped: over the cap, a chunk waits until its tokens are there,
        // and the sender with it (a paused socket is not read, so its window closes).
        const wait = budget ? budget.borrow(Date.now(), chunk.length) : 0;
        if (wait === 0) {
          write(chunk);
          return;
        }
        hold();
        delayed++;
        setTimeout(
          guarded(
            `${where}.budget`,
            () => {
              write(chunk);
              if (--delayed === 0 && ended) finish();
              release();
            },
            kill,
          ),
          wait,
        ).unref();
      },
      kill,
    ),
  );
  // The sender's FIN follows the bytes still waiting for tokens.
  let delayed = 0;
  let ended = false;
  const finish = (): void => {
    dst.end();
    dst.setTimeout(
      LINGER_MS,
      guarded(`${where}.linger`, () => dst.destroy()),
    );
  };
  src.on(
    'end',
    guarded(
      `${where}.end`,
      () => {
        ended = true;
        if (delayed === 0) finish();
      },
      kill,
    ),
  );
  // Closed without a FIN (reset, or destroyed by us): the other side goes at once.
  src.on(
    'close',
    guarded(
      `${where}.close`,
      (hadError: boolean) => {
        if (hadError || !ended) dst.destroy();
      },
      kill,
    ),
  );
}

export class PeerConnection {
  id = 0;
  client: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly relay: TcpRelay,
    readonly socket: Socket,
    readonly peer: TransportAddress,
  ) {}

  get bound(): boolean {
    return this.client !== null;
  }

  startTimer(): void {
    this.timer = setTimeout(
      guarded('turn.tcp-relay.bind-timeout', () => this.destroy()),
      BIND_TIMEOUT_MS,
    );
    this.timer.unref();
  }

  /** §5.4: from now on `client` carries this connection's bytes as they are; `head` came with the ConnectionBind. */
  bind(client: Socket, head: Buffer | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.client = client;
    const a = this.relay.allocation;
    client.setTimeout(0);
    client.setNoDelay(true);
    pipe(client, this.socket, a.toPeerBudget, a.counters, true);
    pipe(this.socket, client, a.toClientBudget, a.counters, false);
    if (head && head.length > 0) {
      a.counters.toPeerPackets++;
      a.counters.toPeerBytes += head.length;
      this.socket.write(head);
    }
    this.socket.resume();
  }

  destroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.socket.destroy();
    this.client?.destroy();
  }
}

/** A TCP listening socket bound on the relay address, in `range` when given, else on a port the OS picks; undefined when none. */
export function listenRelay(address: string, range?: PortRange): Promise<Server | undefined> {
  return range ? bindInRange(range, { even: false, pair: false }, (port) => listenRelayOn(address, port)) : listenRelayOn(address, 0);
}

function listenRelayOn(address: string, port: number): Promise<Server | undefined> {
  // pauseOnConnect: an accepted peer is not read until it is bound (see the header).
  const server = createServer({ pauseOnConnect: true });
  return new Promise((resolve) => {
    server.once(
      'error',
      guarded('turn.tcp-relay.listen-error', () => {
        server.close();
        resolve(undefined);
      }),
    );
    server.listen({ port, host: address, ipv6Only: isIPv6(address) }, () => resolve(server));
  });
}

/** An outgoing connection from the relay address; undefined on failure or timeout. */
function open(peer: TransportAddress, localAddress: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    // §5.2 wants the relayed transport address as the local end; Linux refuses to bind a
    // port another socket listens on, so only the address is the relayed one.
    const s = tcpConnect({ host: peer.address, port: peer.port, localAddress });
    s.pause(); // not read until bound (see the header)
    s.setTimeout(
      CONNECT_TIMEOUT_MS,
      guarded('turn.tcp-relay.connect-timeout', () => s.destroy()),
    );
    s.once(
      'error',
      guarded('turn.tcp-relay.connect-error', () => {
        s.destroy();
        resolve(undefined);
      }),
    );
    s.once(
      'close',
      guarded('turn.tcp-relay.connect-close', () => resolve(undefined)),
    );
    s.once(
      'connect',
      guarded(
        'turn.tcp-relay.connect',
        () => {
          s.setTimeout(0);
          resolve(s);
        },
        () => s.destroy(),
      ),
    );
  });
}

export class TcpRelay {
  /** "ip port" of the peer → its connection, bound or not. */
  private readonly conns = new Map<string, PeerConnection>();
  private readonly connecting = new Set<string>();
  private closed = false;

  constructor(
    readonly allocation: TcpRelayOwner,
    private readonly server: Server,
    private readonly ids: ConnectionIds,
  ) {
    server.on(
      'connection',
      guarded(
        'turn.tcp-relay.incoming',
        (s: Socket) => this.onIncoming(s),
        (_err, s) => s.destroy(),
      ),
    );
    server.on(
      'error',
      guarded('turn.tcp-relay.server-error', () => undefined),
    );
  }

  private pendingCount(): number {
    let n = this.connecting.size;
    for (const c of this.conns.values()) if (!c.bound) n++;
    return n;
  }

  private full(): boolean {
    return this.conns.size + this.connecting.size >= MAX_CONNECTIONS_PER_ALLOCATION || this.pendingCount() >= MAX_PENDING_PER_ALLOCATION;
  }

  /** §5.2: the CONNECTION-ID of a new peer connection, or the error code (446, 447 or 508). */
  async connect(peer: TransportAddress): Promise<number> {
    const key = `${peer.address} ${peer.port}`;
    if (this.conns.has(key) || this.connecting.has(key)) return 446;
    if (this.full()) return 508;
    this.connecting.add(key);
    const s = await open(peer, this.allocation.relayed.address);
    this.connecting.delete(key);
    if (!s) return 447;
    if (this.closed) {
      s.destroy();
      return 447;
    }
    return this.adopt(s, peer) ?? 508;
  }

  /** §5.3: a permitted peer's connection is announced with ConnectionAttempt; any other is closed. */
  private onIncoming(s: Socket): void {
    const address = s.remoteAddress;
    const port = s.remotePort;
    const a = this.allocation;
    if (this.closed || !address || !port || !a.hasPermission(address) || this.conns.has(`${address} ${port}`) || this.full()) {
      s.destroy();
      return;
    }
    const peer: TransportAddress = { family: isIPv6(address) ? 6 : 4, address, port };
    const id = this.adopt(s, peer);
    if (id === undefined) return;
    const ind = new StunMessageBuilder(StunMethod.ConnectionAttempt, StunClass.Indication);
    const idAttr = Buffer.alloc(4);
    idAttr.writeUInt32BE(id, 0);
    a.link.send(ind.add(Attr.ConnectionId, idAttr).add(Attr.XorPeerAddress, encodeXorAddress(peer, ind.transactionId)).build());
  }

  private adopt(s: Socket, peer: TransportAddress): number | undefined {
    const c = new PeerConnection(this, s, peer);
    const id = this.ids.add(c);
    if (id === undefined) {
      s.destroy();
      return undefined;
    }
    c.id = id;
    const key = `${peer.address} ${peer.port}`;
    this.conns.set(key, c);
    s.setNoDelay(true);
    s.on(
      'error',
      guarded('turn.tcp-relay.peer-error', () => s.destroy()),
    );
    s.on(
      'close',
      guarded(
        'turn.tcp-relay.peer-close',
        () => {
          this.ids.delete(id, c);
          if (this.conns.get(key) === c) this.conns.delete(key);
          // A bound connection's client side is closed by pipe(), after what is in flight.
          if (!c.bound) c.destroy();
        },
        () => c.destroy(),
      ),
    );
    c.startTimer();
    return id;
  }

  /** Open connections (bound or not), for tests and metrics. */
  get size(): number {
    return this.conns.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    for (const c of this.conns.values()) c.destroy();
  }
}

/**
 * The SFU's one shared media port: every ICE-lite session's traffic arrives on the same UDP
 * port (one socket per listen address) and, for ICE-TCP (RFC 6544 passive candidates), on a
 * TCP server with the same port number, framed per RFC 4571.
 *
 * Demultiplexing (RFC 7983 §7) by the first byte: STUN (0–3) is routed by the local ufrag in
 * USERNAME (RFC 8445 §7.3) and a valid check binds its tuple to the session; DTLS (20–63)
 * and RTP/RTCP (128–191) are routed by tuple only. Anything else, and anything from a tuple no
 * valid check bound, is dropped and counted: no state is created for unauthenticated input.
 */
import type { Socket as UdpSocket, RemoteInfo } from 'node:dgram';
import { createServer, type Server as TcpServer, type Socket } from 'node:net';
import { connectionEnds } from '../net/address.js';
import { bindSamePort, type BoundListener } from '../net/multi-bind.js';
import { closeServer, listenServer } from '../net/tcp.js';
import { bindUdp, closeUdp, createUdpSocket } from '../net/udp.js';
import { InternalErrorCode, SwitchboardError } from '../protocol/errors.js';
import { decodeStun } from '../stun/message.js';
import { localUfragOf } from './ice/check.js';
import type { IceLiteSession } from './ice/IceLiteSession.js';
import type { RtcTuple } from './ice/RtcTuple.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import { guarded } from '../util/guarded.js';
import { defaultAnnouncedAddresses, udpBindAddresses } from './port/announced-addresses.js';
import { hostCandidates, type IceCandidate } from './port/candidates.js';
import { Rfc4571Framer } from './port/rfc4571-framer.js';
import { TcpTuple } from './port/tcp-tuple.js';
import { UdpTuple } from './port/udp-tuple.js';

export type { IceCandidate } from './port/candidates.js';

/** Kernel buffers of a shared socket: it carries every session's media (as TurnServer's listeners). */
const UDP_BUFFER_BYTES = 4 << 20;
export const DEFAULT_MAX_TCP_CONNECTIONS = 4096;
/** RFC 6544 §7.2 leaves it to the agent; a connection that proves nothing in 10 s is closed. */
export const DEFAULT_TCP_BIND_TIMEOUT_MS = 10_000;

export interface RtcPortOptions {
  /** 0 = an ephemeral port (tests). */
  port: number;
  listenAddresses?: string[];
  announcedAddresses?: string[];
  tcp?: boolean;
  maxTcpConnections?: number;
  tcpBindTimeoutMs?: number;
}

export type RtcPortEvents = {
  /** A socket or server reported an error after listening (informational; the port carries on). */
  'socket-error': [err: Error];
  closed: [];
};

export interface RtcPortStats {
  udpDatagrams: number;
  tcpFrames: number;
  stunRequests: number;
  checksAccepted: number;
  checksRejected: number;
  unknownUfrag: number;
  unknownTuple: number;
  malformed: number;
  routedPackets: number;
  tcpConnections: number;
  tcpRefused: number;
  tcpClosedGarbage: number;
  tcpClosedUnbound: number;
  /** UDP datagrams not sent: the socket's user-space send queue was over UDP_MAX_SEND_QUEUE. */
  sendQueueFull: number;
  /** ICE-TCP connections closed because a STUN answer found them over their send-buffer cap (the peer does not read). */
  tcpClosedSlow: number;
}

interface UdpListener {
  address: string;
  socket: UdpSocket;
  /** Bound tuples by remote address, then port: no key string is built per packet. */
  tuples: Map<string, Map<number, UdpTuple>>;
}

type BoundTuple = UdpTuple | TcpTuple;

interface SessionEntry {
  tuples: Set<BoundTuple>;
  onClosed: () => void;
}

export class RtcPort extends TypedEmitter<RtcPortEvents> {
  readonly stats: RtcPortStats = {
    udpDatagrams: 0,
    tcpFrames: 0,
    stunRequests: 0,
    checksAccepted: 0,
    checksRejected: 0,
    unknownUfrag: 0,
    unknownTuple: 0,
    malformed: 0,
    routedPackets: 0,
    tcpConnections: 0,
    tcpRefused: 0,
    tcpClosedGarbage: 0,
    tcpClosedUnbound: 0,
    tcpClosedSlow: 0,
    sendQueueFull: 0,
  };
  private readonly listenAddresses: string[];
  private readonly announcedAddresses: string[];
  private readonly tcpEnabled: boolean;
  private readonly maxTcpConnections: number;
  private readonly tcpBindTimeoutMs: number;
  private readonly udp: UdpListener[] = [];
  private readonly servers: TcpServer[] = [];
  private readonly connections = new Set<Socket>();
  private readonly byUfrag = new Map<string, IceLiteSession>();
  private readonly sessions = new Map<IceLiteSession, SessionEntry>();
  private tcpSeq = 0;
  private boundPort = 0;
  private isClosed = false;

  constructor(private readonly opts: RtcPortOptions) {
    super();
    this.listenAddresses = opts.listenAddresses ?? ['0.0.0.0', '::'];
    this.announcedAddresses = opts.announcedAddresses ?? defaultAnnouncedAddresses(this.listenAddresses);
    this.tcpEnabled = opts.tcp ?? true;
    this.maxTcpConnections = opts.maxTcpConnections ?? DEFAULT_MAX_TCP_CONNECTIONS;
    this.tcpBindTimeoutMs = opts.tcpBindTimeoutMs ?? DEFAULT_TCP_BIND_TIMEOUT_MS;
  }

  get udpPort(): number {
    return this.boundPort;
  }

  /** The same number as udpPort (ICE-TCP shares it); 0 when TCP is off or not listening. */
  get tcpPort(): number {
    return this.tcpEnabled ? this.boundPort : 0;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Binds UDP (and TCP) on one port number on every listen address; with port 0 the OS picks one free everywhere. */
  async listen(): Promise<void> {
    if (this.boundPort !== 0) return;
    const [first, ...rest] = udpBindAddresses(this.listenAddresses);
    if (first === undefined) throw new SwitchboardError(InternalErrorCode.InvalidArgument, 'no listen address');
    this.boundPort = await bindSamePort(this.opts.port, {
      first: (port) => this.bindUdp(first, port),
      rest: (port) => [
        ...rest.map((a) => this.bindUdp(a, port)),
        ...(this.tcpEnabled ? this.listenAddresses.map((a) => this.bindTcp(a, port)) : []),
      ],
    });
  }

  addSession(session: IceLiteSession): void {
    if (session.closed) throw new SwitchboardError(InternalErrorCode.Closed, 'session is closed');
    const other = this.byUfrag.get(session.localUfrag);
    if (other && other !== session)
      throw new SwitchboardError(InternalErrorCode.InvalidArgument, `a session with ufrag ${session.localUfrag} is already on this port`);
    if (this.sessions.has(session)) return;
    const entry: SessionEntry = { tuples: new Set(), onClosed: () => this.removeSession(session) };
    this.sessions.set(session, entry);
    this.byUfrag.set(session.localUfrag, session);
    session.once('closed', entry.onClosed);
  }

  /** Detaches a session: its ufrag no longer routes and its tuples are forgotten (TCP ones closed). */
  removeSession(session: IceLiteSession): void {
    const entry = this.sessions.get(session);
    if (!entry) return;
    this.sessions.delete(session);
    if (this.byUfrag.get(session.localUfrag) === session) this.byUfrag.delete(session.localUfrag);
    session.off('closed', entry.onClosed);
    for (const tuple of entry.tuples) {
      tuple.owner = null;
      session.forgetTuple(tuple);
      if (tuple instanceof UdpTuple) this.dropUdpTuple(tuple);
      else tuple.socket.destroy();
    }
    entry.tuples.clear();
  }

  localCandidates(): IceCandidate[] {
    if (this.boundPort === 0) return [];
    return hostCandidates(this.announcedAddresses, this.udpPort, this.tcpEnabled ? this.tcpPort : null);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const session of [...this.sessions.keys()]) this.removeSession(session);
    await this.closeListeners();
    this.emit('closed');
  }

  // ---- binding ----

  private async bindUdp(address: string, port: number): Promise<BoundListener> {
    const socket = createUdpSocket(address, UDP_BUFFER_BYTES);
    const bound = await bindUdp(socket, port, address);
    const listener: UdpListener = { address, socket, tuples: new Map() };
    socket.on(
      'error',
      guarded('rtc.udp.error', (err: Error) => this.emit('socket-error', err)),
    );
    socket.on(
      'message',
      guarded('rtc.udp.message', (msg: Buffer, rinfo: RemoteInfo) => this.onUdp(listener, msg, rinfo)),
    );
    this.udp.push(listener);
    return {
      port: bound,
      unbind: () => {
        const i = this.udp.indexOf(listener);
        if (i >= 0) this.udp.splice(i, 1);
        return closeUdp(socket);
      },
    };
  }

  private async bindTcp(address: string, port: number): Promise<BoundListener> {
    const server = createServer(
      { noDelay: true },
      guarded(
        'rtc.tcp.connection',
        (sock: Socket) => this.onTcpConnection(sock),
        (_err, sock) => sock.destroy(),
      ),
    );
    try {
      await listenServer(server, port, address);
    } catch (err) {
      // The default listens on '::' too; a machine without IPv6 simply has no IPv6 listener.
      const code = (err as NodeJS.ErrnoException).code;
      if (address === '::' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) return { port, unbind: async () => undefined };
      throw err;
    }
    server.on(
      'error',
      guarded('rtc.tcp.listener-error', (err: Error) => this.emit('socket-error', err)),
    );
    this.servers.push(server);
    return {
      port,
      unbind: () => {
        const i = this.servers.indexOf(server);
        if (i >= 0) this.servers.splice(i, 1);
        return closeServer(server);
      },
    };
  }

  private async closeListeners(): Promise<void> {
    for (const sock of this.connections) sock.destroy();
    this.connections.clear();
    const udp = this.udp.splice(0);
    const servers = this.servers.splice(0);
    await Promise.all([...udp.map((l) => closeUdp(l.socket)), ...servers.map(closeServer)]);
  }

  // ---- UDP ----

  /** The per-packet path: two map lookups by the strings node already made, no allocation of ours. */
  private onUdp(l: UdpListener, msg: Buffer, rinfo: RemoteInfo): void {
    this.stats.udpDatagrams++;
    const first = msg[0];
    // RFC 768: source port 0 cannot be answered (only raw sockets send it); no tuple is made for it.
    if (first === undefined || rinfo.port === 0) {
      this.stats.malformed++;
      return;
    }
    const tuple = l.tuples.get(rinfo.address)?.get(rinfo.port);
    if (first <= 3) {
      this.onStun(msg, tuple ?? new UdpTuple(l.socket, rinfo.address, rinfo.port, this.stats), l);
      return;
    }
    if (!isMedia(first)) {
      this.stats.malformed++;
      return;
    }
    const owner = tuple?.owner;
    if (!tuple || !owner) {
      this.stats.unknownTuple++;
      return;
    }
    this.stats.routedPackets++;
    owner.handlePacket(msg, tuple);
  }

  private dropUdpTuple(tuple: UdpTuple): void {
    for (const l of this.udp) {
      const ports = l.tuples.get(tuple.remoteAddress);
      if (ports?.get(tuple.remotePort) !== tuple) continue;
      ports.delete(tuple.remotePort);
      if (ports.size === 0) l.tuples.delete(tuple.remoteAddress);
    }
  }

  // ---- TCP ----

  private onTcpConnection(sock: Socket): void {
    const ends = connectionEnds(sock);
    if (this.isClosed || this.connections.size >= this.maxTcpConnections || !ends) {
      this.stats.tcpRefused++;
      sock.destroy();
      return;
    }
    this.stats.tcpConnections++;
    this.connections.add(sock);
    const tuple = new TcpTuple(`tcp:#${++this.tcpSeq}`, sock, ends.remoteAddress, ends.remotePort);
    const framer = new Rfc4571Framer();
    // RFC 6544 §7.2 leaves unproven connections to the agent: 10 s to send a valid check.
    const drop = (): void => {
      sock.destroy();
    };
    const bindTimer = setTimeout(
      guarded(
        'rtc.tcp.bind-timeout',
        () => {
          if (tuple.owner) return;
          this.stats.tcpClosedUnbound++;
          sock.destroy();
        },
        drop,
      ),
      this.tcpBindTimeoutMs,
    );
    bindTimer.unref();
    const onFrame = (frame: Buffer): boolean => this.onTcpFrame(tuple, frame);
    sock.on(
      'data',
      guarded(
        'rtc.tcp.data',
        (chunk: Buffer) => {
          if (framer.push(chunk, onFrame)) return;
          this.stats.tcpClosedGarbage++;
          sock.destroy();
        },
        drop,
      ),
    );
    sock.on('error', guarded('rtc.tcp.error', drop));
    sock.on(
      'close',
      guarded('rtc.tcp.close', () => {
        clearTimeout(bindTimer);
        if (tuple.closedSlow) this.stats.tcpClosedSlow++;
        this.connections.delete(sock);
        const owner = tuple.owner;
        if (!owner) return;
        tuple.owner = null;
        this.sessions.get(owner)?.tuples.delete(tuple);
        owner.forgetTuple(tuple);
      }),
    );
  }

  /**
   * False: close the connection. Before a valid check, anything but STUN means the stream is
   * not ICE-TCP (RFC 6544 §7.1: checks come first). Once bound, the peer has proved itself:
   * a bad frame is dropped and counted, the connection stays.
   */
  private onTcpFrame(tuple: TcpTuple, frame: Buffer): boolean {
    this.stats.tcpFrames++;
    const first = frame[0] as number;
    if (first <= 3) return this.onStun(frame, tuple, null) !== 'malformed' || tuple.owner !== null;
    const owner = tuple.owner;
    if (!owner) {
      this.stats.unknownTuple++;
      return false;
    }
    if (!isMedia(first)) {
      this.stats.malformed++;
      return true;
    }
    this.stats.routedPackets++;
    owner.handlePacket(frame, tuple);
    return true;
  }

  // ---- STUN ----

  /** Routes a STUN message by USERNAME's local ufrag; a valid check binds `tuple` to the session. */
  private onStun(buf: Buffer, tuple: BoundTuple, l: UdpListener | null): 'ok' | 'dropped' | 'malformed' {
    const decoded = decodeStun(buf);
    if (!decoded.ok) {
      this.stats.malformed++;
      return 'malformed';
    }
    this.stats.stunRequests++;
    const ufrag = localUfragOf(decoded.message);
    const session = ufrag === null ? undefined : this.byUfrag.get(ufrag);
    if (!session) {
      this.stats.unknownUfrag++;
      return 'dropped';
    }
    if (!session.handleStun(decoded.message, tuple)) {
      this.stats.checksRejected++;
      return 'dropped';
    }
    this.stats.checksAccepted++;
    this.bind(tuple, session, l);
    return 'ok';
  }

  private bind(tuple: BoundTuple, session: IceLiteSession, l: UdpListener | null): void {
    const previous = tuple.owner;
    if (previous === session) return;
    if (previous) {
      // The same 5-tuple now proves another session's credentials (the browser reuses its
      // socket after an ICE restart into a new session): the newest valid check wins.
      this.sessions.get(previous)?.tuples.delete(tuple);
      previous.forgetTuple(tuple);
    }
    const entry = this.sessions.get(session);
    if (!entry) return;
    tuple.owner = session;
    entry.tuples.add(tuple);
    if (l && tuple instanceof UdpTuple) {
      let ports = l.tuples.get(tuple.remoteAddress);
      if (!ports) l.tuples.set(tuple.remoteAddress, (ports = new Map<number, UdpTuple>()));
      ports.set(tuple.remotePort, tuple);
    }
  }
}

/** RFC 7983 §7: DTLS 20–63, RTP/RTCP 128–191. */
function isMedia(first: number): boolean {
  return (first >= 20 && first <= 63) || (first >= 128 && first <= 191);
}

export type { RtcTuple };

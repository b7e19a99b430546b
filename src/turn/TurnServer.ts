/**
 * The STUN/TURN server (RFC 8489, RFC 8656): UDP and TCP listeners on one port, TLS on a
 * second, on every address it serves (a wildcard host expands to each interface address, so
 * that each relay is bound on the address its client reached, as coturn does). Binding
 * requests are answered without authentication; every TURN request needs long-term
 * credentials (auth.ts). Allocations expire, quotas hold, and peers are filtered
 * (peer-filter.ts). TCP allocations (RFC 6062) relay over TCP to peers (tcp-relay.ts).
 * Nothing from the network can throw out of here: bad input is dropped and counted.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server as TcpServer, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { guarded } from '../util/guarded.js';
import { channelDataLength } from '../stun/channel-data.js';
import { Attr, StunClass, StunMethod } from '../stun/constants.js';
import { checkFingerprint } from '../stun/integrity.js';
import { decodeStun, type StunMessage } from '../stun/message.js';
import type { TransportAddress } from '../stun/address.js';
import { Allocation, type RelayCounters } from './Allocation.js';
import { TurnAuthenticator, nonceCookie, type AuthResult } from './auth.js';
import { answerBinding } from './binding.js';
import { STREAM_MAX_BUFFERED_BYTES, StreamLink, UdpLink, type ClientLink, type LinkCounters, type TransportKind } from './client-link.js';
import { CredentialStore } from './credentials.js';
import {
  handleAllocate, handleChannelBind, handleCreatePermission, handleRefresh, handleSend, isSendIndication,
  type AllocateRequest, type TurnContext,
} from './methods.js';
import { handleConnect, handleConnectionBind } from './tcp-methods.js';
import { ConnectionIds, TcpRelay, listenRelay, type PeerConnection } from './tcp-relay.js';
import { NonceIssuer } from './nonce.js';
import { PeerAddressFilter } from './peer-filter.js';
import { AllocationQuotas, quotaIdentity } from './quotas.js';
import { PortReservations, bindRelay, createTurnSocket } from './relay-ports.js';
import { errorResponse, unknownAttributesResponse, unknownRequired } from './responses.js';
import { StreamFramer } from './stream-framer.js';

export interface TurnServerOptions {
  /** Address to serve; '0.0.0.0' or '::' expand to every interface address (IPv4, or both). */
  host: string;
  /** UDP and TCP port; 0 picks a free one (the same number on every address). */
  port: number;
  /** TLS listener, when a certificate is given. */
  tls?: { cert: Buffer; key: Buffer; port: number };
  /** Relay on this address instead of the one the client reached. */
  relayIp?: string;
  /** Public address of a server behind a 1:1 NAT, given to clients as the relay's address. */
  externalIp?: string;
  realm: string;
  /** Static users "name:password". */
  users: readonly string[];
  /** TURN REST secret (rest-credentials.ts). */
  secret?: string;
  /** CIDRs peers may be in although they are in a refused range. */
  allowPeers: readonly string[];
  /**
   * More of this server's own addresses to refuse as peers (announced media addresses, the
   * public host); the listening, relay and external addresses are refused anyway.
   */
  selfAddresses?: readonly string[];
  /** Allocations plus held reservations, in all (quotas.ts). */
  maxAllocations: number;
  /** Per identity: a static user's name, or the identity part of a REST username. */
  maxAllocationsPerUser: number;
  /** Per client IP; default: no bound beyond maxAllocations (src/server/turn.ts sets one). */
  maxAllocationsPerIp?: number;
  /** Ports held for RESERVATION-TOKENs at once, in all; default 128. */
  maxReservations?: number;
  /** Unread bytes toward one TCP/TLS client before media is dropped and control closes it (client-link.ts). */
  streamMaxBufferedBytes?: number;
  /** A TCP/TLS connection with no allocation (and not a data connection) is closed this long after it opened; default 30 s. */
  allocateDeadlineMs?: number;
  /** Per allocation and direction; 0 = no cap. */
  maxBitrateKbps: number;
  defaultLifetimeS?: number;
  maxLifetimeS?: number;
  nonceLifetimeS?: number;
  logger?: Logger;
}

export interface TurnCounters extends RelayCounters, LinkCounters {
  bindingRequests: number;
  allocationsCreated: number;
  allocationsExpired: number;
  /** Requests answered with an error, by code. */
  errors: Record<number, number>;
  /** Datagrams or frames that were not valid STUN/ChannelData, or were not for us (or came from port 0). */
  malformed: number;
  /** TCP/TLS connections closed at their allocate deadline. */
  streamsTimedOut: number;
}

/** Comprehension-required attributes this server understands in requests (DONT-FRAGMENT is not among them: §7.2). */
const KNOWN = new Set<number>([
  Attr.Username, Attr.Userhash, Attr.MessageIntegrity, Attr.MessageIntegritySha256, Attr.Realm, Attr.Nonce,
  Attr.PasswordAlgorithm, Attr.Lifetime, Attr.RequestedTransport, Attr.RequestedAddressFamily, Attr.EvenPort,
  Attr.ReservationToken, Attr.XorPeerAddress, Attr.ChannelNumber, Attr.Data, Attr.Priority, Attr.UseCandidate,
  Attr.ConnectionId,
]);

/** A TCP/TLS connection that has not allocated this long after it opened is closed, active or not. */
export const STREAM_ALLOCATE_DEADLINE_MS = 30_000;
/** Ports held for RESERVATION-TOKENs at once (each is a bound socket). */
export const DEFAULT_MAX_RESERVATIONS = 128;
const MAX_STREAM_CONNECTIONS = 10_000;
const SWEEP_MS = 1000;
/** Kernel buffers of a listener socket: every UDP client of one address shares it. */
const LISTENER_BUFFER_BYTES = 4 << 20;

interface UdpListener {
  address: string;
  socket: UdpSocket;
  /** Client IP → client port → allocation. */
  allocations: Map<string, Map<number, Allocation>>;
}

/** A bound socket's address as STUN sees it. */
function transportAddress(bound: { family: string; address: string; port: number }): TransportAddress {
  return { family: bound.family === 'IPv6' ? 6 : 4, address: bound.address, port: bound.port };
}

/** Every address of this machine that a wildcard host stands for (link-local IPv6 left out: it needs a scope). */
export function expandHost(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.family === 'IPv4') out.push(i.address);
      else if (host === '::' && !i.address.toLowerCase().startsWith('fe80')) out.push(i.address);
    }
  }
  return out;
}

export class TurnServer implements TurnContext {
  readonly counters: TurnCounters = {
    toPeerPackets: 0, toPeerBytes: 0, toClientPackets: 0, toClientBytes: 0, dropped: 0, sendFailures: 0,
    slowReaderDrops: 0, slowReaderCloses: 0,
    bindingRequests: 0, allocationsCreated: 0, allocationsExpired: 0, errors: {}, malformed: 0, streamsTimedOut: 0,
  };
  readonly peerFilter: PeerAddressFilter;
  readonly defaultLifetimeS: number;
  readonly maxLifetimeS: number;
  readonly externalIp: string | undefined;
  port = 0;
  tlsPort = 0;
  /** The addresses served. */
  addresses: string[] = [];
  private readonly auth: TurnAuthenticator;
  private readonly udp: UdpListener[] = [];
  private readonly servers: TcpServer[] = [];
  private readonly streams = new Set<Socket>();
  private readonly allocations = new Set<Allocation>();
  /** Allocations of TCP/TLS 5-tuples, by their connection's link. */
  private readonly streamAllocations = new Map<ClientLink, Allocation>();
  private readonly quotas: AllocationQuotas;
  private readonly reservations: PortReservations;
  private readonly maxReservations: number;
  private readonly streamMaxBuffered: number;
  private readonly allocateDeadlineMs: number;
  /** This server's own addresses that the allow list does not open (peer-filter.ts 'self'). */
  private readonly ownAddresses = new Set<string>();
  /** Ports of live relays (UDP sockets, RFC 6062 listeners), by how many relays use the number. */
  private readonly relayPorts = new Map<number, number>();
  /** Other ports on the own addresses a relay may reach (the SFU's media port). */
  private readonly reachableOwnPorts = new Set<number>();
  /** Unbound RFC 6062 peer connections, by CONNECTION-ID. */
  private readonly connectionIds = new ConnectionIds();
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: TurnServerOptions) {
    this.auth = new TurnAuthenticator(
      new CredentialStore(opts.realm, opts.users, opts.secret),
      new NonceIssuer((opts.nonceLifetimeS ?? 600) * 1000, nonceCookie(opts.users.length > 0)),
    );
    this.peerFilter = new PeerAddressFilter(opts.allowPeers);
    this.quotas = new AllocationQuotas({
      total: opts.maxAllocations, perIdentity: opts.maxAllocationsPerUser, perIp: opts.maxAllocationsPerIp ?? opts.maxAllocations,
    });
    this.reservations = new PortReservations((owner) => this.quotas.remove(owner.identity, owner.ip));
    this.maxReservations = opts.maxReservations ?? DEFAULT_MAX_RESERVATIONS;
    this.streamMaxBuffered = opts.streamMaxBufferedBytes ?? STREAM_MAX_BUFFERED_BYTES;
    this.allocateDeadlineMs = opts.allocateDeadlineMs ?? STREAM_ALLOCATE_DEADLINE_MS;
    this.defaultLifetimeS = opts.defaultLifetimeS ?? 600;
    this.maxLifetimeS = opts.maxLifetimeS ?? 3600;
    this.externalIp = opts.externalIp;
  }

  /**
   * Endpoints of this host that clients may reach through a relay although they are on its
   * own addresses: the SFU's RTC port, so that a client that can only use TURN reaches the SFU.
   */
  allowOwnEndpoints(endpoints: ReadonlyArray<{ ip: string; port: number }>): void {
    this.addOwnAddresses(endpoints.map((e) => e.ip));
    for (const e of endpoints) this.reachableOwnPorts.add(e.port);
  }

  selfPortReachable(port: number): boolean {
    return this.relayPorts.has(port) || this.reachableOwnPorts.has(port);
  }

  private addOwnAddresses(addresses: readonly string[]): void {
    this.peerFilter.addOwnAddresses(addresses);
    for (const a of addresses) if (this.peerFilter.check(a) === 'self') this.ownAddresses.add(a);
  }

  get activeAllocations(): number {
    return this.allocations.size;
  }

  /** Ports held for RESERVATION-TOKENs right now. */
  get heldReservations(): number {
    return this.reservations.size;
  }

  /** Live allocations by the transport their client uses to reach us. */
  allocationsByTransport(): Record<TransportKind, number> {
    const out: Record<TransportKind, number> = { udp: 0, tcp: 0, tls: 0 };
    for (const a of this.allocations) out[a.link.kind]++;
    return out;
  }

  async listen(): Promise<void> {
    this.addresses = expandHost(this.opts.host);
    if (this.addresses.length === 0) throw new Error(`no address to serve for host ${this.opts.host}`);
    // A client must not reach this server itself through a relay (peer-filter.ts).
    this.addOwnAddresses([
      ...this.addresses, ...(this.opts.relayIp ? [this.opts.relayIp] : []), ...(this.opts.externalIp ? [this.opts.externalIp] : []),
      ...(this.opts.selfAddresses ?? []),
    ]);
    this.port = await this.bindAll(this.opts.port, (port) => this.addresses.flatMap((a) => [this.bindUdp(a, port), this.bindStream(a, port, 'tcp')]));
    const tls = this.opts.tls;
    if (tls) this.tlsPort = await this.bindAll(tls.port, (port) => this.addresses.map((a) => this.bindStream(a, port, 'tls')));
    this.sweepTimer = setInterval(guarded('turn.sweep', () => this.sweep(Date.now())), SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Binds every listener on one port number; with port 0, retries until one number is free everywhere. */
  private async bindAll(port: number, make: (port: number) => Array<Promise<() => Promise<void>>>): Promise<number> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const first = await this.probeFreePort(port);
      const results = await Promise.allSettled(make(first));
      const failed = results.find((r) => r.status === 'rejected');
      if (!failed) return first;
      for (const r of results) if (r.status === 'fulfilled') await r.value();
      if (port !== 0) throw (failed as PromiseRejectedResult).reason;
    }
    throw new Error('no port free on every address');
  }

  /** A port number for `port` 0: one the OS gives a UDP socket on the first address. */
  private async probeFreePort(port: number): Promise<number> {
    if (port !== 0) return port;
    const s = createSocket(isIPv6(this.addresses[0] as string) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(0, this.addresses[0], () => resolve()); });
    const p = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return p;
  }

  private async bindUdp(address: string, port: number): Promise<() => Promise<void>> {
    const socket = createTurnSocket(address, LISTENER_BUFFER_BYTES);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => { socket.off('error', reject); resolve(); });
    });
    const listener: UdpListener = { address, socket, allocations: new Map() };
    socket.on('error', guarded('turn.udp.error', (err: Error) => this.opts.logger?.warn({ err: err.message, address }, 'turn: udp socket error')));
    socket.on('message', guarded('turn.udp.message', (msg: Buffer, rinfo: { address: string; port: number }) => this.onUdp(listener, msg, rinfo.address, rinfo.port)));
    this.udp.push(listener);
    return () => new Promise<void>((r) => {
      this.udp.splice(this.udp.indexOf(listener), 1);
      socket.close(() => r());
    });
  }

  private async bindStream(address: string, port: number, kind: 'tcp' | 'tls'): Promise<() => Promise<void>> {
    const tls = this.opts.tls;
    const dropConnection = (_err: unknown, s: Socket): void => { s.destroy(); };
    const server = kind === 'tls' && tls
      ? createTlsServer({ cert: tls.cert, key: tls.key, handshakeTimeout: 10_000 }, guarded('turn.tls.connection', (s: Socket) => this.onStream(s, 'tls'), dropConnection))
      : createServer(guarded('turn.tcp.connection', (s: Socket) => this.onStream(s, 'tcp'), dropConnection));
    // A failed TLS handshake is the client's problem, not an error of the server.
    server.on('tlsClientError', guarded('turn.tls.client-error', (_err: Error, s: Socket) => { this.counters.malformed++; s.destroy(); }));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: address, ipv6Only: true }, () => { server.off('error', reject); resolve(); });
    });
    server.on('error', guarded('turn.listener.error', (err: Error) => this.opts.logger?.warn({ err: err.message, address }, 'turn: listener error')));
    this.servers.push(server);
    return () => new Promise<void>((r) => {
      this.servers.splice(this.servers.indexOf(server), 1);
      server.close(() => r());
    });
  }

  private onUdp(l: UdpListener, msg: Buffer, address: string, port: number): void {
    // RFC 768: source port 0 means no reply is possible (only raw sockets send it): nothing to answer.
    if (port === 0) {
      this.counters.malformed++;
      return;
    }
    const first = msg[0] as number;
    if (first >= 0x40 && first <= 0x7f) {
      // ChannelData: the per-packet path.
      this.onChannelData(l.allocations.get(address)?.get(port), msg);
      return;
    }
    const existing = l.allocations.get(address)?.get(port);
    this.onStun(msg, existing?.link ?? new UdpLink(l.socket, l.address, address, port, this.counters), existing);
  }

  private onStream(sock: Socket, kind: 'tcp' | 'tls'): void {
    // Read the addresses now: a connection reset before it was accepted has none, and later
    // reads of a reset socket return undefined.
    const remoteAddress = sock.remoteAddress;
    const remotePort = sock.remotePort;
    const localAddress = sock.localAddress;
    if (!remoteAddress || !remotePort || !localAddress) {
      this.counters.malformed++;
      sock.destroy();
      return;
    }
    if (this.streams.size >= MAX_STREAM_CONNECTIONS) {
      sock.destroy();
      return;
    }
    this.streams.add(sock);
    const link = new StreamLink(kind, sock, remoteAddress, remotePort, localAddress, this.streamMaxBuffered, this.counters);
    const framer = new StreamFramer();
    let dataConnection = false;
    sock.setNoDelay(true);
    // An absolute deadline, not an idle timeout: Bindings every few seconds must not keep a
    // connection that never allocates.
    const deadline = setTimeout(guarded('turn.stream.deadline', () => {
      if (this.streamAllocations.has(link) || dataConnection) return;
      this.counters.streamsTimedOut++;
      sock.destroy();
    }), this.allocateDeadlineMs);
    deadline.unref();
    const drop = (): void => { sock.destroy(); };
    sock.on('error', guarded('turn.stream.error', drop));
    sock.on('close', guarded('turn.stream.close', () => {
      clearTimeout(deadline);
      this.streams.delete(sock);
      // §5: the allocation of a TCP/TLS 5-tuple ends with its connection.
      const a = this.streamAllocations.get(link);
      if (a) this.release(a, 'connection closed');
    }));
    const onData = guarded('turn.stream.data', (chunk: Buffer): void => {
      let bound: PeerConnection | undefined;
      const ok = framer.push(chunk, (frame) => {
        const a = this.streamAllocations.get(link);
        if ((frame[0] as number) >= 0x40) {
          this.onChannelData(a, frame);
          return;
        }
        // The frame is a view into a chunk that may be reused: copy what may outlive this call.
        bound = this.onStun(Buffer.from(frame), link, a);
        return bound ? 'stop' : undefined;
      });
      if (!ok) {
        this.counters.malformed++;
        sock.destroy();
      } else if (bound) {
        // RFC 6062 §5.4: a client data connection from now on; no more framing.
        dataConnection = true;
        clearTimeout(deadline);
        sock.off('data', onData);
        bound.bind(sock, framer.takeRest());
      }
    }, drop);
    sock.on('data', onData);
  }

  private onChannelData(a: Allocation | undefined, frame: Buffer): void {
    const len = a ? channelDataLength(frame) : -1;
    if (len < 0) this.counters.malformed++;
    else a!.relayChannelData(frame.readUInt16BE(0), frame, 4, len);
  }

  /**
   * A STUN message from a client 5-tuple and the allocation that 5-tuple has, if any. Returns
   * the peer connection a successful ConnectionBind tied this (stream) link to.
   */
  private onStun(buf: Buffer, link: ClientLink, existing: Allocation | undefined): PeerConnection | undefined {
    const res = decodeStun(buf);
    if (!res.ok || checkFingerprint(res.message) === false) {
      this.counters.malformed++;
      return;
    }
    const msg = res.message;
    if (msg.cls === StunClass.Indication) {
      if (existing && isSendIndication(msg) && unknownRequired(msg, KNOWN).length === 0 && handleSend(msg, existing)) return;
      this.counters.dropped++;
      return;
    }
    if (msg.cls !== StunClass.Request) {
      this.counters.malformed++;
      return;
    }
    if (msg.method === StunMethod.Binding) {
      this.counters.bindingRequests++;
      const out = answerBinding(msg, { address: link.remoteAddress, port: link.remotePort });
      if (out) link.send(out);
      return;
    }
    if (msg.method === StunMethod.ConnectionBind) return this.onConnectionBind(msg, link, existing);
    this.onRequest(msg, link, existing).then(guarded('turn.request.reply', (out: Buffer | undefined) => {
      if (out) this.reply(link, out);
    }, () => link.close()), guarded('turn.request.failed', (err: Error) => {
      this.opts.logger?.error({ err: err.message }, 'turn: request failed');
      this.reply(link, errorResponse(msg, 500));
    }, () => link.close()));
  }

  /** Synchronous, so that the success goes out before the first relayed byte. */
  private onConnectionBind(msg: StunMessage, link: ClientLink, existing: Allocation | undefined): PeerConnection | undefined {
    const auth = this.admit(msg, link);
    if (!auth.ok) {
      this.reply(link, auth.response);
      return undefined;
    }
    const { response, conn } = handleConnectionBind(msg, link, existing, auth, this.connectionIds);
    this.reply(link, response);
    return conn;
  }

  private reply(link: ClientLink, out: Buffer): void {
    // Error responses start with ERROR-CODE (responses.ts): class and number at bytes 26–27.
    if (out.length >= 28 && (out.readUInt16BE(0) & 0x0110) === 0x0110) {
      const code = ((out[26] as number) & 7) * 100 + (out[27] as number);
      this.counters.errors[code] = (this.counters.errors[code] ?? 0) + 1;
    }
    link.send(out);
  }

  /**
   * What every TURN request passes first: authentication, then (RFC 8489 §6.3.1, after it)
   * no unknown comprehension-required attribute.
   */
  private admit(msg: StunMessage, link: ClientLink): AuthResult {
    const auth = this.auth.authenticate(msg, link.remoteAddress);
    if (!auth.ok) return auth;
    const unknown = unknownRequired(msg, KNOWN);
    return unknown.length > 0 ? { ok: false, code: 420, response: unknownAttributesResponse(msg, unknown) } : auth;
  }

  private async onRequest(msg: StunMessage, link: ClientLink, existing: Allocation | undefined): Promise<Buffer | undefined> {
    const known = msg.method === StunMethod.Allocate || msg.method === StunMethod.Refresh
      || msg.method === StunMethod.CreatePermission || msg.method === StunMethod.ChannelBind || msg.method === StunMethod.Connect;
    if (!known) return errorResponse(msg, 400);
    const auth = this.admit(msg, link);
    if (!auth.ok) return auth.response;
    // §5: every request on an allocation must come from the user who made it.
    if (existing && existing.username !== auth.username) return errorResponse(msg, 441, auth.signer);
    if (msg.method === StunMethod.Allocate) return handleAllocate(this, msg, link, existing, auth);
    if (!existing) return errorResponse(msg, 437, auth.signer);
    if (msg.method === StunMethod.Refresh) return handleRefresh(this, msg, existing, auth.signer);
    if (msg.method === StunMethod.CreatePermission) return handleCreatePermission(this, msg, existing, auth.signer);
    if (msg.method === StunMethod.Connect) return handleConnect(this, msg, existing, auth.signer);
    return handleChannelBind(this, msg, existing, auth.signer);
  }

  /** The allocation table of the UDP listener a client reached. */
  private udpTable(link: ClientLink): Map<string, Map<number, Allocation>> | undefined {
    return this.udp.find((u) => u.address === link.localAddress)?.allocations;
  }

  private allocationOf(link: ClientLink): Allocation | undefined {
    if (link.kind !== 'udp') return this.streamAllocations.get(link);
    return this.udpTable(link)?.get(link.remoteAddress)?.get(link.remotePort);
  }

  async allocate(req: AllocateRequest): Promise<{ allocation: Allocation; reservationToken?: Buffer } | 486 | 440 | 508 | 437> {
    const identity = quotaIdentity(req.username);
    const ip = req.link.remoteAddress;
    if (req.transport === 'tcp') {
      if (!this.quotas.fits(identity, ip, 1)) return 486;
      return this.allocateTcp(req);
    }
    let relay: UdpSocket | undefined;
    let reserved: UdpSocket | undefined;
    if (req.token) {
      const held = this.reservations.take(req.token);
      if (!held) return 508;
      // The held port's unit becomes this allocation's, under whoever redeems it.
      this.quotas.remove(held.owner.identity, held.owner.ip);
      relay = held.socket;
      if (!this.quotas.fits(identity, ip, 1)) {
        relay.close();
        return 486;
      }
    } else {
      // A reservation holds a socket like an allocation: it counts against the same quotas.
      const units = req.reserveNext ? 2 : 1;
      if (!this.quotas.fits(identity, ip, units)) return 486;
      if (req.reserveNext && this.reservations.size >= this.maxReservations) return 508;
      const relayIp = this.relayAddressFor(req.link, req.family);
      if (!relayIp) return 440;
      const pair = await bindRelay(relayIp, req.evenPort, req.reserveNext);
      if (!pair) return 508;
      relay = pair.relay;
      reserved = pair.next;
    }
    const refusal = this.refusalAfterBind(req, identity, ip, reserved ? 2 : 1) || (reserved && this.reservations.size >= this.maxReservations ? 508 : 0);
    if (refusal) {
      relay.close();
      reserved?.close();
      return refusal;
    }
    const bound = relay.address();
    const a = this.register(req, relay, transportAddress(bound));
    relay.on('error', guarded('turn.relay.error', () => { this.counters.dropped++; }));
    if (!reserved) return { allocation: a };
    this.quotas.add(identity, ip);
    return { allocation: a, reservationToken: this.reservations.hold(reserved, { identity, ip }) };
  }

  /** RFC 6062 §5.1: the relayed address is a TCP listening socket, on the address a UDP relay would have. */
  private async allocateTcp(req: AllocateRequest): Promise<{ allocation: Allocation } | 486 | 440 | 508 | 437> {
    const relayIp = this.relayAddressFor(req.link, req.family);
    if (!relayIp) return 440;
    const server = await listenRelay(relayIp);
    if (!server) return 508;
    const refusal = this.refusalAfterBind(req, quotaIdentity(req.username), req.link.remoteAddress, 1);
    if (refusal) {
      server.close();
      return refusal;
    }
    const bound = server.address() as { address: string; family: string; port: number };
    const a = this.register(req, null, transportAddress(bound));
    a.tcp = new TcpRelay(a, server, this.connectionIds);
    return { allocation: a };
  }

  /** Makes the allocation and enters it in the tables. */
  private register(req: AllocateRequest, relay: UdpSocket | null, relayed: Allocation['relayed']): Allocation {
    const a = new Allocation({
      link: req.link, relay, relayed,
      username: req.username, key: req.signer.key, algorithm: req.algorithm, lifetimeMs: req.lifetimeS * 1000,
      maxBytesPerSecond: (this.opts.maxBitrateKbps * 1000) / 8, counters: this.counters,
      self: { addresses: this.ownAddresses, selfPortReachable: (port) => this.selfPortReachable(port) },
    });
    this.allocations.add(a);
    this.relayPorts.set(relayed.port, (this.relayPorts.get(relayed.port) ?? 0) + 1);
    this.quotas.add(quotaIdentity(req.username), req.link.remoteAddress);
    this.counters.allocationsCreated++;
    if (req.link.kind === 'udp') {
      const table = this.udpTable(req.link);
      let ports = table?.get(req.link.remoteAddress);
      if (table && !ports) table.set(req.link.remoteAddress, (ports = new Map()));
      ports?.set(req.link.remotePort, a);
    } else {
      this.streamAllocations.set(req.link, a);
    }
    this.opts.logger?.debug({ user: req.username, client: `${req.link.remoteAddress}:${req.link.remotePort}`, relay: `${relayed.address}:${relayed.port}`, transport: req.transport }, 'turn: allocation created');
    return a;
  }

  /** Checked again once a relay is bound: another Allocate may have won meanwhile. */
  private refusalAfterBind(req: AllocateRequest, identity: string, ip: string, units: number): 0 | 437 | 486 {
    return this.allocationOf(req.link) ? 437 : this.quotas.fits(identity, ip, units) ? 0 : 486;
  }

  release(a: Allocation, reason: string): void {
    if (!this.allocations.delete(a)) return;
    a.close();
    this.quotas.remove(quotaIdentity(a.username), a.link.remoteAddress);
    const users = (this.relayPorts.get(a.relayed.port) ?? 1) - 1;
    if (users > 0) this.relayPorts.set(a.relayed.port, users);
    else this.relayPorts.delete(a.relayed.port);
    if (a.link.kind === 'udp') {
      const table = this.udpTable(a.link);
      const ports = table?.get(a.link.remoteAddress);
      ports?.delete(a.link.remotePort);
      if (ports?.size === 0) table?.delete(a.link.remoteAddress);
    } else {
      this.streamAllocations.delete(a.link);
    }
    this.opts.logger?.debug({ user: a.username, reason }, 'turn: allocation released');
  }

  /** §7.2: the relay is on the address the client reached (or the configured one), of the asked family. */
  private relayAddressFor(link: ClientLink, family: 4 | 6): string | undefined {
    const wanted = (ip: string): boolean => (family === 6) === isIPv6(ip);
    if (this.opts.relayIp) return wanted(this.opts.relayIp) ? this.opts.relayIp : undefined;
    const local = link.localAddress.replace(/^::ffff:/, '');
    if (wanted(local)) return local;
    return this.addresses.find((a) => wanted(a) && !a.startsWith('127.') && a !== '::1') ?? this.addresses.find(wanted);
  }

  private sweep(now: number): void {
    this.reservations.sweep(now);
    for (const a of this.allocations) {
      if (a.expiresAt <= now) {
        this.counters.allocationsExpired++;
        this.release(a, 'expired');
      } else {
        a.sweep(now);
      }
    }
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const a of [...this.allocations]) this.release(a, 'server closing');
    this.reservations.closeAll();
    for (const s of this.streams) s.destroy();
    await Promise.all([
      ...this.udp.map((l) => new Promise<void>((r) => l.socket.close(() => r()))),
      ...this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))),
    ]);
    this.udp.length = 0;
    this.servers.length = 0;
  }
}


/**
 * The STUN/TURN server (RFC 8489, RFC 8656): UDP and TCP listeners on one port, TLS on a
 * second, on every address it serves (a wildcard host expands to each interface address, so
 * that each relay is bound on the address its client reached, as coturn does). It is the
 * composition of three parts:
 *   - listeners/ — sockets and servers per transport; they cut datagrams and streams into
 *     STUN and ChannelData,
 *   - dispatch/ — checks and authenticates what a client sent and answers it by method,
 *   - allocations/ — the allocation table: allocations by 5-tuple and relay port, quotas,
 *     held ports, the expiry sweep; each Allocation relays between its client and peers.
 * Binding requests are answered without authentication; every TURN request needs long-term
 * credentials (dispatch/auth.ts). Peers are filtered (peer-filter.ts). Nothing from the network
 * can throw out of here: bad input is dropped and counted.
 */
import type { Logger } from 'pino';
import { InternalErrorCode, SwitchboardError } from '../protocol/errors.js';
import { expandWildcard } from '../net/address.js';
import { bindSamePort } from '../net/multi-bind.js';
import { guarded } from '../util/guarded.js';
import { AllocationTable, DEFAULT_MAX_RESERVATIONS } from './allocations/allocation-table.js';
import { OwnEndpoints } from './allocations/own-endpoints.js';
import type { PortRange } from './allocations/port-range.js';
import { relayAddressFor } from './allocations/relay-address.js';
import { STREAM_MAX_BUFFERED_BYTES, type TransportKind } from './client-link.js';
import { newTurnCounters, type TurnCounters, type TurnSnapshot } from './counters.js';
import { CredentialStore } from './credentials.js';
import { TurnAuthenticator, nonceCookie } from './dispatch/auth.js';
import { TurnDispatcher } from './dispatch/dispatcher.js';
import type { TurnContext } from './dispatch/methods.js';
import { STREAM_ALLOCATE_DEADLINE_MS, StreamListeners } from './listeners/stream-listeners.js';
import { UdpListeners } from './listeners/udp-listeners.js';
import { NonceIssuer } from './nonce.js';
import { PeerAddressFilter } from './peer-filter.js';

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
  /** Relay ports (UDP and RFC 6062 TCP) are taken from this range; default: ports the OS picks. */
  relayPorts?: PortRange;
  /**
   * Relay port slices of sibling TURN processes on this host: a relay may reach those ports on
   * the server's own addresses, as it reaches this server's own relays.
   */
  siblingRelayPorts?: readonly PortRange[];
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

const SWEEP_MS = 1000;

/**
 * Every address of this machine that a host stands for: '0.0.0.0' every IPv4 address, '::'
 * every address of both families (link-local IPv6 left out: it needs a scope).
 */
export function servedAddresses(host: string): string[] {
  return host === '::' ? [...expandWildcard('0.0.0.0'), ...expandWildcard('::')] : expandWildcard(host);
}

export class TurnServer {
  readonly counters: TurnCounters = newTurnCounters();
  port = 0;
  tlsPort = 0;
  /** The addresses served. */
  addresses: string[] = [];
  private readonly peerFilter: PeerAddressFilter;
  private readonly own: OwnEndpoints;
  private readonly table: AllocationTable;
  private readonly udp: UdpListeners;
  private readonly streams: StreamListeners;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: TurnServerOptions) {
    const counters = this.counters;
    const logger = opts.logger;
    this.peerFilter = new PeerAddressFilter(opts.allowPeers);
    this.own = new OwnEndpoints(this.peerFilter, (port) => this.table.hasRelayPort(port));
    this.own.allowRelaySlices(opts.siblingRelayPorts ?? []);
    this.table = new AllocationTable({
      quotas: {
        total: opts.maxAllocations,
        perIdentity: opts.maxAllocationsPerUser,
        perIp: opts.maxAllocationsPerIp ?? opts.maxAllocations,
      },
      maxReservations: opts.maxReservations ?? DEFAULT_MAX_RESERVATIONS,
      maxBitrateKbps: opts.maxBitrateKbps,
      relayAddress: (link, family) => relayAddressFor(link.localAddress, family, this.addresses, opts.relayIp),
      self: this.own,
      relayPorts: opts.relayPorts,
      counters,
      logger,
    });
    const ctx: TurnContext = {
      peerFilter: this.peerFilter,
      selfPortReachable: (port) => this.own.selfPortReachable(port),
      defaultLifetimeS: opts.defaultLifetimeS ?? 600,
      maxLifetimeS: opts.maxLifetimeS ?? 3600,
      externalIp: opts.externalIp,
      allocate: (req) => this.table.allocate(req),
      release: (a, reason) => this.table.release(a, reason),
    };
    const dispatcher = new TurnDispatcher({
      ctx,
      counters,
      logger,
      connectionIds: this.table.connectionIds,
      auth: new TurnAuthenticator(
        new CredentialStore(opts.realm, opts.users, opts.secret),
        new NonceIssuer((opts.nonceLifetimeS ?? 600) * 1000, nonceCookie(opts.users.length > 0)),
      ),
    });
    this.udp = new UdpListeners({ dispatcher, allocations: this.table, counters, logger });
    this.streams = new StreamListeners({
      tls: opts.tls,
      maxBuffered: opts.streamMaxBufferedBytes ?? STREAM_MAX_BUFFERED_BYTES,
      allocateDeadlineMs: opts.allocateDeadlineMs ?? STREAM_ALLOCATE_DEADLINE_MS,
      dispatcher,
      allocations: this.table,
      counters,
      logger,
    });
  }

  /**
   * Endpoints of this host that clients may reach through a relay although they are on its
   * own addresses: the SFU's RTC port, so that a client that can only use TURN reaches the SFU.
   */
  allowOwnEndpoints(endpoints: ReadonlyArray<{ ip: string; port: number }>): void {
    this.own.allow(endpoints);
  }

  get activeAllocations(): number {
    return this.table.size;
  }

  /** Ports held for RESERVATION-TOKENs right now. */
  get heldReservations(): number {
    return this.table.heldReservations;
  }

  /** Live allocations by the transport their client uses to reach us. */
  allocationsByTransport(): Record<TransportKind, number> {
    return this.table.byTransport();
  }

  /** Counters and gauges for /metrics, as plain data (a copy: it may cross a process boundary). */
  snapshot(): TurnSnapshot {
    return {
      counters: { ...this.counters, errors: { ...this.counters.errors } },
      allocationsByTransport: this.allocationsByTransport(),
      heldReservations: this.heldReservations,
    };
  }

  async listen(): Promise<void> {
    const addresses = servedAddresses(this.opts.host);
    const [first, ...rest] = addresses;
    if (first === undefined) throw new SwitchboardError(InternalErrorCode.Unavailable, `no address to serve for host ${this.opts.host}`);
    this.addresses = addresses;
    // A client must not reach this server itself through a relay (peer-filter.ts).
    this.own.add([
      ...addresses,
      ...(this.opts.relayIp ? [this.opts.relayIp] : []),
      ...(this.opts.externalIp ? [this.opts.externalIp] : []),
      ...(this.opts.selfAddresses ?? []),
    ]);
    this.port = await bindSamePort(this.opts.port, {
      first: (port) => this.udp.listen(first, port),
      rest: (port) => [
        this.streams.listen(first, port, 'tcp'),
        ...rest.flatMap((a) => [this.udp.listen(a, port), this.streams.listen(a, port, 'tcp')]),
      ],
    });
    if (this.opts.tls) {
      this.tlsPort = await bindSamePort(this.opts.tls.port, {
        first: (port) => this.streams.listen(first, port, 'tls'),
        rest: (port) => rest.map((a) => this.streams.listen(a, port, 'tls')),
      });
    }
    this.sweepTimer = setInterval(
      guarded('turn.sweep', () => this.table.sweep(Date.now())),
      SWEEP_MS,
    );
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.table.clear();
    await Promise.all([this.streams.close(), this.udp.close()]);
  }
}

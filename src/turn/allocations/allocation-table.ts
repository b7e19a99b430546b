/**
 * Every allocation of the server (RFC 8656 §2.2): found by its client 5-tuple — UDP ones by the
 * listener address, client IP and port (nested maps keyed by the strings Node already made, so
 * the per-packet lookup builds no key), TCP/TLS ones by their connection's link — and by relay
 * port (which of the server's own ports a relay may reach, own-endpoints.ts). It creates them
 * within the quotas (quotas.ts) and the ports held for RESERVATION-TOKENs (relay-ports.ts),
 * releases them, and sweeps out what expired.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import type { Logger } from 'pino';
import { boundAddress } from '../../net/address.js';
import { guarded } from '../../util/guarded.js';
import type { ClientLink, TransportKind } from '../client-link.js';
import type { TurnCounters } from '../counters.js';
import type { KeyAlgorithm } from '../credentials.js';
import { Allocation, type SelfEndpoints } from './Allocation.js';
import { AllocationQuotas, quotaIdentity, type QuotaLimits } from './quotas.js';
import type { PortRange } from './port-range.js';
import { PortReservations, bindRelay } from './relay-ports.js';
import { ConnectionIds, TcpRelay, listenRelay } from './tcp-relay.js';

/** Ports held for RESERVATION-TOKENs at once (each is a bound socket). */
export const DEFAULT_MAX_RESERVATIONS = 128;

/** UDP allocations of one listener address: client IP → client port → allocation. */
export type UdpAllocations = Map<string, Map<number, Allocation>>;

/** An Allocate request that passed its checks (dispatch/methods.ts), for the table to fulfil. */
export interface AllocateRequest {
  link: ClientLink;
  /** The relay's transport: 'tcp' is an RFC 6062 allocation. */
  transport: 'udp' | 'tcp';
  family: 4 | 6;
  evenPort: boolean;
  /** EVEN-PORT's R bit: also hold the next port for a later Allocate (§7.2, RTP/RTCP pairs). */
  reserveNext: boolean;
  /** RESERVATION-TOKEN: take the port held for this token. */
  token: Buffer | undefined;
  lifetimeS: number;
  username: string;
  /** The long-term key the request was signed with: the allocation's responses are signed with it. */
  key: Buffer;
  algorithm: KeyAlgorithm;
}

/** What an Allocate gets: the allocation (with the token of a port held for the next one), or the error code. */
export type AllocateResult = { allocation: Allocation; reservationToken?: Buffer } | 486 | 440 | 508 | 437;

export interface AllocationTableOptions {
  quotas: QuotaLimits;
  /** Ports held for RESERVATION-TOKENs at once, in all. */
  maxReservations: number;
  /** Per allocation and direction; 0 = no cap. */
  maxBitrateKbps: number;
  /** The address a relay for this client link is bound on (relay-address.ts); undefined: none of that family. */
  relayAddress(link: ClientLink, family: 4 | 6): string | undefined;
  self: SelfEndpoints;
  /** Relay ports are taken from this range; default: ports the OS picks. */
  relayPorts?: PortRange | undefined;
  counters: TurnCounters;
  logger?: Logger | undefined;
}

export class AllocationTable {
  /** Unbound RFC 6062 peer connections, by CONNECTION-ID (ConnectionBind looks them up). */
  readonly connectionIds = new ConnectionIds();
  private readonly allocations = new Set<Allocation>();
  /** UDP allocations by the listener address their client reached. */
  private readonly udp = new Map<string, UdpAllocations>();
  /** Allocations of TCP/TLS 5-tuples, by their connection's link. */
  private readonly streams = new Map<ClientLink, Allocation>();
  /** Ports of live relays (UDP sockets, RFC 6062 listeners), by how many relays use the number. */
  private readonly relayPorts = new Map<number, number>();
  private readonly quotas: AllocationQuotas;
  private readonly reservations: PortReservations;
  private readonly counters: TurnCounters;

  constructor(private readonly opts: AllocationTableOptions) {
    this.counters = opts.counters;
    this.quotas = new AllocationQuotas(opts.quotas);
    this.reservations = new PortReservations((owner) => this.quotas.remove(owner.identity, owner.ip));
  }

  get size(): number {
    return this.allocations.size;
  }

  /** Ports held for RESERVATION-TOKENs right now. */
  get heldReservations(): number {
    return this.reservations.size;
  }

  /** Live allocations by the transport their client uses to reach us. */
  byTransport(): Record<TransportKind, number> {
    const out: Record<TransportKind, number> = { udp: 0, tcp: 0, tls: 0 };
    for (const a of this.allocations) out[a.link.kind]++;
    return out;
  }

  /** Whether a live relay has this port number. */
  hasRelayPort(port: number): boolean {
    return this.relayPorts.has(port);
  }

  /** The UDP allocations of a listener address: a live map, which the listener keeps for its per-packet lookup. */
  udpAllocations(localAddress: string): UdpAllocations {
    let table = this.udp.get(localAddress);
    if (!table) this.udp.set(localAddress, (table = new Map<string, Map<number, Allocation>>()));
    return table;
  }

  /** The allocation of a TCP/TLS connection's 5-tuple. */
  ofStream(link: ClientLink): Allocation | undefined {
    return this.streams.get(link);
  }

  /** §5: the allocation of a TCP/TLS 5-tuple ends with its connection. */
  streamClosed(link: ClientLink): void {
    const a = this.streams.get(link);
    if (a) this.release(a, 'connection closed');
  }

  private allocationOf(link: ClientLink): Allocation | undefined {
    if (link.kind !== 'udp') return this.streams.get(link);
    return this.udp.get(link.localAddress)?.get(link.remoteAddress)?.get(link.remotePort);
  }

  /**
   * Creates the allocation (with the token of a port reserved for the next one), or answers
   * why not: 486 (quota), 440 (family), 508 (no port, unknown token), 437 (another Allocate
   * on the 5-tuple won the race).
   */
  async allocate(req: AllocateRequest): Promise<AllocateResult> {
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
      if (req.reserveNext && this.reservations.size >= this.opts.maxReservations) return 508;
      const relayIp = this.opts.relayAddress(req.link, req.family);
      if (!relayIp) return 440;
      const pair = await bindRelay(relayIp, req.evenPort, req.reserveNext, this.opts.relayPorts);
      if (!pair) return 508;
      relay = pair.relay;
      reserved = pair.next;
    }
    const refusal =
      this.refusalAfterBind(req, identity, ip, reserved ? 2 : 1) ||
      (reserved && this.reservations.size >= this.opts.maxReservations ? 508 : 0);
    if (refusal) {
      relay.close();
      reserved?.close();
      return refusal;
    }
    const a = this.register(req, relay, boundAddress(relay.address()));
    relay.on(
      'error',
      guarded('turn.relay.error', () => {
        this.counters.dropped++;
      }),
    );
    if (!reserved) return { allocation: a };
    this.quotas.add(identity, ip);
    return { allocation: a, reservationToken: this.reservations.hold(reserved, { identity, ip }) };
  }

  /** RFC 6062 §5.1: the relayed address is a TCP listening socket, on the address a UDP relay would have. */
  private async allocateTcp(req: AllocateRequest): Promise<AllocateResult> {
    const relayIp = this.opts.relayAddress(req.link, req.family);
    if (!relayIp) return 440;
    const server = await listenRelay(relayIp, this.opts.relayPorts);
    if (!server) return 508;
    const refusal = this.refusalAfterBind(req, quotaIdentity(req.username), req.link.remoteAddress, 1);
    if (refusal) {
      server.close();
      return refusal;
    }
    const a = this.register(req, null, boundAddress(server.address() as { address: string; family: string; port: number }));
    a.tcp = new TcpRelay(a, server, this.connectionIds);
    return { allocation: a };
  }

  /** Makes the allocation and enters it in the tables. */
  private register(req: AllocateRequest, relay: UdpSocket | null, relayed: Allocation['relayed']): Allocation {
    const a = new Allocation({
      link: req.link,
      relay,
      relayed,
      username: req.username,
      key: req.key,
      algorithm: req.algorithm,
      lifetimeMs: req.lifetimeS * 1000,
      maxBytesPerSecond: (this.opts.maxBitrateKbps * 1000) / 8,
      counters: this.counters,
      self: this.opts.self,
    });
    this.allocations.add(a);
    this.relayPorts.set(relayed.port, (this.relayPorts.get(relayed.port) ?? 0) + 1);
    this.quotas.add(quotaIdentity(req.username), req.link.remoteAddress);
    this.counters.allocationsCreated++;
    if (req.link.kind === 'udp') {
      const table = this.udpAllocations(req.link.localAddress);
      let ports = table.get(req.link.remoteAddress);
      if (!ports) table.set(req.link.remoteAddress, (ports = new Map<number, Allocation>()));
      ports.set(req.link.remotePort, a);
    } else {
      this.streams.set(req.link, a);
    }
    this.opts.logger?.debug(
      {
        user: req.username,
        client: `${req.link.remoteAddress}:${req.link.remotePort}`,
        relay: `${relayed.address}:${relayed.port}`,
        transport: req.transport,
      },
      'turn: allocation created',
    );
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
      const table = this.udp.get(a.link.localAddress);
      const ports = table?.get(a.link.remoteAddress);
      ports?.delete(a.link.remotePort);
      if (ports?.size === 0) table?.delete(a.link.remoteAddress);
    } else {
      this.streams.delete(a.link);
    }
    this.opts.logger?.debug({ user: a.username, reason }, 'turn: allocation released');
  }

  /** Ends what expired: held ports, allocations (§7: at their lifetime), and each allocation's permissions and channels. */
  sweep(now: number): void {
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

  /** Releases every allocation and held port (the server is closing). */
  clear(): void {
    for (const a of [...this.allocations]) this.release(a, 'server closing');
    this.reservations.closeAll();
  }
}

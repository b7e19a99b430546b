/**
 * This server's own addresses as peers (RFC 8656 §17: a relay must not become a way into the
 * server itself). They are refused by the peer filter ('self', which the allow list does not
 * open), except for the ports a relay may reach there: the relay ports of live allocations
 * (two clients of this server talking through their relays), the relay port slices of sibling
 * TURN worker processes on this host (their clients' relays: src/server/workers/turn-pool.ts)
 * and the SFU's media ports.
 */
import type { PeerAddressFilter } from '../peer-filter.js';
import type { SelfEndpoints } from './Allocation.js';
import { inRange, type PortRange } from './port-range.js';

export class OwnEndpoints implements SelfEndpoints {
  /** The own addresses that the allow list does not open (peer-filter.ts 'self'). */
  readonly addresses = new Set<string>();
  /** Other ports on the own addresses a relay may reach (the SFU's media port). */
  private readonly reachablePorts = new Set<number>();
  /** Relay port slices of sibling TURN processes on this host. */
  private siblingRelayPorts: readonly PortRange[] = [];

  /** `isRelayPort`: whether a live relay (UDP socket or RFC 6062 listener) has this port number. */
  constructor(
    private readonly filter: PeerAddressFilter,
    private readonly isRelayPort: (port: number) => boolean,
  ) {}

  add(addresses: readonly string[]): void {
    this.filter.addOwnAddresses(addresses);
    for (const a of addresses) if (this.filter.check(a) === 'self') this.addresses.add(a);
  }

  /** Endpoints of this host that clients may reach through a relay although they are on its own addresses. */
  allow(endpoints: ReadonlyArray<{ ip: string; port: number }>): void {
    this.add(endpoints.map((e) => e.ip));
    for (const e of endpoints) this.reachablePorts.add(e.port);
  }

  /** Sibling TURN processes' relay slices: their relays may be reached like our own. */
  allowRelaySlices(slices: readonly PortRange[]): void {
    this.siblingRelayPorts = slices;
  }

  selfPortReachable(port: number): boolean {
    return this.isRelayPort(port) || this.reachablePorts.has(port) || this.siblingRelayPorts.some((r) => inRange(r, port));
  }
}

/**
 * Relay sockets (RFC 8656 §7.2): bound on the relay address with a port the OS picks; with
 * EVEN-PORT an even one, and with its R bit the next (odd) port is held too, for an RTP/RTCP
 * pair, under an 8-byte RESERVATION-TOKEN that a later Allocate redeems within 30 s.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { createUdpSocket } from '../../net/udp.js';
import { guarded } from '../../util/guarded.js';
import { bindInRange, type PortRange } from './port-range.js';

/** §7.2 suggests holding a reserved port for about 30 seconds. */
export const RESERVATION_MS = 30_000;
const EVEN_PORT_ATTEMPTS = 40;

/** Kernel buffers of one relay socket: it carries one client's peers. */
const RELAY_BUFFER_BYTES = 1 << 20;

function bindRelaySocket(address: string, port: number): Promise<UdpSocket | undefined> {
  const s = createUdpSocket(address, RELAY_BUFFER_BYTES);
  return new Promise((resolve) => {
    s.once(
      'error',
      guarded('turn.relay.bind-error', () => {
        s.close();
        resolve(undefined);
      }),
    );
    s.bind(port, address, () => resolve(s));
  });
}

/**
 * A relay socket on `address`: in `range` when one is given (a port tried there is in use:
 * the next one), else on a port the OS picks.
 */
export async function bindRelay(
  address: string,
  evenPort: boolean,
  reserveNext: boolean,
  range?: PortRange,
): Promise<{ relay: UdpSocket; next?: UdpSocket } | undefined> {
  if (range) {
    return bindInRange(range, { even: evenPort, pair: evenPort && reserveNext }, async (port) => {
      const relay = await bindRelaySocket(address, port);
      if (!relay || !(evenPort && reserveNext)) return relay ? { relay } : undefined;
      const next = await bindRelaySocket(address, port + 1);
      if (next) return { relay, next };
      relay.close();
      return undefined;
    });
  }
  if (!evenPort) {
    const relay = await bindRelaySocket(address, 0);
    return relay ? { relay } : undefined;
  }
  for (let i = 0; i < EVEN_PORT_ATTEMPTS; i++) {
    const s = await bindRelaySocket(address, 0);
    if (!s) return undefined;
    const port = s.address().port;
    if (port % 2 !== 0 || port === 65534) {
      s.close();
      continue;
    }
    if (!reserveNext) return { relay: s };
    const next = await bindRelaySocket(address, port + 1);
    if (next) return { relay: s, next };
    s.close();
  }
  return undefined;
}

/** Who a held port counts against (quotas.ts). */
export interface ReservationOwner {
  identity: string;
  ip: string;
}

export interface HeldPort {
  socket: UdpSocket;
  owner: ReservationOwner;
}

/**
 * Ports held for RESERVATION-TOKENs. `onRelease` is told of every port that leaves without
 * being taken (expired, or the server closing), so its quota unit can be returned.
 */
export class PortReservations {
  private readonly held = new Map<string, HeldPort & { expiresAt: number }>();

  constructor(private readonly onRelease: (owner: ReservationOwner) => void = () => undefined) {}

  get size(): number {
    return this.held.size;
  }

  hold(socket: UdpSocket, owner: ReservationOwner, now = Date.now()): Buffer {
    const token = randomBytes(8);
    // Nobody listens on a held socket yet: an 'error' without a listener would throw.
    socket.on(
      'error',
      guarded('turn.reservation.error', () => undefined),
    );
    this.held.set(token.toString('hex'), { socket, owner, expiresAt: now + RESERVATION_MS });
    return token;
  }

  /**
   * The held port for `token`, once (its quota unit is the caller's to return); undefined when
   * unknown or expired.
   */
  take(token: Buffer, now = Date.now()): HeldPort | undefined {
    const key = token.toString('hex');
    const r = this.held.get(key);
    if (!r) return undefined;
    this.held.delete(key);
    if (r.expiresAt > now) return { socket: r.socket, owner: r.owner };
    r.socket.close();
    this.onRelease(r.owner);
    return undefined;
  }

  sweep(now: number): void {
    for (const [k, r] of this.held) {
      if (r.expiresAt <= now) {
        r.socket.close();
        this.held.delete(k);
        this.onRelease(r.owner);
      }
    }
  }

  closeAll(): void {
    for (const r of this.held.values()) {
      r.socket.close();
      this.onRelease(r.owner);
    }
    this.held.clear();
  }
}

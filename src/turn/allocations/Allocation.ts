/**
 * One TURN allocation (RFC 8656 §2.2): a relayed UDP address on the server bound to one
 * client 5-tuple, with its permissions (§9) and channel bindings (§12). Peer traffic enters
 * only from addresses with a live permission; what a channel is bound to goes out as
 * ChannelData, the rest as Data indications. A TCP allocation (RFC 6062) has no UDP relay
 * socket but a `tcp` relay (tcp-relay.ts); permissions work the same.
 *
 * Per-packet paths (`relayToPeer`, the relay socket's message handler) look things up in
 * nested maps keyed by the strings Node already made, and allocate only the 4-byte
 * ChannelData header.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import { Attr, StunClass, StunMethod } from '../../stun/constants.js';
import { encodeXorAddress, type TransportAddress } from '../../stun/address.js';
import { StunMessageBuilder } from '../../stun/builder.js';
import { sendDatagram } from '../../net/udp.js';
import { TokenBucket } from '../../util/TokenBucket.js';
import { guarded } from '../../util/guarded.js';
import type { ClientLink } from '../client-link.js';
import type { RelayCounters } from '../counters.js';
import type { KeyAlgorithm } from '../credentials.js';
import type { TcpRelay, TcpRelayOwner } from './tcp-relay.js';

/** §9: permissions last 300 s; §12: channel bindings 600 s, then 300 s before reuse. */
export const PERMISSION_LIFETIME_MS = 300_000;
export const CHANNEL_LIFETIME_MS = 600_000;
export const CHANNEL_REUSE_DELAY_MS = 300_000;
/**
 * Peer IPs with a permission, and channels, per allocation. A browser's allocation serves one
 * peer connection, whose remote candidates are a handful of IPs; past these bounds a request
 * that would add one more is answered 508 Insufficient Capacity (RFC 8656 §9, §12).
 */
export const MAX_PERMISSIONS_PER_ALLOCATION = 128;
export const MAX_CHANNELS_PER_ALLOCATION = 128;

export interface ChannelBinding {
  number: number;
  address: string;
  port: number;
  expiresAt: number;
}

/** The server's own addresses (those the allow list does not open) and which ports on them a relay may reach. */
export interface SelfEndpoints {
  readonly addresses: ReadonlySet<string>;
  selfPortReachable(port: number): boolean;
}

export interface AllocationOptions {
  link: ClientLink;
  /** Null for a TCP allocation (RFC 6062), whose relay is set as `tcp` once made. */
  relay: UdpSocket | null;
  relayed: TransportAddress;
  username: string;
  key: Buffer;
  algorithm: KeyAlgorithm;
  lifetimeMs: number;
  /** Bytes per second in each direction; 0 = no cap. */
  maxBytesPerSecond: number;
  counters: RelayCounters;
  /** Checked per packet: a permission is per IP, so a Send could otherwise reach any port of the server itself. */
  self?: SelfEndpoints;
  now?: number;
}

export class Allocation implements TcpRelayOwner {
  readonly link: ClientLink;
  readonly relay: UdpSocket | null;
  /** The TCP relay of an RFC 6062 allocation. */
  tcp: TcpRelay | null = null;
  readonly relayed: TransportAddress;
  readonly username: string;
  /** Long-term key, to sign responses to this client's requests. */
  readonly key: Buffer;
  readonly algorithm: KeyAlgorithm;
  expiresAt: number;
  /** Peer IP → expiry (ms). Ports do not matter for permissions (§9). */
  readonly permissions = new Map<string, number>();
  readonly channels = new Map<number, ChannelBinding>();
  /** Peer IP → port → channel: the reverse lookup for peer → client traffic. */
  private readonly channelByPeer = new Map<string, Map<number, ChannelBinding>>();
  readonly toPeerBudget: TokenBucket | null;
  readonly toClientBudget: TokenBucket | null;
  readonly counters: RelayCounters;
  private readonly self: SelfEndpoints | undefined;
  /** The Allocate that made this allocation and our answer, for its retransmissions (§7.2). */
  allocateTransaction: Buffer = Buffer.alloc(0);
  allocateResponse: Buffer = Buffer.alloc(0);
  closed = false;

  constructor(o: AllocationOptions) {
    const now = o.now ?? Date.now();
    this.link = o.link;
    this.relay = o.relay;
    this.relayed = o.relayed;
    this.username = o.username;
    this.key = o.key;
    this.algorithm = o.algorithm;
    this.expiresAt = now + o.lifetimeMs;
    this.counters = o.counters;
    this.self = o.self;
    // One second of burst: a keyframe may arrive all at once.
    this.toPeerBudget = o.maxBytesPerSecond > 0 ? new TokenBucket(o.maxBytesPerSecond, o.maxBytesPerSecond, now) : null;
    this.toClientBudget = o.maxBytesPerSecond > 0 ? new TokenBucket(o.maxBytesPerSecond, o.maxBytesPerSecond, now) : null;
    this.relay?.on(
      'message',
      guarded('turn.relay.message', (msg: Buffer, rinfo: { address: string; port: number }) =>
        this.fromPeer(msg, rinfo.address, rinfo.port),
      ),
    );
  }

  hasPermission(ip: string, now = Date.now()): boolean {
    const exp = this.permissions.get(ip);
    return exp !== undefined && exp > now;
  }

  addPermission(ip: string, now = Date.now()): void {
    this.permissions.set(ip, now + PERMISSION_LIFETIME_MS);
  }

  /** Whether permissions for `ips` fit under MAX_PERMISSIONS_PER_ALLOCATION (refreshing one always does). */
  roomForPermissions(ips: Iterable<string>): boolean {
    let added = 0;
    const seen = new Set<string>();
    for (const ip of ips)
      if (!this.permissions.has(ip) && !seen.has(ip)) {
        seen.add(ip);
        added++;
      }
    return this.permissions.size + added <= MAX_PERMISSIONS_PER_ALLOCATION;
  }

  /** Whether binding `number` to `peer` fits under the channel and permission caps. */
  roomForChannel(number: number, peer: TransportAddress): boolean {
    if (!this.channels.has(number) && this.channels.size >= MAX_CHANNELS_PER_ALLOCATION) return false;
    return this.roomForPermissions([peer.address]);
  }

  /**
   * §12.1: a channel number stays tied to one peer (and a peer to one channel) for its
   * lifetime plus the reuse delay. Returns false when the request conflicts with that.
   */
  canBind(number: number, peer: TransportAddress, now = Date.now()): boolean {
    const byNumber = this.channels.get(number);
    if (byNumber && byNumber.expiresAt + CHANNEL_REUSE_DELAY_MS > now && (byNumber.address !== peer.address || byNumber.port !== peer.port))
      return false;
    const byPeer = this.channelByPeer.get(peer.address)?.get(peer.port);
    return !(byPeer && byPeer.number !== number && byPeer.expiresAt + CHANNEL_REUSE_DELAY_MS > now);
  }

  bindChannel(number: number, peer: TransportAddress, now = Date.now()): void {
    const old = this.channels.get(number);
    if (old && (old.address !== peer.address || old.port !== peer.port)) this.channelByPeer.get(old.address)?.delete(old.port);
    const binding: ChannelBinding = { number, address: peer.address, port: peer.port, expiresAt: now + CHANNEL_LIFETIME_MS };
    this.channels.set(number, binding);
    let ports = this.channelByPeer.get(peer.address);
    if (!ports) this.channelByPeer.set(peer.address, (ports = new Map<number, ChannelBinding>()));
    ports.set(peer.port, binding);
    // §12.2: binding a channel also installs or refreshes the permission.
    this.addPermission(peer.address, now);
  }

  /** Client → peer: a Send indication's DATA or a ChannelData payload (`length` bytes of `buf` at `offset`). */
  relayToPeer(buf: Buffer, offset: number, length: number, address: string, port: number, now = Date.now()): void {
    // Port 0 is no destination (RFC 768): ChannelBind refuses it, a Send indication may still carry it.
    if (
      port === 0 ||
      !this.hasPermission(address, now) ||
      (this.self?.addresses.has(address) && !this.self.selfPortReachable(port)) ||
      (this.toPeerBudget && !this.toPeerBudget.take(now, length))
    ) {
      this.counters.dropped++;
      return;
    }
    this.counters.toPeerPackets++;
    this.counters.toPeerBytes += length;
    // Only UDP allocations get here: Send and ChannelBind refuse TCP ones (dispatch/methods.ts).
    // A closed relay or an address Node refuses loses the packet, never the process.
    if (!sendDatagram(this.relay as UdpSocket, buf.subarray(offset, offset + length), port, address)) this.counters.sendFailures++;
  }

  /** Client → peer over a channel; dropped (and counted) when the channel is not bound. */
  relayChannelData(number: number, buf: Buffer, offset: number, length: number, now = Date.now()): void {
    const ch = this.channels.get(number);
    if (!ch || ch.expiresAt <= now) this.counters.dropped++;
    else this.relayToPeer(buf, offset, length, ch.address, ch.port, now);
  }

  private fromPeer(msg: Buffer, address: string, port: number): void {
    const now = Date.now();
    // A datagram from port 0 (only raw sockets send one) cannot be answered: not relayed.
    if (
      this.closed ||
      port === 0 ||
      !this.hasPermission(address, now) ||
      (this.toClientBudget && !this.toClientBudget.take(now, msg.length))
    ) {
      this.counters.dropped++;
      return;
    }
    this.counters.toClientPackets++;
    this.counters.toClientBytes += msg.length;
    const ch = this.channelByPeer.get(address)?.get(port);
    if (ch && ch.expiresAt > now) {
      this.link.sendChannelData(ch.number, msg);
      return;
    }
    // §11.3: a Data indication, no integrity (indications cannot be authenticated).
    const ind = new StunMessageBuilder(StunMethod.Data, StunClass.Indication);
    this.link.sendData(ind.add(Attr.XorPeerAddress, encodeXorAddress({ address, port }, ind.transactionId)).add(Attr.Data, msg).build());
  }

  /** Drops permissions and channels past their time (called from the server's sweep). */
  sweep(now: number): void {
    for (const [ip, exp] of this.permissions) if (exp <= now) this.permissions.delete(ip);
    for (const [n, ch] of this.channels) {
      if (ch.expiresAt + CHANNEL_REUSE_DELAY_MS <= now) {
        this.channels.delete(n);
        this.channelByPeer.get(ch.address)?.delete(ch.port);
        if (this.channelByPeer.get(ch.address)?.size === 0) this.channelByPeer.delete(ch.address);
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.relay?.close();
    this.tcp?.close();
  }
}

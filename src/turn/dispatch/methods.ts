/**
 * The TURN requests (RFC 8656): Allocate §7, Refresh §8, CreatePermission §9–10,
 * ChannelBind §12, and the Send indication §11. Each answers a request that has already
 * passed authentication (auth.ts) with the bytes to send back; the dispatcher (dispatcher.ts)
 * calls them, and they reach the allocation table and the server's settings through `TurnContext`.
 */
import { isIPv6 } from 'node:net';
import { Attr, StunClass, StunMethod } from '../../stun/constants.js';
import { decodeXorAddress, encodeXorAddress, type TransportAddress } from '../../stun/address.js';
import { isChannelNumber } from '../../stun/channel-data.js';
import { getAttribute, type StunMessage } from '../../stun/message.js';
import type { Allocation } from '../allocations/Allocation.js';
import type { AllocateRequest, AllocateResult } from '../allocations/allocation-table.js';
import type { ClientLink } from '../client-link.js';
import type { PeerAddressFilter } from '../peer-filter.js';
import { errorResponse, finish, successBuilder, type Signer } from './responses.js';

/** REQUESTED-TRANSPORT values (§14.7: the IANA protocol number in the first byte); TCP is RFC 6062's. */
const UDP_PROTOCOL = 17;
const TCP_PROTOCOL = 6;

export interface TurnContext {
  readonly peerFilter: PeerAddressFilter;
  /** On the server's own addresses, whether `port` may be reached through a relay (its relay ports, the SFU's media port). */
  selfPortReachable(port: number): boolean;
  readonly defaultLifetimeS: number;
  readonly maxLifetimeS: number;
  /** The address clients are told relays are on, when the server sits behind a 1:1 NAT. */
  readonly externalIp: string | undefined;
  /** The allocation table's allocate (allocations/allocation-table.ts). */
  allocate(req: AllocateRequest): Promise<AllocateResult>;
  release(a: Allocation, reason: string): void;
}

export interface Authenticated {
  username: string;
  signer: Signer;
  algorithm: 'md5' | 'sha256';
}

function lifetimeOf(req: StunMessage, ctx: TurnContext): number | undefined {
  const v = getAttribute(req, Attr.Lifetime);
  if (!v) return ctx.defaultLifetimeS;
  if (v.length !== 4) return undefined;
  const asked = v.readUInt32BE(0);
  if (asked === 0) return 0;
  // §7.2: at least the default, at most the server's maximum.
  return Math.max(ctx.defaultLifetimeS, Math.min(asked, ctx.maxLifetimeS));
}

/** The relayed address as clients must see it: behind a 1:1 NAT, the external IP, same port. */
function advertised(ctx: TurnContext, relayed: TransportAddress): TransportAddress {
  const ext = ctx.externalIp;
  return ext && isIPv6(ext) === (relayed.family === 6) ? { ...relayed, address: ext } : relayed;
}

function lifetimeAttr(seconds: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(seconds, 0);
  return b;
}

/** REQUESTED-ADDRESS-FAMILY (§14.1): 0x01 IPv4, 0x02 IPv6; absent → IPv4. */
function requestedFamily(req: StunMessage): 4 | 6 | 'bad' | undefined {
  const v = getAttribute(req, Attr.RequestedAddressFamily);
  if (!v) return undefined;
  if (v.length !== 4) return 'bad';
  return v[0] === 0x01 ? 4 : v[0] === 0x02 ? 6 : 'bad';
}

export async function handleAllocate(
  ctx: TurnContext,
  req: StunMessage,
  link: ClientLink,
  existing: Allocation | undefined,
  auth: Authenticated,
): Promise<Buffer> {
  const { signer } = auth;
  // §7.2: a retransmitted Allocate gets the same success; any other one on this 5-tuple, 437.
  if (existing) return existing.allocateTransaction.equals(req.transactionId) ? existing.allocateResponse : errorResponse(req, 437, signer);
  const transport = getAttribute(req, Attr.RequestedTransport);
  if (!transport || transport.length !== 4) return errorResponse(req, 400, signer);
  if (transport[0] !== UDP_PROTOCOL && transport[0] !== TCP_PROTOCOL) return errorResponse(req, 442, signer);
  const tcp = transport[0] === TCP_PROTOCOL;
  const family = requestedFamily(req);
  const evenPort = getAttribute(req, Attr.EvenPort);
  const token = getAttribute(req, Attr.ReservationToken);
  // RFC 6062 §5.1: a TCP relay needs a TCP or TLS control connection, and takes no port reservations.
  if (tcp && (link.kind === 'udp' || evenPort || token)) return errorResponse(req, 400, signer);
  // §7.2: a reservation token excludes EVEN-PORT and REQUESTED-ADDRESS-FAMILY.
  if (token && (evenPort || family)) return errorResponse(req, 400, signer);
  if (token && token.length !== 8) return errorResponse(req, 400, signer);
  if (family === 'bad') return errorResponse(req, 440, signer);
  if (evenPort && evenPort.length !== 1) return errorResponse(req, 400, signer);
  const lifetimeS = lifetimeOf(req, ctx);
  if (lifetimeS === undefined) return errorResponse(req, 400, signer);
  const result = await ctx.allocate({
    link,
    transport: tcp ? 'tcp' : 'udp',
    family: family ?? 4,
    evenPort: evenPort !== undefined,
    reserveNext: evenPort !== undefined && ((evenPort[0] as number) & 0x80) !== 0,
    token,
    lifetimeS: lifetimeS || ctx.defaultLifetimeS,
    username: auth.username,
    key: signer.key,
    algorithm: auth.algorithm,
  });
  if (typeof result === 'number') return errorResponse(req, result, signer);
  const { allocation: a, reservationToken } = result;
  const b = successBuilder(req)
    .add(Attr.XorRelayedAddress, encodeXorAddress(advertised(ctx, a.relayed), req.transactionId))
    .add(Attr.Lifetime, lifetimeAttr(lifetimeS || ctx.defaultLifetimeS));
  if (reservationToken) b.add(Attr.ReservationToken, reservationToken);
  b.add(Attr.XorMappedAddress, encodeXorAddress({ address: link.remoteAddress, port: link.remotePort }, req.transactionId));
  a.allocateTransaction = Buffer.from(req.transactionId);
  a.allocateResponse = finish(b, req, signer);
  return a.allocateResponse;
}

export function handleRefresh(ctx: TurnContext, req: StunMessage, a: Allocation, signer: Signer, now = Date.now()): Buffer {
  const family = requestedFamily(req);
  if (family === 'bad' || (family !== undefined && family !== a.relayed.family)) return errorResponse(req, 443, signer);
  const lifetimeS = lifetimeOf(req, ctx);
  if (lifetimeS === undefined) return errorResponse(req, 400, signer);
  if (lifetimeS === 0) ctx.release(a, 'refreshed to 0');
  else a.expiresAt = now + lifetimeS * 1000;
  return finish(successBuilder(req).add(Attr.Lifetime, lifetimeAttr(lifetimeS)), req, signer);
}

/** A peer address the allocation may use, or the error code saying why not. */
export function checkPeer(ctx: TurnContext, req: StunMessage, value: Buffer, a: Allocation): TransportAddress | 400 | 403 | 443 {
  const peer = decodeXorAddress(value, req.transactionId);
  if (!peer) return 400;
  if (peer.family !== a.relayed.family) return 443;
  const verdict = ctx.peerFilter.check(peer.address);
  return verdict === 'allowed' || (verdict === 'self' && ctx.selfPortReachable(peer.port)) ? peer : 403;
}

export function handleCreatePermission(ctx: TurnContext, req: StunMessage, a: Allocation, signer: Signer, now = Date.now()): Buffer {
  const peers: TransportAddress[] = [];
  for (const attr of req.attributes) {
    if (attr.type !== Attr.XorPeerAddress) continue;
    const peer = checkPeer(ctx, req, attr.value, a);
    // §10.2: all or nothing — one refused address fails the whole request.
    if (typeof peer === 'number') return errorResponse(req, peer, signer);
    peers.push(peer);
  }
  if (peers.length === 0) return errorResponse(req, 400, signer);
  // §9: the server may bound an allocation's permissions; 508 when this request would pass the bound.
  if (!a.roomForPermissions(peers.map((p) => p.address))) return errorResponse(req, 508, signer);
  for (const p of peers) a.addPermission(p.address, now);
  return finish(successBuilder(req), req, signer);
}

export function handleChannelBind(ctx: TurnContext, req: StunMessage, a: Allocation, signer: Signer, now = Date.now()): Buffer {
  const num = getAttribute(req, Attr.ChannelNumber);
  const peerAttr = getAttribute(req, Attr.XorPeerAddress);
  // RFC 6062: TCP peers are reached through Connect and data connections, not channels (nor Send, below).
  if (!num || num.length !== 4 || !peerAttr || a.tcp) return errorResponse(req, 400, signer);
  const channel = num.readUInt16BE(0);
  if (!isChannelNumber(channel)) return errorResponse(req, 400, signer);
  const peer = checkPeer(ctx, req, peerAttr, a);
  if (typeof peer === 'number') return errorResponse(req, peer, signer);
  // §12: a channel is bound to a peer transport address, and port 0 is none (RFC 768).
  if (peer.port === 0) return errorResponse(req, 400, signer);
  if (!a.canBind(channel, peer, now)) return errorResponse(req, 400, signer);
  if (!a.roomForChannel(channel, peer)) return errorResponse(req, 508, signer);
  a.bindChannel(channel, peer, now);
  return finish(successBuilder(req), req, signer);
}

/** §11.2: a Send indication without what it needs, or to a peer with no permission, is dropped. */
export function handleSend(ind: StunMessage, a: Allocation): boolean {
  const peerAttr = getAttribute(ind, Attr.XorPeerAddress);
  const data = getAttribute(ind, Attr.Data);
  if (!peerAttr || !data || a.tcp) return false;
  const peer = decodeXorAddress(peerAttr, ind.transactionId);
  // Port 0 is no destination: dropped and counted like any other unusable Send.
  if (!peer || peer.family !== a.relayed.family || peer.port === 0) return false;
  a.relayToPeer(data, 0, data.length, peer.address, peer.port);
  return true;
}

export function isSendIndication(msg: StunMessage): boolean {
  return msg.method === StunMethod.Send && msg.cls === StunClass.Indication;
}

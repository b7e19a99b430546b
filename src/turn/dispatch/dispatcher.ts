/**
 * What a client sends, once its listener has cut it out of a datagram or a stream: ChannelData
 * goes to the allocation's channel (the per-packet path); a STUN message is checked (decode,
 * FINGERPRINT), a Send indication relayed, a Binding answered without authentication, and
 * every TURN request authenticated (auth.ts) and handed to its method's handler (methods.ts,
 * tcp-methods.ts), whose answer is sent back on the client's link. Bad input is dropped and
 * counted; nothing thrown by a handler reaches the listener.
 */
import type { Logger } from 'pino';
import { channelDataLength } from '../../stun/channel-data.js';
import { Attr, StunClass, StunMethod } from '../../stun/constants.js';
import { checkFingerprint } from '../../stun/integrity.js';
import { decodeStun, type StunMessage } from '../../stun/message.js';
import { guarded } from '../../util/guarded.js';
import type { Allocation } from '../allocations/Allocation.js';
import type { ConnectionIds, PeerConnection } from '../allocations/tcp-relay.js';
import type { ClientLink } from '../client-link.js';
import type { TurnCounters } from '../counters.js';
import type { AuthResult, TurnAuthenticator } from './auth.js';
import { answerBinding } from './binding.js';
import {
  handleAllocate,
  handleChannelBind,
  handleCreatePermission,
  handleRefresh,
  handleSend,
  isSendIndication,
  type TurnContext,
} from './methods.js';
import { errorResponse, unknownAttributesResponse, unknownRequired, type Signer } from './responses.js';
import { handleConnect, handleConnectionBind } from './tcp-methods.js';

/** Comprehension-required attributes this server understands in requests (DONT-FRAGMENT is not among them: §7.2). */
const KNOWN = new Set<number>([
  Attr.Username,
  Attr.Userhash,
  Attr.MessageIntegrity,
  Attr.MessageIntegritySha256,
  Attr.Realm,
  Attr.Nonce,
  Attr.PasswordAlgorithm,
  Attr.Lifetime,
  Attr.RequestedTransport,
  Attr.RequestedAddressFamily,
  Attr.EvenPort,
  Attr.ReservationToken,
  Attr.XorPeerAddress,
  Attr.ChannelNumber,
  Attr.Data,
  Attr.Priority,
  Attr.UseCandidate,
  Attr.ConnectionId,
]);

/** A request on an existing allocation, authenticated by the user who made it: the response to send. */
type AllocationHandler = (ctx: TurnContext, req: StunMessage, a: Allocation, signer: Signer) => Buffer | Promise<Buffer>;

/**
 * The requests that act on the 5-tuple's allocation (437 without one). Allocate (which makes it)
 * and ConnectionBind (on a connection that has none, answered synchronously) are handled apart.
 */
const ON_ALLOCATION: ReadonlyMap<number, AllocationHandler> = new Map<number, AllocationHandler>([
  [StunMethod.Refresh, (ctx, req, a, signer) => handleRefresh(ctx, req, a, signer)],
  [StunMethod.CreatePermission, (ctx, req, a, signer) => handleCreatePermission(ctx, req, a, signer)],
  [StunMethod.ChannelBind, (ctx, req, a, signer) => handleChannelBind(ctx, req, a, signer)],
  [StunMethod.Connect, handleConnect],
]);

export interface DispatcherOptions {
  ctx: TurnContext;
  auth: TurnAuthenticator;
  /** Unbound RFC 6062 peer connections, for ConnectionBind. */
  connectionIds: ConnectionIds;
  counters: TurnCounters;
  logger?: Logger | undefined;
}

export class TurnDispatcher {
  private readonly ctx: TurnContext;
  private readonly counters: TurnCounters;

  constructor(private readonly opts: DispatcherOptions) {
    this.ctx = opts.ctx;
    this.counters = opts.counters;
  }

  /** A ChannelData message (RFC 8656 §12.4) from a client 5-tuple, and the allocation that 5-tuple has, if any. */
  onChannelData(a: Allocation | undefined, frame: Buffer): void {
    const len = a ? channelDataLength(frame) : -1;
    if (len < 0) this.counters.malformed++;
    else a!.relayChannelData(frame.readUInt16BE(0), frame, 4, len);
  }

  /**
   * A STUN message from a client 5-tuple and the allocation that 5-tuple has, if any. Returns
   * the peer connection a successful ConnectionBind tied this (stream) link to.
   */
  onStun(buf: Buffer, link: ClientLink, existing: Allocation | undefined): PeerConnection | undefined {
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
    this.onRequest(msg, link, existing).then(
      guarded(
        'turn.request.reply',
        (out: Buffer | undefined) => {
          if (out) this.reply(link, out);
        },
        () => link.close(),
      ),
      guarded(
        'turn.request.failed',
        (err: Error) => {
          this.opts.logger?.error({ err: err.message }, 'turn: request failed');
          this.reply(link, errorResponse(msg, 500));
        },
        () => link.close(),
      ),
    );
  }

  /** Synchronous, so that the success goes out before the first relayed byte. */
  private onConnectionBind(msg: StunMessage, link: ClientLink, existing: Allocation | undefined): PeerConnection | undefined {
    const auth = this.admit(msg, link);
    if (!auth.ok) {
      this.reply(link, auth.response);
      return undefined;
    }
    const { response, conn } = handleConnectionBind(msg, link, existing, auth, this.opts.connectionIds);
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
    const auth = this.opts.auth.authenticate(msg, link.remoteAddress);
    if (!auth.ok) return auth;
    const unknown = unknownRequired(msg, KNOWN);
    return unknown.length > 0 ? { ok: false, code: 420, response: unknownAttributesResponse(msg, unknown) } : auth;
  }

  private async onRequest(msg: StunMessage, link: ClientLink, existing: Allocation | undefined): Promise<Buffer | undefined> {
    const onAllocation = ON_ALLOCATION.get(msg.method);
    if (!onAllocation && msg.method !== StunMethod.Allocate) return errorResponse(msg, 400);
    const auth = this.admit(msg, link);
    if (!auth.ok) return auth.response;
    // §5: every request on an allocation must come from the user who made it.
    if (existing && existing.username !== auth.username) return errorResponse(msg, 441, auth.signer);
    if (!onAllocation) return handleAllocate(this.ctx, msg, link, existing, auth);
    if (!existing) return errorResponse(msg, 437, auth.signer);
    return onAllocation(this.ctx, msg, existing, auth.signer);
  }
}

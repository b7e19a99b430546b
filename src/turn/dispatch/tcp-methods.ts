/**
 * The RFC 6062 requests: Connect (§5.2) on the control connection of a TCP allocation, and
 * ConnectionBind (§5.4) on a new connection that then becomes the client data connection.
 * Like methods.ts, each answers an authenticated request with the bytes to send back.
 */
import { Attr } from '../../stun/constants.js';
import { getAttribute, type StunMessage } from '../../stun/message.js';
import type { Allocation } from '../allocations/Allocation.js';
import type { ClientLink } from '../client-link.js';
import { checkPeer, type Authenticated, type TurnContext } from './methods.js';
import { errorResponse, finish, successBuilder, type Signer } from './responses.js';
import type { ConnectionIds, PeerConnection } from '../allocations/tcp-relay.js';

function connectionIdAttr(id: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(id, 0);
  return b;
}

/**
 * §5.2: 400 without a usable XOR-PEER-ADDRESS (or on a UDP allocation), 403 for a peer our
 * policy refuses (no connection is attempted), 446 when a connection to that peer exists or
 * is being made, 447 when it fails; CONNECTION-ID on success. The RFC asks for no permission
 * here: permissions only gate connections peers open to us (§5.3).
 */
export async function handleConnect(ctx: TurnContext, req: StunMessage, a: Allocation, signer: Signer): Promise<Buffer> {
  const peerAttr = getAttribute(req, Attr.XorPeerAddress);
  if (!peerAttr || !a.tcp) return errorResponse(req, 400, signer);
  const peer = checkPeer(ctx, req, peerAttr, a);
  if (typeof peer === 'number') return errorResponse(req, peer, signer);
  const result = await a.tcp.connect(peer);
  if (result === 446 || result === 447 || result === 508) return errorResponse(req, result, signer);
  return finish(successBuilder(req).add(Attr.ConnectionId, connectionIdAttr(result)), req, signer);
}

/**
 * §5.4: only on a TCP/TLS connection that has no allocation, for an unbound CONNECTION-ID
 * (else 400), by the user whose allocation it is (else 441). On success the response is
 * returned with the connection to bind; the caller sends it before any relayed byte.
 */
export function handleConnectionBind(
  req: StunMessage,
  link: ClientLink,
  existing: Allocation | undefined,
  auth: Authenticated,
  ids: ConnectionIds,
): { response: Buffer; conn?: PeerConnection } {
  const { signer } = auth;
  const idAttr = getAttribute(req, Attr.ConnectionId);
  if (link.kind === 'udp' || existing || !idAttr || idAttr.length !== 4) return { response: errorResponse(req, 400, signer) };
  const id = idAttr.readUInt32BE(0);
  const conn = ids.get(id);
  if (!conn) return { response: errorResponse(req, 400, signer) };
  if (conn.relay.allocation.username !== auth.username) return { response: errorResponse(req, 441, signer) };
  ids.delete(id, conn);
  return { response: finish(successBuilder(req), req, signer), conn };
}

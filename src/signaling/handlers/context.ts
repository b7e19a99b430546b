/**
 * What a message handler gets: the connection the message came on and the server's parts.
 * A handler is `(ctx, msg) => void | Promise<void>`; it answers through `ctx.conn` or the
 * session, and refuses by throwing a SwitchboardError with a client-facing code, which the
 * connection layer turns into the `error` message (with the request's `ref`).
 */
import { SwitchboardError, type ClientMessage, type ClientMessageType, type IceServer } from '../../protocol/index.js';
import type { CallManager } from '../CallManager.js';
import type { Connection } from '../connections/Connection.js';
import type { MediaRooms } from '../MediaRooms.js';
import type { RoomRegistry } from '../RoomRegistry.js';
import type { Session } from '../Session.js';
import type { SessionRegistry } from '../SessionRegistry.js';
import type { SignalingObserver } from '../SignalingObserver.js';

/** What `welcome` tells a client, and how `hello` identifies it. */
export interface IdentifySettings {
  /** When set, `hello` needs a token signed with it (auth.ts). */
  authSecret?: string | undefined;
  heartbeatMs: number;
  resumeGraceMs: number;
  /** ICE servers for `identity`, on the host the client reached signaling by. */
  iceServers(identity: string, host: string | undefined): IceServer[];
}

/** The parts every handler may use; one per server. */
export interface SignalingParts {
  readonly sessions: SessionRegistry;
  readonly rooms: RoomRegistry;
  readonly calls: CallManager;
  /** The media server for SFU and MCU rooms, when there is one. */
  readonly media: MediaRooms | undefined;
  readonly observer: SignalingObserver;
  readonly settings: IdentifySettings;
}

export interface SignalingContext extends SignalingParts {
  readonly conn: Connection;
}

/** The context of a message that needs an identified sender. */
export interface SessionContext extends SignalingContext {
  readonly session: Session;
}

export type MessageOf<T extends ClientMessageType> = Extract<ClientMessage, { type: T }>;

export type Handler<T extends ClientMessageType> = (ctx: SignalingContext, msg: MessageOf<T>) => void | Promise<void>;

/** One handler per client message type: a new type does not compile until it has its entry. */
export type HandlerTable = { readonly [T in ClientMessageType]: Handler<T> };

/** `fn` for senders that have a session (`hello` or `resume` first); others get `not-identified`. */
export function identified<T extends ClientMessageType>(fn: (ctx: SessionContext, msg: MessageOf<T>) => void | Promise<void>): Handler<T> {
  return (ctx, msg) => {
    const session = ctx.conn.session;
    if (!session) throw new SwitchboardError('not-identified', 'send "hello" (or "resume") first');
    return fn({ ...ctx, session }, msg);
  };
}

/** `{ ref: id }` when the request had an id: answers carry it back. */
export function refOf(msg: { id?: string | number }): { ref?: string | number } {
  return msg.id !== undefined ? { ref: msg.id } : {};
}

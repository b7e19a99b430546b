/** `hello` (a new session), `resume` (an existing one on a new connection) and `ping`. */
import { randomBytes } from 'node:crypto';
import { SwitchboardError } from '../../protocol/index.js';
import { verifyAccessToken, type AccessGrant } from '../auth.js';
import type { HandlerTable } from './context.js';
import { refOf } from './context.js';

export const identifyHandlers: Pick<HandlerTable, 'hello' | 'resume' | 'ping'> = {
  async hello(ctx, msg) {
    const { conn, settings } = ctx;
    if (conn.session) throw new SwitchboardError('already-identified', 'this connection already sent "hello"');
    let grant: AccessGrant | undefined;
    let identity: string;
    let name: string;
    if (settings.authSecret) {
      if (!msg.token) throw new SwitchboardError('token-required', 'this server requires an access token', 'token');
      grant = await verifyAccessToken(msg.token, settings.authSecret);
      identity = grant.identity;
      name = grant.name ?? msg.name ?? identity;
    } else {
      identity = msg.identity ?? `guest-${randomBytes(6).toString('base64url')}`;
      name = msg.name ?? identity;
    }
    const session = ctx.sessions.open(conn.socket, identity, name, grant);
    if (!session) return; // closed while the token was being checked
    conn.identify(session);
    session.send({
      type: 'welcome',
      ...refOf(msg),
      sessionId: session.id,
      identity,
      name,
      sessionToken: session.token,
      iceServers: settings.iceServers(identity, conn.host),
      heartbeatMs: settings.heartbeatMs,
      resumeGraceSeconds: Math.round(settings.resumeGraceMs / 1000),
    });
  },

  resume(ctx, msg) {
    const { conn } = ctx;
    if (conn.session) throw new SwitchboardError('already-identified', 'this connection already has a session');
    const session = ctx.sessions.resume(msg.sessionToken, conn.socket);
    conn.identify(session);
    const room = session.room;
    session.send({
      type: 'resumed',
      ...refOf(msg),
      sessionId: session.id,
      identity: session.identity,
      name: session.name,
      ...(room ? { room: room.name, participants: ctx.rooms.participantsOf(room, session) } : {}),
    });
    session.flushQueue();
  },

  ping(ctx, msg) {
    ctx.conn.send({ type: 'pong', ...refOf(msg) });
  },
};

/**
 * The handler table: every client message type and the one function that handles it. To
 * accept a new message type, add it to src/protocol and its entry to one of these groups.
 */
import type { ClientMessage } from '../../protocol/index.js';
import { callHandlers } from './calls.js';
import type { HandlerTable, SignalingContext } from './context.js';
import { identifyHandlers } from './identify.js';
import { mediaHandlers } from './media.js';
import { relayHandlers } from './relay.js';
import { roomHandlers } from './rooms.js';

export const HANDLERS: HandlerTable = {
  ...identifyHandlers,
  ...roomHandlers,
  ...relayHandlers,
  ...mediaHandlers,
  ...callHandlers,
};

/** Runs `msg`'s handler. */
export function dispatch(ctx: SignalingContext, msg: ClientMessage): void | Promise<void> {
  // The table pairs each type with its handler; TypeScript cannot follow that through an index.
  const handler = HANDLERS[msg.type] as (ctx: SignalingContext, msg: ClientMessage) => void | Promise<void>;
  return handler(ctx, msg);
}

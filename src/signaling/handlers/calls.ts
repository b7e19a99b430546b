/**
 * The WebSocket half of the 1:1 call flow: the callee accepts or rejects, the caller cancels,
 * either hangs up. Calls are placed over REST (src/server/calls-api.ts); CallManager keeps them.
 */
import { identified, type HandlerTable } from './context.js';

export const callHandlers: Pick<HandlerTable, 'call-accept' | 'call-reject' | 'call-cancel' | 'call-hangup'> = {
  'call-accept': identified(({ session, calls }, msg) => calls.accept(session, msg.callId)),
  'call-reject': identified(({ session, calls }, msg) => calls.reject(session, msg.callId)),
  'call-cancel': identified(({ session, calls }, msg) => calls.cancel(session, msg.callId)),
  'call-hangup': identified(({ session, calls }, msg) => calls.hangup(session, msg.callId)),
};

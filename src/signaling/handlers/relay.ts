/**
 * The JSEP relay for mesh rooms and 1:1 calls: `offer`, `answer`, `candidate` and
 * `end-of-candidates` go to one peer in the sender's room, or to the other party of an
 * accepted call, stamped with the sender's id. A member of the room on another node is reached
 * through the federation (RoomRegistry.relayToRemote).
 */
import { SwitchboardError } from '../../protocol/index.js';
import type { RelayedMessage } from '../RoomFederation.js';
import { identified, type HandlerTable, type MessageOf, type SessionContext } from './context.js';

type RelayedType = 'offer' | 'answer' | 'candidate' | 'end-of-candidates';

function relay({ session: from, sessions, rooms, calls, observer }: SessionContext, msg: MessageOf<RelayedType>): void {
  const target = sessions.get(msg.to);
  const sameRoom = target !== undefined && target !== from && from.room !== null && target.room === from.room;
  const inCall = target !== undefined && calls.connects(from, target, msg.callId);
  // A member of the sender's room connected to another node (calls stay on one node).
  const remote = !target && from.room !== null && msg.callId === undefined && rooms.isRemoteMember(from.room, msg.to);
  // Same answer whether the id exists elsewhere or not: no probing of other rooms.
  if (!remote && (!target || !(sameRoom || inCall)))
    throw new SwitchboardError('peer-not-found', `no peer "${msg.to}" in your room or call`, 'to');
  const callId = msg.callId !== undefined ? { callId: msg.callId } : {};
  let out: RelayedMessage;
  switch (msg.type) {
    case 'offer':
      out = { type: 'offer', from: from.id, sdp: msg.sdp, ...callId };
      break;
    case 'answer':
      out = { type: 'answer', from: from.id, sdp: msg.sdp, ...callId };
      break;
    // msg.candidate is parseClientMessage's rebuild: its known fields only.
    case 'candidate':
      out = { type: 'candidate', from: from.id, candidate: msg.candidate, ...callId };
      break;
    case 'end-of-candidates':
      out = { type: 'end-of-candidates', from: from.id, ...callId };
      break;
  }
  if (remote && from.room) rooms.relayToRemote(from.room, msg.to, out);
  else target?.send(out);
  observer.relayed(msg.type);
}

export const relayHandlers: Pick<HandlerTable, RelayedType> = {
  offer: identified<'offer'>(relay),
  answer: identified<'answer'>(relay),
  candidate: identified<'candidate'>(relay),
  'end-of-candidates': identified<'end-of-candidates'>(relay),
};

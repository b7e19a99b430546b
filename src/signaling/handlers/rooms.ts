/** `join` and `leave`: membership of one room at a time. */
import { SwitchboardError } from '../../protocol/index.js';
import { grantsRoom } from '../auth.js';
import { identified, refOf, type HandlerTable } from './context.js';

export const roomHandlers: Pick<HandlerTable, 'join' | 'leave'> = {
  join: identified(async ({ session, rooms }, msg) => {
    if (session.room) throw new SwitchboardError('already-in-room', `already in room "${session.room.name}"; leave first`);
    if (session.grant && !grantsRoom(session.grant, msg.room)) {
      throw new SwitchboardError('room-not-allowed', `your token does not grant room "${msg.room}"`, 'room');
    }
    await rooms.join(session, msg.room, msg.topology, msg.id);
  }),

  leave: identified(({ session, rooms }, msg) => {
    const room = session.room;
    if (!room) throw new SwitchboardError('not-in-room', 'you are not in a room');
    rooms.leave(session, 'left');
    session.send({ type: 'left', room: room.name, ...refOf(msg) });
  }),
};

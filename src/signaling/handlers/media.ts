/**
 * Requests to the media server from members of SFU and MCU rooms: the publish offer, answers
 * to subscribe offers, render sizes, the video source, and (MCU only) the layout.
 */
import { SwitchboardError } from '../../protocol/index.js';
import type { MediaRooms } from '../MediaRooms.js';
import type { Room } from '../Room.js';
import { identified, refOf, type HandlerTable, type SessionContext } from './context.js';

/** The sender's room and the media server, when the room has its media there. */
function mediaRoomOf({ session, media }: SessionContext): { room: Room; media: MediaRooms } {
  const room = session.room;
  if (!room) throw new SwitchboardError('not-in-room', 'you are not in a room');
  // An MCU room's media connections are an SFU room's: the same publish/subscribe exchange.
  if (room.topology === 'mesh' || !media) throw new SwitchboardError('not-sfu-room', `room "${room.name}" is a ${room.topology} room`);
  return { room, media };
}

export const mediaHandlers: Pick<HandlerTable, 'sfu-offer' | 'sfu-answer' | 'sfu-video-size' | 'sfu-video-source' | 'mcu-layout'> = {
  'sfu-offer': identified(async (ctx, msg) => {
    const { room, media } = mediaRoomOf(ctx);
    const sdp = await media.publish(room.name, ctx.session.id, msg.sdp);
    ctx.session.send({ type: 'sfu-answer', ...refOf(msg), transport: 'publish', sdp });
  }),

  'sfu-answer': identified((ctx, msg) => {
    const { room, media } = mediaRoomOf(ctx);
    return media.subscribeAnswer(room.name, ctx.session.id, msg.revision, msg.sdp);
  }),

  'sfu-video-size': identified(async (ctx, msg) => {
    const { room, media } = mediaRoomOf(ctx);
    await media.videoSize(room.name, ctx.session.id, msg.trackId, msg.width, msg.height);
  }),

  'sfu-video-source': identified(async (ctx, msg) => {
    const { room, media } = mediaRoomOf(ctx);
    await media.videoSource(room.name, ctx.session.id, msg.source);
  }),

  'mcu-layout': identified(async (ctx, msg) => {
    const { room, media } = mediaRoomOf(ctx);
    if (room.topology !== 'mcu') throw new SwitchboardError('not-mcu-room', `room "${room.name}" is a ${room.topology} room`);
    await media.layout(room.name, ctx.session.id, msg.layout);
  }),
};

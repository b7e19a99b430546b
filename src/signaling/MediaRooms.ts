/**
 * What signaling needs from a media server to run SFU rooms. src/server implements it with
 * src/sfu; signaling itself knows only the protocol messages. A refused request throws a
 * SwitchboardError (or rejects with one) with a client-facing code: the sender gets an `error`
 * with that code. A media server in other processes answers asynchronously, so the requests
 * that need no result may return a promise.
 */
import type { ErrorCode, McuLayout, MediaTopology, ParticipantInfo, ServerMessage } from '../protocol/index.js';

/** A participant as the media server sees it: who, and how to reach their page. */
export interface MediaParticipant {
  readonly info: ParticipantInfo;
  send(msg: ServerMessage): void;
}

export type { MediaTopology } from '../protocol/media.js';

/** What a media server may ask of signaling. */
export interface MediaRoomsHost {
  /**
   * The media of `room` is gone for these members (e.g. its worker process died): each gets an
   * `error` with `code` and `message` and is taken out of the room (the others hear
   * `participant-left`), so their page can join again.
   */
  evict(room: string, participantIds: readonly string[], code: ErrorCode, message: string): void;
}

export interface MediaRooms {
  /** Signaling hands itself over once, at start (media servers that can lose rooms use it). */
  attachHost?(host: MediaRoomsHost): void;
  /**
   * A join is about to create room `room` of `topology`: throws a SwitchboardError (e.g.
   * `mcu-capacity`) when the media server cannot take one more such room.
   */
  admitRoom(room: string, topology: MediaTopology): void;
  /** A participant entered SFU or MCU room `room` (the topology is the room's, fixed by its first member). */
  join(room: string, participant: MediaParticipant, topology: MediaTopology): void;
  /** They left (or their session ended): everything they published or received is closed. */
  leave(room: string, participantId: string): void;
  /** `sfu-offer` for the publish connection; resolves with the answer SDP. */
  publish(room: string, participantId: string, sdp: string): Promise<string>;
  /** `sfu-answer` to the server's subscribe offer `revision`. */
  subscribeAnswer(room: string, participantId: string, revision: number, sdp: string): Promise<void>;
  /** `sfu-video-size`: the size the participant renders forwarded video track `trackId` at. */
  videoSize(room: string, participantId: string, trackId: string, width: number, height: number): void | Promise<void>;
  /** `sfu-video-source`: the participant's published video is its screen or its camera. */
  videoSource(room: string, participantId: string, source: 'camera' | 'screen'): void | Promise<void>;
  /** `mcu-layout`: the participant views the room's composed video in another layout. */
  layout(room: string, participantId: string, layout: McuLayout): void | Promise<void>;
}

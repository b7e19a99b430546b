/**
 * RoomTransport: how a Room's media and data reach the other participants. The Room owns
 * membership (join, leave, who is present) and the app-facing events; the transport owns the
 * peer connections. Mesh: one connection per participant. SFU and MCU: two connections to the server.
 */
import type { McuLayout, ParticipantInfo, ServerMessage } from '../src/protocol/index.js';
import type { FileHeader, Progress, ReceivedFile } from './file-transfer.js';
import type { MediaKind } from './local-media.js';
import type { ParticipantTransport } from './participant.js';
import type { PeerStats } from './stats.js';
import type { RoomTopology } from '../src/protocol/index.js';

/** What arrives from the others, tagged with the sending participant's id. */
export interface InboundSink {
  chat(from: string, text: string): void;
  fileProgress(from: string, p: Progress): void;
  file(from: string, f: ReceivedFile): void;
  /** A failure the app should show (e.g. the server refused our publish offer). */
  error(message: string): void;
}

export interface FileSendResult {
  /** "<who>: <why>" per destination that did not get the file. */
  failures: string[];
}

export interface RoomTransport {
  readonly topology: RoomTopology;
  /** MCU rooms: the server's mix for us (one audio, one composed video); absent elsewhere. */
  readonly mix?: ParticipantTransport | null;
  /** MCU rooms: view the composed video in another layout. */
  setLayout?(layout: McuLayout): void;
  /** A participant appeared; `initiator` is true for those already present when we joined. */
  attach(info: ParticipantInfo, initiator: boolean): ParticipantTransport;
  /** A participant is gone: release what `attach` made for them. */
  detach(id: string): void;
  /** Signaling messages addressed to the room (offers, candidates, SFU descriptions). */
  handleSignal(m: ServerMessage): void;
  setTrack(kind: MediaKind, track: MediaStreamTrack | null): void;
  /** Sends a line to everyone; returns the ids (or 'sfu') it could not be sent to. */
  sendChat(text: string, to: readonly ParticipantInfo[]): string[];
  /** Sends a file to everyone; `onProgress` names the destination (a participant id, or 'sfu'). */
  sendFile(
    header: FileHeader,
    bytes: Uint8Array,
    to: readonly ParticipantInfo[],
    onProgress: (peerId: string, p: Progress) => void,
  ): Promise<FileSendResult>;
  /** The app renders participant `id`'s video at this size (SFU: picks the layer; mesh: absent). */
  setVideoRenderSize?(id: string, width: number, height: number): void;
  /** Stats of our upstream connection (SFU publish); null when there is none (mesh). */
  publishStats(): Promise<PeerStats | null>;
  close(): void;
}

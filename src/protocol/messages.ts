/**
 * The signaling protocol: every message exchanged over the `/ws` WebSocket, in both
 * directions. This module is the single source of truth, imported by the server
 * (src/signaling) and by the browser SDK (client/). It has no runtime dependencies.
 *
 * Flow: connect → `hello` (or `resume`) → `welcome` → `join` → `joined` → relay
 * `offer`/`answer`/`candidate`/`end-of-candidates` addressed `to` a participant id.
 *
 * SFU rooms: each participant holds two connections to the server. The `publish` one carries
 * its own media and data channels up: the client sends `sfu-offer {transport: 'publish'}`, the
 * server answers `sfu-answer` (with `ref`). The `subscribe` one carries everyone else's media
 * down: the server sends `sfu-offer {transport: 'subscribe', revision, tracks}` whenever the set
 * of forwarded tracks changes and the client answers `sfu-answer {transport: 'subscribe',
 * revision}`. The server is ICE-lite and puts its candidates in its SDP, so no candidates are
 * trickled either way. The server also tells every member who speaks: `active-speaker
 * {room, participantId}` (from the RFC 6464 audio levels of the published audio).
 */
import type { ErrorCode } from './errors.js';
import { TOPOLOGIES, type MediaKind, type Topology } from './media.js';
import { int, object, oneOf, pickKnown, requestId, str, validateObject, type Schema, type ValidationFailure } from './schema.js';

/** Largest accepted inbound frame, in bytes (UTF-8). */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** SDP is the largest payload we relay; leave room for the envelope. */
export const MAX_SDP_CHARS = 60 * 1024;
/** Seconds a disconnected session keeps its identity and room, waiting for `resume`. */
export const RESUME_GRACE_SECONDS = 30;
/** Seconds an unanswered call rings before it ends with `call-ended {reason: 'timeout'}`. */
export const CALL_RING_SECONDS = 30;

/** Largest render width or height a page may report (`sfu-video-size`), in device pixels. */
export const MAX_VIDEO_DIMENSION = 16384;

/** Participant, identity and call ids. */
export const ID_PATTERN = /^[A-Za-z0-9_.:@-]+$/;
/** Room names. */
export const ROOM_PATTERN = /^[A-Za-z0-9_.-]+$/;

export interface ParticipantInfo {
  /** Session id: the address used in `to`/`from`. */
  id: string;
  identity: string;
  name: string;
}

export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export const SFU_TRANSPORTS = ['publish', 'subscribe'] as const;
export type SfuTransport = (typeof SFU_TRANSPORTS)[number];

/** One m-section of the subscribe connection: whose track it carries. */
export interface SfuTrackInfo {
  mid: string;
  kind: MediaKind;
  /** The publishing participant's session id; also the `a=msid` stream id. */
  participantId: string;
  /** The server's id of the forwarded track; also the `a=msid` track id. */
  trackId: string;
  /** false: the section is inactive (its track ended), kept until reused. */
  active: boolean;
}

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

// ---- client → server ---------------------------------------------------------------

interface Req {
  /** Optional request id, echoed as `ref` in the direct response or error. */
  id?: string | number;
}

export interface HelloMsg extends Req {
  type: 'hello';
  /** Signed access token (required when the server has an auth secret). */
  token?: string;
  /** Wanted identity in open mode; ignored (taken from the token) when auth is on. */
  identity?: string;
  /** Display name. */
  name?: string;
}
export interface ResumeMsg extends Req {
  type: 'resume';
  sessionToken: string;
}
export interface JoinMsg extends Req {
  type: 'join';
  room: string;
  topology?: Topology;
}
export interface LeaveMsg extends Req {
  type: 'leave';
}
export interface OfferMsg extends Req {
  type: 'offer';
  to: string;
  sdp: string;
  callId?: string;
}
export interface AnswerMsg extends Req {
  type: 'answer';
  to: string;
  sdp: string;
  callId?: string;
}
export interface CandidateMsg extends Req {
  type: 'candidate';
  to: string;
  candidate: IceCandidateInit;
  callId?: string;
}
export interface EndOfCandidatesMsg extends Req {
  type: 'end-of-candidates';
  to: string;
  callId?: string;
}
export interface PingMsg extends Req {
  type: 'ping';
}
/** SFU: the client's offer for its publish connection. */
export interface SfuOfferMsg extends Req {
  type: 'sfu-offer';
  transport: 'publish';
  sdp: string;
}
/** SFU: the client's answer to the server's subscribe offer `revision`. */
export interface SfuAnswerMsg extends Req {
  type: 'sfu-answer';
  transport: 'subscribe';
  sdp: string;
  revision: number;
}
/**
 * SFU: the size (device pixels) this page renders a received video track at; 0 × 0 when it is
 * not shown. The server never forwards a layer larger than needed for it.
 */
export interface SfuVideoSizeMsg extends Req {
  type: 'sfu-video-size';
  trackId: string;
  width: number;
  height: number;
}
/** SFU: this page's published video is now its screen (or its camera again); a screen share is served first. */
export interface SfuVideoSourceMsg extends Req {
  type: 'sfu-video-source';
  source: 'camera' | 'screen';
}
/** In MCU rooms, the `participantId` of the mixed tracks in `sfu-offer` track lists (real ids start with `p-`). */
export const MCU_MIX_PARTICIPANT_ID = 'mixer';
/** MCU layouts a participant can ask the server to compose for them. */
export const MCU_LAYOUTS = ['grid', 'speaker', 'presentation'] as const;
export type McuLayout = (typeof MCU_LAYOUTS)[number];
/** MCU: compose this page's received video in another layout (it arrives as a new track). */
export interface McuLayoutMsg extends Req {
  type: 'mcu-layout';
  layout: McuLayout;
}
export interface CallAcceptMsg extends Req {
  type: 'call-accept';
  callId: string;
}
export interface CallRejectMsg extends Req {
  type: 'call-reject';
  callId: string;
}
export interface CallCancelMsg extends Req {
  type: 'call-cancel';
  callId: string;
}
export interface CallHangupMsg extends Req {
  type: 'call-hangup';
  callId: string;
}

export type ClientMessage =
  | HelloMsg
  | ResumeMsg
  | JoinMsg
  | LeaveMsg
  | OfferMsg
  | AnswerMsg
  | CandidateMsg
  | EndOfCandidatesMsg
  | PingMsg
  | SfuOfferMsg
  | SfuAnswerMsg
  | SfuVideoSizeMsg
  | SfuVideoSourceMsg
  | McuLayoutMsg
  | CallAcceptMsg
  | CallRejectMsg
  | CallCancelMsg
  | CallHangupMsg;

export type ClientMessageType = ClientMessage['type'];

// ---- server → client ---------------------------------------------------------------

export interface WelcomeMsg {
  type: 'welcome';
  ref?: string | number;
  sessionId: string;
  identity: string;
  name: string;
  /** Secret for `resume` and for REST calls (`Authorization: Bearer …`). */
  sessionToken: string;
  iceServers: IceServer[];
  /** Interval of server pings; a client may use it to detect a dead server. */
  heartbeatMs: number;
  resumeGraceSeconds: number;
}
export interface JoinedMsg {
  type: 'joined';
  ref?: string | number;
  room: string;
  topology: Topology;
  self: ParticipantInfo;
  participants: ParticipantInfo[];
}
export interface LeftMsg {
  type: 'left';
  ref?: string | number;
  room: string;
}
export interface ResumedMsg {
  type: 'resumed';
  ref?: string | number;
  sessionId: string;
  identity: string;
  name: string;
  room?: string;
  participants?: ParticipantInfo[];
}
export interface ParticipantJoinedMsg {
  type: 'participant-joined';
  room: string;
  participant: ParticipantInfo;
}
/**
 * Why a member left: a `leave` (or clean close), the end of its resume grace, or the loss of
 * the cluster node it was connected to (it stopped heartbeating; its client reconnects elsewhere).
 */
export type ParticipantLeftReason = 'left' | 'disconnected' | 'node-lost';
export interface ParticipantLeftMsg {
  type: 'participant-left';
  room: string;
  participantId: string;
  reason: ParticipantLeftReason;
}
export interface RelayedOfferMsg {
  type: 'offer';
  from: string;
  sdp: string;
  callId?: string;
}
export interface RelayedAnswerMsg {
  type: 'answer';
  from: string;
  sdp: string;
  callId?: string;
}
export interface RelayedCandidateMsg {
  type: 'candidate';
  from: string;
  candidate: IceCandidateInit;
  callId?: string;
}
export interface RelayedEndOfCandidatesMsg {
  type: 'end-of-candidates';
  from: string;
  callId?: string;
}
export interface PongMsg {
  type: 'pong';
  ref?: string | number;
}
/** SFU: the server's offer for the subscribe connection; each revision replaces the last. */
export interface SfuServerOfferMsg {
  type: 'sfu-offer';
  transport: 'subscribe';
  sdp: string;
  revision: number;
  tracks: SfuTrackInfo[];
}
/** SFU: the server's answer to the client's publish offer (`ref` = the offer's `id`). */
export interface SfuServerAnswerMsg {
  type: 'sfu-answer';
  ref?: string | number;
  transport: 'publish';
  sdp: string;
}
/**
 * SFU: which simulcast layers (rids) of the publish section `mid` someone receives; the page
 * keeps the others' encodings inactive (RTCRtpSender.setParameters) until they are needed.
 */
export interface SfuLayersMsg {
  type: 'sfu-layers';
  mid: string;
  active: string[];
}
/**
 * SFU: the room's active speaker changed (audio levels, RFC 6464), sent to every member and to a
 * newcomer on join; null when the last speaker left and nobody speaks. A silent room keeps its
 * last speaker.
 */
export interface ActiveSpeakerMsg {
  type: 'active-speaker';
  room: string;
  participantId: string | null;
}
export interface ErrorMsg {
  type: 'error';
  code: ErrorCode;
  message: string;
  /** The offending field, for validation errors (`candidate.sdpMid`). */
  field?: string;
  /** The `id` of the request this answers, when it had one. */
  ref?: string | number;
  /** The `type` of the message this answers, when it could be read. */
  inReplyTo?: string;
}

export interface CallPeer {
  sessionId: string;
  identity: string;
  name: string;
}
export type CallEndReason = 'rejected' | 'cancelled' | 'timeout' | 'hangup' | 'busy' | 'disconnected';

export interface CallIncomingMsg {
  type: 'call-incoming';
  callId: string;
  from: CallPeer;
}
export interface CallAcceptedMsg {
  type: 'call-accepted';
  callId: string;
  peer: CallPeer;
}
export interface CallEndedMsg {
  type: 'call-ended';
  callId: string;
  reason: CallEndReason;
  by?: string;
}

export type ServerMessage =
  | WelcomeMsg
  | JoinedMsg
  | LeftMsg
  | ResumedMsg
  | ParticipantJoinedMsg
  | ParticipantLeftMsg
  | RelayedOfferMsg
  | RelayedAnswerMsg
  | RelayedCandidateMsg
  | RelayedEndOfCandidatesMsg
  | PongMsg
  | ErrorMsg
  | SfuServerOfferMsg
  | SfuServerAnswerMsg
  | SfuLayersMsg
  | ActiveSpeakerMsg
  | CallIncomingMsg
  | CallAcceptedMsg
  | CallEndedMsg;

export type ServerMessageType = ServerMessage['type'];

// ---- REST (1:1 calls) -----------------------------------------------------------------

/** `POST /api/calls` body; the caller authenticates with `Authorization: Bearer <sessionToken>`. */
export interface CreateCallRequest {
  to: string;
}
/** 201 response. */
export interface CreateCallResponse {
  callId: string;
  to: CallPeer;
  state: 'ringing';
}
/** Non-2xx REST response body. */
export interface RestError {
  error: { code: ErrorCode; message: string; field?: string };
}

// ---- validation ------------------------------------------------------------------------

const participantId = (optional = false) => str({ max: 64, pattern: ID_PATTERN, optional });
const callIdRule = (optional = false) => str({ max: 64, pattern: ID_PATTERN, optional });

export const candidateSchema: Schema = {
  candidate: str({ min: 0, max: 1024 }),
  sdpMid: str({ min: 0, max: 64, optional: true }),
  sdpMLineIndex: int({ min: 0, max: 1023, optional: true }),
  usernameFragment: str({ min: 0, max: 256, optional: true }),
};

export const CLIENT_SCHEMAS: Readonly<Record<ClientMessageType, Schema>> = {
  hello: {
    type: str({ max: 32 }),
    id: requestId,
    token: str({ max: 4096, optional: true }),
    identity: str({ max: 64, pattern: ID_PATTERN, optional: true }),
    name: str({ max: 64, optional: true }),
  },
  resume: { type: str({ max: 32 }), id: requestId, sessionToken: str({ max: 128, pattern: ID_PATTERN }) },
  join: {
    type: str({ max: 32 }),
    id: requestId,
    room: str({ max: 64, pattern: ROOM_PATTERN }),
    topology: oneOf(TOPOLOGIES, true),
  },
  leave: { type: str({ max: 32 }), id: requestId },
  offer: { type: str({ max: 32 }), id: requestId, to: participantId(), sdp: str({ max: MAX_SDP_CHARS }), callId: callIdRule(true) },
  answer: { type: str({ max: 32 }), id: requestId, to: participantId(), sdp: str({ max: MAX_SDP_CHARS }), callId: callIdRule(true) },
  candidate: { type: str({ max: 32 }), id: requestId, to: participantId(), candidate: object(candidateSchema), callId: callIdRule(true) },
  'end-of-candidates': { type: str({ max: 32 }), id: requestId, to: participantId(), callId: callIdRule(true) },
  ping: { type: str({ max: 32 }), id: requestId },
  'sfu-offer': { type: str({ max: 32 }), id: requestId, transport: oneOf(['publish'] as const), sdp: str({ max: MAX_SDP_CHARS }) },
  'sfu-answer': {
    type: str({ max: 32 }),
    id: requestId,
    transport: oneOf(['subscribe'] as const),
    sdp: str({ max: MAX_SDP_CHARS }),
    revision: int({ min: 0, max: 2 ** 31 - 1 }),
  },
  'sfu-video-size': {
    type: str({ max: 32 }),
    id: requestId,
    trackId: str({ max: 256, pattern: ID_PATTERN }),
    width: int({ min: 0, max: MAX_VIDEO_DIMENSION }),
    height: int({ min: 0, max: MAX_VIDEO_DIMENSION }),
  },
  'sfu-video-source': { type: str({ max: 32 }), id: requestId, source: oneOf(['camera', 'screen'] as const) },
  'mcu-layout': { type: str({ max: 32 }), id: requestId, layout: oneOf(MCU_LAYOUTS) },
  'call-accept': { type: str({ max: 32 }), id: requestId, callId: callIdRule() },
  'call-reject': { type: str({ max: 32 }), id: requestId, callId: callIdRule() },
  'call-cancel': { type: str({ max: 32 }), id: requestId, callId: callIdRule() },
  'call-hangup': { type: str({ max: 32 }), id: requestId, callId: callIdRule() },
};

export const CREATE_CALL_SCHEMA: Schema = { to: str({ max: 64, pattern: ID_PATTERN }) };

export type ParseResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: ErrorCode; message: string; field?: string; ref?: string | number | undefined; inReplyTo?: string };

function utf8Length(s: string): number {
  // Exact UTF-8 byte length without allocating (TextEncoder would copy the string).
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Parses and validates one inbound frame. Never throws: every failure is a ParseResult
 * with a stable code and, for field problems, the field's dotted path.
 */
export function parseClientMessage(raw: string, byteLength = utf8Length(raw)): ParseResult {
  if (byteLength > MAX_MESSAGE_BYTES) {
    return { ok: false, code: 'message-too-large', message: `message is ${byteLength} bytes; the limit is ${MAX_MESSAGE_BYTES}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, code: 'malformed-json', message: 'message is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'malformed-json', message: 'message must be a JSON object' };
  }
  const obj = value as Record<string, unknown>;
  const ref = requestId.check(obj.id) === undefined ? (obj.id as string | number) : undefined;
  if (typeof obj.type !== 'string') {
    return { ok: false, code: 'invalid-message', message: 'type: is required and must be a string', field: 'type', ref };
  }
  const schema = Object.prototype.hasOwnProperty.call(CLIENT_SCHEMAS, obj.type) ? CLIENT_SCHEMAS[obj.type as ClientMessageType] : undefined;
  if (!schema) {
    return { ok: false, code: 'unknown-type', message: `unknown message type "${obj.type.slice(0, 32)}"`, field: 'type', ref };
  }
  const failure: ValidationFailure | undefined = validateObject(obj, schema, '');
  if (failure) {
    return {
      ok: false,
      code: 'invalid-message',
      message: `${failure.field}: ${failure.problem}`,
      field: failure.field,
      ref,
      inReplyTo: obj.type,
    };
  }
  // Rebuilt from the schema's fields: nothing the validator did not look at travels on.
  return { ok: true, message: pickKnown(obj, schema) as unknown as ClientMessage };
}

export function validateCreateCall(body: unknown): ValidationFailure | undefined {
  return validateObject(body, CREATE_CALL_SCHEMA, '');
}

/**
 * The client's check of an `active-speaker` message (server messages are trusted less than
 * nothing by the browser: a malformed one is dropped). Same id rule as participant ids.
 */
export function readActiveSpeaker(m: unknown): ActiveSpeakerMsg | null {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return null;
  const { type, room, participantId } = m as Record<string, unknown>;
  if (type !== 'active-speaker' || typeof room !== 'string' || room.length > 64 || !ROOM_PATTERN.test(room)) return null;
  if (participantId !== null && (typeof participantId !== 'string' || participantId.length > 64 || !ID_PATTERN.test(participantId)))
    return null;
  return { type, room, participantId };
}

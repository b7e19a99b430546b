/**
 * Stable error codes sent in `error` messages and REST error bodies.
 * Clients branch on these; never rename one, only add.
 */
export const ErrorCode = {
  /** Not valid JSON, or not a JSON object. */
  MalformedJson: 'malformed-json',
  /** Valid JSON but a field is missing or has the wrong type/value; `field` names it. */
  InvalidMessage: 'invalid-message',
  /** `type` is not a message type the server accepts. */
  UnknownType: 'unknown-type',
  /** The frame is larger than MAX_MESSAGE_BYTES. */
  MessageTooLarge: 'message-too-large',
  /** The connection sent more messages than its rate allows; the message was dropped. */
  RateLimited: 'rate-limited',
  /** A token is required and none was given. */
  TokenRequired: 'token-required',
  /** The token is malformed, forged, expired or does not grant what was asked. */
  TokenInvalid: 'token-invalid',
  TokenExpired: 'token-expired',
  /** The token does not grant the requested room. */
  RoomNotAllowed: 'room-not-allowed',
  /** The message needs a `hello` first. */
  NotIdentified: 'not-identified',
  /** `hello` sent twice on one connection. */
  AlreadyIdentified: 'already-identified',
  /** Another live session uses this identity. */
  IdentityInUse: 'identity-in-use',
  /** The message needs the sender to be in a room. */
  NotInRoom: 'not-in-room',
  AlreadyInRoom: 'already-in-room',
  /** The room is at its participant limit. */
  RoomFull: 'room-full',
  /** The join would create an MCU room and the server already runs its maximum (`maxMcuRooms`). */
  McuCapacity: 'mcu-capacity',
  /** The requested topology is not served by this server. */
  UnsupportedTopology: 'unsupported-topology',
  /** An SFU message in a room that is not an SFU room. */
  NotSfuRoom: 'not-sfu-room',
  /** An MCU-only request (`mcu-layout`) in a room of another topology. */
  NotMcuRoom: 'not-mcu-room',
  /** The SDP could not be used (malformed, or nothing the server can accept); `message` says why. */
  InvalidSdp: 'invalid-sdp',
  /** The media server process that held the room's media stopped; the member was taken out of the room and may join again. */
  MediaLost: 'media-lost',
  /** The named peer does not exist or shares no room/call with the sender. */
  PeerNotFound: 'peer-not-found',
  /** The resume token is unknown or its grace period is over. */
  ResumeFailed: 'resume-failed',
  /** Call flow errors. */
  CallNotFound: 'call-not-found',
  CalleeNotFound: 'callee-not-found',
  Busy: 'busy',
  CallStateInvalid: 'call-state-invalid',
  /** REST: the request is not authenticated (missing/unknown session token). */
  Unauthorized: 'unauthorized',
  /** REST: the client may not use this endpoint from where it is (e.g. /metrics from a non-loopback address). */
  Forbidden: 'forbidden',
  NotFound: 'not-found',
  Internal: 'internal-error',
  /** The cluster's shared store (Redis) cannot be reached: no new join now; calls in progress go on. Retry later. */
  ClusterUnavailable: 'cluster-unavailable',
  /** This node is draining (shutting down): it takes no new participants. Join through another node. */
  Draining: 'draining',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Codes of failures that stay inside the server (never sent to a client): bad configuration,
 * a part misused by its caller, a resource the machine would not give. Same rule: only add.
 */
export const InternalErrorCode = {
  /** A configuration value is missing, malformed or out of range; the message names the key. */
  InvalidConfig: 'invalid-config',
  /** A caller broke a part's contract (a duplicate id, a value out of range). */
  InvalidArgument: 'invalid-argument',
  /** The object was already closed. */
  Closed: 'closed',
  /** The machine refused a resource: a port to bind, a codec to open, a peer to reach. */
  Unavailable: 'unavailable',
  /** Input (a file, a peer's bytes) that could not be read. */
  Malformed: 'malformed',
} as const;

export type InternalErrorCode = (typeof InternalErrorCode)[keyof typeof InternalErrorCode];

/**
 * The one error type the server throws on purpose. `code` is stable (ErrorCode for what a
 * client sees, InternalErrorCode otherwise); `message` is for people; `field` names the
 * offending message field or configuration key when there is one.
 */
export class SwitchboardError extends Error {
  override readonly name = 'SwitchboardError';

  constructor(
    readonly code: ErrorCode | InternalErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  /** Whether `code` may be sent to a client as is. */
  get isClientError(): boolean {
    return (Object.values(ErrorCode) as string[]).includes(this.code);
  }
}

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
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

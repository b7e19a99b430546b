/** SCTP Payload Protocol Identifiers for WebRTC (RFC 8831 §8, RFC 8832 §8.1). */
export const PPID_DCEP = 50;
export const PPID_STRING = 51;
export const PPID_BINARY = 53;
export const PPID_STRING_EMPTY = 56;
export const PPID_BINARY_EMPTY = 57;

/** DTLS 1.2 record layer (RFC 6347 §4.1). */
export const RECORD_HEADER_LENGTH = 13;
export const CONTENT_CHANGE_CIPHER_SPEC = 20;
export const CONTENT_ALERT = 21;
export const CONTENT_HANDSHAKE = 22;
export const CONTENT_APPLICATION_DATA = 23;
/** RFC 6347 §4.2.2 handshake header: msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3). */
export const HANDSHAKE_HEADER_LENGTH = 12;
/** RFC 5246 §7.4 HandshakeType client_hello. */
export const HANDSHAKE_CLIENT_HELLO = 1;

/** RFC 6347 §4.1: DTLSCiphertext.length must not exceed 2^14 + 2048. */
const MAX_RECORD_BODY = 16384 + 2048;
const DTLS_MAJOR = 254;
const DTLS_1_0_MINOR = 255;
const DTLS_1_2_MINOR = 253;

/** One record's header fields, filled in place by {@link readRecordHeader} so the hot path reuses it. */
export interface RecordView {
  contentType: number;
  minorVersion: number;
  epoch: number;
  sequenceNumber: number;
  /** Offset of the body in the datagram. */
  bodyOffset: number;
  bodyLength: number;
}

export function createRecordView(): RecordView {
  return { contentType: 0, minorVersion: 0, epoch: 0, sequenceNumber: 0, bodyOffset: 0, bodyLength: 0 };
}

/**
 * Reads the record starting at `offset` into `view`. Returns the offset of the next
 * record, or -1 if the header is malformed (unknown type or version, body past the
 * datagram's end or over the RFC limit). Never throws.
 */
export function readRecordHeader(buf: Buffer, offset: number, view: RecordView): number {
  if (buf.length - offset < RECORD_HEADER_LENGTH) return -1;
  const type = buf[offset] as number;
  if (type < CONTENT_CHANGE_CIPHER_SPEC || type > CONTENT_APPLICATION_DATA) return -1;
  if (buf[offset + 1] !== DTLS_MAJOR) return -1;
  const minor = buf[offset + 2] as number;
  // DTLS 1.0 appears in the record of a ClientHello (RFC 6347 §4.1 note on version).
  if (minor !== DTLS_1_2_MINOR && minor !== DTLS_1_0_MINOR) return -1;
  const length = buf.readUInt16BE(offset + 11);
  if (length > MAX_RECORD_BODY || offset + RECORD_HEADER_LENGTH + length > buf.length) return -1;
  view.contentType = type;
  view.minorVersion = minor;
  view.epoch = buf.readUInt16BE(offset + 3);
  view.sequenceNumber = buf.readUIntBE(offset + 5, 6);
  view.bodyOffset = offset + RECORD_HEADER_LENGTH;
  view.bodyLength = length;
  return view.bodyOffset + length;
}

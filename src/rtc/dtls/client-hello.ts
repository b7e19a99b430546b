/** Recognizes the first, cookie-less ClientHello of a DTLS 1.2 handshake (RFC 6347 §4.2.1). */
import { CONTENT_HANDSHAKE, HANDSHAKE_CLIENT_HELLO, HANDSHAKE_HEADER_LENGTH, type RecordView } from './record-header.js';

/** client_version(2) random(32), then session_id<0..32>, then cookie<0..2^8-1>. */
const SESSION_ID_OFFSET = 34;

/**
 * True when the record `view` describes (read by readRecordHeader from `buf`) is an epoch-0
 * handshake record starting a ClientHello whose cookie is empty: the hello a client sends
 * before the server's HelloVerifyRequest. Anything malformed or fragmented past the cookie
 * reads as false. Never throws.
 */
export function isCookielessClientHello(buf: Buffer, view: RecordView): boolean {
  if (view.contentType !== CONTENT_HANDSHAKE || view.epoch !== 0) return false;
  const start = view.bodyOffset;
  const end = start + view.bodyLength;
  if (end - start < HANDSHAKE_HEADER_LENGTH || buf[start] !== HANDSHAKE_CLIENT_HELLO) return false;
  if (buf.readUIntBE(start + 6, 3) !== 0) return false; // not the first fragment
  const body = start + HANDSHAKE_HEADER_LENGTH;
  const fragmentEnd = Math.min(end, body + buf.readUIntBE(start + 9, 3));
  const sessionIdLength = body + SESSION_ID_OFFSET;
  if (sessionIdLength >= fragmentEnd) return false;
  const cookieLength = sessionIdLength + 1 + (buf[sessionIdLength] as number);
  if (cookieLength >= fragmentEnd) return false;
  return buf[cookieLength] === 0;
}

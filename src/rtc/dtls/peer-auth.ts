import { createHash, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { HANDSHAKE_CLIENT_HELLO } from './record-header.js';
import { prfSha256 } from './tls-prf.js';
import type { CachedHandshake } from './werift-session.js';

/** RFC 5246 §7.4 HandshakeType values we look for. */
const SERVER_HELLO = 2;
const SERVER_KEY_EXCHANGE = 12;
const CERTIFICATE_VERIFY = 15;
const FINISHED = 20;
/** RFC 5246 §7.4.1.2: version (2 bytes) precedes the 32-byte random. */
const RANDOM_OFFSET = 2;
const RANDOM_LENGTH = 32;
/** RFC 5246 §7.4.9 */
const VERIFY_DATA_LENGTH = 12;

/** RFC 5246 §7.4.1.4.1 HashAlgorithm → Node digest name. */
const HASHES: ReadonlyMap<number, string> = new Map([
  [2, 'sha1'],
  [4, 'sha256'],
  [5, 'sha384'],
  [6, 'sha512'],
]);

/** What {@link verifyPeerHandshake} reads from the DTLS engine. */
export interface HandshakeTranscriptSource {
  handshakeMessages(): CachedHandshake[];
  readonly masterSecret: Buffer | undefined;
}

/**
 * werift checks neither the peer's signature nor (on the server) its Finished, so a
 * peer could present someone else's certificate. We check what proves possession of
 * the certificate's key: the client's CertificateVerify (RFC 5246 §7.4.8) or the
 * server's ServerKeyExchange signature (RFC 4492 §5.4), and on the server side also
 * the client's Finished (RFC 5246 §7.4.9). Returns null if authentic, else why not.
 */
export function verifyPeerHandshake(
  source: HandshakeTranscriptSource,
  role: 'server' | 'client',
  remoteCertificateDer: Buffer,
): string | null {
  try {
    const publicKey = new X509Certificate(remoteCertificateDer).publicKey;
    const transcript = source.handshakeMessages();
    if (role === 'client') return verifyServerKeyExchange(transcript, publicKey);
    const verifyError = verifyClientCertificateVerify(transcript, publicKey);
    if (verifyError) return verifyError;
    return verifyClientFinished(transcript, source.masterSecret);
  } catch (error) {
    return `cannot verify: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** RFC 4492 §5.4: signature over client_random + server_random + ServerECDHParams. */
export function verifyServerKeyExchange(transcript: readonly CachedHandshake[], publicKey: KeyObject): string | null {
  const clientHello = transcript.find((m) => m.msg_type === HANDSHAKE_CLIENT_HELLO);
  const serverHello = transcript.find((m) => m.msg_type === SERVER_HELLO);
  const ske = transcript.find((m) => m.msg_type === SERVER_KEY_EXCHANGE);
  if (!clientHello || !serverHello || !ske) return 'missing hello or ServerKeyExchange';
  const body = ske.fragment;
  // ServerECDHParams: curve_type(1) named_curve(2) point length(1) point.
  if (body.length < 4) return 'short ServerKeyExchange';
  const paramsLength = 4 + (body[3] as number);
  const signed = readSignature(body, paramsLength);
  if (typeof signed === 'string') return signed;
  const data = Buffer.concat([
    clientHello.fragment.subarray(RANDOM_OFFSET, RANDOM_OFFSET + RANDOM_LENGTH),
    serverHello.fragment.subarray(RANDOM_OFFSET, RANDOM_OFFSET + RANDOM_LENGTH),
    body.subarray(0, paramsLength),
  ]);
  return verify(signed.hash, data, publicKey, signed.signature) ? null : 'bad ServerKeyExchange signature';
}

/** RFC 5246 §7.4.8: signature over all handshake messages before CertificateVerify. */
export function verifyClientCertificateVerify(transcript: readonly CachedHandshake[], publicKey: KeyObject): string | null {
  const index = transcript.findIndex((m) => m.msg_type === CERTIFICATE_VERIFY);
  const message = transcript[index];
  if (!message) return 'missing CertificateVerify';
  const signed = readSignature(message.fragment, 0);
  if (typeof signed === 'string') return signed;
  const data = Buffer.concat(transcript.slice(0, index).map((m) => m.serialize()));
  return verify(signed.hash, data, publicKey, signed.signature) ? null : 'bad CertificateVerify signature';
}

/** RFC 5246 §7.4.9: verify_data = PRF(master_secret, "client finished", Hash(messages before it)). */
export function verifyClientFinished(transcript: readonly CachedHandshake[], masterSecret: Buffer | undefined): string | null {
  const index = transcript.findIndex((m) => m.msg_type === FINISHED);
  const finished = transcript[index];
  if (!finished || !masterSecret) return 'missing Finished or master secret';
  const hash = createHash('sha256');
  for (const m of transcript.slice(0, index)) hash.update(m.serialize());
  const expected = prfSha256(masterSecret, 'client finished', hash.digest(), VERIFY_DATA_LENGTH);
  return expected.equals(finished.fragment) ? null : 'bad client Finished';
}

/** digitally-signed struct (RFC 5246 §4.7): hash(1) signature(1) length(2) bytes. */
function readSignature(body: Buffer, offset: number): { hash: string; signature: Buffer } | string {
  if (body.length < offset + 4) return 'short signature';
  const hash = HASHES.get(body[offset] as number);
  if (!hash) return `unsupported signature hash ${body[offset]}`;
  const length = body.readUInt16BE(offset + 2);
  if (body.length < offset + 4 + length) return 'truncated signature';
  return { hash, signature: body.subarray(offset + 4, offset + 4 + length) };
}

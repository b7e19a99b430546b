/**
 * What one end of a pipe tells the other over the caller's control channel (worker IPC, Redis):
 * where it listens and the SRTP master key it protects its own sending with. The object is
 * plain JSON; whatever comes back from the far end is checked here field by field before a
 * socket or a cipher sees it.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { SwitchboardError } from '../../protocol/errors.js';
import { srtpKeyLengths, type SrtpMasterKeys } from '../srtp/index.js';

/** The one suite a pipe uses: AEAD (RFC 7714), so each datagram is encrypted and authenticated at once. */
export const PIPE_SRTP_SUITE = 'AEAD_AES_128_GCM';
const { key: KEY_BYTES, salt: SALT_BYTES } = srtpKeyLengths(PIPE_SRTP_SUITE);
/** Master key then master salt (RFC 7714 §14.2: 128-bit key, 96-bit salt), base64. */
const MASTER_BYTES = KEY_BYTES + SALT_BYTES;

export interface PipeSrtpParameters {
  suite: typeof PIPE_SRTP_SUITE;
  keyBase64: string;
}

/** One pipe end: its socket address and the key of what it sends. JSON-serialisable. */
export interface PipeTransportParameters {
  ip: string;
  port: number;
  srtp: PipeSrtpParameters;
}

/** A fresh random master key and salt for one transport's sending direction. */
export function newPipeSrtpParameters(): PipeSrtpParameters {
  return { suite: PIPE_SRTP_SUITE, keyBase64: randomBytes(MASTER_BYTES).toString('base64') };
}

/** The master key and salt inside checked parameters. */
export function pipeMasterKeys(srtp: PipeSrtpParameters): SrtpMasterKeys {
  const bytes = Buffer.from(srtp.keyBase64, 'base64');
  return { key: bytes.subarray(0, KEY_BYTES), salt: bytes.subarray(KEY_BYTES, MASTER_BYTES) };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Checks parameters that came from the far end; throws SwitchboardError('invalid-argument')
 * naming the field. `family` is the local socket's (4 or 6): the remote address must be of it.
 */
export function parsePipeTransportParameters(value: unknown, family: 4 | 6): PipeTransportParameters {
  if (!isRecord(value)) throw invalid('pipe parameters must be an object', 'remote');
  const { ip, port, srtp } = value;
  if (typeof ip !== 'string' || isIP(ip) !== family) throw invalid(`remote ip must be an IPv${family} address`, 'ip');
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw invalid('remote port must be an integer in 1–65535', 'port');
  if (!isRecord(srtp)) throw invalid('srtp must be an object', 'srtp');
  if (srtp.suite !== PIPE_SRTP_SUITE) throw invalid(`srtp suite must be ${PIPE_SRTP_SUITE}`, 'srtp.suite');
  const key = srtp.keyBase64;
  if (typeof key !== 'string' || key.length > 64 || !BASE64.test(key) || Buffer.from(key, 'base64').length !== MASTER_BYTES)
    throw invalid(`srtp key must be ${MASTER_BYTES} bytes in base64`, 'srtp.keyBase64');
  return { ip, port, srtp: { suite: PIPE_SRTP_SUITE, keyBase64: key } };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string, field: string): SwitchboardError {
  return new SwitchboardError('invalid-argument', message, field);
}

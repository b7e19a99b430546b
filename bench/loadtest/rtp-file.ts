/**
 * The recorded-RTP file format of test/fixtures/media (README.md there; replayed by the load tool): a magic line, then one
 * record per packet — arrival time, length, the plain RTP packet. One file per track.
 *
 *   file    = "SBRTP1\n\0" record*
 *   record  = arrivalUs:u32be  length:u16be  packet[length]
 *
 * arrivalUs is microseconds since the recording's time origin (shared by every file of one
 * recording, so audio and video keep their relative timing).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { InternalErrorCode, SwitchboardError } from '../../src/protocol/errors.js';

export const RTP_FILE_MAGIC = Buffer.from('SBRTP1\n\0', 'latin1');

export interface RecordedPacket {
  /** Microseconds since the recording's time origin. */
  arrivalUs: number;
  /** A plain RTP packet (RFC 3550 §5.1). */
  packet: Buffer;
}

export function encodeRtpFile(packets: readonly RecordedPacket[]): Buffer {
  const parts: Buffer[] = [RTP_FILE_MAGIC];
  for (const { arrivalUs, packet } of packets) {
    if (packet.length > 0xffff) throw new RangeError('an RTP packet longer than 65535 bytes');
    const head = Buffer.alloc(6);
    head.writeUInt32BE(arrivalUs >>> 0, 0);
    head.writeUInt16BE(packet.length, 4);
    parts.push(head, packet);
  }
  return Buffer.concat(parts);
}

/** Throws on a truncated or foreign file: fixtures are trusted, but a damaged one must not replay garbage. */
export function decodeRtpFile(file: Buffer): RecordedPacket[] {
  if (file.length < RTP_FILE_MAGIC.length || !file.subarray(0, RTP_FILE_MAGIC.length).equals(RTP_FILE_MAGIC)) {
    throw new SwitchboardError(InternalErrorCode.Malformed, 'not an SBRTP1 file');
  }
  const out: RecordedPacket[] = [];
  let off = RTP_FILE_MAGIC.length;
  while (off < file.length) {
    if (off + 6 > file.length) throw new SwitchboardError(InternalErrorCode.Malformed, `truncated record header at byte ${off}`);
    const arrivalUs = file.readUInt32BE(off);
    const length = file.readUInt16BE(off + 4);
    off += 6;
    if (off + length > file.length) throw new SwitchboardError(InternalErrorCode.Malformed, `truncated packet at byte ${off}`);
    out.push({ arrivalUs, packet: Buffer.from(file.subarray(off, off + length)) });
    off += length;
  }
  return out;
}

export const writeRtpFile = (path: string, packets: readonly RecordedPacket[]): void => writeFileSync(path, encodeRtpFile(packets));
export const readRtpFile = (path: string): RecordedPacket[] => decodeRtpFile(readFileSync(path));

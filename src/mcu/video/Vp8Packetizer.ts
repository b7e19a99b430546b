/**
 * Vp8Packetizer: one encoded VP8 frame → RTP packets (RFC 7741). Each packet carries a 4-byte
 * payload descriptor: X=1, S=1 on the first packet of the frame, PID=0 (the whole frame is sent
 * as partition 0's run), I=1 with a 15-bit PictureID that counts frames (§4.2), so a receiver
 * can tell a lost frame from a late one. The marker bit ends the frame (§4.1).
 */
import { RTP_FIXED_HEADER_LENGTH as RTP_HEADER, writeRtpHeader, type RtpHeaderFields } from '../../rtc/rtp/index.js';

const DESCRIPTOR = 4;
const NO_EXTENSIONS: never[] = [];
/** Payload bytes per packet: room for SRTP, the consumer's header extension and IP/UDP in a 1280-byte path. */
export const VP8_MAX_PAYLOAD = 1100;

export class Vp8Packetizer {
  private readonly header: RtpHeaderFields;
  private pictureId = Math.floor(Math.random() * 0x8000);
  private readonly packet = Buffer.allocUnsafe(RTP_HEADER + DESCRIPTOR + VP8_MAX_PAYLOAD);
  packetsSent = 0;

  /** The first sequence number is random (RFC 3550 §5.1) unless given. */
  constructor(
    readonly ssrc: number,
    readonly payloadType: number,
    firstSequenceNumber = Math.floor(Math.random() * 0x10000),
  ) {
    this.header = { marker: false, payloadType, sequenceNumber: firstSequenceNumber & 0xffff, timestamp: 0, ssrc };
  }

  /** Sends `frame` as packets through `emit` (one reused buffer: valid during the call only). */
  packetize(frame: Buffer, timestamp: number, emit: (packet: Buffer) => void): void {
    const p = this.packet;
    const h = this.header;
    h.timestamp = timestamp >>> 0;
    const count = Math.max(1, Math.ceil(frame.length / VP8_MAX_PAYLOAD));
    // Equal-sized packets: a last runt packet would waste a header for a few bytes.
    const per = Math.ceil(frame.length / count);
    for (let i = 0, off = 0; i < count; i++, off += per) {
      const end = Math.min(frame.length, off + per);
      h.marker = i === count - 1;
      writeRtpHeader(p, 0, h, NO_EXTENSIONS);
      p[12] = 0x80 | (i === 0 ? 0x10 : 0); // X, S, PID 0
      p[13] = 0x80; // I: PictureID present
      p.writeUInt16BE(0x8000 | this.pictureId, 14); // M=1: 15-bit PictureID
      frame.copy(p, RTP_HEADER + DESCRIPTOR, off, end);
      h.sequenceNumber = (h.sequenceNumber + 1) & 0xffff;
      this.packetsSent++;
      emit(p.subarray(0, RTP_HEADER + DESCRIPTOR + end - off));
    }
    this.pictureId = (this.pictureId + 1) & 0x7fff;
  }
}

/**
 * The transport-wide sequence number header extension on the subscribe path
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2: a 16-bit number, one counter per
 * transport, in every RTP packet the transport sends). Consumers write an empty slot as the
 * first one-byte element (RFC 8285 §4.2) under TRANSPORT_CC_EXTENSION_ID; the transport
 * stamps the number when it sends, so retransmissions and padding get numbers in send order.
 */
import type { RtpHeaderExtensionEntry } from '../../rtc/rtp/index.js';

/** The a=extmap id the server offers for transport-cc on subscribe connections. */
export const TRANSPORT_CC_EXTENSION_ID = 3;
const ONE_BYTE_PROFILE = 0xbede;
/** One-byte element header: id, then length − 1 (two data bytes). */
const ELEMENT_HEADER = (TRANSPORT_CC_EXTENSION_ID << 4) | 1;

/** The extension list a consumer writes: one placeholder element, shared since the value never changes. */
export const TRANSPORT_CC_SLOT: readonly RtpHeaderExtensionEntry[] = [{ id: TRANSPORT_CC_EXTENSION_ID, value: new Uint8Array(2) }];

/**
 * Offset of the 2-byte sequence slot when `packet` carries it as its first element, else -1.
 * Only reads fixed offsets: no parsing on the per-packet path.
 */
export function transportCcSlot(packet: Buffer): number {
  if (packet.length < 12) return -1;
  const b0 = packet[0] as number;
  if ((b0 & 0x10) === 0) return -1;
  const off = 12 + 4 * (b0 & 0x0f);
  if (off + 8 > packet.length) return -1;
  if (packet.readUInt16BE(off) !== ONE_BYTE_PROFILE || packet.readUInt16BE(off + 2) === 0) return -1;
  return packet[off + 4] === ELEMENT_HEADER ? off + 5 : -1;
}

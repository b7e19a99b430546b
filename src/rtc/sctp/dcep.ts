/** Data Channel Establishment Protocol messages (RFC 8832 §5). */
export const DCEP_DATA_CHANNEL_ACK = 0x02;
export const DCEP_DATA_CHANNEL_OPEN = 0x03;

/** RFC 8832 §5.1 Channel Type values; bit 0x80 means unordered. */
export const CHANNEL_RELIABLE = 0x00;
export const CHANNEL_PARTIAL_RELIABLE_REXMIT = 0x01;
export const CHANNEL_PARTIAL_RELIABLE_TIMED = 0x02;
const CHANNEL_UNORDERED_BIT = 0x80;
const OPEN_HEADER_LENGTH = 12;
const MAX_STRING_LENGTH = 0xffff;

export interface DcepOpen {
  type: 'open';
  ordered: boolean;
  /** Set for CHANNEL_PARTIAL_RELIABLE_REXMIT. */
  maxRetransmits: number | null;
  /** Milliseconds; set for CHANNEL_PARTIAL_RELIABLE_TIMED. */
  maxPacketLifeTime: number | null;
  priority: number;
  label: string;
  protocol: string;
}
export type DcepMessage = DcepOpen | { type: 'ack' };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses one DCEP message (the user data of a PPID 50 message). Null for anything
 * malformed: unknown message or channel type, lengths past the end, bad UTF-8
 * (RFC 8832 §5.1: label and protocol are UTF-8). Never throws.
 */
export function parseDcep(buf: Buffer): DcepMessage | null {
  if (buf.length === 0) return null;
  const messageType = buf[0];
  if (messageType === DCEP_DATA_CHANNEL_ACK) return buf.length === 1 ? { type: 'ack' } : null;
  if (messageType !== DCEP_DATA_CHANNEL_OPEN || buf.length < OPEN_HEADER_LENGTH) return null;
  const channelType = buf[1] as number;
  const reliabilityKind = channelType & ~CHANNEL_UNORDERED_BIT;
  if (
    reliabilityKind !== CHANNEL_RELIABLE &&
    reliabilityKind !== CHANNEL_PARTIAL_RELIABLE_REXMIT &&
    reliabilityKind !== CHANNEL_PARTIAL_RELIABLE_TIMED
  ) {
    return null;
  }
  const priority = buf.readUInt16BE(2);
  const reliability = buf.readUInt32BE(4);
  const labelLength = buf.readUInt16BE(8);
  const protocolLength = buf.readUInt16BE(10);
  if (OPEN_HEADER_LENGTH + labelLength + protocolLength !== buf.length) return null;
  let label: string;
  let protocol: string;
  try {
    label = utf8.decode(buf.subarray(OPEN_HEADER_LENGTH, OPEN_HEADER_LENGTH + labelLength));
    protocol = utf8.decode(buf.subarray(OPEN_HEADER_LENGTH + labelLength));
  } catch {
    return null;
  }
  return {
    type: 'open',
    ordered: (channelType & CHANNEL_UNORDERED_BIT) === 0,
    maxRetransmits: reliabilityKind === CHANNEL_PARTIAL_RELIABLE_REXMIT ? reliability : null,
    maxPacketLifeTime: reliabilityKind === CHANNEL_PARTIAL_RELIABLE_TIMED ? reliability : null,
    priority,
    label,
    protocol,
  };
}

/** RFC 8832 §5.1 DATA_CHANNEL_OPEN. Null if label or protocol exceed 65535 UTF-8 bytes. */
export function encodeDcepOpen(open: Omit<DcepOpen, 'type'>): Buffer | null {
  const label = Buffer.from(open.label, 'utf8');
  const protocol = Buffer.from(open.protocol, 'utf8');
  if (label.length > MAX_STRING_LENGTH || protocol.length > MAX_STRING_LENGTH) return null;
  let channelType = CHANNEL_RELIABLE;
  let reliability = 0;
  if (open.maxRetransmits !== null) {
    channelType = CHANNEL_PARTIAL_RELIABLE_REXMIT;
    reliability = open.maxRetransmits;
  } else if (open.maxPacketLifeTime !== null) {
    channelType = CHANNEL_PARTIAL_RELIABLE_TIMED;
    reliability = open.maxPacketLifeTime;
  }
  if (!open.ordered) channelType |= CHANNEL_UNORDERED_BIT;
  const out = Buffer.alloc(OPEN_HEADER_LENGTH + label.length + protocol.length);
  out[0] = DCEP_DATA_CHANNEL_OPEN;
  out[1] = channelType;
  out.writeUInt16BE(open.priority, 2);
  out.writeUInt32BE(reliability >>> 0, 4);
  out.writeUInt16BE(label.length, 8);
  out.writeUInt16BE(protocol.length, 10);
  label.copy(out, OPEN_HEADER_LENGTH);
  protocol.copy(out, OPEN_HEADER_LENGTH + label.length);
  return out;
}

/** RFC 8832 §5.2 DATA_CHANNEL_ACK: one byte. */
export const DCEP_ACK_MESSAGE: Buffer = Buffer.from([DCEP_DATA_CHANNEL_ACK]);

/** RFC 7983 §7: what a packet on a shared port is, by its first byte. */
export type PacketKind = 'stun' | 'zrtp' | 'dtls' | 'turn-channel' | 'rtp' | 'rtcp' | 'unknown';

export function classifyPacket(buf: Buffer): PacketKind {
  if (buf.length === 0) return 'unknown';
  const b = buf[0] as number;
  if (b <= 3) return 'stun';
  if (b >= 16 && b <= 19) return 'zrtp';
  if (b >= 20 && b <= 63) return 'dtls';
  if (b >= 64 && b <= 79) return 'turn-channel';
  if (b >= 128 && b <= 191) {
    // RFC 5761 §4: RTCP packet types 192–223 sit where RTP has marker + payload type.
    if (buf.length < 2) return 'unknown';
    const pt = buf[1] as number;
    return pt >= 192 && pt <= 223 ? 'rtcp' : 'rtp';
  }
  return 'unknown';
}

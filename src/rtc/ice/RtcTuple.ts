/**
 * One transport path between the SFU's shared port and a remote agent: a UDP 5-tuple or one
 * accepted TCP connection (RFC 6544). Sessions send through it without knowing which.
 */
export interface RtcTuple {
  /** Stable within one RtcPort, e.g. 'udp:1.2.3.4:5678', 'udp:[::1]:5678' or 'tcp:#12'. */
  readonly id: string;
  readonly protocol: 'udp' | 'tcp';
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Sends one datagram (UDP) or one RFC 4571 frame (TCP). Never throws; drops when closed. */
  send(buf: Buffer): void;
  /**
   * Sends a STUN answer. Unlike media it may not be dropped silently: a TCP tuple over its
   * buffer cap (the peer does not read) is closed instead. Absent: `send`.
   */
  sendControl?(buf: Buffer): void;
}

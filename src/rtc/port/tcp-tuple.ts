/** One accepted ICE-TCP connection (RFC 6544 passive candidate): a tuple of its own. */
import type { Socket } from 'node:net';
import type { IceLiteSession } from '../ice/IceLiteSession.js';
import type { RtcTuple } from '../ice/RtcTuple.js';
import { frameRfc4571 } from './rfc4571-framer.js';

/**
 * Media is better lost than late: past this much unsent data (a stalled peer) new frames are
 * dropped instead of queued without bound, and a STUN answer (control) closes the connection:
 * a peer that sends checks and never reads their answers cannot grow our buffer.
 */
export const TCP_MAX_BUFFERED_BYTES = 1 << 20;

export class TcpTuple implements RtcTuple {
  readonly protocol = 'tcp' as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  owner: IceLiteSession | null = null;
  /** Frames dropped because the connection was closed, stalled or the frame too large. */
  dropped = 0;
  /** Whether a control answer found the connection over its cap and closed it. */
  closedSlow = false;

  /** The remote address and port are read when the connection is accepted (RtcPort). */
  constructor(
    readonly id: string,
    readonly socket: Socket,
    remoteAddress: string,
    remotePort: number,
    readonly maxBuffered = TCP_MAX_BUFFERED_BYTES,
  ) {
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
  }

  sendControl(buf: Buffer): void {
    if (this.socket.writableLength > this.maxBuffered) {
      this.closedSlow = true;
      this.dropped++;
      this.socket.destroy();
      return;
    }
    this.send(buf);
  }

  send(buf: Buffer): void {
    const s = this.socket;
    if (s.destroyed || !s.writable || s.writableLength > this.maxBuffered) {
      this.dropped++;
      return;
    }
    const frame = frameRfc4571(buf);
    if (!frame) {
      this.dropped++;
      return;
    }
    s.write(frame);
  }
}

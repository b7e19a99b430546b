/** One accepted ICE-TCP connection (RFC 6544 passive candidate): a tuple of its own. */
import type { Socket } from 'node:net';
import type { IceLiteSession } from '../ice/IceLiteSession.js';
import type { RtcTuple } from '../ice/RtcTuple.js';
import { frameRfc4571 } from './rfc4571-framer.js';

/**
 * Media is better lost than late: past this much unsent data (a stalled peer) new frames are
 * dropped instead of queued without bound.
 */
export const TCP_MAX_BUFFERED_BYTES = 1 << 20;

export class TcpTuple implements RtcTuple {
  readonly protocol = 'tcp' as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  owner: IceLiteSession | null = null;
  /** Frames dropped because the connection was closed, stalled or the frame too large. */
  dropped = 0;

  constructor(readonly id: string, readonly socket: Socket) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
  }

  send(buf: Buffer): void {
    const s = this.socket;
    if (s.destroyed || !s.writable || s.writableLength > TCP_MAX_BUFFERED_BYTES) {
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

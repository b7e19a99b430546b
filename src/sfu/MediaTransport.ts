/**
 * What the media core needs of a network transport: send protected RTP/RTCP, hand over what it
 * decrypts, close. src/rtc's WebRtcTransport is one; tests may bring others. The core never
 * makes one itself: the Router gets a factory (dependency injection), so it knows nothing of
 * sockets, ICE, DTLS or SDP.
 */
import type { RtpSink } from './types.js';

/** Where a transport's decrypted packets go: wired once, at construction, by the SfuTransport that owns it. */
export interface MediaPacketReceiver {
  onRtp(packet: Buffer): void;
  onRtcp(packet: Buffer): void;
}

export interface MediaTransport extends RtpSink {
  setReceiver(receiver: MediaPacketReceiver): void;
  on(event: 'closed', listener: (reason: string) => void): unknown;
  close(): void;
}

/** Makes the network transport of SfuTransport `id` (the Router's injected dependency). */
export type MediaTransportFactory<T extends MediaTransport> = (id: string) => T;

/**
 * Sees the decrypted packets a WebRtcTransport hands to its owner, without taking them away:
 * wraps the transport's packet receiver (fixtures recorders and feedback recorders use it).
 */
import type { MediaPacketReceiver, WebRtcTransport } from '../../src/rtc/WebRtcTransport.js';

export function observePackets(rtc: WebRtcTransport, observer: Partial<MediaPacketReceiver>): void {
  const inner = rtc.packetReceiver;
  rtc.setReceiver({
    onRtp: (packet) => {
      observer.onRtp?.(packet);
      inner.onRtp(packet);
    },
    onRtcp: (packet) => {
      observer.onRtcp?.(packet);
      inner.onRtcp(packet);
    },
  });
}

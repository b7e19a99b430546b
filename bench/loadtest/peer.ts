/** What the load tool needs of a WebRTC library's peer, publisher and subscriber side (ndc-peers.ts, wrtc-publisher.ts). */

/** The codecs every load-tool publisher offers (the recordings' payload types, as Chromium's). */
export const PUBLISH_CODECS = {
  video: { name: 'VP8', payloadType: 96, clockRate: 90000 },
  audio: { name: 'opus', payloadType: 111, clockRate: 48000, channels: 2 },
} as const;

import type { MediaKind } from '../../src/protocol/media.js';

export type { MediaKind };

export interface PublisherPeer {
  /** True when the tool hands it recorded RTP (`sendRtp`); false when it encodes by itself (wrtc). */
  readonly replaysRecording: boolean;
  /** Offer sendonly Opus + VP8 with these SSRCs (a library that picks its own may ignore them). */
  createOffer(ssrcs: { audio: number; video: number }): Promise<string>;
  applyAnswer(sdp: string): Promise<void>;
  /** Resolves when media can flow (DTLS-SRTP up), rejects after timeoutMs. */
  connected(timeoutMs: number): Promise<void>;
  sendRtp(kind: MediaKind, packet: Buffer): void;
  onKeyframeRequest(cb: () => void): void;
  /** Starts its own media, for libraries that encode (no-op for replaying ones). */
  startMedia?(videoBitrate: number): void;
  /** For libraries that encode: what is sent from now on is what `sentStats` reports. */
  startWindow?(): Promise<void>;
  /** What it sent since `startWindow`, for libraries that encode (read from their stats); stops its media. */
  sentStats?(): Promise<{ kind: MediaKind; ssrc: number; packets: number; bytes: number; seconds: number }[]>;
  close(): Promise<void>;
}

export interface SubscriberPeer {
  /** The server's offer → our answer (recvonly for every media section). */
  answer(offerSdp: string): Promise<string>;
  /** Every RTP packet received on the connection (RTCP filtered out). */
  onRtp(cb: (packet: Buffer) => void): void;
  close(): Promise<void>;
}

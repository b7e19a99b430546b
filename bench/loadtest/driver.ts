/**
 * The seam between the load tool's peers and one SFU's signaling. The peers (node-datachannel or
 * @roamhq/wrtc) make and apply SDP; a driver carries it to and from a server in that server's own
 * protocol. Switchboard's is switchboard-driver.ts; a Janus VideoRoom driver can implement the
 * same interface so one run of the tool measures both servers the same way.
 *
 * Model (what every driver must provide, whatever its server calls it):
 * - A publisher makes the offer (sendonly Opus + VP8, the payload types of PUBLISH_CODECS), the
 *   server answers. `publish` resolves with that answer once the server has accepted the offer;
 *   media flows after the peer applies it and ICE/DTLS connect.
 * - A subscriber is offered by the server (Switchboard: one offer per change of the forwarded
 *   set, each with a revision; Janus VideoRoom: one per subscription or update). Every offer goes
 *   to `handlers.onOffer`, strictly one at a time and in order; the driver sends back the answer it
 *   returns. `subscribe` resolves once the participant is in the room and the driver has handed
 *   the first offer to onOffer and sent its answer — later offers (publishers arriving, leaving)
 *   keep coming through onOffer until the session closes.
 * - Joining a room (Switchboard: hello → join {topology: 'sfu'}; Janus: attach + join) is the
 *   driver's business, inside publish/subscribe. A driver may open one signaling connection per
 *   session (Switchboard does) or share one (Janus could, with one handle per session).
 * - Media is identified end to end by the load tool itself (a trailer in each RTP payload, see
 *   media-trailer.ts), so a driver need not report which SSRC belongs to which publisher.
 *   `SubscribeHandlers.onTracks`, when a driver can call it, helps only peers that cannot write the
 *   trailer (wrtc): their tracks are named by SSRC.
 *
 * Errors: a promise rejects with an Error whose message names the server's reason. Asynchronous
 * failures after resolution (a server error, the connection dropping) go to `onError` of the
 * session, never thrown. Every method must be bounded in time by the driver (`timeoutMs`).
 */
import type { MediaKind } from '../../src/protocol/media.js';

/** What the tool tells a driver when it makes one. */
export interface DriverOptions {
  /** The server's signaling URL (ws:// or wss://, or http(s):// for drivers that speak HTTP). Loopback unless the user allowed otherwise. */
  url: URL;
  /** Upper bound of each signaling step (join, offer → answer). */
  timeoutMs: number;
}

/** A track as the server's offer names it, when the driver can tell (optional help, see above). */
export interface OfferedTrack {
  mid: string;
  kind: MediaKind;
  /** The SSRC the server sends it with (primary, not RTX). */
  ssrc: number;
  /** The publishing peer's name, as given to `publish`, when the server reports it. */
  publisher?: string | undefined;
}

export interface SessionEvents {
  /** An asynchronous failure after the session was made (server error message, connection lost). */
  onError?(message: string): void;
}

export interface PublishSession {
  /** The server's SDP answer to the publisher's offer. */
  readonly answerSdp: string;
  /** Leaves the room and releases the signaling resources of this session (idempotent). */
  close(): Promise<void>;
}

export interface SubscribeHandlers extends SessionEvents {
  /** The server's offer (the first and every renegotiation); resolves with our answer SDP. */
  onOffer(offerSdp: string): Promise<string>;
  /** Optional: the tracks of the offer just answered, when the driver can name them. */
  onTracks?(tracks: readonly OfferedTrack[]): void;
}

export interface SubscribeSession {
  /** Leaves the room and releases the signaling resources of this session (idempotent). */
  close(): Promise<void>;
}

export interface SignalingDriver {
  /** Shown in reports: e.g. "switchboard", "janus-videoroom". */
  readonly name: string;
  /** Publisher: our offer → the server's answer (after joining `room` as `peerName`). */
  publish(room: string, peerName: string, offerSdp: string, events?: SessionEvents): Promise<PublishSession>;
  /** Subscriber: join `room` as `peerName` and receive everything published there; the server offers, we answer. */
  subscribe(room: string, peerName: string, handlers: SubscribeHandlers): Promise<SubscribeSession>;
  /** Closes every session this driver opened and anything shared between them (idempotent). */
  close(): Promise<void>;
}

/** How the CLI makes a driver (one per run; it serves every peer of the run). */
export type DriverFactory = (options: DriverOptions) => SignalingDriver;

/**
 * Words shared by every part that handles media — the signaling protocol, the SFU, the MCU,
 * SDP and the browser SDK — defined once here.
 */

/** An RTP track's kind (an m-section's media type, RFC 8866 §5.14, without `application`). */
export type MediaKind = 'audio' | 'video';
export const MEDIA_KINDS: readonly MediaKind[] = ['audio', 'video'];

/** What a `join` may ask for: `auto` lets the server choose. */
export const TOPOLOGIES = ['mesh', 'sfu', 'mcu', 'auto'] as const;
export type Topology = (typeof TOPOLOGIES)[number];

/** What a room runs once created (`auto` resolved). */
export type RoomTopology = Exclude<Topology, 'auto'>;

/** The topologies whose media goes through the server (the SFU's routers carry both). */
export type MediaTopology = Exclude<RoomTopology, 'mesh'>;

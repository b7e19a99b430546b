/** Switchboard browser SDK: one import for the web app and for embedders. */
export { Emitter } from './emitter.js';
export { SignalingClient, SignalingError, defaultSignalingUrl, type SignalingState, type SignalingOptions } from './signaling.js';
export { LocalMedia, classifyMediaError, type MediaKind, type MediaProblem, type MediaProblemKind } from './local-media.js';
export { PeerLink } from './peer-link.js';
export { MeshPeer } from './mesh-peer.js';
export { MeshTransport } from './mesh-transport.js';
export { SfuSession, SFU_PEER_ID } from './sfu-session.js';
export { SfuParticipant } from './sfu-participant.js';
export { RemoteParticipant, type ParticipantTransport, type ParticipantTransportEvents } from './participant.js';
export type { RoomTransport, InboundSink, FileSendResult } from './room-transport.js';
export { Room, type ChatMessage, type FileProgressEvent, type FileReceivedEvent, type RoomOptions } from './room.js';
export { CallClient, CallError, type CallInfo, type CallState } from './call-client.js';
export { StatsSampler, type PeerStats, type CandidateType, type RelayProtocol, type StatsEntry, type StatsSource } from './stats.js';
export { sha256Hex } from './sha256.js';
export type { ReceivedFile, Progress } from './file-transfer.js';

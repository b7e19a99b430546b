/** What the TURN server counts (read by src/server/metrics.ts); one object shared by every part of the server. */
import type { LinkCounters, TransportKind } from './client-link.js';

export interface RelayCounters {
  /** Packets and bytes relayed client → peer and peer → client. */
  toPeerPackets: number;
  toPeerBytes: number;
  toClientPackets: number;
  toClientBytes: number;
  /** Dropped: no permission, no channel, over the bandwidth cap, port 0. */
  dropped: number;
  /** Sends Node refused synchronously (closed socket, bad port): the packet was lost. */
  sendFailures: number;
}

export interface TurnCounters extends RelayCounters, LinkCounters {
  bindingRequests: number;
  allocationsCreated: number;
  allocationsExpired: number;
  /** Requests answered with an error, by code. */
  errors: Record<number, number>;
  /** Datagrams or frames that were not valid STUN/ChannelData, or were not for us (or came from port 0). */
  malformed: number;
  /** TCP/TLS connections closed at their allocate deadline. */
  streamsTimedOut: number;
}

export function newTurnCounters(): TurnCounters {
  return {
    toPeerPackets: 0,
    toPeerBytes: 0,
    toClientPackets: 0,
    toClientBytes: 0,
    dropped: 0,
    sendFailures: 0,
    slowReaderDrops: 0,
    slowReaderCloses: 0,
    bindingRequests: 0,
    allocationsCreated: 0,
    allocationsExpired: 0,
    errors: {},
    malformed: 0,
    streamsTimedOut: 0,
  };
}

/** What /metrics shows of one TURN server: plain data, so a worker process can send it over IPC. */
export interface TurnSnapshot {
  counters: TurnCounters;
  allocationsByTransport: Record<TransportKind, number>;
  /** Ports held for RESERVATION-TOKENs. */
  heldReservations: number;
}

import type { WeriftSctp } from './werift-sctp.js';

/** A snapshot of one association's sending side, for logs and failing tests. */
export interface SctpSendState {
  cwnd: number;
  ssthresh: number | null;
  flightSize: number;
  /** The peer's last advertised receiver window (a_rwnd). */
  peerAdvertisedRwnd: number;
  /** RFC 9260 §6.2.1: a_rwnd minus what is outstanding. */
  peerRwnd: number;
  rtoSeconds: number;
  /** DATA chunks not yet sent once. */
  outboundChunks: number;
  outboundBytes: number;
  /** DATA chunks sent and not cumulatively acknowledged. */
  sentChunks: number;
  gapAckedChunks: number;
  markedForRetransmit: number;
  t3Running: boolean;
  inFastRecovery: boolean;
  lastSackedTsn: number;
  nextTsn: number;
}

interface WeriftSendInternals {
  cwnd: number;
  ssthresh?: number;
  flightSize: number;
  peerAdvertisedRwnd: number;
  peerRwnd: number;
  rto: number;
  outboundQueue: Array<{ userData?: Buffer }>;
  sentQueue: Array<{ acked: boolean; retransmit: boolean }>;
  timer3Handle?: unknown;
  fastRecoveryExit?: number;
  lastSackedTsn: number;
  localTsn: number;
}

export function readSendState(sctp: WeriftSctp): SctpSendState {
  const s = sctp as unknown as WeriftSendInternals;
  let outboundBytes = 0;
  for (const c of s.outboundQueue) outboundBytes += c.userData?.length ?? 0;
  let gapAcked = 0;
  let marked = 0;
  for (const c of s.sentQueue) {
    if (c.acked) gapAcked++;
    if (c.retransmit) marked++;
  }
  return {
    cwnd: s.cwnd,
    ssthresh: s.ssthresh ?? null,
    flightSize: s.flightSize,
    peerAdvertisedRwnd: s.peerAdvertisedRwnd,
    peerRwnd: s.peerRwnd,
    rtoSeconds: s.rto,
    outboundChunks: s.outboundQueue.length,
    outboundBytes,
    sentChunks: s.sentQueue.length,
    gapAckedChunks: gapAcked,
    markedForRetransmit: marked,
    t3Running: s.timer3Handle !== undefined,
    inFastRecovery: s.fastRecoveryExit !== undefined,
    lastSackedTsn: s.lastSackedTsn,
    nextTsn: s.localTsn,
  };
}

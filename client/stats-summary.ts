/**
 * Turns one set of `getStats()` reports into PeerStats, normalised across Chromium and Firefox.
 * Pure (reports in, numbers out; no DOM), so the field mapping is unit-tested in Node.
 *
 * The selected candidate pair is found through `transport.selectedCandidatePairId` (standard,
 * Chromium) or the pair flagged `selected` (Firefox), falling back to a nominated, succeeded pair.
 */
export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';
/** How a relay candidate reaches its TURN server. */
export type RelayProtocol = 'udp' | 'tcp' | 'tls';

export interface PeerStats {
  videoFramesDecoded: number;
  videoWidth: number;
  videoHeight: number;
  /** Sum of the squares of the received audio samples' level, over time (rises while sound plays). */
  audioEnergy: number;
  /** Received audio samples, and those the decoder had to conceal (loss not repaired by FEC/RED). */
  audioSamplesReceived: number;
  audioConcealedSamples: number;
  /** Kilobits per second, over the interval since the previous sample (0 on the first). */
  bitrateInKbps: number;
  bitrateOutKbps: number;
  /** Milliseconds, from the selected candidate pair; null until known. */
  rttMs: number | null;
  videoCodec: string | null;
  audioCodec: string | null;
  localCandidateType: CandidateType | null;
  remoteCandidateType: CandidateType | null;
  /** When the local candidate is a relay: the transport to the TURN server; null otherwise. */
  localRelayProtocol: RelayProtocol | null;
  /** Address and port of the selected pair's remote candidate (in an SFU room: the server's RTC port). */
  remoteCandidateAddress: string | null;
  remoteCandidatePort: number | null;
  /** NACKs we sent for received video (inbound-rtp `nackCount`, RFC 4585 §6.2.1). */
  nackCount: number;
  /** Retransmitted video packets received (inbound-rtp, Chromium); null where the browser does not report it. */
  retransmittedPacketsReceived: number | null;
  /**
   * Round-trip time the browser computed from the receiver reports (LSR/DLSR, RFC 3550 §6.4.1)
   * it got for the streams it sends (remote-inbound-rtp), in ms; null until one arrived.
   */
  reportedRttMs: number | null;
  /** Sender reports received for the streams it receives (remote-outbound-rtp `reportsSent`). */
  senderReportsReceived: number;
  /**
   * The browser's own send-side bandwidth estimate (selected pair's `availableOutgoingBitrate`,
   * Chromium), in kbit/s; null where not reported.
   */
  availableOutgoingKbps: number | null;
}

/** One entry of an RTCStatsReport, as a plain record (the fields vary by `type`). */
export type StatsEntry = Record<string, unknown> & { id: string; type: string; timestamp: number };

export interface StatsSummary {
  stats: PeerStats;
  /** Byte counters for the bitrate computed between two samples. */
  inBytes: number;
  outBytes: number;
}

/** The report types that describe the connection rather than one stream. */
export const TRANSPORT_REPORT_TYPES: ReadonlySet<string> = new Set(['transport', 'candidate-pair', 'local-candidate', 'remote-candidate']);

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function candidateType(v: unknown): CandidateType | null {
  return v === 'host' || v === 'srflx' || v === 'prflx' || v === 'relay' ? v : null;
}

function relayProtocol(v: unknown): RelayProtocol | null {
  return v === 'udp' || v === 'tcp' || v === 'tls' ? v : null;
}

export function emptyPeerStats(): PeerStats {
  return {
    videoFramesDecoded: 0,
    videoWidth: 0,
    videoHeight: 0,
    audioEnergy: 0,
    audioSamplesReceived: 0,
    audioConcealedSamples: 0,
    bitrateInKbps: 0,
    bitrateOutKbps: 0,
    rttMs: null,
    videoCodec: null,
    audioCodec: null,
    localCandidateType: null,
    remoteCandidateType: null,
    localRelayProtocol: null,
    remoteCandidateAddress: null,
    remoteCandidatePort: null,
    nackCount: 0,
    retransmittedPacketsReceived: null,
    reportedRttMs: null,
    senderReportsReceived: 0,
    availableOutgoingKbps: null,
  };
}

/** Summarises the reports (bitrates stay 0: they need two samples, see StatsSampler). */
export function summarizeStats(reports: ReadonlyMap<string, StatsEntry>): StatsSummary {
  const out = emptyPeerStats();
  let inBytes = 0;
  let outBytes = 0;
  let selectedPairId: string | null = null;
  const pairs: StatsEntry[] = [];
  const mimeOf = (r: StatsEntry): string | null => {
    const codec = str(r.codecId) ? reports.get(r.codecId as string) : undefined;
    return codec ? str(codec.mimeType) : null;
  };
  for (const r of reports.values()) {
    const kind = r.kind ?? r.mediaType;
    if (r.type === 'inbound-rtp') {
      inBytes += num(r.bytesReceived);
      const mime = mimeOf(r);
      if (kind === 'video') {
        out.videoFramesDecoded += num(r.framesDecoded);
        out.videoWidth = Math.max(out.videoWidth, num(r.frameWidth));
        out.videoHeight = Math.max(out.videoHeight, num(r.frameHeight));
        out.nackCount += num(r.nackCount);
        if (typeof r.retransmittedPacketsReceived === 'number') {
          out.retransmittedPacketsReceived = (out.retransmittedPacketsReceived ?? 0) + num(r.retransmittedPacketsReceived);
        }
        if (mime) out.videoCodec = mime;
      } else if (kind === 'audio') {
        out.audioEnergy += num(r.totalAudioEnergy);
        out.audioSamplesReceived += num(r.totalSamplesReceived);
        out.audioConcealedSamples += num(r.concealedSamples);
        if (mime) out.audioCodec = mime;
      }
    } else if (r.type === 'outbound-rtp') {
      outBytes += num(r.bytesSent);
      const mime = mimeOf(r);
      if (mime && kind === 'video' && !out.videoCodec) out.videoCodec = mime;
      if (mime && kind === 'audio' && !out.audioCodec) out.audioCodec = mime;
    } else if (r.type === 'remote-inbound-rtp') {
      if (typeof r.roundTripTime === 'number') out.reportedRttMs = Math.max(out.reportedRttMs ?? 0, Math.round(r.roundTripTime * 1000));
    } else if (r.type === 'remote-outbound-rtp') {
      out.senderReportsReceived += num(r.reportsSent);
    } else if (r.type === 'transport' && str(r.selectedCandidatePairId)) {
      selectedPairId = r.selectedCandidatePairId as string;
    } else if (r.type === 'candidate-pair') {
      pairs.push(r);
    }
  }
  const pair =
    (selectedPairId ? reports.get(selectedPairId) : undefined) ??
    pairs.find((p) => p.selected === true) ??
    pairs.find((p) => p.nominated === true && p.state === 'succeeded');
  if (pair) {
    const rtt = pair.currentRoundTripTime;
    if (typeof rtt === 'number') out.rttMs = Math.round(rtt * 1000);
    if (typeof pair.availableOutgoingBitrate === 'number') out.availableOutgoingKbps = Math.round(pair.availableOutgoingBitrate / 1000);
    const local = str(pair.localCandidateId) ? reports.get(pair.localCandidateId as string) : undefined;
    const remote = str(pair.remoteCandidateId) ? reports.get(pair.remoteCandidateId as string) : undefined;
    out.localCandidateType = candidateType(local?.candidateType);
    out.remoteCandidateType = candidateType(remote?.candidateType);
    if (out.localCandidateType === 'relay') out.localRelayProtocol = relayProtocol(local?.relayProtocol);
    // `address` is the standard name; older Chromium and Firefox call it `ip`.
    out.remoteCandidateAddress = str(remote?.address) ?? str(remote?.ip);
    out.remoteCandidatePort = typeof remote?.port === 'number' ? remote.port : null;
  }
  return { stats: out, inBytes, outBytes };
}

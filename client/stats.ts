/**
 * Per-connection statistics from `RTCPeerConnection.getStats()`, normalised across Chromium and
 * Firefox. Bitrates need two samples, so a StatsSampler keeps the previous byte counters.
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
}

type Report = Record<string, unknown> & { id: string; type: string; timestamp: number };

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function candidateType(v: unknown): CandidateType | null {
  return v === 'host' || v === 'srflx' || v === 'prflx' || v === 'relay' ? v : null;
}

function relayProtocol(v: unknown): RelayProtocol | null {
  return v === 'udp' || v === 'tcp' || v === 'tls' ? v : null;
}

export class StatsSampler {
  private prev: { at: number; inBytes: number; outBytes: number } | null = null;

  constructor(private readonly pc: RTCPeerConnection) {}

  async sample(): Promise<PeerStats> {
    const reports = new Map<string, Report>();
    (await this.pc.getStats()).forEach((r: Report) => reports.set(r.id, r));
    const out: PeerStats = {
      videoFramesDecoded: 0, videoWidth: 0, videoHeight: 0, audioEnergy: 0,
      bitrateInKbps: 0, bitrateOutKbps: 0, rttMs: null, videoCodec: null, audioCodec: null,
      localCandidateType: null, remoteCandidateType: null, localRelayProtocol: null,
    };
    let inBytes = 0;
    let outBytes = 0;
    let selectedPairId: string | null = null;
    const pairs: Report[] = [];
    for (const r of reports.values()) {
      const kind = r.kind ?? r.mediaType;
      if (r.type === 'inbound-rtp') {
        inBytes += num(r.bytesReceived);
        const codec = str(r.codecId) ? reports.get(r.codecId as string) : undefined;
        const mime = codec ? str(codec.mimeType) : null;
        if (kind === 'video') {
          out.videoFramesDecoded += num(r.framesDecoded);
          out.videoWidth = Math.max(out.videoWidth, num(r.frameWidth));
          out.videoHeight = Math.max(out.videoHeight, num(r.frameHeight));
          if (mime) out.videoCodec = mime;
        } else if (kind === 'audio') {
          out.audioEnergy += num(r.totalAudioEnergy);
          if (mime) out.audioCodec = mime;
        }
      } else if (r.type === 'outbound-rtp') {
        outBytes += num(r.bytesSent);
        const codec = str(r.codecId) ? reports.get(r.codecId as string) : undefined;
        const mime = codec ? str(codec.mimeType) : null;
        if (mime && kind === 'video' && !out.videoCodec) out.videoCodec = mime;
        if (mime && kind === 'audio' && !out.audioCodec) out.audioCodec = mime;
      } else if (r.type === 'transport' && str(r.selectedCandidatePairId)) {
        selectedPairId = r.selectedCandidatePairId as string;
      } else if (r.type === 'candidate-pair') {
        pairs.push(r);
      }
    }
    const pair = (selectedPairId ? reports.get(selectedPairId) : undefined)
      ?? pairs.find((p) => p.selected === true)
      ?? pairs.find((p) => p.nominated === true && p.state === 'succeeded');
    if (pair) {
      const rtt = pair.currentRoundTripTime;
      if (typeof rtt === 'number') out.rttMs = Math.round(rtt * 1000);
      const local = str(pair.localCandidateId) ? reports.get(pair.localCandidateId as string) : undefined;
      const remote = str(pair.remoteCandidateId) ? reports.get(pair.remoteCandidateId as string) : undefined;
      out.localCandidateType = candidateType(local?.candidateType);
      out.remoteCandidateType = candidateType(remote?.candidateType);
      if (out.localCandidateType === 'relay') out.localRelayProtocol = relayProtocol(local?.relayProtocol);
    }
    const now = performance.now();
    if (this.prev) {
      const secs = (now - this.prev.at) / 1000;
      if (secs > 0) {
        out.bitrateInKbps = Math.max(0, Math.round(((inBytes - this.prev.inBytes) * 8) / secs / 1000));
        out.bitrateOutKbps = Math.max(0, Math.round(((outBytes - this.prev.outBytes) * 8) / secs / 1000));
      }
    }
    this.prev = { at: now, inBytes, outBytes };
    return out;
  }
}

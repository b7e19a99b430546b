/**
 * Per-connection statistics from `RTCPeerConnection.getStats()` (field mapping in
 * stats-summary.ts). Bitrates need two samples, so a StatsSampler keeps the previous byte counters.
 */
import { summarizeStats, type PeerStats, type StatsEntry } from './stats-summary.js';

export type { CandidateType, PeerStats, RelayProtocol, StatsEntry } from './stats-summary.js';

/** Where a sampler's reports come from: a whole connection, or a chosen subset of one. */
export type StatsSource = RTCPeerConnection | (() => Promise<Map<string, StatsEntry>>);

/** Every report of `pc`, keyed by id. */
export async function allReports(pc: RTCPeerConnection): Promise<Map<string, StatsEntry>> {
  const reports = new Map<string, StatsEntry>();
  (await pc.getStats()).forEach((r: StatsEntry) => reports.set(r.id, r));
  return reports;
}

export class StatsSampler {
  private prev: { at: number; inBytes: number; outBytes: number } | null = null;

  constructor(private readonly source: StatsSource) {}

  async sample(): Promise<PeerStats> {
    const reports = typeof this.source === 'function' ? await this.source() : await allReports(this.source);
    const { stats: out, inBytes, outBytes } = summarizeStats(reports);
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

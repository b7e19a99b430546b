/**
 * SfuParticipant: one remote participant's share of an SFU session. Their media arrives on the
 * shared subscribe connection; this view holds the stream made of the tracks whose sections the
 * server's track table assigns to them, and reports that connection's state.
 */
import { Emitter } from './emitter.js';
import type { MediaKind } from './local-media.js';
import type { ParticipantTransport, ParticipantTransportEvents } from './participant.js';
import { StatsSampler, type PeerStats, type StatsEntry } from './stats.js';
import { TRANSPORT_REPORT_TYPES } from './stats-summary.js';

const kindOf = (t: MediaStreamTrack): MediaKind => (t.kind === 'audio' ? 'audio' : 'video');

export class SfuParticipant extends Emitter<ParticipantTransportEvents> implements ParticipantTransport {
  readonly remoteStream = new MediaStream();
  private state: RTCPeerConnectionState;
  private readonly sampler: StatsSampler;
  private closed = false;

  /** `subscribePc` returns the session's subscribe connection (null until the server's first offer). */
  constructor(
    readonly id: string,
    private readonly subscribePc: () => RTCPeerConnection | null,
  ) {
    super();
    this.state = subscribePc()?.connectionState ?? 'new';
    this.sampler = new StatsSampler(() => this.reports());
  }

  get connectionState(): RTCPeerConnectionState {
    return this.state;
  }

  stats(): Promise<PeerStats> {
    return this.sampler.sample();
  }

  /** Called by the session when the subscribe connection changes state. */
  setConnectionState(state: RTCPeerConnectionState): void {
    if (this.closed || state === this.state) return;
    this.state = state;
    this.emit('connection-state', state);
  }

  /** Called by the session after every offer: exactly these tracks are theirs now. */
  setTracks(tracks: readonly MediaStreamTrack[]): void {
    if (this.closed) return;
    for (const t of this.remoteStream.getTracks()) {
      if (tracks.includes(t)) continue;
      this.remoteStream.removeTrack(t);
      this.emit('track-removed', { kind: kindOf(t), track: t });
    }
    for (const t of tracks) {
      if (this.remoteStream.getTracks().includes(t)) continue;
      this.remoteStream.addTrack(t);
      this.emit('track', { kind: kindOf(t), track: t });
    }
  }

  /**
   * Leaves the stream empty. The tracks are not stopped: they belong to the subscribe
   * connection's receivers, which the server may reuse for someone else.
   */
  close(): void {
    if (this.closed) return;
    for (const t of this.remoteStream.getTracks()) this.remoteStream.removeTrack(t);
    this.closed = true;
  }

  /** Their receivers' reports (`getStats(track)`) plus the shared connection's selected pair. */
  private async reports(): Promise<Map<string, StatsEntry>> {
    const reports = new Map<string, StatsEntry>();
    const pc = this.subscribePc();
    if (!pc) return reports;
    (await pc.getStats()).forEach((r: StatsEntry) => {
      if (TRANSPORT_REPORT_TYPES.has(r.type)) reports.set(r.id, r);
    });
    for (const track of this.remoteStream.getTracks()) {
      try {
        (await pc.getStats(track)).forEach((r: StatsEntry) => reports.set(r.id, r));
      } catch {
        // The track's section was reassigned between two calls: it is no longer theirs.
      }
    }
    return reports;
  }
}

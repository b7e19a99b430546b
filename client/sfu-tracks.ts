/**
 * The SFU subscribe connection's track table: which participant each m-section (mid) carries,
 * from the `tracks` of the server's latest `sfu-offer`. Pure (no DOM), so the mapping rules are
 * unit-tested in Node.
 *
 * Server messages are checked here before use: the signaling client only parses JSON, and a
 * malformed message must be dropped (and counted by the caller), never thrown on.
 */
import type { SfuServerAnswerMsg, SfuServerOfferMsg, SfuTrackInfo } from '../src/protocol/index.js';

/** More m-sections than any room we serve; a larger table is refused as malformed. */
export const MAX_SFU_TRACKS = 1024;
const MAX_ID_CHARS = 256;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_CHARS;

function readTrack(v: unknown): SfuTrackInfo | null {
  if (!isObject(v)) return null;
  const { mid, kind, participantId, trackId, active } = v;
  if (!isId(mid) || (kind !== 'audio' && kind !== 'video') || !isId(participantId) || !isId(trackId) || typeof active !== 'boolean')
    return null;
  return { mid, kind, participantId, trackId, active };
}

/** A well-formed subscribe offer, or null. Duplicate mids make the table ambiguous: refused. */
export function readSubscribeOffer(m: unknown): SfuServerOfferMsg | null {
  if (!isObject(m) || m.type !== 'sfu-offer' || m.transport !== 'subscribe') return null;
  const { sdp, revision, tracks } = m;
  if (typeof sdp !== 'string' || sdp.length === 0) return null;
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) return null;
  if (!Array.isArray(tracks) || tracks.length > MAX_SFU_TRACKS) return null;
  const out: SfuTrackInfo[] = [];
  const mids = new Set<string>();
  for (const t of tracks) {
    const info = readTrack(t);
    if (!info || mids.has(info.mid)) return null;
    mids.add(info.mid);
    out.push(info);
  }
  return { type: 'sfu-offer', transport: 'subscribe', sdp, revision, tracks: out };
}

/** A well-formed publish answer, or null. */
export function readPublishAnswer(m: unknown): SfuServerAnswerMsg | null {
  if (!isObject(m) || m.type !== 'sfu-answer' || m.transport !== 'publish') return null;
  if (typeof m.sdp !== 'string' || m.sdp.length === 0) return null;
  return { type: 'sfu-answer', transport: 'publish', sdp: m.sdp };
}

export class SfuTrackTable {
  private byMid = new Map<string, SfuTrackInfo>();
  private revisionValue = -1;

  /** The revision of the table in force; -1 before the first offer. */
  get revision(): number {
    return this.revisionValue;
  }

  /** True when `revision` is newer than the table: older or repeated offers are stale. */
  isNewer(revision: number): boolean {
    return revision > this.revisionValue;
  }

  /** Each revision replaces the whole table (messages.ts: "each revision replaces the last"). */
  replace(revision: number, tracks: readonly SfuTrackInfo[]): void {
    this.revisionValue = revision;
    this.byMid = new Map(tracks.map((t) => [t.mid, t]));
  }

  /** The active video track of participant `id`, if the table has one. */
  videoTrackOf(id: string): SfuTrackInfo | undefined {
    for (const t of this.byMid.values()) if (t.active && t.kind === 'video' && t.participantId === id) return t;
    return undefined;
  }

  get(mid: string | null): SfuTrackInfo | undefined {
    return mid === null ? undefined : this.byMid.get(mid);
  }

  /**
   * What each participant's stream should hold: for every active section, the receiver track
   * `trackOf(mid)` gives (a transceiver lookup in the browser; plain values in tests). A mid the
   * connection does not have (yet) is skipped.
   */
  plan<T>(trackOf: (mid: string) => T | undefined): Map<string, T[]> {
    const out = new Map<string, T[]>();
    for (const info of this.byMid.values()) {
      if (!info.active) continue;
      const track = trackOf(info.mid);
      if (track === undefined) continue;
      const list = out.get(info.participantId);
      if (list) list.push(track);
      else out.set(info.participantId, [track]);
    }
    return out;
  }
}

/**
 * Which packets of a layered video producer one consumer forwards. Two shapes:
 *
 * - simulcast: each spatial layer is its own RTP stream (own SSRC and numbering). The
 *   consumer forwards one stream; it moves to another only on that stream's keyframe (a
 *   decoder cannot continue a different encoding mid-GOP), and the rewriter then starts a
 *   new source so sequence numbers stay continuous.
 * - svc (VP9): one stream carries every spatial layer of each picture. Packets above the
 *   current spatial or temporal layer are dropped; moving up spatially waits for a keyframe,
 *   moving down happens at the next picture (lower layers never reference upper ones).
 *
 * In both, temporal layers above the current one are dropped frame by frame, and the current
 * temporal layer climbs only at a switching point (VP8 Y bit, RFC 7741 §4.2; VP9 U bit,
 * RFC 9628 §4.2) and falls at any frame start (lower temporal layers never reference upper).
 * Decisions that change the current layers are taken only at a frame's first packet, so
 * every packet of one frame gets the same verdict.
 */

export interface Layers {
  /** Spatial layer (simulcast stream index or SVC spatial id); −1 = paused. */
  spatial: number;
  temporal: number;
}

/** What the producer learned of one packet, filled once and shared by every consumer. */
export class PacketLayers {
  spatial = 0;
  /** Temporal layer id; 0 when the stream has none. */
  temporal = 0;
  /** A decoder may start here for this spatial layer (first packet of a keyframe). */
  keyframe = false;
  /** Temporal switch-up point (VP8 Y, VP9 U). */
  layerSync = false;
  /** First packet of a (layer) frame. */
  beginningOfFrame = false;
  /** Last packet of a (layer) frame (VP9 E bit; the marker for VP8). */
  endOfFrame = false;
}

export type LayerMode = 'simulcast' | 'svc';

export const enum Verdict {
  /** Not this consumer's stream (another simulcast stream): leave the rewriter alone. */
  Skip = 0,
  /** Of the forwarded stream but not forwarded (a layer above the current one). */
  Drop = 1,
  Forward = 2,
  /** Forward, starting a new source (first packet, or another simulcast stream). */
  Switch = 3,
}

export class LayerSelector {
  readonly current: Layers = { spatial: -1, temporal: -1 };
  readonly target: Layers;
  /** Set by `select` for SVC: the forwarded packet must carry the marker (end of the picture as forwarded). */
  setMarker = false;
  switches = 0;

  constructor(
    readonly mode: LayerMode,
    readonly maxSpatial: number,
    readonly maxTemporal: number,
  ) {
    this.target = { spatial: maxSpatial, temporal: maxTemporal };
  }

  /** The layers to reach (clamped); spatial −1 pauses. Takes effect at the next allowed point. */
  setTarget(spatial: number, temporal: number): void {
    this.target.spatial = Math.max(-1, Math.min(this.maxSpatial, spatial));
    this.target.temporal = Math.max(0, Math.min(this.maxTemporal, temporal));
    if (this.target.spatial < 0) this.current.spatial = -1;
  }

  select(p: PacketLayers): Verdict {
    this.setMarker = false;
    if (this.target.spatial < 0) return Verdict.Skip;
    return this.mode === 'simulcast' ? this.selectSimulcast(p) : this.selectSvc(p);
  }

  /** Read-only check for a late copy (retransmission): is it part of what is forwarded now? */
  accepts(p: PacketLayers): boolean {
    const cur = this.current;
    if (cur.spatial < 0 || p.temporal > cur.temporal) return false;
    return this.mode === 'simulcast' ? p.spatial === cur.spatial : p.spatial <= cur.spatial;
  }

  private selectSimulcast(p: PacketLayers): Verdict {
    const cur = this.current;
    const target = this.target.spatial;
    if (p.spatial !== cur.spatial) {
      if (!p.keyframe) return Verdict.Skip;
      // Down: only to the target itself. Up: to the target, or to a layer on the way while
      // nothing better flows yet (first start or the target's keyframe has not come).
      const up = cur.spatial < 0 || p.spatial > cur.spatial;
      const ok = p.spatial === target || (up && p.spatial < target);
      if (!ok) return Verdict.Skip;
      cur.spatial = p.spatial;
      cur.temporal = this.target.temporal;
      this.switches++;
      return p.temporal > cur.temporal ? Verdict.Skip : Verdict.Switch;
    }
    return this.temporalVerdict(p, p.beginningOfFrame);
  }

  private selectSvc(p: PacketLayers): Verdict {
    const cur = this.current;
    const target = this.target;
    if (cur.spatial < 0) {
      if (!p.keyframe) return Verdict.Skip;
      cur.spatial = target.spatial;
      cur.temporal = target.temporal;
      this.switches++;
      this.setMarker = p.endOfFrame && p.spatial === cur.spatial;
      return Verdict.Switch;
    }
    if (p.beginningOfFrame && p.spatial === 0) {
      // A new picture: spatial changes happen here.
      if (target.spatial < cur.spatial || (target.spatial > cur.spatial && p.keyframe)) {
        cur.spatial = target.spatial;
        this.switches++;
      }
    }
    if (p.spatial > cur.spatial) return Verdict.Drop;
    // Every spatial layer of a picture has the same TID: decide at the picture's first packet.
    const v = this.temporalVerdict(p, p.beginningOfFrame && p.spatial === 0);
    if (v === Verdict.Forward) this.setMarker = p.endOfFrame && p.spatial === cur.spatial;
    return v;
  }

  private temporalVerdict(p: PacketLayers, decisionPoint: boolean): Verdict {
    const cur = this.current;
    const target = this.target.temporal;
    if (decisionPoint) {
      if (target < cur.temporal) cur.temporal = target;
      else if (p.temporal > cur.temporal && p.temporal <= target && (p.layerSync || p.keyframe)) cur.temporal = p.temporal;
    }
    return p.temporal > cur.temporal ? Verdict.Drop : Verdict.Forward;
  }
}

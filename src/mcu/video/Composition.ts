/**
 * Composition: one layout of the room's video, composed and encoded for the participants who
 * view it. Each frame tick it lays the participants out (layout.ts), scales each one's latest
 * picture into its tile (FFmpeg's sws_scale straight into the canvas), draws name labels, and
 * encodes the canvas once per active quality tier.
 *
 * The tiers are the output producer's simulcast streams (rids t0, t1, …: rising bitrates; the
 * composite's size, or half of it for a tier too thin for that, see `tierSize`), so the SFU
 * machinery does the rest: each viewer's StreamAllocator picks the tier
 * its bandwidth estimate affords, its consumer switches on a keyframe, and the LayerPauser stops
 * tiers nobody receives — we then stop encoding them.
 *
 * A composition is rendered only while `encoding`: at least one of its viewers' media
 * connections is up (VideoComposer decides). Until then no encoder is opened; when it stops, the
 * tiers' encoders are closed (their memory freed) and a later start begins with keyframes.
 */
import type { Producer } from '../../sfu/Producer.js';
import type { Router } from '../../sfu/Router.js';
import { LayerPauser } from '../../sfu/forward/LayerPauser.js';
import { parseRtpHeader, randomSsrc, RtpHeaderView } from '../../rtc/rtp/index.js';
import { ImageScaler, TileScaler } from '../codec/scaler.js';
import { VideoFrameEncoder } from '../codec/video-encoder.js';
import { createMixProducer, MIX_VIDEO_CODEC } from '../output-producer.js';
import { guarded } from '../../util/guarded.js';
import { McuCounters } from '../counters.js';
import { allocI420, type I420Image } from './i420.js';
import { I420Canvas } from './I420Canvas.js';
import { drawLabel, labelSize } from './label.js';
import { computeLayout, fitRect, type LayoutInput, type LayoutKind } from './layout.js';
import type { VideoInput } from './VideoInput.js';
import { PacketPacer } from './PacketPacer.js';
import { Vp8Packetizer } from './Vp8Packetizer.js';

export interface CompositionOptions {
  width: number;
  height: number;
  fps: number;
  /** Bits per second of each quality tier, lowest first. */
  tiers: readonly number[];
}

/** A participant as the compositor shows them. */
export interface CompositionTile {
  id: string;
  name: string;
  video: VideoInput | null;
  speaking: boolean;
}

/** Luma of a tile with no picture (a participant without a camera, or before its first frame). */
const EMPTY_TILE_Y = 56;
const LABEL_SCALE = 2;
const LABEL_MARGIN = 8;

/**
 * Below this many bits per pixel per frame a full-size picture turns to mush (and libvpx cannot
 * hold the target on detailed content): such a tier is sent at half the width and height, as a
 * simulcast sender's low layer would be. 300 kbit/s at 1280×720 × 15 fps is 0.022.
 */
const MIN_FULL_SIZE_BPP = 0.025;

/** libwebrtc's pacing factor: packets leave at 2.5 × the tier's bitrate. */
const PACING_FACTOR = 2.5;

class Tier {
  encoder: VideoFrameEncoder | null = null;
  pacer: PacketPacer | null = null;
  /** A smaller picture than the canvas: its own image, and the scaler that fills it. */
  scaled: { image: I420Image; scaler: ImageScaler } | null = null;
  readonly packetizer: Vp8Packetizer;
  active = true;
  keyframeWanted = true;
  constructor(
    readonly index: number,
    readonly rid: string,
    readonly ssrc: number,
    readonly bitrate: number,
    readonly width: number,
    readonly height: number,
  ) {
    this.packetizer = new Vp8Packetizer(ssrc, MIX_VIDEO_CODEC.payloadType);
  }

  close(): void {
    this.encoder?.close();
    this.encoder = null;
    this.pacer?.close();
    this.pacer = null;
    this.scaled?.scaler.close();
    this.scaled = null;
  }
}

/** A tier's picture size for the canvas size and frame rate (even sides). */
export function tierSize(bitrate: number, width: number, height: number, fps: number): { width: number; height: number } {
  if (bitrate / (width * height * fps) >= MIN_FULL_SIZE_BPP) return { width, height };
  return { width: Math.max(2, (width >> 2) << 1), height: Math.max(2, (height >> 2) << 1) };
}

export class Composition {
  readonly producer: Producer;
  readonly canvas: I420Canvas;
  readonly viewers = new Set<string>();
  private readonly tiers: Tier[];
  private readonly scalers = new Map<string, TileScaler>();
  private readonly view = new RtpHeaderView();
  private readonly layoutInputs: LayoutInput[] = [];
  private readonly startedAt = performance.now();
  private readonly timestampBase = Math.floor(Math.random() * 0x100000000);
  framesComposed = 0;
  /** Time spent composing and encoding, ms. */
  busyMs = 0;
  /** Someone receives this composition: render() composes and encodes it. */
  encoding = false;
  closed = false;

  constructor(
    readonly kind: LayoutKind,
    private readonly opts: CompositionOptions,
    router: Router,
    private readonly counters = new McuCounters(),
  ) {
    this.canvas = I420Canvas.alloc(opts.width, opts.height);
    this.tiers = opts.tiers.map((bitrate, i) => {
      const size = tierSize(bitrate, opts.width, opts.height, opts.fps);
      return new Tier(i, `t${i}`, randomSsrc(), bitrate, size.width, size.height);
    });
    this.producer = createMixProducer(router, {
      id: `mix-video-${kind}`,
      kind: 'video',
      tiers: this.tiers.map((t) => ({ rid: t.rid, ssrc: t.ssrc, bitrate: t.bitrate })),
      // A subscriber's PLI/FIR: network input.
      onKeyframeRequest: guarded('mcu.keyframe-request', (ssrc: number) => {
        for (const t of this.tiers) if (t.ssrc === ssrc) t.keyframeWanted = true;
      }),
    });
    // Tiers nobody receives stop being encoded (and restart with a keyframe when wanted).
    new LayerPauser(
      this.producer,
      router.demandOf(this.producer),
      guarded('mcu.tiers', (_mid: string, rids: string[]) => this.setActiveTiers(rids)),
    );
  }

  /**
   * Start or stop encoding. Stopping closes every tier's encoder and pacer (nothing is sent to
   * a viewer whose connection is down anyway); starting opens them again at the next frame, each
   * beginning with a keyframe.
   */
  setEncoding(encoding: boolean): void {
    if (encoding === this.encoding || this.closed) return;
    this.encoding = encoding;
    for (const t of this.tiers) {
      if (!encoding) t.close();
      t.keyframeWanted = true;
    }
  }

  setActiveTiers(rids: readonly string[]): void {
    for (const t of this.tiers) {
      const active = rids.includes(t.rid);
      if (active === t.active) continue;
      t.active = active;
      if (!active) t.close();
      else t.keyframeWanted = true;
    }
  }

  /** Each tier's encoder counts (zero while it is not encoded): for diagnostics and stats. */
  get tierStats(): Array<{
    rid: string;
    width: number;
    height: number;
    active: boolean;
    frames: number;
    keyframes: number;
    bytes: number;
  }> {
    return this.tiers.map((t) => ({
      rid: t.rid,
      width: t.width,
      height: t.height,
      active: t.active,
      frames: t.encoder?.framesEncoded ?? 0,
      keyframes: t.encoder?.keyframesEncoded ?? 0,
      bytes: t.encoder?.bytesEncoded ?? 0,
    }));
  }

  /** Which tiers are encoded now (for tests and stats). */
  get activeTiers(): string[] {
    return this.tiers.filter((t) => t.active).map((t) => t.rid);
  }

  /** Composes one frame of `tiles` (join order) and sends it on every active tier (only while `encoding`). */
  render(tiles: readonly CompositionTile[], now: number): void {
    if (this.closed || !this.encoding) return;
    const started = performance.now();
    this.compose(tiles);
    const timestamp = (this.timestampBase + Math.round((now - this.startedAt) * 90)) >>> 0;
    for (const tier of this.tiers) {
      if (!tier.active) continue;
      if (!tier.encoder) {
        tier.encoder = new VideoFrameEncoder({ width: tier.width, height: tier.height, fps: this.opts.fps, bitrate: tier.bitrate });
        this.counters.videoEncodersOpened++;
      }
      if (tier.keyframeWanted) {
        tier.encoder.requestKeyframe();
        tier.keyframeWanted = false;
      }
      let picture = this.canvas.image;
      if (tier.width !== this.opts.width || tier.height !== this.opts.height) {
        if (!tier.scaled) {
          const image = allocI420(tier.width, tier.height);
          tier.scaled = { image, scaler: new ImageScaler(this.canvas.image, image) };
        }
        tier.scaled.scaler.scale();
        picture = tier.scaled.image;
      }
      const encoded = tier.encoder.encode(picture);
      if (!encoded) continue;
      this.counters.videoFramesEncoded++;
      const stream = this.producer.streams[tier.index];
      if (!stream) continue;
      const pacer = (tier.pacer ??= new PacketPacer(tier.bitrate * PACING_FACTOR, (packet, at) => {
        if (!this.closed && parseRtpHeader(packet, this.view)) this.producer.receive(packet, this.view, at, stream);
      }));
      tier.packetizer.packetize(encoded.data, timestamp, (packet) => pacer.push(packet));
    }
    this.framesComposed++;
    this.busyMs += performance.now() - started;
  }

  private compose(tiles: readonly CompositionTile[]): void {
    const canvas = this.canvas;
    canvas.fill();
    const inputs = this.layoutInputs;
    inputs.length = 0;
    for (const t of tiles) inputs.push({ id: t.id, speaking: t.speaking, screen: t.video?.screen ?? false });
    const rects = computeLayout(this.kind, inputs, this.opts.width, this.opts.height);
    for (const rect of rects) {
      const tile = tiles.find((t) => t.id === rect.id);
      if (!tile) continue;
      const video = tile.video;
      if (video && video.hasPicture) {
        let scaler = this.scalers.get(tile.id);
        if (!scaler) this.scalers.set(tile.id, (scaler = new TileScaler()));
        const fitted = fitRect(video.decoder.width, video.decoder.height, rect);
        scaler.scale(video.decoder.frame, canvas.image, fitted);
      } else {
        canvas.fillRect(rect, EMPTY_TILE_Y, 128, 128);
      }
      const size = labelSize(tile.name, LABEL_SCALE, rect.width - 2 * LABEL_MARGIN);
      if (size.width > 0)
        drawLabel(
          canvas,
          tile.name,
          rect.x + LABEL_MARGIN,
          rect.y + rect.height - size.height - LABEL_MARGIN,
          LABEL_SCALE,
          rect.width - 2 * LABEL_MARGIN,
        );
    }
    // Scalers of participants who left.
    if (this.scalers.size > tiles.length) {
      for (const [id, s] of this.scalers) {
        if (!tiles.some((t) => t.id === id)) {
          s.close();
          this.scalers.delete(id);
        }
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.tiers) t.close();
    for (const s of this.scalers.values()) s.close();
    this.scalers.clear();
    this.producer.close();
  }
}

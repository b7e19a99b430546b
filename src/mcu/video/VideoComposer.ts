/**
 * VideoComposer: the room's video side of the MCU. It holds each participant's decoded camera
 * (VideoInput) and one Composition per layout somebody views, and runs them at the output frame
 * rate. A participant views one layout at a time and may switch at runtime (`setLayout`).
 *
 * Work follows the receivers: a composition is composed and encoded only while at least one of
 * its viewers' media connections is up (`setReceiving`), the frame tick runs only while some
 * composition is encoded, and the participants' video is decoded only then too. A room whose
 * members never connect (or all dropped) costs no codec work and opens no encoder.
 */
import type { Producer } from '../../sfu/Producer.js';
import type { Router } from '../../sfu/Router.js';
import { McuCounters } from '../counters.js';
import { MixerClock } from '../MixerClock.js';
import { Composition, type CompositionOptions, type CompositionTile } from './Composition.js';
import type { LayoutKind } from './layout.js';
import { VideoInput } from './VideoInput.js';

export interface VideoComposerHooks {
  /** Participants in join order, with their display names. */
  participants(): { id: string; name: string }[];
  activeSpeaker(): string | null;
  /** Sends a composition's producer to a viewer (a new consumer); false if they are gone. */
  publishTo(participantId: string, producer: Producer): boolean;
}

export class VideoComposer {
  /** By owner (participant) id: one camera or screen each, the newest published. */
  readonly inputs = new Map<string, VideoInput>();
  readonly compositions = new Map<LayoutKind, Composition>();
  private readonly layouts = new Map<string, LayoutKind>();
  /** Viewers whose media connection is up: what they view is encoded. */
  private readonly receiving = new Set<string>();
  private readonly clock: MixerClock;
  private readonly tiles: CompositionTile[] = [];
  /** Video producers not decoded (neither VP8 nor VP9). */
  unsupportedInputs = 0;

  constructor(
    private readonly opts: CompositionOptions,
    private readonly hooks: VideoComposerHooks,
    /** The room's media core: connects inputs to producers, carries the compositions. */
    private readonly router: Router,
    readonly defaultLayout: LayoutKind = 'grid',
    readonly counters = new McuCounters(),
  ) {
    this.clock = new MixerClock(1000 / opts.fps, (now) => this.tick(now), 2, 'mcu.video.tick');
  }

  /** Compositions being composed and encoded now. */
  get encodedCompositions(): number {
    let n = 0;
    for (const c of this.compositions.values()) if (c.encoding) n++;
    return n;
  }

  addInput(producer: Producer): VideoInput | null {
    const codec = producer.codecKind;
    if (codec !== 'vp8' && codec !== 'vp9') {
      this.unsupportedInputs++;
      return null;
    }
    this.inputs.get(producer.ownerId)?.close();
    const input = new VideoInput(
      producer,
      codec,
      (closed) => {
        this.router.removeSink(producer, closed);
        if (this.inputs.get(closed.ownerId) === closed) this.inputs.delete(closed.ownerId);
      },
      this.counters,
      this.clock.running,
    );
    this.inputs.set(producer.ownerId, input);
    this.router.addSink(producer, input);
    return input;
  }

  /** The layout `participantId` views (default at first). */
  layoutOf(participantId: string): LayoutKind | undefined {
    return this.layouts.get(participantId);
  }

  /** Shows `participantId` the `kind` layout: their video track becomes that composition's. */
  setLayout(participantId: string, kind: LayoutKind): void {
    const before = this.layouts.get(participantId);
    if (before === kind) return;
    if (before !== undefined) this.leave(participantId, before);
    let composition = this.compositions.get(kind);
    if (!composition) {
      composition = new Composition(kind, this.opts, this.router, this.counters);
      this.compositions.set(kind, composition);
    }
    if (!this.hooks.publishTo(participantId, composition.producer)) {
      if (composition.viewers.size === 0) this.closeComposition(kind);
      return;
    }
    composition.viewers.add(participantId);
    this.layouts.set(participantId, kind);
    this.update();
  }

  /** A participant joined: they view the default layout (encoded once their connection is up). */
  addViewer(participantId: string): void {
    this.setLayout(participantId, this.defaultLayout);
  }

  /** Whether `participantId`'s media connection is up: what they view is encoded only then. */
  setReceiving(participantId: string, receiving: boolean): void {
    if (receiving) this.receiving.add(participantId);
    else this.receiving.delete(participantId);
    this.update();
  }

  removeParticipant(participantId: string): void {
    this.inputs.get(participantId)?.close();
    this.receiving.delete(participantId);
    const kind = this.layouts.get(participantId);
    if (kind !== undefined) this.leave(participantId, kind);
    this.update();
  }

  close(): void {
    this.receiving.clear();
    for (const i of [...this.inputs.values()]) i.close();
    for (const kind of [...this.compositions.keys()]) this.closeComposition(kind);
    this.layouts.clear();
    this.clock.stop();
  }

  private leave(participantId: string, kind: LayoutKind): void {
    this.layouts.delete(participantId);
    const composition = this.compositions.get(kind);
    if (!composition) return;
    composition.viewers.delete(participantId);
    for (const c of [...this.router.consumersOf(composition.producer)]) if (c.subscriberId === participantId) c.close();
    if (composition.viewers.size === 0) this.closeComposition(kind);
  }

  private closeComposition(kind: LayoutKind): void {
    this.compositions.get(kind)?.close();
    this.compositions.delete(kind);
    this.update();
  }

  /** Encodes what someone receives, and runs the tick (and the decoders) only then. */
  private update(): void {
    let any = false;
    for (const c of this.compositions.values()) {
      let received = false;
      for (const v of c.viewers)
        if (this.receiving.has(v)) {
          received = true;
          break;
        }
      c.setEncoding(received);
      any ||= received;
    }
    if (any) this.clock.start();
    else this.clock.stop();
    for (const input of this.inputs.values()) input.setDecoding(any);
  }

  /** One output frame for every composition someone receives. */
  tick(now: number): void {
    for (const input of this.inputs.values()) input.poll(now);
    const speaker = this.hooks.activeSpeaker();
    const tiles = this.tiles;
    tiles.length = 0;
    for (const p of this.hooks.participants()) {
      tiles.push({ id: p.id, name: p.name, video: this.inputs.get(p.id) ?? null, speaking: p.id === speaker });
    }
    for (const c of this.compositions.values()) if (c.encoding) c.render(tiles, now);
  }
}

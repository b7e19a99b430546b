/**
 * Mixer: the MCU of one room, built on the room's session (SfuRoom) and media core (Router).
 * The room is made with `forward: false`, so participants' producers go to nobody but the
 * Mixer, whose decoders receive them as sinks of the Router (like a subscriber would), and which
 * publishes what it makes back into the Router as ordinary producers: each participant's N−1
 * audio mix, and the composed video of the layout they view. Transport, NACK/RTX, keyframe
 * requests and bandwidth estimation are the SFU's.
 *
 * The active speaker comes from the decoded audio's energy (not the RFC 6464 levels the
 * publishers put in their packets): it is what the mix really contains.
 *
 * Codec work follows the receivers: a participant's mix and the composition they view are
 * encoded only while their subscribe connection is up (ICE + DTLS, which needs their answer):
 * the mixer watches that transport's `connected` and `closed`. A member who joins and never
 * answers costs no decode or encode.
 */
import { SwitchboardError } from '../protocol/errors.js';
import type { SfuParticipant } from '../session/SfuParticipant.js';
import type { SfuRoom } from '../session/SfuRoom.js';
import type { Producer } from '../sfu/Producer.js';
import { ActiveSpeakerObserver, type ActiveSpeaker, type ActiveSpeakerOptions } from '../sfu/speaker/ActiveSpeakerObserver.js';
import { guarded } from '../util/guarded.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import { AudioMixer } from './audio/AudioMixer.js';
import { DEFAULT_MIXER_OPTIONS } from './defaults.js';
import { McuCounters } from './counters.js';
import type { LayoutKind } from './video/layout.js';
import { VideoComposer } from './video/VideoComposer.js';

export interface MixerOptions {
  /** Composed picture size (even) and rate; default 1280×720 at 15 fps. */
  width?: number;
  height?: number;
  fps?: number;
  /** Video quality tiers, bit/s, lowest first; default 300k, 700k, 1.5M. */
  tiers?: readonly number[];
  defaultLayout?: LayoutKind;
  activeSpeaker?: ActiveSpeakerOptions;
  /** A participant's display name for labels (default: the id). */
  nameOf?: (participantId: string) => string;
}

export { DEFAULT_MIXER_OPTIONS } from './defaults.js';

export interface MixerEvents {
  'dominant-speaker': [speaker: ActiveSpeaker | null];
}

export class Mixer extends TypedEmitter<MixerEvents> {
  /** Codec work done for this room (encoders opened, frames encoded and decoded). */
  readonly counters = new McuCounters();
  readonly audio: AudioMixer;
  readonly video: VideoComposer;
  readonly speakers: ActiveSpeakerObserver;
  /** Participant ids in join order. */
  private readonly order: string[] = [];
  private readonly nameOf: (id: string) => string;
  closed = false;

  constructor(
    readonly room: SfuRoom,
    opts: MixerOptions = {},
  ) {
    super();
    if (room.forward) throw new SwitchboardError('invalid-argument', 'a Mixer needs a room made with forward: false');
    this.audio = new AudioMixer(room.router, this.counters);
    this.nameOf = opts.nameOf ?? ((id) => id);
    this.speakers = new ActiveSpeakerObserver(opts.activeSpeaker);
    this.speakers.on('dominant-speaker', (s) => this.emit('dominant-speaker', s));
    this.speakers.start();
    this.video = new VideoComposer(
      {
        width: opts.width ?? DEFAULT_MIXER_OPTIONS.width,
        height: opts.height ?? DEFAULT_MIXER_OPTIONS.height,
        fps: opts.fps ?? DEFAULT_MIXER_OPTIONS.fps,
        tiers: opts.tiers ?? DEFAULT_MIXER_OPTIONS.tiers,
      },
      {
        participants: () => this.order.map((id) => ({ id, name: this.nameOf(id) })),
        activeSpeaker: () => this.speakers.activeSpeaker?.participantId ?? null,
        publishTo: (id, producer) => this.room.publishTo(id, producer),
      },
      room.router,
      opts.defaultLayout ?? 'grid',
      this.counters,
    );
    for (const p of room.participants.values()) this.onJoin(p);
    for (const p of room.producers) this.onProducer(p);
    room.on('participant-joined', (p) => this.onJoin(p));
    room.on('participant-left', (id) => this.onLeave(id));
    room.on('producer', (p) => this.onProducer(p));
    room.on('close', () => this.close());
  }

  get activeSpeaker(): string | null {
    return this.speakers.activeSpeaker?.participantId ?? null;
  }

  /** `participantId` asks to view another layout; false when they are not in the room. */
  setLayout(participantId: string, kind: LayoutKind): boolean {
    if (!this.order.includes(participantId)) return false;
    this.video.setLayout(participantId, kind);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.speakers.close();
    this.audio.close();
    this.video.close();
    this.removeAllListeners();
  }

  private onJoin(participant: SfuParticipant): void {
    const id = participant.id;
    if (this.order.includes(id)) return;
    this.order.push(id);
    this.room.publishTo(id, this.audio.addListener(id).producer);
    this.video.addViewer(id);
    // DTLS completing (network input) starts their encoding; the transport closing (consent
    // lost, DTLS closed, the participant leaving) stops it. A closed transport does not reopen.
    const rtc = participant.subscribeRtc;
    if (rtc.state === 'connected') this.setReceiving(id, true);
    rtc.on(
      'connected',
      guarded('mcu.viewer.connected', () => this.setReceiving(id, true)),
    );
    rtc.on(
      'closed',
      guarded('mcu.viewer.closed', () => this.setReceiving(id, false)),
    );
  }

  private setReceiving(id: string, receiving: boolean): void {
    if (this.closed || (receiving && !this.order.includes(id))) return;
    this.audio.setListening(id, receiving);
    this.video.setReceiving(id, receiving);
  }

  private onLeave(id: string): void {
    const i = this.order.indexOf(id);
    if (i >= 0) this.order.splice(i, 1);
    this.audio.removeParticipant(id);
    this.video.removeParticipant(id);
  }

  private onProducer(producer: Producer): void {
    if (producer.kind === 'audio') {
      const input = this.audio.addInput(producer);
      const observed = { id: producer.id, ownerId: producer.ownerId, audioLevel: input.audioLevel };
      this.speakers.addProducer(observed);
      producer.on('close', () => this.speakers.removeProducer(producer.id));
    } else {
      this.video.addInput(producer);
    }
  }
}

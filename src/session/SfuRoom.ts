/**
 * SfuRoom: one SFU (or MCU) room as the session layer holds it — its participants, each with a
 * publish and a subscribe connection (SfuParticipant), on top of the room's media core (a
 * Router). It decides who receives what: every participant's producers go to everyone else
 * (unless the room does not forward: an MCU room's Mixer takes them and publishes what it makes
 * with `publishTo`), relays data channels between participants, and watches its audio
 * producers' levels (ActiveSpeakerObserver) to say who speaks: `activeSpeaker` and the
 * `dominant-speaker` event.
 *
 * Close cascade: room → participants → transports → producers → consumers.
 */
import { SwitchboardError } from '../protocol/errors.js';
import type { WebRtcTransport } from '../rtc/WebRtcTransport.js';
import { PRIORITY } from '../sfu/allocation/allocate.js';
import type { Producer } from '../sfu/Producer.js';
import type { ProducerView } from '../sfu/ProducerView.js';
import { Router } from '../sfu/Router.js';
import { ActiveSpeakerObserver, type ActiveSpeaker, type ActiveSpeakerOptions } from '../sfu/speaker/ActiveSpeakerObserver.js';
import type { VideoSource } from '../sfu/types.js';
import { TypedEmitter } from '../util/TypedEmitter.js';
import { DataRelay } from './DataRelay.js';
import { SfuParticipant, type SubscribeOffer } from './SfuParticipant.js';

/** Where the room's WebRTC transports come from (src/rtc's WebRtcServer). */
export interface WebRtcTransportSource {
  createTransport(opts: { id: string; sctp: boolean }): WebRtcTransport;
}

/** How the room reaches one participant's page. */
export interface ParticipantSignals {
  sendOffer(offer: SubscribeOffer): void;
  /** Simulcast layers (rids) of publish section `mid` that someone receives; the rest may stop. */
  sendLayers?: (mid: string, activeRids: string[]) => void;
}

export interface SfuRoomEvents {
  close: [];
  /** A participant's transport closed by itself (ICE consent lost, DTLS failure). */
  'transport-closed': [participantId: string, transportId: string, reason: string];
  /** The room's active speaker changed (null: the last one left and nobody speaks). */
  'dominant-speaker': [speaker: ActiveSpeaker | null];
  /** A participant joined (before its first subscribe offer goes out). */
  'participant-joined': [participant: SfuParticipant];
  'participant-left': [participantId: string];
  /** A participant published a track (forwarded or not, see `forward`). */
  producer: [producer: Producer];
}

export interface SfuRoomOptions {
  activeSpeaker?: ActiveSpeakerOptions;
  /**
   * Share each subscriber's bandwidth estimate among its consumers (StreamAllocator): layers
   * chosen by budget and priority, video paused when even its lowest layer does not fit.
   * Default true. Off, every consumer gets its preferred layers whatever the estimate.
   */
  allocation?: boolean;
  /**
   * Give every participant's producers to every other participant (an SFU). Default true. An
   * MCU room says false: its Mixer takes the producers (`producer` event) and publishes what it
   * makes to each participant with `publishTo`.
   */
  forward?: boolean;
}

export class SfuRoom extends TypedEmitter<SfuRoomEvents> {
  readonly router: Router<WebRtcTransport>;
  readonly participants = new Map<string, SfuParticipant>();
  readonly data = new DataRelay();
  readonly speakers: ActiveSpeakerObserver;
  closed = false;
  private readonly allocation: boolean;
  readonly forward: boolean;
  /** Producers of participants on another router of this room (another worker or node), piped here. */
  private readonly adopted = new Map<string, Producer>();

  constructor(
    readonly name: string,
    transports: WebRtcTransportSource,
    opts: SfuRoomOptions = {},
  ) {
    super();
    this.router = new Router(name, { createMediaTransport: (id) => transports.createTransport({ id, sctp: true }) });
    this.allocation = opts.allocation ?? true;
    this.forward = opts.forward ?? true;
    this.speakers = new ActiveSpeakerObserver(opts.activeSpeaker);
    this.speakers.on('dominant-speaker', (s) => {
      // The speaker's video goes first in every subscriber's budget.
      for (const p of this.participants.values()) p.allocator?.invalidate();
      this.emit('dominant-speaker', s);
    });
    this.speakers.start();
  }

  /** The participant id of the active speaker, or null. */
  get activeSpeaker(): string | null {
    return this.speakers.activeSpeaker?.participantId ?? null;
  }

  /** The producers of this router's participants (not the server's own, such as the MCU's mixes, nor adopted ones). */
  get producers(): Producer[] {
    const out: Producer[] = [];
    for (const p of this.participants.values()) out.push(...p.producers);
    return out;
  }

  /** Adopted producers: those of participants on another router of the room. */
  get remoteProducers(): Producer[] {
    return [...this.adopted.values()];
  }

  /**
   * A producer made on this room's router for a participant who is elsewhere (on another worker
   * or node; its packets are piped here): it is treated as a participant's own — forwarded to
   * everyone here in a forwarding room, heard by the speaker observer, announced with `producer`
   * (an MCU's Mixer takes it) — and forgotten when it closes.
   */
  adopt(producer: Producer): void {
    if (this.closed) throw new SwitchboardError('closed', `room ${this.name} is closed`);
    if (this.participants.has(producer.ownerId))
      throw new SwitchboardError('invalid-argument', `participant ${producer.ownerId} is on this router: its producers are not adopted`);
    this.adopted.set(producer.id, producer);
    producer.on('close', () => this.adopted.delete(producer.id));
    this.announce(producer);
  }

  /** A participant's producer (here or adopted) becomes known to the room. */
  private announce(producer: Producer): void {
    if (producer.kind === 'audio') {
      this.speakers.addProducer(producer);
      producer.on('close', () => this.speakers.removeProducer(producer.id));
    }
    if (this.forward) for (const p of this.participants.values()) if (p.id !== producer.ownerId) p.consume(producer);
    this.emit('producer', producer);
  }

  /** A forwarded track's rank in every subscriber's budget: screen share, then the active speaker, then the rest. */
  priorityOf(producer: { readonly source: VideoSource; readonly ownerId: string }): number {
    if (producer.source === 'screen') return PRIORITY.screen;
    return producer.ownerId === this.activeSpeaker ? PRIORITY.speaker : PRIORITY.normal;
  }

  /** A participant's page now sends its screen (or its camera again): every subscriber re-allocates. */
  setVideoSource(participantId: string, source: VideoSource): boolean {
    const participant = this.participants.get(participantId);
    if (!participant) return false;
    if (participant.setVideoSource(source)) for (const p of this.participants.values()) p.allocator?.invalidate();
    return true;
  }

  join(participantId: string, signals: ParticipantSignals | ((offer: SubscribeOffer) => void)): SfuParticipant {
    if (this.participants.has(participantId)) {
      throw new SwitchboardError('invalid-argument', `participant ${participantId} is already in room ${this.name}`);
    }
    const s: ParticipantSignals = typeof signals === 'function' ? { sendOffer: signals } : signals;
    const participant = new SfuParticipant(participantId, this.router, {
      onProducer: (producer) => this.announce(producer),
      sendOffer: (offer) => s.sendOffer(offer),
      sendLayers: s.sendLayers,
      ...(this.allocation ? { priorityOf: (producer: ProducerView) => this.priorityOf(producer) } : {}),
    });
    // Everything already published in the room, here or elsewhere, before the first offer goes out.
    if (this.forward)
      for (const producer of [...this.producers, ...this.adopted.values()])
        if (producer.ownerId !== participantId) participant.consume(producer);
    this.participants.set(participantId, participant);
    this.data.addPublisher(participantId, participant.publishRtc);
    this.data.addSubscriber(participantId, participant.subscribeRtc);
    for (const rtc of [participant.publishRtc, participant.subscribeRtc]) {
      rtc.on('closed', (reason) => this.emit('transport-closed', participantId, rtc.id, reason));
    }
    this.emit('participant-joined', participant);
    participant.start();
    return participant;
  }

  /**
   * A producer made by the server (the MCU's mix for a participant) sent to `participantId` alone;
   * false when there is no such participant. It closes with the producer or the participant.
   */
  publishTo(participantId: string, producer: Producer): boolean {
    const participant = this.participants.get(participantId);
    if (!participant || participant.closed) return false;
    participant.consume(producer);
    return true;
  }

  leave(participantId: string): void {
    const p = this.participants.get(participantId);
    if (!p) return;
    this.participants.delete(participantId);
    this.data.remove(participantId);
    p.close();
    this.emit('participant-left', participantId);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.participants.keys()]) this.leave(id);
    this.speakers.close();
    this.router.close();
    this.emit('close');
    this.removeAllListeners();
  }
}

/**
 * SFU and MCU rooms for signaling (the MediaRooms interface) on top of src/session, src/sfu and
 * src/mcu: one SfuRoom (and its Router) per room, created with the room's first participant and
 * closed with its last. An MCU room forwards nothing between participants; its Mixer (src/mcu) takes every producer
 * and sends each participant their own mix. The room's active speaker (the router's, or in an
 * MCU room the mixer's, from decoded audio) goes to every member as `active-speaker`.
 *
 * MCU rooms are bounded: at most `maxMcuRooms` at once (a join that would create one more is
 * refused with `mcu-capacity` before anything is made), and each participant's `mcu-layout`
 * changes are rate-limited (mcu-layout-limit.ts). The mixer itself encodes only for members
 * whose media connection is up (src/mcu/Mixer.ts).
 */
import type { Logger } from 'pino';
import { McuCounters } from '../mcu/counters.js';
import type { Mixer, MixerOptions } from '../mcu/Mixer.js';
import { SwitchboardError, type McuLayout } from '../protocol/index.js';
import type { WebRtcServer } from '../rtc/WebRtcServer.js';
import { SfuRoom } from '../session/SfuRoom.js';
import type { SfuParticipant } from '../session/SfuParticipant.js';
import type { MediaParticipant, MediaRooms, MediaTopology } from '../signaling/MediaRooms.js';
import { guarded } from '../util/guarded.js';
import type { ConfigSection } from './config.js';
import { LayoutChangeLimit } from './mcu-layout-limit.js';

/** Mixer options from the config's `mcu` section: picture size, rate and tiers (kbit/s there, bit/s for the Mixer). */
export function mixerOptionsOf(mcu: ConfigSection<'mcu'>): MixerOptions {
  return { width: mcu.width, height: mcu.height, fps: mcu.fps, tiers: mcu.tiersKbps.map((kbps) => kbps * 1000) };
}

/**
 * The MCU's Mixer class, handed in by whoever loaded it: the MCU's codecs (node-av, libvpx, Opus)
 * take about half a second to load, which a media worker that hosts no MCU room does without.
 */
export type MixerClass = typeof Mixer;

export class SfuRooms implements MediaRooms {
  readonly rooms = new Map<string, SfuRoom>();
  readonly mixers = new Map<string, Mixer>();
  /** Display names by participant id, for logs. */
  private readonly names = new Map<string, string>();
  /** How to reach each member's page, per room (for room-wide messages such as `active-speaker`). */
  private readonly members = new Map<string, Map<string, MediaParticipant>>();
  private readonly mixerOptions: MixerOptions;
  readonly maxMcuRooms: number;
  readonly layoutLimit = new LayoutChangeLimit();
  /** Codec work of MCU rooms already closed (the live ones' is in their mixers). */
  private readonly closedRoomsCounters = new McuCounters();
  /** Joins refused because `maxMcuRooms` MCU rooms were running. */
  mcuRoomsRefused = 0;

  /**
   * `mcu`: the config's section, for every MCU room's composition and how many rooms may run.
   * `mixerClass`: the loaded Mixer; without it MCU rooms are refused (`unsupported-topology`).
   */
  constructor(
    private readonly server: WebRtcServer,
    private readonly logger: Logger,
    mcu: ConfigSection<'mcu'>,
    private readonly mixerClass: MixerClass | undefined,
  ) {
    this.mixerOptions = mixerOptionsOf(mcu);
    this.maxMcuRooms = mcu.maxMcuRooms;
  }

  admitRoom(room: string, topology: MediaTopology): void {
    if (topology === 'mcu' && !this.mixerClass) throw new SwitchboardError('unsupported-topology', 'this media server runs no MCU rooms');
    if (topology !== 'mcu' || this.mixers.size < this.maxMcuRooms) return;
    this.mcuRoomsRefused++;
    this.logger.warn({ room, maxMcuRooms: this.maxMcuRooms }, 'MCU room refused: at capacity');
    throw new SwitchboardError(
      'mcu-capacity',
      this.maxMcuRooms === 0
        ? 'this server runs no MCU rooms (maxMcuRooms is 0); use topology "sfu"'
        : `this server already runs its maximum of ${this.maxMcuRooms} MCU rooms; join an existing room, use topology "sfu", or try again later`,
    );
  }

  /** MCU rooms, what they encode now, and their codec work so far (closed rooms included): for /metrics. */
  get mcuStats(): { rooms: number; compositionsEncoded: number; mixesEncoded: number; counters: McuCounters } {
    const counters = new McuCounters();
    counters.add(this.closedRoomsCounters);
    let compositionsEncoded = 0;
    let mixesEncoded = 0;
    for (const m of this.mixers.values()) {
      counters.add(m.counters);
      compositionsEncoded += m.video.encodedCompositions;
      mixesEncoded += m.audio.listening;
    }
    return { rooms: this.mixers.size, compositionsEncoded, mixesEncoded, counters };
  }

  join(room: string, participant: MediaParticipant, topology: MediaTopology = 'sfu'): void {
    let sfuRoom = this.rooms.get(room);
    if (!sfuRoom) {
      if (topology === 'mcu' && !this.mixerClass) throw new SwitchboardError('unsupported-topology', 'this media server runs no MCU rooms');
      sfuRoom = new SfuRoom(room, this.server, { forward: topology === 'sfu' });
      // Both come from network input (a transport failing) or a timer (the speaker observer).
      sfuRoom.on(
        'transport-closed',
        guarded('sfu.transport-closed', (id: string, transport: string, reason: string) => {
          // A page closing its connection is routine; consent lost or DTLS failing is worth a warning.
          const routine = reason === 'closed' || reason === 'server closing' || reason === 'DTLS closed by the remote';
          this.logger[routine ? 'info' : 'warn'](
            { room, participant: id, name: this.names.get(id), transport, reason },
            'sfu transport closed',
          );
        }),
      );
      const onSpeaker = guarded('sfu.active-speaker', (speaker: { participantId: string } | null): void => {
        const participantId = speaker?.participantId ?? null;
        this.logger.debug(
          { room, participant: participantId, name: participantId ? this.names.get(participantId) : undefined },
          'active speaker',
        );
        for (const m of this.members.get(room)?.values() ?? []) m.send({ type: 'active-speaker', room, participantId });
      });
      if (topology === 'mcu' && this.mixerClass) {
        const mixer = new this.mixerClass(sfuRoom, { ...this.mixerOptions, nameOf: (id) => this.names.get(id) ?? id });
        mixer.on('dominant-speaker', onSpeaker);
        this.mixers.set(room, mixer);
      } else {
        sfuRoom.on('dominant-speaker', onSpeaker);
      }
      this.rooms.set(room, sfuRoom);
      this.members.set(room, new Map());
    }
    this.names.set(participant.info.id, participant.info.name);
    this.members.get(room)?.set(participant.info.id, participant);
    // A newcomer learns who is speaking now (a silent room keeps its last speaker).
    const current = this.mixers.get(room)?.activeSpeaker ?? sfuRoom.activeSpeaker;
    if (current !== null) participant.send({ type: 'active-speaker', room, participantId: current });
    sfuRoom.join(participant.info.id, {
      sendOffer: (offer) =>
        participant.send({
          type: 'sfu-offer',
          transport: 'subscribe',
          sdp: offer.sdp,
          revision: offer.revision,
          tracks: offer.tracks,
        }),
      sendLayers: (mid, active) => participant.send({ type: 'sfu-layers', mid, active }),
    });
  }

  leave(room: string, participantId: string): void {
    const sfuRoom = this.rooms.get(room);
    if (!sfuRoom) return;
    sfuRoom.leave(participantId);
    this.names.delete(participantId);
    this.layoutLimit.forget(participantId);
    this.members.get(room)?.delete(participantId);
    if (sfuRoom.participants.size === 0) {
      sfuRoom.close(); // closes its mixer too
      this.retireMixer(room);
      this.rooms.delete(room);
      this.members.delete(room);
    }
  }

  async publish(room: string, participantId: string, sdp: string): Promise<string> {
    const p = this.participant(room, participantId);
    return p.handlePublishOffer(sdp);
  }

  async subscribeAnswer(room: string, participantId: string, revision: number, sdp: string): Promise<void> {
    const p = this.participant(room, participantId);
    p.handleSubscribeAnswer(revision, sdp);
  }

  videoSize(room: string, participantId: string, trackId: string, width: number, height: number): void {
    const p = this.participant(room, participantId);
    if (!p.setVideoSize(trackId, width, height)) throw new SwitchboardError('not-found', `no forwarded video track "${trackId}"`);
  }

  videoSource(room: string, participantId: string, source: 'camera' | 'screen'): void {
    this.participant(room, participantId);
    this.rooms.get(room)?.setVideoSource(participantId, source);
  }

  layout(room: string, participantId: string, layout: McuLayout): void {
    this.participant(room, participantId);
    const mixer = this.mixers.get(room);
    if (!mixer) throw new SwitchboardError('not-mcu-room', `room "${room}" is not an MCU room`);
    // The layout already viewed: nothing to do, and no token taken.
    if (mixer.video.layoutOf(participantId) === layout) return;
    const verdict = this.layoutLimit.take(participantId);
    if (verdict === 'refuse') {
      throw new SwitchboardError('rate-limited', `at most ${this.layoutLimit.perSecond} layout changes per second; this one was dropped`);
    }
    if (verdict === 'drop') return;
    mixer.setLayout(participantId, layout);
  }

  close(): void {
    for (const r of this.rooms.values()) r.close();
    for (const room of [...this.mixers.keys()]) this.retireMixer(room);
    this.rooms.clear();
    this.members.clear();
  }

  /** A closed room's mixer: its counters stay in the totals. */
  private retireMixer(room: string): void {
    const mixer = this.mixers.get(room);
    if (!mixer) return;
    this.closedRoomsCounters.add(mixer.counters);
    this.mixers.delete(room);
  }

  private participant(room: string, id: string): SfuParticipant {
    const p = this.rooms.get(room)?.participants.get(id);
    if (!p) throw new SwitchboardError('not-in-room', `not in SFU room "${room}"`);
    return p;
  }
}

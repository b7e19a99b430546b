/**
 * The server's side of one subscribe connection's offer/answer (JSEP, RFC 8829): which
 * m-sections exist, which consumer each carries, and which offer revision is outstanding.
 *
 * One offer at a time: while an offer waits for its answer, changes only mark the state
 * dirty, and the next offer goes out when the answer arrives. An m-section whose consumer
 * closed becomes inactive; once an answer has acknowledged that, the section (its mid and
 * index) is reused for the next track of the same kind (RFC 8829 §5.2.2).
 */
import { randomBytes } from 'node:crypto';
import { HEADER_EXTENSION_URIS } from '../rtc/sdp/server-codecs.js';
import type { HeaderExtension, OfferedSection, RtpCodecParameters } from '../rtc/sdp/index.js';
import { TRANSPORT_CC_EXTENSION_ID } from '../sfu/bwe/transport-cc-extension.js';
import type { Consumer } from '../sfu/Consumer.js';
import type { MediaKind } from '../sfu/types.js';

export interface SubscribeSection {
  mid: string;
  kind: MediaKind;
  consumer: Consumer | null;
  /** The section's stream/track ids and SSRCs while it carries a consumer. */
  offered: OfferedSection;
  /** The revision of the offer that made it inactive; reusable once an answer ≥ it arrived. */
  inactiveSince: number;
}

/**
 * Every subscribe section offers transport-wide sequence numbers, the one extension consumers
 * write (draft-holmer-rmcat-transport-wide-cc-extensions-01 §4), under the id they write it with.
 */
export const SUBSCRIBE_HEADER_EXTENSIONS: readonly HeaderExtension[] = [
  { id: TRANSPORT_CC_EXTENSION_ID, uri: HEADER_EXTENSION_URIS.transportCc },
];

export interface OutgoingOffer {
  revision: number;
  sections: OfferedSection[];
  tracks: { mid: string; kind: MediaKind; participantId: string; trackId: string; active: boolean }[];
}

export class SubscribeNegotiation {
  readonly sections: SubscribeSection[] = [];
  readonly sessionId = BigInt(`0x${randomBytes(7).toString('hex')}`).toString();
  private revision = 0;
  private pending: number | null = null;
  private acknowledged = -1;
  private dirty = true;
  private nextMid = 0;

  /** A section for a new consumer: a reusable inactive one of its kind, or a new one. */
  addConsumer(consumer: Consumer, codec: RtpCodecParameters, cname: string): SubscribeSection {
    const reusable = this.sections.find((s) => s.consumer === null && s.kind === consumer.kind && s.inactiveSince <= this.acknowledged);
    const offered: OfferedSection = {
      mid: reusable?.mid ?? String(this.nextMid++),
      kind: consumer.kind,
      active: true,
      codec,
      headerExtensions: SUBSCRIBE_HEADER_EXTENSIONS.map((e) => ({ ...e })),
      ssrc: consumer.ssrc,
      ...(consumer.rtxSsrc !== undefined ? { rtxSsrc: consumer.rtxSsrc } : {}),
      cname,
      streamId: consumer.producer.ownerId,
      trackId: consumer.producer.id,
    };
    let section = reusable;
    if (section) {
      section.consumer = consumer;
      section.offered = offered;
    } else {
      section = { mid: offered.mid, kind: consumer.kind, consumer, offered, inactiveSince: Infinity };
      this.sections.push(section);
    }
    this.dirty = true;
    return section;
  }

  removeConsumer(consumer: Consumer): void {
    const section = this.sections.find((s) => s.consumer === consumer);
    if (!section) return;
    section.consumer = null;
    section.offered = { ...section.offered, active: false };
    section.inactiveSince = Infinity; // set when the offer carrying it goes out
    this.dirty = true;
  }

  /** The next offer to send, or null when nothing changed or an offer is outstanding. */
  nextOffer(): OutgoingOffer | null {
    if (!this.dirty || this.pending !== null) return null;
    this.dirty = false;
    const revision = ++this.revision;
    this.pending = revision;
    for (const s of this.sections) if (s.consumer === null && s.inactiveSince === Infinity) s.inactiveSince = revision;
    return {
      revision,
      sections: this.sections.map((s) => s.offered),
      tracks: this.sections.map((s) => ({
        mid: s.mid,
        kind: s.kind,
        participantId: s.offered.streamId,
        trackId: s.offered.trackId,
        active: s.consumer !== null,
      })),
    };
  }

  /** Whether `revision` is the offer waiting for its answer. */
  isPending(revision: number): boolean {
    return this.pending === revision;
  }

  answered(revision: number): void {
    if (this.pending !== revision) return;
    this.pending = null;
    this.acknowledged = revision;
  }
}

/**
 * Data-channel relay for one room: SCTP ends on the server (RFC 8831), so a participant's chat
 * and file messages arrive on its publish connection's two pre-negotiated channels (ids 0 and
 * 1, as the mesh app uses them) and go out to every other participant on channels the server
 * opens on their subscribe connection with DCEP (RFC 8832): label 'chat' or 'files', protocol
 * = the sender's participant id, so each receiver knows who wrote what. Messages are relayed
 * unchanged, reliable and ordered.
 *
 * Flow control toward a receiver is the channel's bufferedAmount: a relayed message is queued on
 * the receiver's channel and its SCTP association takes from that queue only while its own
 * outbound queue is short (SctpAssociation: 128 KiB in werift), as congestion and the
 * receiver's window allow. The queue is bounded per receiver, over all its relay channels
 * together: a message that would take a receiver past MAX_BUFFERED_PER_RECEIVER bytes waiting
 * is dropped for that receiver only (counted in `dropped` and per receiver in `droppedFor`),
 * so one slow receiver neither grows the server's memory without bound nor slows the others.
 * A dropped file chunk fails the receiver's SHA-256 check (client/file-transfer.ts).
 */
import type { DataChannel } from '../rtc/sctp/index.js';
import { guarded } from '../util/guarded.js';
import type { WebRtcTransport } from '../rtc/WebRtcTransport.js';

export const RELAYED_CHANNELS = [
  { label: 'chat', id: 0 },
  { label: 'files', id: 1 },
] as const;
export type RelayedLabel = (typeof RELAYED_CHANNELS)[number]['label'];

/** Bytes waiting toward one receiver, over all its relay channels; past it its messages are dropped. */
export const MAX_BUFFERED_PER_RECEIVER = 16 * 1024 * 1024;

interface Receiver {
  transport: WebRtcTransport;
  /** `${senderId}\n${label}` → the channel we opened toward this receiver. */
  channels: Map<string, DataChannel>;
  dropped: number;
}

export class DataRelay {
  private readonly receivers = new Map<string, Receiver>();
  relayed = 0;
  dropped = 0;

  /** The participant's publish transport: listen on its chat/files channels once SCTP is up. */
  addPublisher(participantId: string, transport: WebRtcTransport): void {
    const attach = (): void => {
      for (const { label, id } of RELAYED_CHANNELS) {
        const ch = transport.createDataChannel({ label, negotiatedId: id, ordered: true });
        ch?.on(
          'message',
          guarded<string | Buffer>('sfu.relay.message', (data) => this.fanOut(participantId, label, data)),
        );
      }
    };
    if (transport.state === 'connected') attach();
    else transport.once('connected', guarded('sfu.relay.attach', attach));
  }

  /** The participant's subscribe transport: where others' messages go. */
  addSubscriber(participantId: string, transport: WebRtcTransport): void {
    this.receivers.set(participantId, { transport, channels: new Map(), dropped: 0 });
  }

  /** Bytes queued toward a receiver on all its relay channels (not yet taken by its SCTP). */
  bufferedFor(participantId: string): number {
    const r = this.receivers.get(participantId);
    return r ? bufferedOf(r) : 0;
  }

  /** Messages dropped for a receiver: over its bound, or its channel not open. */
  droppedFor(participantId: string): number {
    return this.receivers.get(participantId)?.dropped ?? 0;
  }

  remove(participantId: string): void {
    this.receivers.delete(participantId);
    for (const r of this.receivers.values()) {
      for (const [key, ch] of r.channels) {
        if (key.startsWith(`${participantId}\n`)) {
          ch.close();
          r.channels.delete(key);
        }
      }
    }
  }

  private fanOut(senderId: string, label: RelayedLabel, data: string | Buffer): void {
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    for (const [id, r] of this.receivers) {
      if (id === senderId) continue;
      const ch = this.channelFor(r, senderId, label);
      if (ch && bufferedOf(r) + size <= MAX_BUFFERED_PER_RECEIVER && ch.send(data)) {
        this.relayed++;
        continue;
      }
      this.dropped++;
      r.dropped++;
    }
  }

  private channelFor(r: Receiver, senderId: string, label: RelayedLabel): DataChannel | null {
    const key = `${senderId}\n${label}`;
    let ch = r.channels.get(key) ?? null;
    if (ch && ch.readyState !== 'closed') return ch;
    if (r.transport.state !== 'connected') return null;
    ch = r.transport.createDataChannel({ label, protocol: senderId, ordered: true });
    if (ch) r.channels.set(key, ch);
    return ch;
  }
}

function bufferedOf(r: Receiver): number {
  let bytes = 0;
  for (const ch of r.channels.values()) bytes += ch.bufferedAmount;
  return bytes;
}

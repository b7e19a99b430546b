/**
 * Data-channel relay for one room: SCTP ends on the server (RFC 8831), so a participant's chat
 * and file messages arrive on its publish connection's two pre-negotiated channels (ids 0 and
 * 1, as the mesh app uses them) and go out to every other participant on channels the server
 * opens on their subscribe connection with DCEP (RFC 8832): label 'chat' or 'files', protocol
 * = the sender's participant id, so each receiver knows who wrote what. Messages are relayed
 * unchanged, reliable and ordered.
 *
 * A receiver that cannot keep up (more than MAX_BUFFERED bytes waiting) loses messages rather
 * than growing the server's memory without bound; drops are counted.
 */
import type { DataChannel } from '../rtc/sctp/index.js';
import type { WebRtcTransport } from '../rtc/WebRtcTransport.js';

export const RELAYED_CHANNELS = [
  { label: 'chat', id: 0 },
  { label: 'files', id: 1 },
] as const;
export type RelayedLabel = (typeof RELAYED_CHANNELS)[number]['label'];

/** Per receiver and channel; above it messages for that receiver are dropped. */
export const MAX_BUFFERED = 16 * 1024 * 1024;

interface Receiver {
  transport: WebRtcTransport;
  /** `${senderId}\n${label}` → the channel we opened toward this receiver. */
  channels: Map<string, DataChannel>;
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
        ch?.on('message', (data) => this.fanOut(participantId, label, data));
      }
    };
    if (transport.state === 'connected') attach();
    else transport.once('connected', attach);
  }

  /** The participant's subscribe transport: where others' messages go. */
  addSubscriber(participantId: string, transport: WebRtcTransport): void {
    this.receivers.set(participantId, { transport, channels: new Map() });
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
    for (const [id, r] of this.receivers) {
      if (id === senderId) continue;
      const ch = this.channelFor(r, senderId, label);
      if (!ch || ch.bufferedAmount > MAX_BUFFERED) {
        this.dropped++;
        continue;
      }
      if (ch.send(data)) this.relayed++;
      else this.dropped++;
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

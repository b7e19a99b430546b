import { TypedEmitter } from '../../util/TypedEmitter.js';
import { guarded } from '../../util/guarded.js';
import { DataChannel, type DataChannelHost, type DataChannelInit, type DataChannelSink } from './data-channel.js';
import { DCEP_ACK_MESSAGE, encodeDcepOpen, parseDcep } from './dcep.js';
import { PPID_BINARY, PPID_BINARY_EMPTY, PPID_DCEP, PPID_STRING, PPID_STRING_EMPTY } from './ppid.js';
import { readSendState, type SctpSendState } from './sctp-diagnostics.js';
import { Rfc9260Sender, type SctpSenderCounters } from './sctp-sender.js';
import { createWeriftSctp, type WeriftSctp, type WeriftSctpPipe } from './werift-sctp.js';
import { InternalErrorCode, SwitchboardError } from '../../protocol/errors.js';

export interface SctpAssociationOptions {
  /** Carries SCTP packets, normally DtlsTransport.sendApplicationData. */
  transport: { send(buf: Buffer): void };
  /** Our DTLS role: the DTLS client sends INIT and uses even stream ids (RFC 8832 §6). */
  role: 'server' | 'client';
  /** SDP a=sctp-port (RFC 8841 §5); default 5000. */
  port?: number;
  remotePort?: number;
  /** Largest message we send or accept (RFC 8841 §6 a=max-message-size); default 262144. */
  maxMessageSize?: number;
}

export interface CreateChannelOptions {
  label: string;
  protocol?: string;
  ordered?: boolean;
  maxRetransmits?: number;
  /** Milliseconds. */
  maxPacketLifeTime?: number;
  /** Pre-negotiated channel on this stream id: no DCEP (RFC 8832 §4 note, W3C `negotiated`). */
  negotiatedId?: number;
}

export type SctpAssociationState = 'new' | 'connecting' | 'open' | 'closed';

export interface SctpAssociationEvents {
  [event: string]: unknown[];
  /** A channel the peer opened with DATA_CHANNEL_OPEN; we have acknowledged it. */
  channel: [channel: DataChannel];
  open: [];
  closed: [];
}

export interface SctpStats {
  packetsIn: number;
  /** SCTP packets werift refused (bad checksum, unknown chunk, …). */
  badPackets: number;
  messagesIn: number;
  messagesOut: number;
  dcepMalformed: number;
  /** DCEP OPEN on a stream id of our parity or one in use, or ACK with no pending OPEN. */
  dcepRejected: number;
  /** User messages on a stream with no channel (no DCEP, not pre-negotiated). */
  unknownStreamMessages: number;
  unknownPpidMessages: number;
  oversizedMessages: number;
}

/** Channels are created only while werift can still take streams (RFC 8831 §6.2: 65535 max). */
const MAX_STREAM_ID = 65534;
/** How much of our data may wait in werift's outbound queue; the rest waits in ours. */
const WERIFT_QUEUE_HIGH_WATER_BYTES = 128 * 1024;
/** How long a reset stream id stays reserved if the peer never resets its direction. */
const RESET_DRAIN_MS = 5_000;
const DEFAULT_PORT = 5000;
const DEFAULT_MAX_MESSAGE_SIZE = 262_144;

interface ChannelEntry {
  channel: DataChannel;
  sink: DataChannelSink;
  /** We sent DATA_CHANNEL_OPEN and await the ACK. */
  awaitingAck: boolean;
  /** DCEP OPEN still to send once the association is up. */
  openMessage: Buffer | null;
}

interface QueuedSend {
  entry: ChannelEntry;
  /** null: a stream reset request, queued behind this channel's data. */
  ppid: number | null;
  data: Buffer;
  bytes: number;
}

/**
 * An SCTP association (RFC 4960, run by werift) over DTLS with WebRTC data channels
 * (RFC 8831) opened by DCEP (RFC 8832) or pre-negotiated. Our own send queue feeds
 * werift only while its outbound queue is short, which gives channels a real
 * bufferedAmount and keeps werift's per-message promises few.
 */
export class SctpAssociation extends TypedEmitter<SctpAssociationEvents> implements DataChannelHost {
  readonly stats: SctpStats = {
    packetsIn: 0,
    badPackets: 0,
    messagesIn: 0,
    messagesOut: 0,
    dcepMalformed: 0,
    dcepRejected: 0,
    unknownStreamMessages: 0,
    unknownPpidMessages: 0,
    oversizedMessages: 0,
  };
  readonly maxMessageSize: number;
  private currentState: SctpAssociationState = 'new';
  private readonly sctp: WeriftSctp;
  private readonly sender: Rfc9260Sender;
  private readonly sctpReceive: (buf: Buffer) => Promise<void>;
  private readonly role: 'server' | 'client';
  private readonly remotePort: number;
  private readonly channels = new Map<number, ChannelEntry>();
  private readonly queue: QueuedSend[] = [];
  private queueHead = 0;
  private pumpScheduled = false;
  /**
   * Stream ids whose channel closed on the first reset event but whose other
   * direction is not reset yet (RFC 8831 §6.7 resets both). werift reports both
   * directions through the same event, so an id is reused only after the second
   * one, or after RESET_DRAIN_MS if the peer never resets its side.
   */
  private readonly draining = new Map<number, NodeJS.Timeout>();

  constructor(opts: SctpAssociationOptions) {
    super();
    this.role = opts.role;
    this.maxMessageSize = opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    const port = opts.port ?? DEFAULT_PORT;
    this.remotePort = opts.remotePort ?? DEFAULT_PORT;
    const transport = opts.transport;
    const pipe: WeriftSctpPipe = {
      send: async (buf) => transport.send(buf),
      close: () => undefined,
    };
    this.sctp = createWeriftSctp(pipe, port, opts.role === 'client');
    this.sender = new Rfc9260Sender(this.sctp);
    // werift's own receive hook drops the promise of its async handler, so a bad
    // packet would become an unhandled rejection; we call the handler and catch.
    const internals = this.sctp as unknown as { handleData(buf: Buffer): Promise<void> };
    this.sctpReceive = internals.handleData.bind(this.sctp);
    pipe.onData = undefined;
    // werift calls these from its packet handling and timers: each is an entry point.
    this.sctp.stateChanged.connected.subscribe(guarded('sctp.state', () => this.onAssociationUp()));
    this.sctp.stateChanged.closed.subscribe(guarded('sctp.state', () => this.onAssociationDown()));
    this.sctp.onReceive.subscribe(
      guarded('sctp.message', (streamId: number, ppid: number, data: Buffer) => this.onMessage(streamId, ppid, data)),
    );
    this.sctp.onReconfigStreams.subscribe(guarded('sctp.reconfig', (ids: number[]) => this.onStreamsReset(ids)));
    this.sctp.flush.subscribe(guarded('sctp.flush', () => this.schedulePump()));
    this.sctp.onSackReceived = async () => this.schedulePump();
  }

  get state(): SctpAssociationState {
    return this.currentState;
  }

  /** The sending side's congestion and window state, and what waits in our own queue. */
  sendState(): SctpSendState & SctpSenderCounters & { queuedMessages: number } {
    return { ...readSendState(this.sctp), ...this.sender.counters, queuedMessages: this.queue.length - this.queueHead };
  }

  /** Starts the association; the DTLS client sends INIT (RFC 8841 §10.2 leaves it to either). */
  start(): void {
    if (this.currentState !== 'new') return;
    this.currentState = 'connecting';
    this.sctp.start(this.remotePort).catch(() => this.onAssociationDown());
  }

  /** One DTLS application-data record. Bad packets are counted, never thrown. */
  handle(buf: Buffer): void {
    if (this.currentState === 'closed') return;
    this.stats.packetsIn++;
    this.sctpReceive(buf).catch(() => {
      this.stats.badPackets++;
    });
  }

  createChannel(opts: CreateChannelOptions): DataChannel {
    if (this.currentState === 'closed') throw new SwitchboardError(InternalErrorCode.Closed, 'association closed');
    const negotiated = opts.negotiatedId !== undefined;
    const id = negotiated ? (opts.negotiatedId as number) : this.allocateStreamId();
    if (!Number.isInteger(id) || id < 0 || id > MAX_STREAM_ID) throw new RangeError(`bad stream id ${id}`);
    if (this.channels.has(id) || this.draining.has(id))
      throw new SwitchboardError(InternalErrorCode.InvalidArgument, `stream ${id} in use or still resetting`);
    if (opts.maxRetransmits !== undefined && opts.maxPacketLifeTime !== undefined) {
      throw new TypeError('maxRetransmits and maxPacketLifeTime are exclusive'); // W3C RTCDataChannelInit
    }
    const init: DataChannelInit = {
      id,
      label: opts.label,
      protocol: opts.protocol ?? '',
      ordered: opts.ordered ?? true,
      maxRetransmits: opts.maxRetransmits ?? null,
      maxPacketLifeTime: opts.maxPacketLifeTime ?? null,
      negotiated,
    };
    let openMessage: Buffer | null = null;
    if (!negotiated) {
      openMessage = encodeDcepOpen({ ...init, priority: 0 });
      if (!openMessage) throw new RangeError('label or protocol longer than 65535 bytes');
    }
    const { channel, sink } = DataChannel.attach(init, this);
    const entry: ChannelEntry = { channel, sink, awaitingAck: !negotiated, openMessage };
    this.channels.set(id, entry);
    if (this.currentState === 'open') this.activate(entry);
    return channel;
  }

  /** Aborts the association (RFC 4960 §9.1) and closes every channel. */
  close(): void {
    if (this.currentState === 'closed') return;
    this.sctp.stop().catch(() => undefined);
    this.onAssociationDown();
  }

  // DataChannelHost

  enqueue(channel: DataChannel, data: string | Buffer): boolean {
    const entry = this.channels.get(channel.id);
    if (!entry || entry.channel !== channel || this.currentState !== 'open') return false;
    const isString = typeof data === 'string';
    const payload = isString ? Buffer.from(data, 'utf8') : data;
    if (payload.length > this.maxMessageSize) {
      this.stats.oversizedMessages++;
      return false;
    }
    // RFC 8831 §6.6: SCTP has no empty messages; send one zero byte with PPID 56/57.
    const empty = payload.length === 0;
    const ppid = isString ? (empty ? PPID_STRING_EMPTY : PPID_STRING) : empty ? PPID_BINARY_EMPTY : PPID_BINARY;
    entry.sink.queued(payload.length);
    this.queue.push({ entry, ppid, data: empty ? Buffer.alloc(1) : payload, bytes: payload.length });
    this.schedulePump();
    return true;
  }

  requestClose(channel: DataChannel): void {
    const entry = this.channels.get(channel.id);
    if (!entry || entry.channel !== channel) return;
    entry.sink.closing();
    if (this.currentState !== 'open') {
      this.forget(entry, false);
      return;
    }
    // Queued behind the channel's data so everything sent before close() goes first.
    this.queue.push({ entry, ppid: null, data: Buffer.alloc(0), bytes: 0 });
    this.schedulePump();
  }

  // werift events

  private onAssociationUp(): void {
    if (this.currentState === 'closed' || this.currentState === 'open') return;
    this.currentState = 'open';
    for (const entry of [...this.channels.values()]) this.activate(entry);
    this.emit('open');
  }

  private onAssociationDown(): void {
    if (this.currentState === 'closed') return;
    this.currentState = 'closed';
    this.queue.length = 0;
    this.queueHead = 0;
    for (const timer of this.draining.values()) clearTimeout(timer);
    this.draining.clear();
    for (const entry of [...this.channels.values()]) this.forget(entry, false);
    this.emit('closed');
  }

  private activate(entry: ChannelEntry): void {
    if (entry.openMessage) {
      // RFC 8832 §6: OPEN goes reliable and ordered; data may follow before the ACK.
      this.sendRaw(entry.channel.id, PPID_DCEP, entry.openMessage, true);
      entry.openMessage = null;
    }
    entry.sink.open();
  }

  private onMessage(streamId: number, ppid: number, data: Buffer): void {
    try {
      this.stats.messagesIn++;
      if (ppid === PPID_DCEP) {
        this.onDcep(streamId, data);
        return;
      }
      const entry = this.channels.get(streamId);
      if (!entry) {
        this.stats.unknownStreamMessages++;
        return;
      }
      if (data.length > this.maxMessageSize) {
        this.stats.oversizedMessages++;
        return;
      }
      // RFC 8832 §6: a user message on the stream implies the peer saw our OPEN.
      entry.awaitingAck = false;
      switch (ppid) {
        case PPID_STRING:
          entry.sink.message(data.toString('utf8'));
          break;
        case PPID_BINARY:
          entry.sink.message(data);
          break;
        case PPID_STRING_EMPTY:
          entry.sink.message('');
          break;
        case PPID_BINARY_EMPTY:
          entry.sink.message(Buffer.alloc(0));
          break;
        default:
          this.stats.unknownPpidMessages++;
      }
    } catch {
      // A listener threw; werift must not see it.
    }
  }

  private onDcep(streamId: number, data: Buffer): void {
    const message = parseDcep(data);
    if (!message) {
      this.stats.dcepMalformed++;
      return;
    }
    const existing = this.channels.get(streamId);
    if (message.type === 'ack') {
      if (existing?.awaitingAck) existing.awaitingAck = false;
      else this.stats.dcepRejected++;
      return;
    }
    // RFC 8832 §6: the peer opens on ids of the other parity than ours.
    if (streamId % 2 === this.ourParity()) {
      this.stats.dcepRejected++;
      return;
    }
    if (existing) {
      // A retransmitted OPEN for a channel we already accepted: ACK again.
      if (!existing.channel.negotiated && existing.openMessage === null && !existing.awaitingAck) {
        this.sendRaw(streamId, PPID_DCEP, DCEP_ACK_MESSAGE, true);
      } else {
        this.stats.dcepRejected++;
      }
      return;
    }
    const { channel, sink } = DataChannel.attach(
      {
        id: streamId,
        label: message.label,
        protocol: message.protocol,
        ordered: message.ordered,
        maxRetransmits: message.maxRetransmits,
        maxPacketLifeTime: message.maxPacketLifeTime,
        negotiated: false,
      },
      this,
    );
    const entry: ChannelEntry = { channel, sink, awaitingAck: false, openMessage: null };
    this.endDrain(streamId);
    this.channels.set(streamId, entry);
    this.sendRaw(streamId, PPID_DCEP, DCEP_ACK_MESSAGE, true);
    sink.open();
    this.emit('channel', channel);
  }

  /** Incoming reset (peer closed) or completion of ours (RFC 8831 §6.7). */
  private onStreamsReset(ids: number[]): void {
    for (const id of ids) {
      const entry = this.channels.get(id);
      if (entry) this.forget(entry, true);
      else this.endDrain(id);
    }
  }

  private forget(entry: ChannelEntry, oneDirectionReset: boolean): void {
    const id = entry.channel.id;
    if (this.channels.get(id) === entry) {
      this.channels.delete(id);
      if (oneDirectionReset) {
        const timer = setTimeout(
          guarded('sctp.reset-drain', () => this.draining.delete(id)),
          RESET_DRAIN_MS,
        );
        timer.unref();
        this.draining.set(id, timer);
      }
    }
    entry.sink.closing();
    entry.sink.closed();
  }

  private endDrain(id: number): void {
    const timer = this.draining.get(id);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.draining.delete(id);
  }

  // sending

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(this.runPump);
  }

  private readonly runPump = guarded('sctp.pump', () => {
    this.pumpScheduled = false;
    this.pump();
  });

  /** Moves queued messages into werift while its own outbound queue is short. */
  private pump(): void {
    while (this.queueHead < this.queue.length && this.currentState === 'open' && this.weriftQueuedBytes() < WERIFT_QUEUE_HIGH_WATER_BYTES) {
      const item = this.queue[this.queueHead] as QueuedSend;
      this.queue[this.queueHead] = undefined as unknown as QueuedSend;
      this.queueHead++;
      const channel = item.entry.channel;
      if (this.channels.get(channel.id) !== item.entry) continue; // closed meanwhile
      if (item.ppid === null) {
        this.resetStream(channel.id);
        continue;
      }
      const expiry = channel.maxPacketLifeTime !== null ? Date.now() / 1000 + channel.maxPacketLifeTime / 1000 : undefined;
      this.stats.messagesOut++;
      this.sctp
        .send(channel.id, item.ppid, item.data, {
          ordered: channel.ordered,
          maxRetransmits: channel.maxRetransmits ?? undefined,
          expiry,
        })
        .catch(() => undefined);
      item.entry.sink.sent(item.bytes);
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private sendRaw(streamId: number, ppid: number, data: Buffer, ordered: boolean): void {
    this.stats.messagesOut++;
    this.sctp.send(streamId, ppid, data, { ordered }).catch(() => undefined);
  }

  /** RFC 6525 outgoing SSN reset of one stream, as werift's own RTCSctpTransport does it. */
  private resetStream(id: number): void {
    if (!this.sctp.reconfigQueue.includes(id)) this.sctp.reconfigQueue.push(id);
    this.sctp.transmitReconfigRequest().catch(() => undefined);
  }

  private weriftQueuedBytes(): number {
    let bytes = 0;
    for (const chunk of this.sctp.outboundQueue) bytes += chunk.userData?.length ?? 0;
    return bytes;
  }

  private ourParity(): number {
    return this.role === 'client' ? 0 : 1;
  }

  private allocateStreamId(): number {
    for (let id = this.ourParity(); id <= MAX_STREAM_ID; id += 2) {
      if (!this.channels.has(id) && !this.draining.has(id)) return id;
    }
    throw new RangeError('no free stream id');
  }
}

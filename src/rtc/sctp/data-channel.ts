import { TypedEmitter } from '../../util/TypedEmitter.js';

export type DataChannelState = 'connecting' | 'open' | 'closing' | 'closed';

export interface DataChannelEvents {
  [event: string]: unknown[];
  open: [];
  message: [data: string | Buffer];
  bufferedamountlow: [];
  close: [];
}

/** A channel's fixed parameters (RFC 8831 §6.4, RFC 8832 §5.1). */
export interface DataChannelInit {
  id: number;
  label: string;
  protocol: string;
  ordered: boolean;
  maxRetransmits: number | null;
  /** Milliseconds. */
  maxPacketLifeTime: number | null;
  negotiated: boolean;
}

/** What a channel asks of its association. */
export interface DataChannelHost {
  /** Queues one message; false if it cannot be sent (too large, association gone). */
  enqueue(channel: DataChannel, data: string | Buffer): boolean;
  /** Starts the closing handshake (RFC 8831 §6.7 stream reset). */
  requestClose(channel: DataChannel): void;
}

/** How the association drives a channel; kept off the channel's public surface. */
export interface DataChannelSink {
  open(): void;
  message(data: string | Buffer): void;
  /** `bytes` of this channel's queued messages went to SCTP. */
  sent(bytes: number): void;
  queued(bytes: number): void;
  closing(): void;
  closed(): void;
}

/** One WebRTC data channel (RFC 8831) on an {@link SctpAssociation} stream. */
export class DataChannel extends TypedEmitter<DataChannelEvents> {
  readonly id: number;
  readonly label: string;
  readonly protocol: string;
  readonly ordered: boolean;
  readonly maxRetransmits: number | null;
  readonly maxPacketLifeTime: number | null;
  readonly negotiated: boolean;
  /** bufferedamountlow fires when bufferedAmount falls to or below this (W3C WebRTC §6.2). */
  bufferedAmountLowThreshold = 0;
  private state: DataChannelState = 'connecting';
  private buffered = 0;

  private constructor(
    init: DataChannelInit,
    private readonly host: DataChannelHost,
  ) {
    super();
    this.id = init.id;
    this.label = init.label;
    this.protocol = init.protocol;
    this.ordered = init.ordered;
    this.maxRetransmits = init.maxRetransmits;
    this.maxPacketLifeTime = init.maxPacketLifeTime;
    this.negotiated = init.negotiated;
  }

  /** For SctpAssociation: a channel and the handle that drives it. */
  static attach(init: DataChannelInit, host: DataChannelHost): { channel: DataChannel; sink: DataChannelSink } {
    const channel = new DataChannel(init, host);
    return { channel, sink: channel.makeSink() };
  }

  get readyState(): DataChannelState {
    return this.state;
  }

  /** Bytes handed to send() that have not gone to SCTP yet. */
  get bufferedAmount(): number {
    return this.buffered;
  }

  /** Queues a message; false if the channel is not open or the message cannot be sent. */
  send(data: string | Buffer): boolean {
    if (this.state !== 'open') return false;
    return this.host.enqueue(this, data);
  }

  close(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.host.requestClose(this);
  }

  private makeSink(): DataChannelSink {
    return {
      open: () => {
        if (this.state !== 'connecting') return;
        this.state = 'open';
        this.emit('open');
      },
      message: (data) => {
        if (this.state === 'open' || this.state === 'closing') this.emit('message', data);
      },
      queued: (bytes) => {
        this.buffered += bytes;
      },
      sent: (bytes) => {
        const before = this.buffered;
        this.buffered = Math.max(0, before - bytes);
        if (before > this.bufferedAmountLowThreshold && this.buffered <= this.bufferedAmountLowThreshold) {
          this.emit('bufferedamountlow');
        }
      },
      closing: () => {
        if (this.state === 'connecting' || this.state === 'open') this.state = 'closing';
      },
      closed: () => {
        if (this.state === 'closed') return;
        this.state = 'closed';
        this.buffered = 0;
        this.emit('close');
      },
    };
  }
}

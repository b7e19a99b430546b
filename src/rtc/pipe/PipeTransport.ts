/**
 * PipeTransport: one end of a pipe between two Routers (two workers, or two nodes): a network
 * transport of the shape the media core's MediaTransport asks for, so a Router runs an
 * SfuTransport over it (`router.createPipeTransport(id, pipe)`). One UDP socket, no ICE, no DTLS: the
 * two ends learn each other's address and SRTP master key from their `localParameters()`,
 * carried by the caller's control channel, and `connect()` with them.
 *
 * Everything on the wire is SRTP/SRTCP with AEAD_AES_128_GCM (RFC 7714): each end protects
 * what it sends with its own fresh random key and unprotects with the far end's. A datagram is
 * taken only from the connected remote address and only when it authenticates (and is not a
 * replay); anything else is dropped and counted, so a pipe between nodes is authenticated.
 * RTP and RTCP share the socket and are told apart by RFC 5761 §4 (second byte 192–223 is
 * RTCP): a piped codec must not use payload types 64–95.
 *
 * A socket error closes the transport with the error as the reason (a pipe does not limp on);
 * so does silence: the SfuTransport over each end sends a receiver report every second even
 * with no media, so nothing authentic from the far end for `silenceTimeoutMs` (10 s by
 * default, counted from `connect()`) means it is gone (a process killed, a node down). The
 * SfuTransport above closes with it, and the caller learns it from 'closed'.
 */
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { SocketAddress, isIP } from 'node:net';
import { SwitchboardError } from '../../protocol/errors.js';
import { bindUdp, closeUdp, createUdpSocket, sendDatagram } from '../../net/udp.js';
import { guarded } from '../../util/guarded.js';
import { TypedEmitter } from '../../util/TypedEmitter.js';
import { SrtpContext } from '../srtp/index.js';
import {
  PIPE_SRTP_SUITE,
  newPipeSrtpParameters,
  parsePipeTransportParameters,
  pipeMasterKeys,
  type PipeSrtpParameters,
  type PipeTransportParameters,
} from './parameters.js';

/** Kernel buffers asked for: a keyframe burst of several streams must wait there, not be dropped. */
const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * Datagrams libuv may hold in user space when the kernel buffer is full; past this, new ones are
 * dropped and counted (the far end's NACKs recover video) instead of growing without bound.
 */
export const PIPE_MAX_SEND_QUEUE = 1024;
const FIXED_HEADER = 12;
export const DEFAULT_PIPE_SILENCE_TIMEOUT_MS = 10_000;

export interface PipeTransportOptions {
  /** Local address to bind (an IP literal). */
  address: string;
  /** Local port; 0 (the default) lets the OS choose. */
  port?: number;
  /** The address the far end sends to, when it is not `address` (a wildcard bind, NAT). */
  announcedIp?: string;
  socketBufferBytes?: number;
  /** Close when nothing authentic arrived for this long after connect (0: never). */
  silenceTimeoutMs?: number;
}

/** Where decrypted packets go (the media core's MediaPacketReceiver, matched by shape: rtc does not import sfu). */
export interface PipePacketReceiver {
  onRtp(packet: Buffer): void;
  onRtcp(packet: Buffer): void;
}

export interface PipeTransportEvents {
  closed: [reason: string];
}

/** What crossed the socket, and what was refused and why. */
export class PipeCounters {
  packetsIn = 0;
  bytesIn = 0;
  packetsOut = 0;
  bytesOut = 0;
  /** Datagrams from the connected remote that failed SRTP/SRTCP authentication or replay checks. */
  droppedAuth = 0;
  /** Datagrams from any other address or port than the connected remote. */
  droppedWrongSource = 0;
  /** Datagrams that arrived before `connect()`. */
  droppedBeforeConnect = 0;
  /** Datagrams from the remote too short or not RTP version 2. */
  droppedMalformed = 0;
  /** Packets the core sent before `connect()` (nowhere to send them yet). */
  unsentBeforeConnect = 0;
  /** Packets not sent because the socket's user-space send queue held PIPE_MAX_SEND_QUEUE. */
  unsentQueueFull = 0;
}

export class PipeTransport extends TypedEmitter<PipeTransportEvents> {
  readonly counters = new PipeCounters();
  private readonly local: PipeTransportParameters;
  private readonly srtpOut: SrtpContext;
  private srtpIn: SrtpContext | null = null;
  private remote: PipeTransportParameters | null = null;
  private receiver: PipePacketReceiver | null = null;
  private closedReason: string | null = null;
  private lastHeardAt = 0;
  private silenceTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly socket: UdpSocket,
    private readonly family: 4 | 6,
    ip: string,
    port: number,
    private readonly silenceTimeoutMs: number,
  ) {
    super();
    const srtp: PipeSrtpParameters = newPipeSrtpParameters();
    this.local = { ip, port, srtp };
    this.srtpOut = new SrtpContext(PIPE_SRTP_SUITE, pipeMasterKeys(srtp));
    socket.on(
      'message',
      guarded('rtc.pipe.message', (msg: Buffer, rinfo: RemoteInfo) => this.onDatagram(msg, rinfo)),
    );
    socket.on(
      'error',
      guarded('rtc.pipe.error', (err: Error) => this.close(`socket error: ${err.message}`)),
    );
  }

  /** Binds a socket on `opts.address` (port `opts.port`, 0 by default); rejects with 'unavailable' when it cannot. */
  static async open(opts: PipeTransportOptions): Promise<PipeTransport> {
    const family = isIP(opts.address);
    if (family === 0) throw new SwitchboardError('invalid-argument', `pipe address ${opts.address} is not an IP address`, 'address');
    const announced = opts.announcedIp ?? opts.address;
    if (isIP(announced) !== family)
      throw new SwitchboardError('invalid-argument', `announced ip ${announced} is not an IPv${family} address`, 'announcedIp');
    if (announced === '0.0.0.0' || announced === '::')
      throw new SwitchboardError('invalid-argument', 'a pipe bound on a wildcard address needs an announced ip', 'announcedIp');
    const silence = opts.silenceTimeoutMs ?? DEFAULT_PIPE_SILENCE_TIMEOUT_MS;
    if (!Number.isFinite(silence) || silence < 0)
      throw new SwitchboardError('invalid-argument', 'silenceTimeoutMs must be a non-negative number', 'silenceTimeoutMs');
    const socket = createUdpSocket(opts.address, opts.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES);
    let port: number;
    try {
      port = await bindUdp(socket, opts.port ?? 0, opts.address);
    } catch (err) {
      throw new SwitchboardError('unavailable', `pipe socket could not bind ${opts.address}:${opts.port ?? 0}: ${(err as Error).message}`);
    }
    return new PipeTransport(socket, family as 4 | 6, announced, port, silence);
  }

  /** Where this end listens and the key of what it sends: for the far end's `connect()`. */
  localParameters(): PipeTransportParameters {
    return { ip: this.local.ip, port: this.local.port, srtp: { ...this.local.srtp } };
  }

  get connected(): boolean {
    return this.remote !== null;
  }
  get closed(): boolean {
    return this.closedReason !== null;
  }
  get closeReason(): string | null {
    return this.closedReason;
  }
  /** The far end's address, once connected. */
  get remoteAddress(): { ip: string; port: number } | null {
    return this.remote && { ip: this.remote.ip, port: this.remote.port };
  }

  /**
   * The far end's `localParameters()` (as they came over the control channel: checked here).
   * Once only: a pipe's far end does not change. Throws SwitchboardError ('invalid-argument'
   * naming the field, or 'closed').
   */
  connect(remoteParameters: unknown): void {
    if (this.closed) throw new SwitchboardError('closed', 'pipe transport is closed');
    if (this.remote) throw new SwitchboardError('invalid-argument', 'pipe transport is already connected', 'remote');
    const remote = parsePipeTransportParameters(remoteParameters, this.family);
    // rinfo.address is in canonical form: compare against the same form.
    const ip = this.family === 6 ? new SocketAddress({ address: remote.ip, family: 'ipv6' }).address : remote.ip;
    this.srtpIn = new SrtpContext(PIPE_SRTP_SUITE, pipeMasterKeys(remote.srtp));
    this.remote = { ...remote, ip };
    if (this.silenceTimeoutMs > 0) {
      this.lastHeardAt = performance.now();
      this.silenceTimer = setInterval(
        guarded('rtc.pipe.silence-timer', () => this.checkSilence()),
        Math.max(10, Math.min(1000, this.silenceTimeoutMs / 4)),
      );
      this.silenceTimer.unref();
    }
  }

  setReceiver(receiver: PipePacketReceiver): void {
    this.receiver = receiver;
  }

  sendRtp(packet: Buffer): void {
    if (this.closedReason !== null) return;
    const remote = this.remote;
    if (!remote) {
      this.counters.unsentBeforeConnect++;
      return;
    }
    this.send(this.srtpOut.protectRtp(packet), remote);
  }

  sendRtcp(packet: Buffer): void {
    if (this.closedReason !== null) return;
    const remote = this.remote;
    if (!remote) {
      this.counters.unsentBeforeConnect++;
      return;
    }
    this.send(this.srtpOut.protectRtcp(packet), remote);
  }

  /** Closes the socket; 'closed' is emitted once, with `reason`. */
  close(reason = 'closed'): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.receiver = null;
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    void closeUdp(this.socket);
    this.emit('closed', reason);
    this.removeAllListeners();
  }

  /**
   * `data` is a view on the SRTP context's scratch buffer. When libuv cannot send at once it
   * keeps a reference, not a copy: a datagram sent while others wait is copied first so the
   * next protect cannot change it in the queue.
   */
  private send(data: Buffer, remote: PipeTransportParameters): void {
    const queued = this.socket.getSendQueueCount();
    if (queued >= PIPE_MAX_SEND_QUEUE) {
      this.counters.unsentQueueFull++;
      return;
    }
    if (sendDatagram(this.socket, queued > 0 ? Buffer.from(data) : data, remote.port, remote.ip)) {
      this.counters.packetsOut++;
      this.counters.bytesOut += data.length;
    }
  }

  private checkSilence(): void {
    const silent = performance.now() - this.lastHeardAt;
    if (silent >= this.silenceTimeoutMs) this.close(`remote silent for ${Math.round(silent)} ms`);
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    const receiver = this.receiver;
    if (this.closedReason !== null) return;
    const remote = this.remote;
    const srtp = this.srtpIn;
    const c = this.counters;
    if (!remote || !srtp) {
      c.droppedBeforeConnect++;
      return;
    }
    if (rinfo.port !== remote.port || rinfo.address !== remote.ip) {
      c.droppedWrongSource++;
      return;
    }
    if (msg.length < FIXED_HEADER || (msg[0] as number) >> 6 !== 2) {
      c.droppedMalformed++;
      return;
    }
    const pt = (msg[1] as number) & 0x7f;
    const rtcp = pt >= 64 && pt <= 95; // RFC 5761 §4: RTCP packet types 192–223
    const bytes = msg.length;
    const plain = rtcp ? srtp.unprotectRtcp(msg) : srtp.unprotectRtp(msg);
    if (!plain) {
      c.droppedAuth++;
      return;
    }
    c.packetsIn++;
    c.bytesIn += bytes;
    this.lastHeardAt = performance.now();
    if (!receiver) return;
    if (rtcp) receiver.onRtcp(plain);
    else receiver.onRtp(plain);
  }
}

/**
 * WebRtcTransport: one browser connection as the server sees it — an ICE-lite session on the
 * shared RTC port, DTLS on top (its certificate checked against the SDP fingerprint), SRTP
 * keyed from DTLS (RFC 5764 §4.2), and optionally SCTP for data channels (RFC 8261).
 *
 * Per packet: the ICE session hands over every non-STUN packet of its tuples; RFC 7983 §7
 * sorts DTLS (first byte 20–63) from RTP/RTCP (128–191), and RFC 5761 §4 sorts RTCP (packet
 * type 192–223) from RTP. Decrypted packets go straight to the transport's packet receiver
 * (wired once by its owner, no event hop); nothing is delivered before DTLS has keyed SRTP,
 * and nothing is sent in clear.
 */
import { DtlsTransport, type DtlsCertificate, type DtlsRole } from './dtls/index.js';
import { IceLiteSession } from './ice/IceLiteSession.js';
import type { RtcPort } from './RtcPort.js';
import { guarded } from '../util/guarded.js';
import { SctpAssociation, type CreateChannelOptions, type DataChannel } from './sctp/index.js';
import type { LocalTransportParameters } from './sdp/index.js';
import { SrtpContext, splitDtlsSrtpKeyingMaterial, srtpProfileById } from './srtp/index.js';
import { TypedEmitter } from '../util/TypedEmitter.js';

export interface WebRtcTransportOptions {
  id: string;
  port: RtcPort;
  certificate: DtlsCertificate;
  /** Terminate SCTP (data channels) on this transport. */
  sctp: boolean;
  consentTimeoutMs?: number | undefined;
}

/** From the remote SDP; `dtlsRole` is OUR role (the answer's a=setup decides it). */
export interface RemoteTransportParameters {
  iceUfrag: string;
  icePwd: string;
  fingerprints: { algorithm: string; value: string }[];
  dtlsRole: DtlsRole;
}

export type WebRtcTransportState = 'new' | 'connecting' | 'connected' | 'closed';

/** Where a transport's decrypted packets go (the SFU's transport). */
export interface MediaPacketReceiver {
  onRtp(packet: Buffer): void;
  onRtcp(packet: Buffer): void;
}

/** Until an owner wires one: decrypted packets are counted (rtpIn/rtcpIn) and dropped. */
const NO_RECEIVER: MediaPacketReceiver = { onRtp: () => {}, onRtcp: () => {} };

export interface WebRtcTransportEvents {
  connected: [];
  datachannel: [channel: DataChannel];
  closed: [reason: string];
}

export interface WebRtcTransportStats {
  rtpIn: number;
  rtcpIn: number;
  rtpOut: number;
  rtcpOut: number;
  /** SRTP/SRTCP packets that failed authentication or replay checks. */
  srtpRejected: number;
  /** Media arriving before SRTP was keyed, or sent before it: dropped. */
  notReady: number;
  /** DTLS datagrams that came before the remote description, kept and handed to DTLS once it started. */
  earlyDtls: number;
}

/** Early DTLS datagrams kept until the remote description arrives (a flight is a few). */
const MAX_EARLY_DTLS = 8;

export class WebRtcTransport extends TypedEmitter<WebRtcTransportEvents> {
  readonly id: string;
  readonly ice: IceLiteSession;
  private dtls: DtlsTransport | null = null;
  private srtpIn: SrtpContext | null = null;
  private srtpOut: SrtpContext | null = null;
  sctp: SctpAssociation | null = null;
  private readonly port: RtcPort;
  private readonly certificate: DtlsCertificate;
  private readonly wantSctp: boolean;
  private receiver: MediaPacketReceiver = NO_RECEIVER;
  private stateValue: WebRtcTransportState = 'new';
  private closeReasonValue: string | null = null;
  /**
   * DTLS records that came before the remote description was applied: the peer's checks
   * succeed against our ICE-lite answers as soon as it has our offer, so its ClientHello can
   * beat its answer over the WebSocket. Dropping it cost a 1 s DTLS retransmission per join.
   */
  private earlyDtls: Buffer[] = [];
  readonly stats: WebRtcTransportStats = { rtpIn: 0, rtcpIn: 0, rtpOut: 0, rtcpOut: 0, srtpRejected: 0, notReady: 0, earlyDtls: 0 };

  constructor(opts: WebRtcTransportOptions) {
    super();
    this.id = opts.id;
    this.port = opts.port;
    this.certificate = opts.certificate;
    this.wantSctp = opts.sctp;
    this.ice = new IceLiteSession({ consentTimeoutMs: opts.consentTimeoutMs });
    this.ice.setPacketReceiver((buf) => this.onPacket(buf));
    this.ice.on('consent-expired', () => {
      const t = this.ice.selectedTuple;
      this.close(
        `ICE consent expired (RFC 7675): path ${t ? t.id : 'none'}, ${this.ice.tuples.size} known paths, checks ${JSON.stringify(this.ice.stats)}`,
      );
    });
    this.port.addSession(this.ice);
  }

  get state(): WebRtcTransportState {
    return this.stateValue;
  }

  /** Where decrypted RTP and RTCP go from now on. */
  setReceiver(receiver: MediaPacketReceiver): void {
    this.receiver = receiver;
  }

  get packetReceiver(): MediaPacketReceiver {
    return this.receiver;
  }

  /** Why the transport closed (null while open): for logs and diagnostics. */
  get closeReason(): string | null {
    return this.closeReasonValue;
  }

  /** Our ICE credentials, DTLS fingerprint and candidates, for the SDP we send. */
  get localParameters(): LocalTransportParameters {
    return {
      iceUfrag: this.ice.localUfrag,
      icePwd: this.ice.localPassword,
      fingerprint: this.certificate.fingerprint,
      candidates: this.port.localCandidates(),
    };
  }

  /**
   * Applies the remote description's transport parameters. The first call starts DTLS in
   * `dtlsRole`; later calls (renegotiation) may only repeat them.
   */
  connect(remote: RemoteTransportParameters): void {
    if (this.stateValue === 'closed') return;
    this.ice.setRemoteCredentials(remote.iceUfrag, remote.icePwd);
    if (this.dtls) return;
    this.stateValue = 'connecting';
    const dtls = new DtlsTransport({
      role: remote.dtlsRole,
      certificate: this.certificate,
      remoteFingerprints: remote.fingerprints,
      link: {
        send: (buf) => {
          this.ice.send(buf);
        },
      },
    });
    this.dtls = dtls;
    dtls.on('connected', (info) => {
      const profile = srtpProfileById(info.srtpProfileId);
      if (!profile) {
        this.close(`DTLS negotiated SRTP profile ${info.srtpProfileId}, which we do not support`);
        return;
      }
      const keys = splitDtlsSrtpKeyingMaterial(info.keyingMaterial, profile, remote.dtlsRole === 'client');
      this.srtpIn = new SrtpContext(profile, keys.remote);
      this.srtpOut = new SrtpContext(profile, keys.local);
      if (this.wantSctp) this.startSctp(remote.dtlsRole);
      this.stateValue = 'connected';
      this.emit('connected');
    });
    dtls.on(
      'data',
      guarded<Buffer>('sctp.packet', (buf) => this.sctp?.handle(buf)),
    );
    dtls.on('failed', (reason) => this.close(`DTLS failed: ${reason}`));
    dtls.on('closed', () => this.close('DTLS closed by the remote'));
    if (remote.dtlsRole === 'client') {
      // The client speaks first, and only once ICE has a path.
      if (this.ice.selectedTuple) dtls.start();
      else this.ice.once('tuple-selected', () => dtls.start());
    } else {
      dtls.start();
    }
    const early = this.earlyDtls;
    this.earlyDtls = [];
    this.stats.earlyDtls += early.length;
    for (const record of early) dtls.handle(record);
  }

  sendRtp(packet: Buffer): void {
    const srtp = this.srtpOut;
    if (!srtp) {
      this.stats.notReady++;
      return;
    }
    if (this.ice.send(srtp.protectRtp(packet))) this.stats.rtpOut++;
  }

  sendRtcp(packet: Buffer): void {
    const srtp = this.srtpOut;
    if (!srtp) {
      this.stats.notReady++;
      return;
    }
    if (this.ice.send(srtp.protectRtcp(packet))) this.stats.rtcpOut++;
  }

  /** null when SCTP is not up (or the association refuses, e.g. a stream id still resetting). */
  createDataChannel(init: CreateChannelOptions): DataChannel | null {
    if (!this.sctp) return null;
    try {
      return this.sctp.createChannel(init);
    } catch {
      return null;
    }
  }

  close(reason = 'closed'): void {
    if (this.stateValue === 'closed') return;
    this.stateValue = 'closed';
    this.closeReasonValue = reason;
    this.earlyDtls = [];
    this.sctp?.close();
    this.dtls?.close();
    this.port.removeSession(this.ice);
    this.ice.close();
    this.receiver = NO_RECEIVER;
    this.emit('closed', reason);
    this.removeAllListeners();
  }

  private onPacket(buf: Buffer): void {
    const b0 = buf[0] as number;
    if (b0 >= 20 && b0 <= 63) {
      if (this.dtls) this.dtls.handle(buf);
      else if (this.earlyDtls.length < MAX_EARLY_DTLS) this.earlyDtls.push(Buffer.from(buf));
      return;
    }
    if (b0 < 128 || b0 > 191 || buf.length < 12) return;
    const pt = (buf[1] as number) & 0x7f;
    const isRtcp = pt >= 64 && pt <= 95; // RFC 5761 §4: RTCP packet types 192–223
    const srtp = this.srtpIn;
    if (!srtp) {
      this.stats.notReady++;
      return;
    }
    if (isRtcp) {
      const plain = srtp.unprotectRtcp(buf);
      if (!plain) {
        this.stats.srtpRejected++;
        return;
      }
      this.stats.rtcpIn++;
      this.receiver.onRtcp(plain);
    } else {
      const plain = srtp.unprotectRtp(buf);
      if (!plain) {
        this.stats.srtpRejected++;
        return;
      }
      this.stats.rtpIn++;
      this.receiver.onRtp(plain);
    }
  }

  private startSctp(dtlsRole: DtlsRole): void {
    const dtls = this.dtls as DtlsTransport;
    const sctp = new SctpAssociation({ transport: { send: (buf) => dtls.sendApplicationData(buf) }, role: dtlsRole });
    this.sctp = sctp;
    sctp.on('channel', (ch) => this.emit('datachannel', ch));
    sctp.start();
  }
}

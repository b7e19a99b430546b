/**
 * A headless WebRTC peer for bench/sfu-forward.ts, built from Switchboard's own primitives in
 * their client roles, with no browser: one UDP socket; ICE as the controlling full agent
 * toward the SFU's ICE-lite (RFC 8445 §7.2.2: a Binding request with USERNAME
 * "serverUfrag:ourUfrag", PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY keyed
 * with the server's password, FINGERPRINT); DTLS in the client role (src/rtc/dtls); SRTP keyed
 * from it (RFC 5764 §4.2, src/rtc/srtp). Consent checks (RFC 7675) every CONSENT_INTERVAL_MS
 * keep the server's transport open.
 *
 * Inbound datagrams are sorted by first byte (RFC 7983 §7) and RTP from RTCP by payload type
 * (RFC 5761 §4); decrypted RTP and RTCP go to `onRtp` / `onRtcp`.
 */
import { randomBytes } from 'node:crypto';
import type { Socket as UdpSocket } from 'node:dgram';
import { DtlsTransport, type DtlsCertificate } from '../../src/rtc/dtls/index.js';
import type { CertificateFingerprint } from '../../src/rtc/dtls/index.js';
import { randomIceString } from '../../src/rtc/ice/credentials.js';
import { SrtpContext, splitDtlsSrtpKeyingMaterial, srtpProfileById, type SrtpProfileName } from '../../src/rtc/srtp/index.js';
import { StunMessageBuilder } from '../../src/stun/builder.js';
import { Attr, StunClass, StunMethod } from '../../src/stun/constants.js';
import { checkIntegrity } from '../../src/stun/integrity.js';
import { decodeStun } from '../../src/stun/message.js';
import { createUdpSocket } from '../../src/net/udp.js';

/** RFC 7675 §5.1: a check every 5 s on average (4–6 s); a little faster keeps well inside 30 s. */
const CONSENT_INTERVAL_MS = 2500;
/** RFC 8445 §14.3 paces checks at Ta (50 ms); a lone connect check is retried at this interval. */
const CHECK_RETRY_MS = 100;
const PEER_BUFFER_BYTES = 4 << 20;
/** RFC 8445 §5.1.2.1: type preference 126 (host), local preference 65535, component 1. */
const HOST_PRIORITY = (126 << 24) | (65535 << 8) | (256 - 1);

export interface RemoteEndpoint {
  host: string;
  port: number;
  iceUfrag: string;
  icePwd: string;
  fingerprints: CertificateFingerprint[];
}

export interface PeerStats {
  checksSent: number;
  checksAnswered: number;
  rtpIn: number;
  rtcpIn: number;
  srtpRejected: number;
  rtpOut: number;
  rtcpOut: number;
}

export class HeadlessPeer {
  readonly iceUfrag = randomIceString(8);
  readonly icePwd = randomIceString(24);
  readonly stats: PeerStats = { checksSent: 0, checksAnswered: 0, rtpIn: 0, rtcpIn: 0, srtpRejected: 0, rtpOut: 0, rtcpOut: 0 };
  onRtp: ((plain: Buffer) => void) | undefined;
  onRtcp: ((plain: Buffer) => void) | undefined;
  srtpProfile: SrtpProfileName | undefined;
  private remote: RemoteEndpoint | undefined;
  private remoteKey = Buffer.alloc(0);
  private dtls: DtlsTransport | undefined;
  private srtpIn: SrtpContext | undefined;
  private srtpOut: SrtpContext | undefined;
  private readonly pendingChecks = new Map<string, () => void>();
  private consentTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly name: string,
    readonly socket: UdpSocket,
    private readonly certificate: DtlsCertificate,
  ) {
    socket.on('message', (msg) => this.onDatagram(msg));
    socket.on('error', () => {
      /* counted as loss by the bench */
    });
  }

  static open(name: string, certificate: DtlsCertificate): Promise<HeadlessPeer> {
    const socket = createUdpSocket('127.0.0.1', PEER_BUFFER_BYTES);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new HeadlessPeer(name, socket, certificate));
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** ICE (a nominating check), then the DTLS handshake as client; resolves once SRTP is keyed. */
  async connect(remote: RemoteEndpoint, timeoutMs: number): Promise<void> {
    this.remote = remote;
    this.remoteKey = Buffer.from(remote.icePwd, 'utf8');
    const deadline = Date.now() + timeoutMs;
    // ICE: retry the nominating check until it is answered (bounded by the deadline).
    let answered = false;
    for (let attempt = 0; !answered; attempt++) {
      if (Date.now() > deadline) throw new Error(`${this.name}: no answer to the ICE check within ${timeoutMs} ms`);
      answered = await this.check(CHECK_RETRY_MS * Math.min(attempt + 1, 5));
    }
    const dtls = new DtlsTransport({
      role: 'client',
      certificate: this.certificate,
      remoteFingerprints: remote.fingerprints,
      link: { send: (buf) => this.send(buf) },
      handshakeTimeoutMs: Math.max(1000, deadline - Date.now()),
    });
    this.dtls = dtls;
    await new Promise<void>((resolve, reject) => {
      dtls.once('connected', (info) => {
        const profile = srtpProfileById(info.srtpProfileId);
        if (!profile) {
          reject(new Error(`${this.name}: DTLS chose SRTP profile ${info.srtpProfileId}`));
          return;
        }
        const keys = splitDtlsSrtpKeyingMaterial(info.keyingMaterial, profile, true);
        this.srtpProfile = profile;
        this.srtpOut = new SrtpContext(profile, keys.local);
        this.srtpIn = new SrtpContext(profile, keys.remote);
        resolve();
      });
      dtls.once('failed', (reason) => reject(new Error(`${this.name}: DTLS failed: ${reason}`)));
      dtls.start();
    });
    this.consentTimer = setInterval(() => {
      void this.check(CONSENT_INTERVAL_MS);
    }, CONSENT_INTERVAL_MS);
    this.consentTimer.unref();
  }

  /** Encrypts and sends one plain RTP packet. */
  sendRtp(plain: Buffer): void {
    if (!this.srtpOut) return;
    // protectRtp returns a scratch view: copy, since a send may be queued (EAGAIN) by reference.
    this.send(Buffer.from(this.srtpOut.protectRtp(plain)));
    this.stats.rtpOut++;
  }

  sendRtcp(plain: Buffer): void {
    if (!this.srtpOut) return;
    this.send(Buffer.from(this.srtpOut.protectRtcp(plain)));
    this.stats.rtcpOut++;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.consentTimer) clearInterval(this.consentTimer);
    this.dtls?.close();
    for (const done of this.pendingChecks.values()) done();
    this.pendingChecks.clear();
    try {
      this.socket.close();
    } catch {
      /* already closed */
    }
  }

  private send(buf: Buffer): void {
    const r = this.remote;
    if (!r || this.closed) return;
    this.socket.send(buf, r.port, r.host);
  }

  /** One Binding request with USE-CANDIDATE; true if a valid success response came within waitMs. */
  private check(waitMs: number): Promise<boolean> {
    const r = this.remote;
    if (!r || this.closed) return Promise.resolve(false);
    const txid = randomBytes(12);
    const priority = Buffer.alloc(4);
    priority.writeUInt32BE(HOST_PRIORITY >>> 0);
    const request = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, txid)
      .add(Attr.Username, Buffer.from(`${r.iceUfrag}:${this.iceUfrag}`, 'utf8'))
      .add(Attr.Priority, priority)
      .add(Attr.IceControlling, randomBytes(8))
      .add(Attr.UseCandidate, Buffer.alloc(0))
      .addIntegrity(this.remoteKey)
      .addFingerprint()
      .build();
    this.stats.checksSent++;
    return new Promise((resolve) => {
      const key = txid.toString('hex');
      const timer = setTimeout(() => {
        this.pendingChecks.delete(key);
        resolve(false);
      }, waitMs);
      this.pendingChecks.set(key, () => {
        clearTimeout(timer);
        resolve(true);
      });
      this.send(request);
    });
  }

  private onDatagram(msg: Buffer): void {
    const b0 = msg[0];
    if (b0 === undefined) return;
    if (b0 <= 3) {
      this.onStun(msg);
    } else if (b0 >= 20 && b0 <= 63) {
      this.dtls?.handle(msg);
    } else if (b0 >= 128 && b0 <= 191 && msg.length >= 12) {
      const srtp = this.srtpIn;
      if (!srtp) return;
      const pt = (msg[1] as number) & 0x7f;
      if (pt >= 64 && pt <= 95) {
        const plain = srtp.unprotectRtcp(msg);
        if (!plain) {
          this.stats.srtpRejected++;
          return;
        }
        this.stats.rtcpIn++;
        this.onRtcp?.(plain);
      } else {
        const plain = srtp.unprotectRtp(msg);
        if (!plain) {
          this.stats.srtpRejected++;
          return;
        }
        this.stats.rtpIn++;
        this.onRtp?.(plain);
      }
    }
  }

  /** A Binding success response to one of our checks, signed with the server's password (RFC 8445 §7.2.5). */
  private onStun(msg: Buffer): void {
    const decoded = decodeStun(msg);
    if (!decoded.ok) return;
    const m = decoded.message;
    if (m.method !== StunMethod.Binding || m.cls !== StunClass.Success) return;
    const key = m.transactionId.toString('hex');
    const done = this.pendingChecks.get(key);
    if (!done || !checkIntegrity(m, this.remoteKey)) return;
    this.pendingChecks.delete(key);
    this.stats.checksAnswered++;
    done();
  }
}

import type { DtlsCertificate } from './certificate.js';
import { certificateMatchesFingerprints, type CertificateFingerprint } from './fingerprint.js';
import { verifyPeerHandshake } from './peer-auth.js';
import { isCookielessClientHello } from './client-hello.js';
import { HandshakeReassembler } from './handshake-reassembler.js';
import {
  CONTENT_ALERT,
  CONTENT_APPLICATION_DATA,
  CONTENT_HANDSHAKE,
  HANDSHAKE_CLIENT_HELLO,
  RECORD_HEADER_LENGTH,
  createRecordView,
  readRecordHeader,
} from './record-header.js';
import { DEFAULT_SRTP_PROFILE_IDS, DTLS_SRTP_EXPORTER_LABEL, isSupportedSrtpProfile, srtpKeyingMaterialLength } from './srtp-profiles.js';
import { TypedEmitter } from '../../util/TypedEmitter.js';
import { WeriftSession } from './werift-session.js';
import { guarded } from '../../util/guarded.js';

/** Where our DTLS records go: a UDP 5-tuple, an ICE-TCP framer, a test bridge. */
export interface DatagramLink {
  send(buf: Buffer): void;
}

export type DtlsRole = 'server' | 'client';
export type DtlsState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

export interface DtlsConnectedInfo {
  srtpProfileId: number;
  /** RFC 5764 §4.2 exporter output: client key, server key, client salt, server salt. */
  keyingMaterial: Buffer;
  remoteCertificateDer: Buffer;
}

export interface DtlsTransportEvents {
  [event: string]: unknown[];
  connected: [info: DtlsConnectedInfo];
  data: [buf: Buffer];
  failed: [reason: string];
  closed: [];
}

export interface DtlsTransportOptions {
  role: DtlsRole;
  certificate: DtlsCertificate;
  remoteFingerprints: CertificateFingerprint[];
  link: DatagramLink;
  /** Preference order; absent or undefined: AEAD_AES_128_GCM then AES_CM_128_HMAC_SHA1_80. */
  srtpProfileIds?: number[] | undefined;
  handshakeTimeoutMs?: number;
}

/** What the transport dropped or saw go wrong; counters only grow. */
export interface DtlsStats {
  datagramsIn: number;
  recordsIn: number;
  /** Datagrams with a bad record header (the rest of such a datagram is dropped). */
  malformedRecords: number;
  /** Protected records that failed to authenticate (alerts we decrypt ourselves). */
  undecryptableRecords: number;
  /** Records arriving when the transport cannot use them (not started, or finished). */
  droppedRecords: number;
  /** Unauthenticated (epoch 0) alerts after the handshake: spoofable, so ignored. */
  ignoredPlaintextAlerts: number;
  /** Errors werift reported while handling handshake messages. */
  handshakeErrors: number;
  /** ClientHellos that came too late — cookie-less after the cookie exchange, or any after the handshake: dropped. */
  staleClientHellos: number;
  /** Handshake messages (other than ClientHello) received again: retransmissions, dropped. */
  duplicateHandshakes: number;
  /** Handshake messages put together from fragments (RFC 6347 §4.2.3). */
  handshakesReassembled: number;
  /** Handshake fragments with impossible lengths: dropped. */
  badHandshakeFragments: number;
  applicationDataSent: number;
  applicationDataDropped: number;
}

/** RFC 5246 §7.2 */
const ALERT_LEVEL_WARNING = 1;
const ALERT_CLOSE_NOTIFY = 0;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;

/**
 * DTLS 1.2 for WebRTC (RFC 8827 §6.5, RFC 5764): werift runs the handshake; this
 * class screens records, checks the peer's certificate against the SDP fingerprints
 * (RFC 8122 §5) and its proof of possession, exports the DTLS-SRTP keys, and turns
 * alerts and timeouts into states.
 */
export class DtlsTransport extends TypedEmitter<DtlsTransportEvents> {
  readonly role: DtlsRole;
  readonly stats: DtlsStats = {
    datagramsIn: 0,
    recordsIn: 0,
    malformedRecords: 0,
    undecryptableRecords: 0,
    droppedRecords: 0,
    ignoredPlaintextAlerts: 0,
    handshakeErrors: 0,
    staleClientHellos: 0,
    duplicateHandshakes: 0,
    handshakesReassembled: 0,
    badHandshakeFragments: 0,
    applicationDataSent: 0,
    applicationDataDropped: 0,
  };
  private currentState: DtlsState = 'new';
  private readonly session: WeriftSession;
  private readonly link: DatagramLink;
  private readonly remoteFingerprints: CertificateFingerprint[];
  private readonly srtpProfileIds: number[];
  private readonly handshakeTimeoutMs: number;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private lastHandshakeError = '';
  private readonly view = createRecordView();
  private readonly handshakeView = createRecordView();
  private readonly reassembler = new HandshakeReassembler();
  /** message_seq of every handshake message (but ClientHello) handed to werift. */
  private readonly receivedMessageSeqs = new Set<number>();

  constructor(opts: DtlsTransportOptions) {
    super();
    this.role = opts.role;
    this.link = opts.link;
    this.remoteFingerprints = opts.remoteFingerprints.map((f) => ({ ...f }));
    this.srtpProfileIds = (opts.srtpProfileIds ?? [...DEFAULT_SRTP_PROFILE_IDS]).filter(isSupportedSrtpProfile);
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.session = new WeriftSession({
      role: opts.role,
      certPem: opts.certificate.certPem,
      keyPem: opts.certificate.keyPem,
      srtpProfileIds: this.srtpProfileIds,
      hooks: {
        send: (record) => this.sendRecord(record),
        onConnect: () => this.onHandshakeComplete(),
        onData: (buf) => {
          if (this.currentState === 'connected') this.emit('data', buf);
        },
        onError: (error) => {
          this.stats.handshakeErrors++;
          this.lastHandshakeError = error instanceof Error ? error.message : String(error);
        },
      },
    });
  }

  get state(): DtlsState {
    return this.currentState;
  }

  start(): void {
    if (this.currentState !== 'new') return;
    this.currentState = 'connecting';
    this.handshakeTimer = setTimeout(
      guarded('rtc.dtls.handshake-timer', () => {
        const detail = this.lastHandshakeError ? ` (last error: ${this.lastHandshakeError})` : '';
        this.fail(`handshake timeout after ${this.handshakeTimeoutMs} ms${detail}`);
      }),
      this.handshakeTimeoutMs,
    );
    if (this.srtpProfileIds.length === 0) {
      this.fail('no supported SRTP profile configured');
      return;
    }
    this.session.connect().catch((error: unknown) => {
      this.fail(`handshake: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  /** One datagram (or ICE-TCP frame) classified as DTLS (RFC 7983 §7). Never throws. */
  handle(buf: Buffer): void {
    this.stats.datagramsIn++;
    if (this.currentState !== 'connecting' && this.currentState !== 'connected') {
      this.stats.droppedRecords++;
      return;
    }
    const view = this.view;
    let offset = 0;
    // RFC 6347 §4.1: several records may share a datagram; each is handled alone.
    while (offset < buf.length) {
      const next = readRecordHeader(buf, offset, view);
      if (next < 0) {
        this.stats.malformedRecords++;
        return;
      }
      this.stats.recordsIn++;
      if (view.contentType === CONTENT_ALERT) {
        this.handleAlert(buf);
      } else if (view.contentType === CONTENT_APPLICATION_DATA && this.currentState !== 'connected') {
        this.stats.droppedRecords++;
      } else if (view.contentType === CONTENT_HANDSHAKE && view.epoch === 0) {
        for (const record of this.reassembler.push(buf, view)) this.feedHandshake(record);
        this.stats.handshakesReassembled = this.reassembler.stats.reassembled;
        this.stats.badHandshakeFragments = this.reassembler.stats.badFragments;
      } else {
        this.session.feedRecord(buf.subarray(offset, next));
      }
      if (this.currentState !== 'connecting' && this.currentState !== 'connected') return;
      offset = next;
    }
  }

  /** One whole plaintext handshake record (reassembled if it came in fragments). */
  private feedHandshake(record: Buffer): void {
    const view = this.handshakeView;
    if (readRecordHeader(record, 0, view) < 0) return;
    if (this.currentState === 'connected' && record[RECORD_HEADER_LENGTH] === HANDSHAKE_CLIENT_HELLO) {
      // RFC 8827 §6.5: no DTLS renegotiation in WebRTC. werift would start one on any late
      // ClientHello and replace the keys its SCTP records are protected with.
      this.stats.staleClientHellos++;
      return;
    }
    if (this.session.pastHelloVerify && isCookielessClientHello(record, view)) {
      // RFC 6347 §4.2.2: a message older than the one expected is a retransmission. werift
      // would answer it by drawing a new random and ECDHE key after its ServerHello carried
      // the old ones, and the handshake would end with mismatched secrets ("bad Finished").
      this.stats.staleClientHellos++;
      return;
    }
    // RFC 6347 §4.2.2: a message_seq already received is a retransmission. werift would run
    // it again — a second ClientKeyExchange recomputes the extended master secret over a
    // transcript that now includes CertificateVerify, and the handshake fails ("bad client
    // Finished"; Chromium over ICE-TCP on a busy machine). ClientHellos still go through: a
    // repeated one is how werift knows to resend its HelloVerifyRequest or flight 4, and the
    // client's encrypted Finished (not read here) makes it resend its last flight.
    const msgType = record[RECORD_HEADER_LENGTH] as number;
    const messageSeq = record.length >= RECORD_HEADER_LENGTH + 6 ? record.readUInt16BE(RECORD_HEADER_LENGTH + 4) : -1;
    if (msgType !== HANDSHAKE_CLIENT_HELLO && messageSeq >= 0) {
      if (this.receivedMessageSeqs.has(messageSeq)) {
        this.stats.duplicateHandshakes++;
        return;
      }
      this.receivedMessageSeqs.add(messageSeq);
    }
    this.session.feedRecord(record);
  }

  /** Sends one application-data record (SCTP packet). Dropped and counted unless connected. */
  sendApplicationData(buf: Buffer): void {
    if (this.currentState !== 'connected') {
      this.stats.applicationDataDropped++;
      return;
    }
    this.stats.applicationDataSent++;
    this.session.sendApplicationData(buf).catch(() => {
      this.stats.applicationDataDropped++;
    });
  }

  /** Sends close_notify if connected (RFC 5246 §7.2.1), then stops. */
  close(): void {
    if (this.currentState === 'closed' || this.currentState === 'failed') return;
    if (this.currentState === 'connected') {
      const alert = this.session.encryptAlert(ALERT_LEVEL_WARNING, ALERT_CLOSE_NOTIFY);
      if (alert) this.link.send(alert);
    }
    this.finish('closed');
    this.emit('closed');
  }

  private sendRecord(record: Buffer): void {
    if (this.currentState === 'connecting' || this.currentState === 'connected') this.link.send(record);
  }

  private handleAlert(buf: Buffer): void {
    const view = this.view;
    let body: Buffer | null;
    if (view.epoch === 0) {
      // Plaintext alerts cannot be authenticated; once keys exist, ignore them so an
      // off-path sender cannot tear the association down (RFC 6347 §4.1.2.7 spirit).
      if (this.currentState === 'connected') {
        this.stats.ignoredPlaintextAlerts++;
        return;
      }
      body = buf.subarray(view.bodyOffset, view.bodyOffset + view.bodyLength);
    } else {
      body = this.session.decryptRecord(buf, view);
      if (!body) {
        this.stats.undecryptableRecords++;
        return;
      }
    }
    if (body.length < 2) {
      this.stats.malformedRecords++;
      return;
    }
    const level = body[0] as number;
    const description = body[1] as number;
    if (description === ALERT_CLOSE_NOTIFY) {
      this.finish('closed');
      this.emit('closed');
      return;
    }
    // Any other alert during the handshake, or a fatal one after it, ends the session.
    if (level !== ALERT_LEVEL_WARNING || this.currentState !== 'connected') {
      this.fail(`remote alert level ${level} description ${description}`);
    }
  }

  private onHandshakeComplete(): void {
    if (this.currentState !== 'connecting') return;
    const remote = this.session.remoteCertificate;
    if (!remote || remote.length === 0) {
      this.fail('peer sent no certificate');
      return;
    }
    if (!certificateMatchesFingerprints(remote, this.remoteFingerprints)) {
      this.fail('peer certificate does not match the SDP fingerprint');
      return;
    }
    const proof = verifyPeerHandshake(this.session, this.role, remote);
    if (proof !== null) {
      this.fail(`peer handshake not authentic: ${proof}`);
      return;
    }
    const profile = this.session.srtpProfileId;
    const length = profile === undefined ? null : srtpKeyingMaterialLength(profile);
    if (profile === undefined || length === null) {
      this.fail('no SRTP profile negotiated');
      return;
    }
    let keyingMaterial: Buffer;
    try {
      keyingMaterial = this.session.exportKeyingMaterial(DTLS_SRTP_EXPORTER_LABEL, length);
    } catch (error) {
      this.fail(`keying material export: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.clearTimer();
    this.currentState = 'connected';
    this.emit('connected', { srtpProfileId: profile, keyingMaterial, remoteCertificateDer: Buffer.from(remote) });
  }

  private fail(reason: string): void {
    if (this.currentState === 'failed' || this.currentState === 'closed') return;
    this.finish('failed');
    this.emit('failed', reason);
  }

  private finish(state: 'failed' | 'closed'): void {
    this.currentState = state;
    this.clearTimer();
    this.session.detach();
  }

  private clearTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }
}

import { DtlsClient, DtlsServer, HashAlgorithm, SignatureAlgorithm } from 'werift';
import { CONTENT_ALERT, RECORD_HEADER_LENGTH, type RecordView } from './record-header.js';
import { guarded } from '../../util/guarded.js';

type WeriftOptions = ConstructorParameters<typeof DtlsServer>[0];
type WeriftTransport = WeriftOptions['transport'];
type WeriftSrtpProfile = NonNullable<WeriftOptions['srtpProfiles']>[number];
type WeriftSocket = DtlsServer | DtlsClient;

/** RFC 6347 §4.2.4: the server's flight 4 starts with ServerHello. */
const SERVER_HELLO_FLIGHT = 4;
/** Past the last DTLS 1.2 flight (6), so werift sees every awaited flight as reached. */
const FLIGHT_DONE = 100;

/** The record shape werift's CipherContext encrypts and decrypts (its DtlsPlaintext, structurally). */
interface CipherRecord {
  recordLayerHeader: {
    contentType: number;
    protocolVersion: { major: number; minor: number };
    epoch: number;
    sequenceNumber: number;
    contentLen: number;
  };
  fragment: Buffer;
}
type EncryptPacket = (pkt: CipherRecord) => CipherRecord;
type DecryptPacket = (pkt: CipherRecord) => Buffer;

/** A handshake message as werift caches it (RFC 6347 §4.2.2 header fields + body). */
export interface CachedHandshake {
  msg_type: number;
  fragment: Buffer;
  serialize(): Buffer;
}

export interface WeriftSessionHooks {
  /** Every DTLS record werift wants on the wire. */
  send(record: Buffer): void;
  onConnect(): void;
  onData(buf: Buffer): void;
  onError(error: unknown): void;
}

/**
 * The one place that touches werift's DTLS: builds its DtlsServer/DtlsClient on a
 * datagram adapter and exposes the few internals the transport needs (keying
 * material, remote certificate, handshake transcript, record crypto for alerts).
 */
export class WeriftSession {
  private readonly socket: WeriftSocket;
  private receive: ((buf: Buffer) => void) | undefined;
  private readonly scratchRecord: CipherRecord = {
    recordLayerHeader: { contentType: 0, protocolVersion: { major: 254, minor: 253 }, epoch: 0, sequenceNumber: 0, contentLen: 0 },
    fragment: Buffer.alloc(0),
  };

  constructor(opts: {
    role: 'server' | 'client';
    certPem: string;
    keyPem: string;
    srtpProfileIds: readonly number[];
    hooks: WeriftSessionHooks;
  }) {
    const hooks = opts.hooks;
    const adapter = {
      type: 'udp',
      closed: false,
      onData: (_buf: Buffer): void => undefined,
      send: async (buf: Buffer): Promise<void> => hooks.send(buf),
      close: async (): Promise<void> => undefined,
    };
    const options: WeriftOptions = {
      transport: adapter as unknown as WeriftTransport,
      cert: opts.certPem,
      key: opts.keyPem,
      signatureHash: { hash: HashAlgorithm.sha256_4, signature: SignatureAlgorithm.ecdsa_3 },
      srtpProfiles: opts.srtpProfileIds as WeriftSrtpProfile[],
      // RFC 7627 (extended master secret) is what browsers and OpenSSL negotiate.
      extendedMasterSecret: true,
      // For the server this sends CertificateRequest (WebRTC authenticates both ends,
      // RFC 8827 §6.5); for werift's client it would mean "wait for one", which a
      // server that does not ask would never satisfy.
      certificateRequest: opts.role === 'server',
    };
    this.socket = opts.role === 'server' ? new DtlsServer(options) : new DtlsClient(options);
    // werift installs its record handler on the adapter in its constructor.
    this.receive = adapter.onData;
    // werift calls these from its own timers (flight retransmission) as well as from our input.
    this.socket.onConnect.subscribe(guarded('rtc.dtls.connect', () => hooks.onConnect()));
    this.socket.onData.subscribe(guarded('rtc.dtls.data', (buf: Buffer) => hooks.onData(buf)));
    this.socket.onError.subscribe(guarded('rtc.dtls.error', (error: unknown) => hooks.onError(error)));
  }

  /** Client only: sends ClientHello; werift retransmits flights itself. */
  connect(): Promise<void> {
    return this.socket instanceof DtlsClient ? this.socket.connect() : Promise.resolve();
  }

  /** Hands werift one well-formed record. Werift catches its own per-record errors. */
  feedRecord(record: Buffer): void {
    this.receive?.(record);
  }

  /**
   * Stops feeding werift. Its flight retransmission loop (werift Flight.transmit) stops
   * at its next wake-up once the flight number is past every flight it waits for;
   * the wait already scheduled (at most 5.5 s) still runs out.
   */
  detach(): void {
    this.receive = undefined;
    this.socket.dtls.flight = FLIGHT_DONE;
  }

  /** Server: a ClientHello with our cookie arrived, so werift has sent (or is sending) flight 4. */
  get pastHelloVerify(): boolean {
    return this.socket instanceof DtlsServer && this.socket.dtls.flight >= SERVER_HELLO_FLIGHT;
  }

  sendApplicationData(buf: Buffer): Promise<void> {
    return this.socket.send(buf);
  }

  get remoteCertificate(): Buffer | undefined {
    return this.socket.remoteCertificate;
  }

  get srtpProfileId(): number | undefined {
    return this.socket.srtp.srtpProfile;
  }

  get masterSecret(): Buffer | undefined {
    return this.socket.cipher.masterSecret;
  }

  exportKeyingMaterial(label: string, length: number): Buffer {
    return this.socket.exportKeyingMaterial(label, length);
  }

  /** The handshake transcript in protocol order (RFC 5246 §7.4.9 handshake_messages). */
  handshakeMessages(): CachedHandshake[] {
    return this.socket.dtls.sortedHandshakeCache;
  }

  /** An encrypted alert record (RFC 5246 §7.2) in the current write epoch, or null before keys exist. */
  encryptAlert(level: number, description: number): Buffer | null {
    try {
      const pkt: CipherRecord = {
        recordLayerHeader: {
          contentType: CONTENT_ALERT,
          protocolVersion: { major: 254, minor: 253 },
          epoch: this.socket.dtls.epoch,
          sequenceNumber: ++this.socket.dtls.recordSequenceNumber,
          contentLen: 2,
        },
        fragment: Buffer.from([level, description]),
      };
      const encrypt = this.socket.cipher.encryptPacket.bind(this.socket.cipher) as unknown as EncryptPacket;
      const sealed = encrypt(pkt);
      const out = Buffer.alloc(RECORD_HEADER_LENGTH + sealed.fragment.length);
      out[0] = CONTENT_ALERT;
      out[1] = 254;
      out[2] = 253;
      out.writeUInt16BE(sealed.recordLayerHeader.epoch, 3);
      out.writeUIntBE(sealed.recordLayerHeader.sequenceNumber, 5, 6);
      out.writeUInt16BE(sealed.fragment.length, 11);
      sealed.fragment.copy(out, RECORD_HEADER_LENGTH);
      return out;
    } catch {
      return null;
    }
  }

  /** Decrypts one protected record's body, or null if it does not authenticate. */
  decryptRecord(datagram: Buffer, view: RecordView): Buffer | null {
    const pkt = this.scratchRecord;
    const h = pkt.recordLayerHeader;
    h.contentType = view.contentType;
    h.protocolVersion.minor = view.minorVersion;
    h.epoch = view.epoch;
    h.sequenceNumber = view.sequenceNumber;
    h.contentLen = view.bodyLength;
    pkt.fragment = datagram.subarray(view.bodyOffset, view.bodyOffset + view.bodyLength);
    try {
      const decrypt = this.socket.cipher.decryptPacket.bind(this.socket.cipher) as unknown as DecryptPacket;
      return decrypt(pkt);
    } catch {
      return null;
    }
  }
}

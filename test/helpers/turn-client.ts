/**
 * A small TURN client for tests (RFC 8656 client side), on our codec: UDP, TCP or TLS to the
 * server, the 401 → credentials dance, and the relay operations. Every response is matched by
 * transaction id and returned decoded, so a test can assert the exact error code. RFC 6062:
 * TCP allocations, Connect, ConnectionAttempt indications and data connections (ConnectionBind).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as tcpConnect, isIPv6, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  Attr,
  StunClass,
  StunMessageBuilder,
  StunMethod,
  checkIntegrity,
  decodeChannelData,
  decodeErrorCode,
  decodeStun,
  decodeXorAddress,
  encodeChannelData,
  encodeXorAddress,
  getAttribute,
  longTermKey,
  type StunMessage,
  type TransportAddress,
} from '../../src/stun/index.js';
import { StreamFramer } from '../../src/turn/listeners/stream-framer.js';

export type Transport = 'udp' | 'tcp' | 'tls';

export interface Received {
  peer: TransportAddress;
  data: Buffer;
  via: 'channel' | 'indication';
}

export interface ConnectionAttempt {
  id: number;
  peer: TransportAddress;
}

/** A client data connection (RFC 6062 §4.4): the ConnectionBind answer, then raw bytes. */
export interface DataConnection {
  response: StunMessage;
  socket: Socket;
  /** Raw bytes received after the response. */
  received: Buffer[];
}

export class TurnTestClient {
  username = '';
  password = '';
  realm = '';
  nonce = '';
  /** Raw responses, for size checks. */
  readonly rawResponses: Buffer[] = [];
  readonly received: Received[] = [];
  readonly connectionAttempts: ConnectionAttempt[] = [];
  /** Where the server is (for data connections). */
  server = { host: '', port: 0 };
  /** The TCP/TLS connection to the server (null over UDP). */
  stream: Socket | null = null;
  private readonly pending = new Map<string, (m: StunMessage) => void>();
  private readonly channels = new Map<number, TransportAddress>();

  private constructor(
    readonly transport: Transport,
    private readonly sendRaw: (b: Buffer) => void,
    private readonly closer: () => void,
  ) {}

  static async open(transport: Transport, host: string, port: number): Promise<TurnTestClient> {
    if (transport === 'udp') {
      const sock: UdpSocket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
      await new Promise<void>((r) => sock.bind(0, r));
      const c = new TurnTestClient(
        'udp',
        (b) => sock.send(b, port, host),
        () => sock.close(),
      );
      c.server = { host, port };
      sock.on('message', (m) => c.onFrame(m));
      return c;
    }
    const sock: Socket = transport === 'tls' ? tlsConnect({ host, port, rejectUnauthorized: false }) : tcpConnect({ host, port });
    await new Promise<void>((resolve, reject) => {
      sock.once(transport === 'tls' ? 'secureConnect' : 'connect', () => resolve());
      sock.once('error', reject);
    });
    const c = new TurnTestClient(
      transport,
      (b) => sock.write(b),
      () => sock.destroy(),
    );
    c.server = { host, port };
    c.stream = sock;
    const framer = new StreamFramer();
    sock.on('data', (chunk: Buffer) => framer.push(chunk, (f) => c.onFrame(Buffer.from(f))));
    sock.on('error', () => undefined);
    return c;
  }

  private onFrame(buf: Buffer): void {
    const first = buf[0] as number;
    if (first >= 0x40 && first <= 0x7f) {
      const cd = decodeChannelData(buf);
      const peer = cd && this.channels.get(cd.channel);
      if (cd && peer) this.received.push({ peer, data: Buffer.from(cd.data), via: 'channel' });
      return;
    }
    const r = decodeStun(buf);
    if (!r.ok) return;
    const m = r.message;
    if (m.cls === StunClass.Indication && m.method === StunMethod.Data) {
      const peer = decodeXorAddress(getAttribute(m, Attr.XorPeerAddress) ?? Buffer.alloc(0), m.transactionId);
      const data = getAttribute(m, Attr.Data);
      if (peer && data) this.received.push({ peer, data: Buffer.from(data), via: 'indication' });
      return;
    }
    if (m.cls === StunClass.Indication && m.method === StunMethod.ConnectionAttempt) {
      const peer = decodeXorAddress(getAttribute(m, Attr.XorPeerAddress) ?? Buffer.alloc(0), m.transactionId);
      const id = getAttribute(m, Attr.ConnectionId);
      if (peer && id?.length === 4) this.connectionAttempts.push({ id: id.readUInt32BE(0), peer });
      return;
    }
    this.rawResponses.push(Buffer.from(buf));
    this.pending.get(m.transactionId.toString('hex'))?.(m);
  }

  /**
   * Over UDP, resend an unanswered request after this many ms, doubling each time (RFC 8489
   * §6.2.1, RTO 500 ms) as real clients do; null (the default): send once, as tests that
   * expect silence want.
   */
  udpRtoMs: number | null = null;
  /** How long a request waits for its response. */
  requestTimeoutMs = 2000;

  /** Sends a built request and waits for the response with its transaction id. */
  async exchange(b: StunMessageBuilder, timeoutMs = this.requestTimeoutMs): Promise<StunMessage> {
    const key = b.transactionId.toString('hex');
    const out = b.build();
    return new Promise((resolve, reject) => {
      let resend: NodeJS.Timeout | undefined;
      const t = setTimeout(() => {
        clearTimeout(resend);
        this.pending.delete(key);
        reject(new Error(`no response (${this.transport})`));
      }, timeoutMs);
      this.pending.set(key, (m) => {
        clearTimeout(t);
        clearTimeout(resend);
        this.pending.delete(key);
        resolve(m);
      });
      this.sendRaw(out);
      if (this.transport === 'udp' && this.udpRtoMs !== null) {
        const again = (rto: number): void => {
          resend = setTimeout(() => {
            this.sendRaw(out);
            again(rto * 2);
          }, rto);
        };
        again(this.udpRtoMs);
      }
    });
  }

  /** A request with USERNAME/REALM/NONCE and MESSAGE-INTEGRITY (once the server has challenged us). */
  signed(method: number, attrs: Array<[number, Buffer]>): StunMessageBuilder {
    const b = new StunMessageBuilder(method, StunClass.Request);
    for (const [t, v] of attrs) b.add(t, v);
    return this.sign(b);
  }

  sign(b: StunMessageBuilder): StunMessageBuilder {
    b.add(Attr.Username, Buffer.from(this.username)).add(Attr.Realm, Buffer.from(this.realm)).add(Attr.Nonce, Buffer.from(this.nonce));
    return b.addIntegrity(longTermKey(this.username, this.realm, this.password)).addFingerprint();
  }

  /** A signed request, retried once after a 401/438 challenge; the final response. */
  async request(method: number, attrs: Array<[number, Buffer]>): Promise<StunMessage> {
    if (!this.nonce) {
      const plain = new StunMessageBuilder(method, StunClass.Request);
      for (const [t, v] of attrs) plain.add(t, v);
      const challenge = await this.exchange(plain.addFingerprint());
      if (errorCode(challenge) !== 401) return challenge;
      this.learn(challenge);
    }
    let res = await this.exchange(this.signed(method, attrs));
    if (errorCode(res) === 438) {
      this.learn(res);
      res = await this.exchange(this.signed(method, attrs));
    }
    return res;
  }

  learn(challenge: StunMessage): void {
    this.realm = getAttribute(challenge, Attr.Realm)?.toString('utf8') ?? '';
    this.nonce = getAttribute(challenge, Attr.Nonce)?.toString('utf8') ?? '';
  }

  /** True when a response carries a MESSAGE-INTEGRITY made with our key. */
  verify(res: StunMessage): boolean {
    return checkIntegrity(res, longTermKey(this.username, this.realm, this.password));
  }

  async allocate(extra: Array<[number, Buffer]> = []): Promise<StunMessage> {
    return this.request(StunMethod.Allocate, [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])], ...extra]);
  }

  /** RFC 6062 §4.1: REQUESTED-TRANSPORT TCP. */
  async allocateTcp(extra: Array<[number, Buffer]> = []): Promise<StunMessage> {
    return this.request(StunMethod.Allocate, [[Attr.RequestedTransport, Buffer.from([6, 0, 0, 0])], ...extra]);
  }

  /** RFC 6062 §4.3: Connect; the response carries CONNECTION-ID on success. */
  async connect(peer: { address: string; port: number }, timeoutMs = 5000): Promise<StunMessage> {
    const b = new StunMessageBuilder(StunMethod.Connect, StunClass.Request);
    b.add(Attr.XorPeerAddress, encodeXorAddress(peer, b.transactionId));
    return this.exchange(this.sign(b), timeoutMs);
  }

  /**
   * RFC 6062 §4.4: a new TCP (or TLS, like ours) connection to the server with a ConnectionBind for `id`, signed
   * with our credentials and nonce (`attrs` replaces CONNECTION-ID when given).
   */
  async bindData(id: number, attrs?: Array<[number, Buffer]>): Promise<DataConnection> {
    const tls = this.transport === 'tls';
    const socket: Socket = tls
      ? tlsConnect({ host: this.server.host, port: this.server.port, rejectUnauthorized: false })
      : tcpConnect({ host: this.server.host, port: this.server.port });
    await new Promise<void>((resolve, reject) => {
      socket.once(tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    socket.on('error', () => undefined);
    const idAttr = Buffer.alloc(4);
    idAttr.writeUInt32BE(id, 0);
    const b = this.signed(StunMethod.ConnectionBind, attrs ?? [[Attr.ConnectionId, idAttr]]);
    const received: Buffer[] = [];
    const response = await new Promise<StunMessage>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      let done = false;
      const t = setTimeout(() => reject(new Error('no ConnectionBind response')), 2000);
      socket.on('data', (chunk: Buffer) => {
        if (done) {
          received.push(chunk);
          return;
        }
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 20 || buf.length < 20 + buf.readUInt16BE(2)) return;
        const end = 20 + buf.readUInt16BE(2);
        const r = decodeStun(buf.subarray(0, end));
        done = true;
        clearTimeout(t);
        if (buf.length > end) received.push(buf.subarray(end));
        if (r.ok) resolve(r.message);
        else reject(new Error(r.reason));
      });
      socket.write(b.build());
    });
    return { response, socket, received };
  }

  async createPermission(...peers: Array<{ address: string; port: number }>): Promise<StunMessage> {
    // XOR addresses depend on the transaction id (IPv6): encode with the builder's own.
    const b = new StunMessageBuilder(StunMethod.CreatePermission, StunClass.Request);
    for (const p of peers) b.add(Attr.XorPeerAddress, encodeXorAddress(p, b.transactionId));
    return this.exchange(this.sign(b));
  }

  async channelBind(channel: number, peer: { address: string; port: number }): Promise<StunMessage> {
    const b = new StunMessageBuilder(StunMethod.ChannelBind, StunClass.Request);
    const num = Buffer.alloc(4);
    num.writeUInt16BE(channel, 0);
    b.add(Attr.ChannelNumber, num).add(Attr.XorPeerAddress, encodeXorAddress(peer, b.transactionId));
    const res = await this.exchange(this.sign(b));
    if (res.cls === StunClass.Success) this.channels.set(channel, { family: isIPv6(peer.address) ? 6 : 4, ...peer });
    return res;
  }

  async refresh(lifetime: number): Promise<StunMessage> {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(lifetime, 0);
    return this.request(StunMethod.Refresh, [[Attr.Lifetime, v]]);
  }

  sendIndication(peer: { address: string; port: number }, data: Buffer): void {
    const b = new StunMessageBuilder(StunMethod.Send, StunClass.Indication);
    this.sendRaw(b.add(Attr.XorPeerAddress, encodeXorAddress(peer, b.transactionId)).add(Attr.Data, data).build());
  }

  sendChannelData(channel: number, data: Buffer): void {
    this.sendRaw(encodeChannelData(channel, data, this.transport !== 'udp'));
  }

  sendRawBytes(b: Buffer): void {
    this.sendRaw(b);
  }

  /** Stops reading the stream (a client that does not read what the server sends). */
  pause(): void {
    this.stream?.pause();
  }

  /** Called when the server (or anything) closes the stream. */
  onClose(fn: () => void): void {
    this.stream?.once('close', fn);
  }

  close(): void {
    this.closer();
  }
}

export function errorCode(m: StunMessage): number | undefined {
  if (m.cls !== StunClass.Error) return undefined;
  const v = getAttribute(m, Attr.ErrorCode);
  return v ? decodeErrorCode(v)?.code : undefined;
}

export function connectionId(m: StunMessage): number | undefined {
  const v = getAttribute(m, Attr.ConnectionId);
  return v?.length === 4 ? v.readUInt32BE(0) : undefined;
}

export function relayedAddress(m: StunMessage): TransportAddress | undefined {
  const v = getAttribute(m, Attr.XorRelayedAddress);
  return v ? decodeXorAddress(v, m.transactionId) : undefined;
}

/**
 * RtcPort on real loopback sockets (127.0.0.1 / ::1, ephemeral ports): ICE-lite checks over
 * UDP and ICE-TCP (RFC 6544, RFC 4571 framing), nomination, RFC 7983 demultiplexing by
 * ufrag and 5-tuple, consent expiry, isolation between sessions.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { after, afterEach, before, test } from 'node:test';
import {
  Attr,
  StunClass,
  StunMessageBuilder,
  StunMethod,
  checkIntegrity,
  decodeErrorCode,
  decodeStun,
  decodeXorAddress,
  getAttribute,
  type StunMessage,
} from '../../src/stun/index.js';
import { IceLiteSession } from '../../src/rtc/ice/IceLiteSession.js';
import type { RtcTuple } from '../../src/rtc/ice/RtcTuple.js';
import { RtcPort } from '../../src/rtc/RtcPort.js';
import { Rfc4571Framer, frameRfc4571 } from '../../src/rtc/port/rfc4571-framer.js';

const HOST = '127.0.0.1';
let port: RtcPort;
before(async () => {
  port = new RtcPort({ port: 0, listenAddresses: [HOST, '::1'], tcpBindTimeoutMs: 400 });
  await port.listen();
});
after(() => port.close());
/** Whatever a test opened is closed after it, even when an assertion failed midway (no hanging run). */
const openedThisTest: Array<{ close(): void }> = [];
afterEach(() => {
  for (const r of openedThisTest.splice(0)) r.close();
});

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function buildCheck(s: IceLiteSession, o: { password?: string; useCandidate?: boolean; ufrag?: string } = {}): Buffer {
  const b = new StunMessageBuilder(StunMethod.Binding, StunClass.Request)
    .add(Attr.Username, Buffer.from(`${o.ufrag ?? s.localUfrag}:brws`))
    .add(Attr.Priority, Buffer.from([0x6e, 0, 1, 0xff]))
    .add(Attr.IceControlling, Buffer.alloc(8, 5));
  if (o.useCandidate) b.add(Attr.UseCandidate, Buffer.alloc(0));
  return b
    .addIntegrity(Buffer.from(o.password ?? s.localPassword))
    .addFingerprint()
    .build();
}

/** A UDP client on loopback that keeps what it receives. */
class UdpClient {
  readonly received: Buffer[] = [];
  private constructor(
    readonly socket: UdpSocket,
    readonly host: string,
  ) {
    socket.on('message', (m) => this.received.push(m));
  }
  static async open(host = HOST): Promise<UdpClient> {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((r) => s.bind(0, host, () => r()));
    const c = new UdpClient(s, host);
    openedThisTest.push(c);
    return c;
  }
  get localPort(): number {
    return this.socket.address().port;
  }
  send(buf: Buffer): void {
    this.socket.send(buf, port.udpPort, this.host);
  }
  /** Sends and waits (≤ 1 s) for the next datagram; null when none came. */
  async exchange(buf: Buffer): Promise<Buffer | null> {
    const before = this.received.length;
    this.send(buf);
    for (let i = 0; i < 100 && this.received.length === before; i++) await wait(10);
    return this.received[before] ?? null;
  }
  close(): void {
    try {
      this.socket.close();
    } catch {
      // Already closed.
    }
  }
}

/** Waits (≤ 2 s) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await wait(10);
}

function decode(buf: Buffer | null): StunMessage {
  assert.ok(buf, 'a response came');
  const r = decodeStun(buf);
  assert.ok(r.ok);
  return r.message;
}

function newSession(opts: ConstructorParameters<typeof IceLiteSession>[0] = {}): {
  s: IceLiteSession;
  packets: Array<[Buffer, RtcTuple]>;
  selected: RtcTuple[];
} {
  const s = new IceLiteSession(opts);
  const packets: Array<[Buffer, RtcTuple]> = [];
  const selected: RtcTuple[] = [];
  s.setPacketReceiver((b, t) => packets.push([b, t]));
  s.on('tuple-selected', (t) => selected.push(t));
  port.addSession(s);
  openedThisTest.push(s);
  return { s, packets, selected };
}

test('listens on one port number for UDP and TCP and lists host candidates for it', () => {
  assert.ok(port.udpPort > 0);
  assert.equal(port.tcpPort, port.udpPort);
  const c = port.localCandidates();
  assert.deepEqual(c.map((x) => `${x.transport} ${x.ip} ${x.port}`).sort(), [
    `tcp 127.0.0.1 ${port.udpPort}`,
    `tcp ::1 ${port.udpPort}`,
    `udp 127.0.0.1 ${port.udpPort}`,
    `udp ::1 ${port.udpPort}`,
  ]);
});

test('UDP: a valid check gets a signed success with the client address; the tuple is selected and carries packets', async () => {
  const { s, packets, selected } = newSession();
  const client = await UdpClient.open();
  const res = decode(await client.exchange(buildCheck(s)));
  assert.deepEqual([res.method, res.cls], [StunMethod.Binding, StunClass.Success]);
  assert.equal(checkIntegrity(res, Buffer.from(s.localPassword)), true);
  assert.deepEqual(decodeXorAddress(getAttribute(res, Attr.XorMappedAddress) as Buffer, res.transactionId), {
    family: 4,
    address: HOST,
    port: client.localPort,
  });
  assert.equal(selected.length, 1);
  assert.equal(selected[0]?.id, `udp:${HOST}:${client.localPort}`);
  const rtp = Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0xaa]);
  const dtls = Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xbb]);
  client.send(rtp);
  client.send(dtls);
  await until(() => packets.length >= 2);
  assert.deepEqual(
    packets.map(([b]) => b),
    [rtp, dtls],
  );
  assert.equal(packets[0]?.[1], selected[0]);
  // And back: the session sends on the selected tuple.
  const n = client.received.length;
  assert.equal(s.send(Buffer.from([0x80, 0x61, 1])), true);
  await until(() => client.received.length > n);
  assert.deepEqual(client.received[n], Buffer.from([0x80, 0x61, 1]));
  client.close();
  s.close();
});

test('UDP: wrong password → 401 and no routing; unknown ufrag and junk → counted, no answer', async () => {
  const { s, packets } = newSession();
  const client = await UdpClient.open();
  const res = decode(await client.exchange(buildCheck(s, { password: 'wrongPasswordOf24chars++' })));
  assert.equal(decodeErrorCode(getAttribute(res, Attr.ErrorCode) as Buffer)?.code, 401);
  const unknownTuple = port.stats.unknownTuple;
  client.send(Buffer.from([0x80, 0x60, 0, 1]));
  await until(() => port.stats.unknownTuple > unknownTuple);
  assert.equal(port.stats.unknownTuple, unknownTuple + 1);
  assert.equal(packets.length, 0);
  assert.equal(s.selectedTuple, null);

  const unknownUfrag = port.stats.unknownUfrag;
  assert.equal(await client.exchange(buildCheck(s, { ufrag: 'nobodyHere' })), null);
  assert.equal(port.stats.unknownUfrag, unknownUfrag + 1);
  const malformed = port.stats.malformed;
  client.send(Buffer.from([0x00, 0x01, 0x00]));
  client.send(Buffer.from([0xff, 1, 2, 3]));
  client.send(Buffer.alloc(0));
  await until(() => port.stats.malformed >= malformed + 3);
  assert.equal(port.stats.malformed, malformed + 3);
  client.close();
  s.close();
});

test('UDP: USE-CANDIDATE selects; a second tuple nominated later takes over sending', async () => {
  const { s, selected } = newSession();
  const a = await UdpClient.open();
  const b = await UdpClient.open();
  decode(await a.exchange(buildCheck(s)));
  decode(await b.exchange(buildCheck(s, { useCandidate: true })));
  assert.equal(s.selectedTuple?.id, `udp:${HOST}:${b.localPort}`);
  decode(await a.exchange(buildCheck(s, { useCandidate: true })));
  assert.equal(s.selectedTuple?.id, `udp:${HOST}:${a.localPort}`);
  assert.deepEqual(
    selected.map((t) => t.remotePort),
    [a.localPort, b.localPort, a.localPort],
  );
  const na = a.received.length;
  const nb = b.received.length;
  s.send(Buffer.from([0x80, 0x62]));
  await until(() => a.received.length > na);
  await wait(50);
  assert.equal(a.received.length, na + 1);
  assert.equal(b.received.length, nb);
  a.close();
  b.close();
  s.close();
});

test('UDP over ::1 works the same', async () => {
  const { s, packets } = newSession();
  const client = await UdpClient.open('::1');
  const res = decode(await client.exchange(buildCheck(s, { useCandidate: true })));
  assert.deepEqual(decodeXorAddress(getAttribute(res, Attr.XorMappedAddress) as Buffer, res.transactionId), {
    family: 6,
    address: '::1',
    port: client.localPort,
  });
  assert.equal(s.selectedTuple?.id, `udp:[::1]:${client.localPort}`);
  client.send(Buffer.from([0x81, 0xc8, 0, 1]));
  await until(() => packets.length > 0);
  assert.deepEqual(packets[0]?.[0], Buffer.from([0x81, 0xc8, 0, 1]));
  client.close();
  s.close();
});

test("two sessions on one port never receive each other's packets", async () => {
  const one = newSession();
  const two = newSession();
  const c1 = await UdpClient.open();
  const c2 = await UdpClient.open();
  decode(await c1.exchange(buildCheck(one.s)));
  decode(await c2.exchange(buildCheck(two.s)));
  // c1 tries two's ufrag with one's password: refused, and c1 stays one's.
  const refused = decode(await c1.exchange(buildCheck(two.s, { password: one.s.localPassword })));
  assert.equal(refused.cls, StunClass.Error);
  for (let i = 0; i < 50; i++) {
    c1.send(Buffer.from([0x80, 0x60, 1, i]));
    c2.send(Buffer.from([0x80, 0x60, 2, i]));
  }
  await until(() => one.packets.length >= 50 && two.packets.length >= 50);
  assert.equal(one.packets.length, 50);
  assert.equal(two.packets.length, 50);
  assert.ok(one.packets.every(([b, t]) => b[2] === 1 && t.remotePort === c1.localPort));
  assert.ok(two.packets.every(([b, t]) => b[2] === 2 && t.remotePort === c2.localPort));
  // A closed session's tuples are forgotten: its client's packets are now unknown.
  one.s.close();
  const unknownTuple = port.stats.unknownTuple;
  c1.send(Buffer.from([0x80, 0x60, 1, 99]));
  await until(() => port.stats.unknownTuple > unknownTuple);
  assert.equal(port.stats.unknownTuple, unknownTuple + 1);
  assert.equal(port.sessionCount > 0, true);
  c1.close();
  c2.close();
  two.s.close();
});

test('consent: with consentTimeoutMs 1500 an idle selected tuple expires, one that keeps checking does not', async () => {
  const idle = newSession({ consentTimeoutMs: 1500 });
  const busy = newSession({ consentTimeoutMs: 1500 });
  const expired: string[] = [];
  idle.s.on('consent-expired', () => expired.push('idle'));
  busy.s.on('consent-expired', () => expired.push('busy'));
  const ci = await UdpClient.open();
  const cb = await UdpClient.open();
  decode(await ci.exchange(buildCheck(idle.s, { useCandidate: true })));
  decode(await cb.exchange(buildCheck(busy.s, { useCandidate: true })));
  for (let i = 0; i < 7 && !expired.includes('idle'); i++) {
    await wait(500);
    decode(await cb.exchange(buildCheck(busy.s, { useCandidate: true })));
  }
  assert.deepEqual(expired, ['idle']);
  ci.close();
  cb.close();
  idle.s.close();
  busy.s.close();
});

/** A TCP client speaking RFC 4571 frames. */
class TcpClient {
  readonly frames: Buffer[] = [];
  closed = false;
  private readonly framer = new Rfc4571Framer();
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) =>
      this.framer.push(d, (f) => {
        this.frames.push(Buffer.from(f));
        return true;
      }),
    );
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }
  static async open(): Promise<TcpClient> {
    const s = connect({ port: port.tcpPort, host: HOST });
    await new Promise<void>((r, j) => {
      s.once('connect', () => r());
      s.once('error', j);
    });
    const c = new TcpClient(s);
    openedThisTest.push({ close: () => s.destroy() });
    return c;
  }
  async exchange(payload: Buffer): Promise<Buffer | null> {
    const before = this.frames.length;
    this.socket.write(frameRfc4571(payload) as Buffer);
    for (let i = 0; i < 100 && this.frames.length === before; i++) await wait(10);
    return this.frames[before] ?? null;
  }
}

test('TCP: a framed check binds the connection; frames split and coalesced arrive intact; the session answers framed', async () => {
  const { s, packets } = newSession();
  const client = await TcpClient.open();
  const res = decode(await client.exchange(buildCheck(s, { useCandidate: true })));
  assert.equal(res.cls, StunClass.Success);
  assert.equal(checkIntegrity(res, Buffer.from(s.localPassword)), true);
  assert.equal(s.selectedTuple?.protocol, 'tcp');
  assert.match(s.selectedTuple?.id ?? '', /^tcp:#\d+$/);
  const sent: Buffer[] = [];
  for (let i = 0; i < 200; i++) {
    const b = Buffer.alloc(1 + ((i * 37) % 1400), i & 0xff);
    b[0] = i % 2 === 0 ? 0x80 : 23;
    sent.push(b);
  }
  const stream = Buffer.concat(sent.map((b) => frameRfc4571(b) as Buffer));
  // Writes cut at varied points (1 byte, inside prefixes, across many frames), flushed apart.
  let off = 0;
  for (let i = 0; off < stream.length; i++) {
    const n = [1, 2, 3, 700, 5000, 17][i % 6] as number;
    client.socket.write(stream.subarray(off, off + n));
    off += n;
    if (i % 10 === 0) await wait(1);
  }
  await until(() => packets.length >= sent.length);
  assert.equal(packets.length, sent.length);
  packets.forEach(([b], i) => assert.ok(b.equals(sent[i] as Buffer), `frame ${i}`));
  s.send(Buffer.from([0x80, 0x63, 7]));
  await until(() => client.frames.length >= 2);
  assert.deepEqual(client.frames[1], Buffer.from([0x80, 0x63, 7]));
  client.socket.destroy();
  s.close();
});

test('TCP: garbage before a check, silence, or too many connections close the connection', async () => {
  const garbage = await TcpClient.open();
  const g0 = port.stats.tcpClosedGarbage;
  garbage.socket.write(frameRfc4571(Buffer.from([0x80, 0x60, 0, 1])) as Buffer);
  await until(() => garbage.closed);
  assert.equal(garbage.closed, true);
  assert.equal(port.stats.tcpClosedGarbage, g0 + 1);

  const silent = await TcpClient.open();
  const u0 = port.stats.tcpClosedUnbound;
  await until(() => silent.closed);
  assert.equal(silent.closed, true, 'closed after tcpBindTimeoutMs');
  assert.equal(port.stats.tcpClosedUnbound, u0 + 1);

  const small = new RtcPort({ port: 0, listenAddresses: [HOST], maxTcpConnections: 2 });
  openedThisTest.push({ close: () => void small.close() });
  await small.listen();
  const socks = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise<Socket>((r) => {
          const s = connect({ port: small.tcpPort, host: HOST }, () => r(s));
          openedThisTest.push({ close: () => s.destroy() });
          s.on('error', () => undefined);
        }),
    ),
  );
  await until(() => small.stats.tcpRefused === 1);
  assert.equal(small.stats.tcpRefused, 1);
  assert.equal(small.stats.tcpConnections, 2);
  for (const s of socks) s.destroy();
  await small.close();
});

test('TCP: closing the session closes its connections', async () => {
  const { s } = newSession();
  const client = await TcpClient.open();
  decode(await client.exchange(buildCheck(s)));
  s.close();
  await until(() => client.closed);
  assert.equal(client.closed, true);
});

/**
 * The TURN server against hostile input, over real sockets on loopback (security review
 * findings): UDP from source port 0, TCP connections reset right after connecting, peers on
 * port 0, attributes appended after MESSAGE-INTEGRITY, clients that never read, and TCP
 * connections that never allocate. Each test checks what a client sees and that the server
 * still answers afterwards.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  Attr,
  StunClass,
  StunMessageBuilder,
  StunMethod,
  decodeStun,
  encodeXorAddress,
  getAttribute,
  longTermKey,
  type StunMessage,
} from '../../src/stun/index.js';
import { UdpLink } from '../../src/turn/client-link.js';
import { type TurnServer, type TurnServerOptions } from '../../src/turn/TurnServer.js';
import { entryFaults } from '../../src/util/guarded.js';
import { sendRawUdp } from '../helpers/raw-udp.js';
import { resetBurst } from '../helpers/reset-burst.js';
import { makeTestCert, type TestCert } from '../helpers/tls-cert.js';
import { startTestTurnServer, testTurnClient } from '../helpers/turn-server.js';
import { type TurnTestClient, errorCode, relayedAddress, type Transport } from '../helpers/turn-client.js';
import { until } from '../helpers/until.js';
import { udpPeer } from '../helpers/udp-peer.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const servers: TurnServer[] = [];
let cert: TestCert;

async function startServer(o: Partial<TurnServerOptions> = {}): Promise<TurnServer> {
  const s = await startTestTurnServer(cert, o);
  servers.push(s);
  return s;
}

const client = (s: TurnServer, transport: Transport = 'udp'): Promise<TurnTestClient> => testTurnClient(s, transport);

const bindingRequest = (): Buffer => new StunMessageBuilder(StunMethod.Binding, StunClass.Request).build();

/** A UDP Binding from an ordinary socket: the server's answer, or null within 1 s. */
async function udpBinding(s: TurnServer): Promise<StunMessage | null> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  try {
    return await new Promise((resolve) => {
      const t = setTimeout(() => resolve(null), 1000);
      sock.on('message', (m) => {
        clearTimeout(t);
        const r = decodeStun(m);
        resolve(r.ok ? r.message : null);
      });
      sock.send(bindingRequest(), s.port, '127.0.0.1');
    });
  } finally {
    sock.close();
  }
}

/** Faults caught at TURN entry points so far (none is expected: each cause is fixed). */
function turnFaults(): number {
  let n = 0;
  for (const [where, count] of entryFaults.byEntryPoint()) if (where.startsWith('turn.')) n += count;
  return n;
}

before(() => {
  cert = makeTestCert();
});
after(async () => {
  for (const s of servers) await s.close();
  cert.remove();
});

describe('finding 1: UDP from source port 0', () => {
  test('Bindings from UDP source port 0 are dropped and counted as malformed; the server keeps answering', async () => {
    const s = await startServer();
    const before = s.counters.malformed;
    await sendRawUdp({ sourcePort: 0, destinationPort: s.port, payload: bindingRequest(), count: 5 });
    await until('five malformed datagrams', () => s.counters.malformed >= before + 5);
    assert.equal(s.counters.bindingRequests, 0, 'nothing from port 0 was answered');
    const res = await udpBinding(s);
    assert.equal(res?.cls, StunClass.Success, 'an ordinary Binding is still answered');
    assert.equal(turnFaults(), 0);
  });

  test('a UDP send to port 0 cannot throw: it is counted as a send failure', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const counters = { sendFailures: 0, slowReaderDrops: 0, slowReaderCloses: 0 };
    const link = new UdpLink(sock, '127.0.0.1', '127.0.0.1', 0, counters);
    link.send(Buffer.from('x'));
    link.sendChannelData(0x4000, Buffer.from('y'));
    sock.close();
    link.send(Buffer.from('closed socket'));
    assert.equal(counters.sendFailures, 3);
  });
});

describe('finding 2: TCP connections reset at once', () => {
  test('connections that write a Binding and reset before they are accepted (2 × 200): the server survives and still answers', async () => {
    const s = await startServer();
    const malformed = s.counters.malformed;
    // Reset while this event loop is blocked: the server accepts them only afterwards.
    resetBurst('127.0.0.1', s.port, 200, bindingRequest());
    await sleep(300);
    // And the same race from this process: connect, write, reset at once.
    for (let i = 0; i < 200; i++) {
      const sock = connect(s.port, '127.0.0.1');
      sock.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
      });
      sock.write(bindingRequest());
      sock.resetAndDestroy();
    }
    assert.ok(s.counters.malformed > malformed, 'connections without an address are counted');
    await sleep(200);
    const c = await client(s, 'tcp');
    const res = await c.exchange(new StunMessageBuilder(StunMethod.Binding, StunClass.Request));
    assert.equal(res.cls, StunClass.Success, 'a TCP Binding is still answered');
    c.close();
    assert.equal((await udpBinding(s))?.cls, StunClass.Success);
    assert.equal(turnFaults(), 0);
  });
});

describe('finding 3: peers on port 0', () => {
  test('ChannelBind to port 0 is 400; a Send indication to port 0 is dropped and counted; relaying goes on', async () => {
    const s = await startServer();
    const c = await client(s);
    const res = await c.allocate();
    assert.equal(res.cls, StunClass.Success);
    assert.equal(errorCode(await c.channelBind(0x4000, { address: '127.0.0.1', port: 0 })), 400);
    // A permission has no port (RFC 8656 §9): port 0 there is fine, but nothing is sent to it.
    assert.equal((await c.createPermission({ address: '127.0.0.1', port: 0 })).cls, StunClass.Success);
    const dropped = s.counters.dropped;
    c.sendIndication({ address: '127.0.0.1', port: 0 }, Buffer.from('to nowhere'));
    c.sendChannelData(0x4000, Buffer.from('unbound channel'));
    await until('two drops', () => s.counters.dropped >= dropped + 2);
    const peer = await udpPeer();
    assert.equal((await c.channelBind(0x4001, { address: '127.0.0.1', port: peer.port })).cls, StunClass.Success);
    c.sendChannelData(0x4001, Buffer.from('still relaying'));
    await until('the peer receives', () => peer.got.length === 1);
    assert.equal(peer.got[0]?.toString(), 'still relaying');
    assert.equal(s.counters.sendFailures, 0);
    assert.equal(turnFaults(), 0);
    peer.sock.close();
    c.close();
  });
});

describe('finding 4: attributes after MESSAGE-INTEGRITY', () => {
  /** A request signed like the client signs, then `extra` appended after MESSAGE-INTEGRITY (and a valid FINGERPRINT). */
  function signedThenAppended(
    c: TurnTestClient,
    method: number,
    attrs: (b: StunMessageBuilder) => void,
    extra: (b: StunMessageBuilder) => void,
  ): StunMessageBuilder {
    const b = new StunMessageBuilder(method, StunClass.Request);
    attrs(b);
    b.add(Attr.Username, Buffer.from(c.username)).add(Attr.Realm, Buffer.from(c.realm)).add(Attr.Nonce, Buffer.from(c.nonce));
    b.addIntegrity(longTermKey(c.username, c.realm, c.password));
    extra(b);
    return b.addFingerprint();
  }

  test('an unsigned XOR-PEER-ADDRESS appended to a signed CreatePermission opens nothing', async () => {
    const s = await startServer();
    const c = await client(s);
    const relay = relayedAddress(await c.allocate());
    assert.ok(relay);
    const a = await udpPeer('127.0.0.1');
    const b = await udpPeer('127.0.0.2');
    const req = signedThenAppended(
      c,
      StunMethod.CreatePermission,
      (m) => m.add(Attr.XorPeerAddress, encodeXorAddress({ address: '127.0.0.1', port: a.port }, m.transactionId)),
      (m) => m.add(Attr.XorPeerAddress, encodeXorAddress({ address: '127.0.0.2', port: b.port }, m.transactionId)),
    );
    const res = await c.exchange(req);
    assert.equal(res.cls, StunClass.Success);
    b.sock.send('from b', relay.port, relay.address);
    a.sock.send('from a', relay.port, relay.address);
    await until('the permitted peer arrives', () => c.received.length >= 1);
    await sleep(200);
    assert.deepEqual(
      c.received.map((r) => r.data.toString()),
      ['from a'],
      'the appended peer has no permission',
    );
    a.sock.close();
    b.sock.close();
    c.close();
  });

  test('LIFETIME 0 appended to a signed Refresh does not delete the allocation', async () => {
    const s = await startServer();
    const c = await client(s);
    assert.equal((await c.allocate()).cls, StunClass.Success);
    const zero = Buffer.alloc(4);
    const res = await c.exchange(
      signedThenAppended(
        c,
        StunMethod.Refresh,
        () => undefined,
        (m) => m.add(Attr.Lifetime, zero),
      ),
    );
    assert.equal(res.cls, StunClass.Success);
    assert.equal(getAttribute(res, Attr.Lifetime)?.readUInt32BE(0), 600, 'the signed request asked for the default lifetime');
    assert.equal(s.activeAllocations, 1);
    assert.equal((await c.exchange(c.signed(StunMethod.Refresh, []))).cls, StunClass.Success, 'the allocation is still there');
    c.close();
  });
});

describe('finding 6: clients that do not read', () => {
  test('a TCP client that sends Bindings and never reads is closed once its answers pass the cap; the server stays bounded', async () => {
    const s = await startServer();
    const sock: Socket = connect(s.port, '127.0.0.1');
    sock.on('error', () => undefined);
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    // Never read: no 'data' listener, and paused, so the kernel buffers fill and then ours would.
    sock.pause();
    let closed = false;
    sock.once('close', () => {
      closed = true;
    });
    const batch = Buffer.concat(Array.from({ length: 1000 }, () => bindingRequest()));
    const heapBefore = process.memoryUsage().arrayBuffers;
    let sent = 0;
    const deadline = Date.now() + 30_000;
    // At most 1,000,000 Bindings (20 MB; their answers would be 56 MB), or 30 s.
    while (!closed && sent < 1_000_000 && Date.now() < deadline) {
      if (!sock.write(batch)) await Promise.race([new Promise((r) => sock.once('drain', r)), sleep(200)]);
      sent += 1000;
      if (sent % 20_000 === 0) await sleep(1);
    }
    await until('the server closes the connection', () => closed, 5000);
    const growth = process.memoryUsage().arrayBuffers - heapBefore;
    assert.ok(s.counters.slowReaderCloses >= 1, 'counted as closed for not reading');
    assert.ok(growth < 64 << 20, `buffers grew by ${(growth / 1048576).toFixed(1)} MiB`);
    assert.equal((await udpBinding(s))?.cls, StunClass.Success, 'the server still answers');
  });

  test('relayed media toward a TCP client over its cap is dropped and counted, not queued', async () => {
    const s = await startServer({ streamMaxBufferedBytes: 64 * 1024 });
    const c = await client(s, 'tcp');
    const relay = relayedAddress(await c.allocate());
    assert.ok(relay);
    const peer = await udpPeer();
    assert.equal((await c.channelBind(0x4000, { address: '127.0.0.1', port: peer.port })).cls, StunClass.Success);
    // The client's socket is read by the test client: make it stop reading.
    const sockets = [...(s as unknown as { streams: { connections: Set<Socket> } }).streams.connections];
    const serverSide = sockets[0];
    assert.ok(serverSide);
    c.pause();
    const payload = Buffer.alloc(1000, 7);
    for (let i = 0; i < 20_000 && s.counters.slowReaderDrops === 0; i++) {
      peer.sock.send(payload, relay.port, relay.address);
      if (i % 100 === 99) await sleep(2);
    }
    await until('drops counted', () => s.counters.slowReaderDrops > 0, 5000);
    assert.ok(serverSide.writableLength <= 64 * 1024 + 1100, `server holds ${serverSide.writableLength} bytes for the client`);
    assert.equal(serverSide.destroyed, false, 'media overflow does not close the connection');
    peer.sock.close();
    c.close();
  });
});

describe('finding 11: TCP connections that never allocate', () => {
  test('a TCP connection with no Allocate is closed at its deadline even while it sends Bindings', async () => {
    const s = await startServer({ allocateDeadlineMs: 1000 });
    const c = await client(s, 'tcp');
    let closed = false;
    const opened = Date.now();
    c.onClose(() => {
      closed = true;
    });
    for (let i = 0; i < 20 && !closed; i++) {
      await c.exchange(new StunMessageBuilder(StunMethod.Binding, StunClass.Request)).catch(() => undefined);
      await sleep(150);
    }
    assert.ok(closed, 'closed while active');
    const after = Date.now() - opened;
    assert.ok(after < 2500, `closed after ${after} ms`);
    assert.equal(s.counters.streamsTimedOut, 1);
  });

  test('an allocated connection outlives the deadline', async () => {
    const s = await startServer({ allocateDeadlineMs: 500 });
    const c = await client(s, 'tcp');
    assert.equal((await c.allocate()).cls, StunClass.Success);
    await sleep(900);
    assert.equal((await c.exchange(c.signed(StunMethod.Refresh, []))).cls, StunClass.Success);
    assert.equal(s.counters.streamsTimedOut, 0);
    c.close();
  });
});

describe("finding 11: the server's own addresses", () => {
  test('the external and announced addresses are refused as peers (403); others stay allowed', async () => {
    // CreatePermission sends nothing: these addresses are never contacted.
    const s = await startServer({ externalIp: '1.2.3.4', selfAddresses: ['5.6.7.8'], allowPeers: ['127.0.0.0/8'] });
    const c = await client(s);
    assert.equal((await c.allocate()).cls, StunClass.Success);
    assert.equal(errorCode(await c.createPermission({ address: '1.2.3.4', port: 9 })), 403, 'the external address');
    assert.equal(errorCode(await c.createPermission({ address: '5.6.7.8', port: 9 })), 403, 'an announced address');
    assert.equal((await c.createPermission({ address: '1.2.3.5', port: 9 })).cls, StunClass.Success);
    c.close();
  });

  test('on its own (listening) address a relay reaches only relay ports and allowed media ports, not the TURN port or any other', async () => {
    // Nothing allowed on purpose: 127.0.0.1 is this server's own address.
    const s = await startServer({ allowPeers: [] });
    const a = await client(s);
    const b = await client(s);
    const relayA = relayedAddress(await a.allocate());
    const relayB = relayedAddress(await b.allocate());
    assert.ok(relayA && relayB);
    assert.equal(errorCode(await a.channelBind(0x4000, { address: '127.0.0.1', port: s.port })), 403, 'the TURN port itself');
    assert.equal(errorCode(await a.createPermission({ address: '127.0.0.1', port: 9 })), 403, 'another port');
    assert.equal(
      errorCode(await a.createPermission({ address: '127.0.0.2', port: relayB.port })),
      403,
      'loopback that is not ours stays refused',
    );
    // Relay to relay: two clients of this server.
    assert.equal((await a.channelBind(0x4001, { address: '127.0.0.1', port: relayB.port })).cls, StunClass.Success);
    assert.equal((await b.createPermission({ address: '127.0.0.1', port: relayA.port })).cls, StunClass.Success);
    a.sendChannelData(0x4001, Buffer.from('relay to relay'));
    await until('b receives through both relays', () => b.received.length === 1);
    assert.equal(b.received[0]?.data.toString(), 'relay to relay');
    assert.deepEqual(b.received[0]?.peer, { family: 4, address: '127.0.0.1', port: relayA.port });
    // The permission for 127.0.0.1 does not let a Send reach another port of the server.
    const service = await udpPeer();
    const dropped = s.counters.dropped;
    a.sendIndication({ address: '127.0.0.1', port: service.port }, Buffer.from('to a local service'));
    await until('dropped', () => s.counters.dropped > dropped);
    // Unless it is an endpoint the server serves on purpose (the SFU's media port).
    s.allowOwnEndpoints([{ ip: '127.0.0.1', port: service.port }]);
    assert.equal((await a.channelBind(0x4002, { address: '127.0.0.1', port: service.port })).cls, StunClass.Success);
    a.sendChannelData(0x4002, Buffer.from('to the media port'));
    await until('the media port receives', () => service.got.length === 1);
    assert.deepEqual(
      service.got.map((m) => m.toString()),
      ['to the media port'],
    );
    service.sock.close();
    a.close();
    b.close();
  });
});

/**
 * RFC 6062 TCP allocations against our own test client, with real TCP peers on loopback:
 * Allocate rules (§5.1), Connect and its errors (§5.2), ConnectionAttempt for incoming peers
 * (§5.3), ConnectionBind (§5.4), raw relaying both ways over TCP and TLS, what closing does,
 * the 30 s bind timeout (mocked clock), the cap on unbound connections and the byte-rate cap.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Attr, StunClass, StunMethod, encodeXorAddress } from '../../src/stun/index.js';
import { type TurnServer, type TurnServerOptions } from '../../src/turn/TurnServer.js';
import { MAX_PENDING_PER_ALLOCATION } from '../../src/turn/allocations/tcp-relay.js';
import { makeTestCert, type TestCert } from '../helpers/tls-cert.js';
import { startTestTurnServer, testTurnClient } from '../helpers/turn-server.js';
import { type TurnTestClient, connectionId, errorCode, relayedAddress, type Transport } from '../helpers/turn-client.js';
import { until } from '../helpers/until.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const servers: TurnServer[] = [];
let cert: TestCert;
const cleanup: Array<() => void> = [];

async function startServer(o: Partial<TurnServerOptions> = {}): Promise<TurnServer> {
  const s = await startTestTurnServer(cert, o);
  servers.push(s);
  return s;
}

async function client(s: TurnServer, transport: Transport = 'tcp', user = 'alice', password = 'wonderland'): Promise<TurnTestClient> {
  const c = await testTurnClient(s, transport, user, password);
  cleanup.push(() => c.close());
  return c;
}

/** A TCP peer on loopback that echoes, and remembers its connections. */
async function echoPeer(): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { server, port: (server.address() as { port: number }).port, sockets };
}

const joined = (parts: Buffer[]): string => Buffer.concat(parts).toString();

before(() => {
  cert = makeTestCert();
});
after(async () => {
  for (const f of cleanup) f();
  for (const s of servers) await s.close();
  cert.remove();
});

describe('Allocate (§5.1)', () => {
  let s: TurnServer;
  before(async () => {
    s = await startServer();
  });

  test('TCP over a UDP control connection is 400; another protocol is still 442; EVEN-PORT with TCP is 400', async () => {
    const u = await client(s, 'udp');
    assert.equal(errorCode(await u.allocateTcp()), 400);
    assert.equal(errorCode(await u.request(StunMethod.Allocate, [[Attr.RequestedTransport, Buffer.from([1, 0, 0, 0])]])), 442);
    const t = await client(s);
    assert.equal(errorCode(await t.allocateTcp([[Attr.EvenPort, Buffer.from([0])]])), 400);
    assert.equal(s.activeAllocations, 0);
  });

  test('TCP over TCP: the relayed address is a TCP listener on the relay address', async () => {
    const c = await client(s);
    const res = await c.allocateTcp();
    assert.equal(res.cls, StunClass.Success);
    const relayed = relayedAddress(res);
    assert.equal(relayed?.address, '127.0.0.1');
    const probe = connect({ host: '127.0.0.1', port: relayed.port });
    await new Promise<void>((resolve, reject) => {
      probe.once('connect', () => resolve());
      probe.once('error', reject);
    });
    // No permission for 127.0.0.1 yet: §5.3 says close it.
    await new Promise<void>((r) => probe.once('close', () => r()));
    assert.equal(c.connectionAttempts.length, 0);
  });
});

describe('Connect (§5.2) and ConnectionBind (§5.4)', () => {
  test('a refused peer is 403 and no connection is attempted', async () => {
    const s = await startServer({ allowPeers: [] });
    const peer = await echoPeer();
    const c = await client(s);
    await c.allocateTcp();
    assert.equal(errorCode(await c.connect({ address: '127.0.0.1', port: peer.port })), 403);
    await sleep(100);
    assert.equal(peer.sockets.length, 0);
  });

  test('without XOR-PEER-ADDRESS 400, without an allocation 437, on a UDP allocation 400, to a closed port 447', async () => {
    const s = await startServer();
    const none = await client(s);
    // IPv4 XOR addresses do not depend on the transaction id.
    const somewhere = encodeXorAddress({ address: '127.0.0.1', port: 9 }, Buffer.alloc(12));
    assert.equal(errorCode(await none.request(StunMethod.Connect, [[Attr.XorPeerAddress, somewhere]])), 437);
    const c = await client(s);
    await c.allocateTcp();
    assert.equal(errorCode(await c.exchange(c.signed(StunMethod.Connect, []))), 400);
    const closed = await echoPeer();
    closed.server.close();
    assert.equal(errorCode(await c.connect({ address: '127.0.0.1', port: closed.port })), 447);
    const u = await client(s, 'udp');
    await u.allocate();
    assert.equal(errorCode(await u.connect({ address: '127.0.0.1', port: closed.port })), 400);
  });

  test('ConnectionBind with an unknown CONNECTION-ID or none is 400', async () => {
    const s = await startServer();
    const c = await client(s);
    await c.allocateTcp();
    const bogus = await c.bindData(0xdeadbeef);
    assert.equal(errorCode(bogus.response), 400);
    bogus.socket.destroy();
    const none = await c.bindData(0, []);
    assert.equal(errorCode(none.response), 400);
    none.socket.destroy();
  });

  for (const transport of ['tcp', 'tls'] as const)
    test(`${transport}: Connect + ConnectionBind to a TCP echo peer: raw bytes both ways, 446 for a second Connect, closing ends both sides`, async () => {
      const s = await startServer();
      const peer = await echoPeer();
      const c = await client(s, transport);
      await c.allocateTcp();
      const res = await c.connect({ address: '127.0.0.1', port: peer.port });
      assert.equal(res.cls, StunClass.Success, `Connect: ${errorCode(res)}`);
      assert.ok(c.verify(res));
      const id = connectionId(res);
      assert.ok(id !== undefined);
      assert.equal(peer.sockets.length, 1);
      assert.equal(errorCode(await c.connect({ address: '127.0.0.1', port: peer.port })), 446);
      const before = s.counters.toPeerBytes;
      const data = await c.bindData(id);
      assert.equal(data.response.cls, StunClass.Success);
      assert.ok(c.verify(data.response));
      // The id is used up: a second bind is 400.
      const again = await c.bindData(id);
      assert.equal(errorCode(again.response), 400);
      again.socket.destroy();
      const big = Buffer.alloc(200_000, 'x');
      data.socket.write('hello, peer;');
      data.socket.write(big);
      await until('the echo', () => Buffer.concat(data.received).length === 12 + big.length);
      assert.equal(joined(data.received).slice(0, 12), 'hello, peer;');
      assert.ok(s.counters.toPeerBytes - before >= 12 + big.length);
      assert.ok(s.counters.toClientBytes >= 12 + big.length);
      // The client closes its data connection: the peer's connection closes too.
      data.socket.end();
      await until('the peer connection closes', () => peer.sockets[0]!.destroyed || peer.sockets[0]!.readableEnded);
      // Now the peer may be connected again.
      const res2 = await c.connect({ address: '127.0.0.1', port: peer.port });
      assert.equal(res2.cls, StunClass.Success);
    });

  test('the control connection closing ends the allocation, its peer and data connections', async () => {
    const s = await startServer();
    const peer = await echoPeer();
    const c = await client(s);
    await c.allocateTcp();
    const id = connectionId(await c.connect({ address: '127.0.0.1', port: peer.port }));
    const data = await c.bindData(id!);
    assert.equal(data.response.cls, StunClass.Success);
    let dataClosed = false;
    data.socket.on('close', () => {
      dataClosed = true;
    });
    c.close();
    await until('the allocation is released', () => s.activeAllocations === 0);
    await until('the data connection closes', () => dataClosed);
    await until('the peer connection closes', () => peer.sockets[0]!.destroyed || peer.sockets[0]!.readableEnded);
  });
});

test('the bandwidth cap holds a TCP relay back instead of dropping bytes', async () => {
  const s = await startServer({ maxBitrateKbps: 160 }); // 20,000 bytes/s each way, 1 s of burst
  const peer = await echoPeer();
  const c = await client(s);
  await c.allocateTcp();
  const data = await c.bindData(connectionId(await c.connect({ address: '127.0.0.1', port: peer.port }))!);
  const started = Date.now();
  data.socket.write(Buffer.alloc(40_000, 'y'));
  await until('all bytes echoed', () => Buffer.concat(data.received).length === 40_000, 15_000);
  const took = Date.now() - started;
  // 20,000 bytes over the burst each way: at least 1 s each way, here at least 1 s in all.
  assert.ok(took >= 1000, `40,000 bytes at 20,000 bytes/s took ${took} ms`);
  assert.equal(s.counters.dropped, 0);
});

describe('incoming peer connections (§5.3)', () => {
  test('a permitted peer produces ConnectionAttempt; what it sent before the bind arrives after it; data flows both ways', async () => {
    const s = await startServer();
    const c = await client(s);
    const relayed = relayedAddress(await c.allocateTcp())!;
    assert.equal((await c.createPermission({ address: '127.0.0.1', port: 1 })).cls, StunClass.Success);
    const peer = connect({ host: '127.0.0.1', port: relayed.port });
    cleanup.push(() => peer.destroy());
    const fromRelay: Buffer[] = [];
    peer.on('data', (d: Buffer) => fromRelay.push(d));
    await new Promise<void>((r) => peer.once('connect', () => r()));
    peer.write('early bytes;');
    await until('ConnectionAttempt', () => c.connectionAttempts.length === 1);
    const attempt = c.connectionAttempts[0]!;
    assert.deepEqual(attempt.peer, { family: 4, address: '127.0.0.1', port: peer.localPort });
    const data = await c.bindData(attempt.id);
    assert.equal(data.response.cls, StunClass.Success);
    await until('the early bytes', () => joined(data.received) === 'early bytes;');
    data.socket.write('to the peer');
    await until('bytes at the peer', () => joined(fromRelay) === 'to the peer');
    peer.write('later');
    await until('later bytes', () => joined(data.received) === 'early bytes;later');
    // The peer closes: so does the data connection.
    let dataClosed = false;
    data.socket.on('close', () => {
      dataClosed = true;
    });
    peer.end();
    await until('the data connection closes', () => dataClosed);
  });

  test('a peer connection not bound within 30 s is closed and its CONNECTION-ID dies (mocked clock)', async (t) => {
    const s = await startServer();
    const c = await client(s);
    const relayed = relayedAddress(await c.allocateTcp())!;
    await c.createPermission({ address: '127.0.0.1', port: 1 });
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const peer = connect({ host: '127.0.0.1', port: relayed.port });
    peer.on('error', () => undefined);
    let closed = false;
    peer.on('close', () => {
      closed = true;
    });
    // Real time cannot be waited for with setTimeout mocked: poll on the event loop instead.
    const spin = async (cond: () => boolean): Promise<void> => {
      for (let i = 0; i < 100_000 && !cond(); i++) await new Promise((r) => setImmediate(r));
    };
    await spin(() => c.connectionAttempts.length === 1);
    assert.equal(c.connectionAttempts.length, 1);
    t.mock.timers.tick(29_000);
    await spin(() => closed);
    assert.equal(closed, false, 'still open before 30 s');
    t.mock.timers.tick(1_000);
    await spin(() => closed);
    t.mock.timers.reset();
    assert.ok(closed, 'closed at 30 s');
    const late = await c.bindData(c.connectionAttempts[0]!.id);
    assert.equal(errorCode(late.response), 400);
    late.socket.destroy();
  });

  test(`at most ${MAX_PENDING_PER_ALLOCATION} unbound peer connections per allocation: the next one is closed unannounced`, async () => {
    const s = await startServer();
    const c = await client(s);
    const relayed = relayedAddress(await c.allocateTcp())!;
    await c.createPermission({ address: '127.0.0.1', port: 1 });
    const peers: Socket[] = [];
    for (let i = 0; i < MAX_PENDING_PER_ALLOCATION; i++) {
      const p = connect({ host: '127.0.0.1', port: relayed.port });
      p.on('error', () => undefined);
      peers.push(p);
      cleanup.push(() => p.destroy());
    }
    await until('every ConnectionAttempt', () => c.connectionAttempts.length === MAX_PENDING_PER_ALLOCATION);
    const extra = connect({ host: '127.0.0.1', port: relayed.port });
    extra.on('error', () => undefined);
    await new Promise<void>((r) => extra.once('close', () => r()));
    await sleep(50);
    assert.equal(c.connectionAttempts.length, MAX_PENDING_PER_ALLOCATION);
    // Binding one frees a place.
    assert.equal((await c.bindData(c.connectionAttempts[0]!.id)).response.cls, StunClass.Success);
    const next = connect({ host: '127.0.0.1', port: relayed.port });
    next.on('error', () => undefined);
    cleanup.push(() => next.destroy());
    await until('one more ConnectionAttempt', () => c.connectionAttempts.length === MAX_PENDING_PER_ALLOCATION + 1);
  });

  test('an unbound peer connection closes with its allocation, and its CONNECTION-ID is then unknown (400)', async () => {
    const s = await startServer();
    const c = await client(s);
    const relayed = relayedAddress(await c.allocateTcp())!;
    await c.createPermission({ address: '127.0.0.1', port: 1 });
    const peer = connect({ host: '127.0.0.1', port: relayed.port });
    peer.on('error', () => undefined);
    await until('ConnectionAttempt', () => c.connectionAttempts.length === 1);
    // The control connection goes away before the bind: the peer is closed and the id is gone.
    c.close();
    await new Promise<void>((r) => peer.once('close', () => r()));
    const other = await client(s);
    other.realm = c.realm;
    other.nonce = c.nonce;
    const late = await other.bindData(c.connectionAttempts[0]!.id);
    assert.equal(errorCode(late.response), 400);
    late.socket.destroy();
  });
});

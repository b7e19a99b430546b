/**
 * TURN worker processes (turnWorkers: 2) over real sockets: allocations and relayed data on both
 * workers' ports over UDP, TCP and TLS with REST credentials from the shared secret; relay
 * ports in disjoint slices; relay to relay between siblings; each identity handed the URLs of
 * its hash's worker; kill -9 of one worker: the other relays on, the killed one comes back on
 * its ports; /metrics and /healthz show both.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { SwitchboardError } from '../../src/protocol/errors.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { identityHash, type TurnWorkerStatus } from '../../src/server/workers/turn-pool.js';
import { StunClass } from '../../src/stun/constants.js';
import { turnRestCredential } from '../../src/turn/rest-credentials.js';
import { makeTestCert, type TestCert } from '../helpers/tls-cert.js';
import { TurnTestClient, errorCode, relayedAddress, type Transport } from '../helpers/turn-client.js';
import { until } from '../helpers/until.js';
import { udpPeer } from '../helpers/udp-peer.js';
import { TestClient } from '../helpers/ws-client.js';

const SECRET = 'turn-workers-secret';
let sb: Switchboard;
let cert: TestCert;
const clients: TurnTestClient[] = [];

before(async () => {
  cert = makeTestCert();
  sb = await startSwitchboard({
    port: 0,
    host: '127.0.0.1',
    turnPort: 0,
    turnTlsPort: 0,
    turnTlsCert: cert.certFile,
    turnTlsKey: cert.keyFile,
    rtcEnabled: false,
    logLevel: 'silent',
    turnSecret: SECRET,
    turnWorkers: 2,
    // Loopback peers on purpose (refused by default); the server's own addresses stay refused.
    turnAllowPeers: ['127.0.0.0/8'],
  });
});

after(async () => {
  for (const c of clients) c.close();
  await sb.close();
  cert.remove();
});

function pool() {
  const p = sb.turnService?.pool;
  assert.ok(p, 'TURN runs in worker processes');
  return p;
}

function status(i: number): TurnWorkerStatus {
  return pool().status()[i]!;
}

/** A client of worker `i` over `transport`, logged in with a REST credential of `identity`. */
async function clientOf(i: number, transport: Transport, identity: string, server = sb): Promise<TurnTestClient> {
  const e = server.turnService!.pool!.endpoint(i)!;
  const c = await TurnTestClient.open(transport, '127.0.0.1', transport === 'tls' ? e.tlsPort : e.port);
  clients.push(c);
  const { username, credential } = turnRestCredential(SECRET, identity, 600);
  c.username = username;
  c.password = credential;
  c.udpRtoMs = 250;
  return c;
}

/** Allocates, opens a permission to a UDP peer and relays one packet each way; returns the relay port. */
async function relayBothWays(c: TurnTestClient, tag: string): Promise<number> {
  const res = await c.allocate();
  assert.equal(res.cls, StunClass.Success, `${tag}: allocate`);
  const relay = relayedAddress(res)!;
  const peer = await udpPeer();
  try {
    assert.equal((await c.createPermission({ address: '127.0.0.1', port: peer.port })).cls, StunClass.Success);
    c.sendIndication({ address: '127.0.0.1', port: peer.port }, Buffer.from(`${tag} to peer`));
    await until(`${tag}: peer receives`, () => peer.got.length === 1);
    assert.equal(peer.got[0]?.toString(), `${tag} to peer`);
    const before = c.received.length;
    peer.sock.send(Buffer.from(`${tag} to client`), relay.port, '127.0.0.1');
    await until(`${tag}: client receives`, () => c.received.length === before + 1);
    assert.equal(c.received.at(-1)?.data.toString(), `${tag} to client`);
  } finally {
    peer.sock.close();
  }
  return relay.port;
}

describe('TURN workers', () => {
  test('two workers on their own ports, with disjoint relay slices', () => {
    const [a, b] = [status(0), status(1)];
    assert.ok(a.up && b.up);
    assert.notEqual(a.pid, b.pid);
    assert.notEqual(a.pid, process.pid);
    assert.ok(a.port > 0 && b.port > 0 && a.port !== b.port);
    assert.ok(a.tlsPort > 0 && b.tlsPort > 0 && a.tlsPort !== b.tlsPort);
    assert.deepEqual(a.relayPorts, { min: 49152, max: 57343 });
    assert.deepEqual(b.relayPorts, { min: 57344, max: 65535 });
  });

  for (const transport of ['udp', 'tcp', 'tls'] as const) {
    test(`${transport}: allocations and relayed data on both workers, relays inside each worker's slice`, async () => {
      for (const i of [0, 1]) {
        const c = await clientOf(i, transport, `user-${transport}-${i}`);
        const port = await relayBothWays(c, `worker ${i} ${transport}`);
        const { min, max } = status(i).relayPorts;
        assert.ok(port >= min && port <= max, `relay port ${port} in worker ${i}'s slice ${min}-${max}`);
        assert.equal((await c.refresh(0)).cls, StunClass.Success);
      }
    });
  }

  test("each identity is handed the URLs of its hash's worker", async () => {
    const byWorker = new Map<number, string>();
    for (let n = 0; byWorker.size < 2 && n < 100; n++) byWorker.set(identityHash(`caller-${n}`) % 2, `caller-${n}`);
    assert.equal(byWorker.size, 2);
    for (const [i, identity] of byWorker) {
      const [ws, welcome] = await TestClient.hello(sb.wsUrl, { identity });
      ws.close();
      const e = pool().endpoint(i)!;
      assert.deepEqual(welcome.iceServers[0], { urls: [`stun:127.0.0.1:${e.port}`] });
      assert.deepEqual(welcome.iceServers[1]?.urls, [
        `turn:127.0.0.1:${e.port}?transport=udp`,
        `turn:127.0.0.1:${e.port}?transport=tcp`,
        `turns:127.0.0.1:${e.tlsPort}?transport=tcp`,
      ]);
      // The credential works on that worker.
      const c = await TurnTestClient.open('udp', '127.0.0.1', e.port);
      clients.push(c);
      c.username = welcome.iceServers[1]?.username ?? '';
      c.password = welcome.iceServers[1]?.credential ?? '';
      assert.equal((await c.allocate()).cls, StunClass.Success);
      await c.refresh(0);
    }
  });

  test('kill -9 of one worker: the other relays on; it comes back on its ports; /metrics and /healthz show both', async () => {
    const survivor = await clientOf(1, 'udp', 'survivor');
    const res = await survivor.allocate();
    const relay = relayedAddress(res)!;
    const peer = await udpPeer();
    try {
      assert.equal((await survivor.createPermission({ address: '127.0.0.1', port: peer.port })).cls, StunClass.Success);
      const before = status(0);
      process.kill(before.pid!, 'SIGKILL');
      await until('worker 0 seen down', () => !status(0).up, 3000);
      // Relaying on worker 1 goes on while worker 0 is down and restarting.
      for (let k = 0; k < 5; k++) {
        peer.sock.send(Buffer.from(`during ${k}`), relay.port, '127.0.0.1');
        await until(`survivor receives packet ${k}`, () => survivor.received.length === k + 1);
      }
      await until('worker 0 back', () => status(0).up, 10_000);
      const after = status(0);
      assert.notEqual(after.pid, before.pid);
      assert.deepEqual([after.port, after.tlsPort, after.restarts], [before.port, before.tlsPort, 1]);
      const again = await clientOf(0, 'udp', 'after-restart');
      await relayBothWays(again, 'restarted worker 0');
      survivor.sendIndication({ address: '127.0.0.1', port: peer.port }, Buffer.from('still here'));
      await until('peer receives from the survivor', () => peer.got.some((m) => m.toString() === 'still here'));

      // Snapshots arrive every second: wait for the restarted worker's allocation to show.
      let text = '';
      for (let k = 0; k < 30 && !/switchboard_turn_allocations\{worker="0",transport="udp"\} 1/.test(text); k++) {
        text = await (await fetch(`${sb.url}/metrics`)).text();
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(text, /switchboard_turn_allocations\{worker="0",transport="udp"\} 1/);
      assert.match(text, /switchboard_turn_allocations\{worker="1",transport="udp"\} [1-9]/);
      assert.match(text, /switchboard_turn_relayed_packets_total\{worker="1",direction="to_client"\} [1-9]/);
      assert.match(text, /switchboard_turn_worker_restarts_total\{worker="0"\} 1/);
      assert.match(text, /switchboard_turn_worker_restarts_total\{worker="1"\} 0/);
      assert.match(text, /switchboard_turn_worker_up\{worker="0"\} 1/);
      const health = (await (await fetch(`${sb.url}/healthz`)).json()) as { status: string; turnWorkers: TurnWorkerStatus[] };
      assert.equal(health.status, 'ok');
      assert.deepEqual(
        health.turnWorkers.map((w) => [w.worker, w.up, w.port, w.restarts]),
        [
          [0, true, before.port, 1],
          [1, true, status(1).port, 0],
        ],
      );
      await again.refresh(0);
      await survivor.refresh(0);
    } finally {
      peer.sock.close();
    }
  });
});

describe('TURN workers, loopback peers refused (the default)', () => {
  // 127.0.0.1 is then only the server's own address: reachable are its relays (any worker's slice), nothing else.
  let own: Switchboard;
  before(async () => {
    own = await startSwitchboard({
      port: 0,
      host: '127.0.0.1',
      turnPort: 0,
      rtcEnabled: false,
      logLevel: 'silent',
      turnSecret: SECRET,
      turnWorkers: 2,
      // Divided over the workers: 2 + 1.
      turnMaxAllocations: 3,
    });
  });
  after(() => own.close());

  test('relay to relay between sibling workers: a client of one reaches a client of the other through both relays', async () => {
    const a = await clientOf(0, 'udp', 'ann', own);
    const b = await clientOf(1, 'udp', 'bob', own);
    const ra = relayedAddress(await a.allocate())!;
    const rb = relayedAddress(await b.allocate())!;
    assert.equal((await a.createPermission(rb)).cls, StunClass.Success);
    assert.equal((await b.createPermission(ra)).cls, StunClass.Success);
    a.sendIndication(rb, Buffer.from('ann to bob'));
    await until('bob receives through both relays', () => b.received.length === 1);
    assert.equal(b.received[0]?.data.toString(), 'ann to bob');
    assert.equal(b.received[0]?.peer.port, ra.port);
    b.sendIndication(ra, Buffer.from('bob to ann'));
    await until('ann receives', () => a.received.length === 1);
    assert.equal(a.received[0]?.data.toString(), 'bob to ann');
    // A port on our own address outside every relay slice stays refused (RFC 8656 §17).
    assert.equal(errorCode(await a.channelBind(0x4001, { address: '127.0.0.1', port: 9 })), 403);
    await a.refresh(0);
    await b.refresh(0);
  });

  test('the total allocation quota is divided over the workers (3 = 2 + 1); each refuses past its share with 486', async () => {
    for (const [i, share] of [
      [0, 2],
      [1, 1],
    ] as const) {
      const held: TurnTestClient[] = [];
      for (let k = 0; k < share; k++) {
        const c = await clientOf(i, 'udp', `quota-${i}-${k}`, own);
        assert.equal((await c.allocate()).cls, StunClass.Success, `worker ${i} allocation ${k + 1} of ${share}`);
        held.push(c);
      }
      const over = await clientOf(i, 'udp', `quota-${i}-over`, own);
      assert.equal(errorCode(await over.allocate()), 486, `worker ${i} past its share`);
      for (const c of held) await c.refresh(0);
    }
  });
});

test('a TURN worker that cannot bind its port fails the start, naming the flags and the port range', async () => {
  // Two consecutive free ports; the second one taken by us.
  const taken = createSocket('udp4');
  await new Promise<void>((r) => taken.bind(0, '127.0.0.1', r));
  const base = taken.address().port - 1;
  try {
    await assert.rejects(
      startSwitchboard({ port: 0, host: '127.0.0.1', turnPort: base, rtcEnabled: false, logLevel: 'silent', turnWorkers: 2 }),
      (err: unknown) =>
        err instanceof SwitchboardError &&
        err.code === 'unavailable' &&
        err.message.includes(`UDP/TCP ports ${base}-${base + 1} (--turn-port)`) &&
        err.message.includes('--turn-relay-port-min') &&
        err.message.includes('--turn-workers'),
    );
  } finally {
    taken.close();
  }
});

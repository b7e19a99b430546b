/**
 * TURN quotas and per-allocation bounds over real sockets on loopback (security review,
 * finding 5): quotas follow the identity, not the REST username; a per-IP bound; EVEN-PORT
 * reservations count and are bounded; permissions and channels per allocation are bounded
 * (508); the default per-identity quota lets a full relay-only mesh room connect, and mesh
 * rooms hold at most maxMeshParticipants.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { after, before, describe, test } from 'node:test';
import { Attr, StunClass } from '../../src/stun/index.js';
import { startSwitchboard } from '../../src/server/app.js';
import { configSections, defaultConfig, mergeConfig } from '../../src/server/config.js';
import { startTurnServer, turnUrlsFor } from '../../src/server/turn.js';
import { turnRestCredential } from '../../src/turn/rest-credentials.js';
import { MAX_CHANNELS_PER_ALLOCATION, MAX_PERMISSIONS_PER_ALLOCATION } from '../../src/turn/allocations/Allocation.js';
import { type TurnServer, type TurnServerOptions } from '../../src/turn/TurnServer.js';
import { makeTestCert, type TestCert } from '../helpers/tls-cert.js';
import { startTestTurnServer, testTurnClient } from '../helpers/turn-server.js';
import { type TurnTestClient, errorCode, type Transport } from '../helpers/turn-client.js';
import { TestClient } from '../helpers/ws-client.js';

const servers: TurnServer[] = [];
const clients: TurnTestClient[] = [];
let cert: TestCert;

async function startServer(o: Partial<TurnServerOptions> = {}): Promise<TurnServer> {
  const s = await startTestTurnServer(cert, { secret: 'rest-secret', ...o });
  servers.push(s);
  return s;
}

/** A client with the REST credential of `identity`, made `skew` seconds apart (the username changes, the identity not). */
async function restClient(s: TurnServer, identity: string, skew = 0, transport: Transport = 'udp'): Promise<TurnTestClient> {
  const cred = turnRestCredential('rest-secret', identity, 600 + skew);
  const c = await testTurnClient(s, transport, cred.username, cred.credential);
  clients.push(c);
  return c;
}

async function userClient(s: TurnServer, transport: Transport = 'udp'): Promise<TurnTestClient> {
  const c = await testTurnClient(s, transport);
  clients.push(c);
  return c;
}

const EVEN_PORT_R = Buffer.from([0x80]);
/** The default of maxMeshParticipants. */
const DEFAULT_MESH = 8;

before(() => {
  cert = makeTestCert();
});
after(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.close();
  cert.remove();
});

describe('quotas', () => {
  test('the per-identity quota holds across REST usernames of one identity (a new expiry each second)', async () => {
    const s = await startServer({ maxAllocationsPerUser: 3 });
    for (let i = 0; i < 3; i++)
      assert.equal((await (await restClient(s, 'mallory', i)).allocate()).cls, StunClass.Success, `allocation ${i + 1}`);
    assert.equal(errorCode(await (await restClient(s, 'mallory', 3)).allocate()), 486, 'a fourth under a fresh username');
    assert.equal((await (await restClient(s, 'trudy', 0)).allocate()).cls, StunClass.Success, 'another identity is not affected');
  });

  test('the per-IP quota bounds one host with many identities', async () => {
    const s = await startServer({ maxAllocationsPerUser: 10, maxAllocationsPerIp: 4 });
    for (let i = 0; i < 4; i++) assert.equal((await (await restClient(s, `guest-${i}`)).allocate()).cls, StunClass.Success);
    assert.equal(errorCode(await (await restClient(s, 'guest-4')).allocate()), 486);
  });

  test('EVEN-PORT reservations count against the quota, and their number is bounded (508)', async () => {
    const s = await startServer({ maxAllocationsPerUser: 4 });
    const a = await restClient(s, 'rtp');
    const b = await restClient(s, 'rtp');
    assert.equal((await a.allocate([[Attr.EvenPort, EVEN_PORT_R]])).cls, StunClass.Success);
    assert.equal((await b.allocate([[Attr.EvenPort, EVEN_PORT_R]])).cls, StunClass.Success);
    assert.equal(errorCode(await (await restClient(s, 'rtp')).allocate()), 486, 'two allocations and two held ports use the quota of 4');
    assert.equal(s.heldReservations, 2);

    const capped = await startServer({ maxReservations: 2 });
    for (let i = 0; i < 2; i++)
      assert.equal((await (await userClient(capped)).allocate([[Attr.EvenPort, EVEN_PORT_R]])).cls, StunClass.Success);
    const third = await (await userClient(capped)).allocate([[Attr.EvenPort, EVEN_PORT_R]]);
    assert.equal(errorCode(third), 508, 'a third held port');
    assert.equal(capped.heldReservations, 2);
    assert.equal(
      (await (await userClient(capped)).allocate([[Attr.EvenPort, Buffer.from([0])]])).cls,
      StunClass.Success,
      'EVEN-PORT without R holds nothing',
    );
  });

  test(`permissions per allocation are bounded at ${MAX_PERMISSIONS_PER_ALLOCATION} peer IPs (508); refreshing one still works`, async () => {
    const s = await startServer();
    const c = await userClient(s);
    assert.equal((await c.allocate()).cls, StunClass.Success);
    const ip = (i: number): { address: string; port: number } => ({ address: `127.1.${i >> 8}.${i & 255}`, port: 9 });
    // 40 addresses per request (a request holds at most 64 attributes).
    let i = 0;
    while (i + 40 <= MAX_PERMISSIONS_PER_ALLOCATION) {
      assert.equal((await c.createPermission(...Array.from({ length: 40 }, (_, k) => ip(i + k)))).cls, StunClass.Success);
      i += 40;
    }
    const left = MAX_PERMISSIONS_PER_ALLOCATION - i;
    assert.equal(errorCode(await c.createPermission(...Array.from({ length: left + 1 }, (_, k) => ip(i + k)))), 508, 'one past the bound');
    assert.equal(
      (await c.createPermission(...Array.from({ length: left }, (_, k) => ip(i + k)))).cls,
      StunClass.Success,
      'up to the bound',
    );
    assert.equal((await c.createPermission(ip(0), ip(1))).cls, StunClass.Success, 'a refresh adds nothing');
    assert.equal(errorCode(await c.createPermission(ip(1000))), 508);
  });

  test(`channels per allocation are bounded at ${MAX_CHANNELS_PER_ALLOCATION} (508)`, async () => {
    const s = await startServer();
    const c = await userClient(s);
    assert.equal((await c.allocate()).cls, StunClass.Success);
    for (let n = 0; n < MAX_CHANNELS_PER_ALLOCATION; n++) {
      const res = await c.channelBind(0x4000 + n, { address: '127.0.0.1', port: 10_000 + n });
      assert.equal(res.cls, StunClass.Success, `channel ${n}`);
    }
    assert.equal(errorCode(await c.channelBind(0x4000 + MAX_CHANNELS_PER_ALLOCATION, { address: '127.0.0.1', port: 20_000 })), 508);
    assert.equal(
      (await c.channelBind(0x4000, { address: '127.0.0.1', port: 10_000 })).cls,
      StunClass.Success,
      'refreshing a bound channel',
    );
  });
});

describe('defaults sized for a relay-only mesh room', () => {
  test('one page (one REST identity) gets (maxMeshParticipants − 1) × TURN URLs allocations, over UDP and TCP', async () => {
    const config = mergeConfig(defaultConfig(), { host: '127.0.0.1', turnPort: 0, turnAllowPeers: ['127.0.0.0/8'] });
    const s = await startTurnServer(configSections(config), 'rest-secret', pino({ level: 'silent' }));
    servers.push(s);
    // No TLS certificate: the page is handed two TURN URLs (UDP, TCP), one allocation per peer each.
    assert.equal(turnUrlsFor('127.0.0.1', s).turn.length, 2);
    const peers = DEFAULT_MESH - 1;
    for (let i = 0; i < peers; i++) {
      for (const transport of ['udp', 'tcp'] as const) {
        const c = await restClient(s, 'page-1', 0, transport);
        assert.equal((await c.allocate()).cls, StunClass.Success, `${transport} allocation for peer ${i + 1}`);
      }
    }
    assert.equal(s.activeAllocations, peers * 2);
    assert.equal(config.maxMeshParticipants, DEFAULT_MESH);
  });

  test('a mesh room refuses the participant past maxMeshParticipants with room-full naming the mesh cap', async () => {
    const sb = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent', maxMeshParticipants: 2 });
    const ws: TestClient[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const [c] = await TestClient.hello(sb.wsUrl);
        ws.push(c);
        await c.join('mesh-room');
      }
      const [third] = await TestClient.hello(sb.wsUrl);
      ws.push(third);
      const e = await third.expectError({ type: 'join', room: 'mesh-room', id: 'j' });
      assert.equal(e.code, 'room-full');
      assert.match(e.message, /mesh rooms hold at most 2 participants/);
    } finally {
      for (const c of ws) c.terminate();
      await sb.close();
    }
  });
});

/**
 * Signaling bounds over real sockets on loopback: slow readers, prototype-named fields,
 * the hello deadline, the per-address connection cap, call attempt limits and call scope.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import type { CreateCallResponse, RestError, WelcomeMsg } from '../../src/protocol/index.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import type { ServerConfig } from '../../src/server/config.js';
import { createAccessToken } from '../../src/signaling/auth.js';
import { TestClient, sleep } from '../helpers/ws-client.js';

const BASE: Partial<ServerConfig> = { port: 0, host: '127.0.0.1', logLevel: 'silent', turnEnabled: false, rtcEnabled: false };

/** One server per describe block, with its clients terminated afterwards. */
function serverFor(overrides: Partial<ServerConfig>): { sb: () => Switchboard; track: (c: TestClient) => TestClient } {
  let sb: Switchboard;
  const clients: TestClient[] = [];
  before(async () => {
    sb = await startSwitchboard({ ...BASE, ...overrides });
  });
  after(async () => {
    for (const c of clients) c.terminate();
    await sb.close();
  });
  return {
    sb: () => sb,
    track: (c) => {
      clients.push(c);
      return c;
    },
  };
}

async function metricsText(sb: Switchboard): Promise<string> {
  return (await fetch(`${sb.url}/metrics`)).text();
}

/** Polls `cond` every 20 ms for at most `ms`. */
async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

describe('a client that stops reading', () => {
  const CAP = 256 * 1024;
  const { sb, track } = serverFor({ heartbeatMs: 120_000, rateLimit: { perSecond: 50, burst: 50 }, maxOutboundBufferBytes: CAP });

  test('is closed at the outbound bound; its session waits for resume; the room keeps working', async (t) => {
    const [a] = await TestClient.hello(sb().wsUrl, { identity: 'flooder' });
    const [b, wb] = await TestClient.hello(sb().wsUrl, { identity: 'sleeper' });
    const [c] = await TestClient.hello(sb().wsUrl, { identity: 'bystander' });
    [a, b, c].forEach(track);
    const ja = await a.join('slow');
    const jb = await b.join('slow');
    const jc = await c.join('slow');
    // B stops reading: its receive window fills, then the server's kernel buffer, then what ws holds.
    (b.ws as unknown as { _socket: Socket })._socket.pause();
    const sdp = `v=0\r\na=x-filler:${'x'.repeat(48 * 1024)}\r\n`;
    const baseline = process.memoryUsage().arrayBuffers;
    let sent = 0;
    let maxHeld = 0;
    let maxGrowth = 0;
    const deadline = Date.now() + 15_000;
    // 40 offers/s of 48 KiB: under the 50/s rate limit, ~2 MB/s toward B.
    while (sb().signaling.stats.connections === 3 && Date.now() < deadline) {
      a.send({ type: 'offer', to: jb.self.id, sdp });
      sent++;
      await sleep(25);
      maxHeld = Math.max(maxHeld, sb().signaling.stats.outboundBufferedBytes ?? 0);
      maxGrowth = Math.max(maxGrowth, process.memoryUsage().arrayBuffers - baseline);
    }
    assert.equal(
      sb().signaling.stats.connections,
      2,
      `the slow reader is still connected after ${sent} offers (${((sent * 48) / 1024).toFixed(1)} MiB); this process's buffers grew ${(maxGrowth / 1048576).toFixed(1)} MiB`,
    );
    t.diagnostic(`closed after ${sent} offers of 48 KiB; the server held at most ${maxHeld} bytes for it`);
    assert.ok(maxHeld <= CAP + 64 * 1024, `the server held ${maxHeld} bytes for one connection; the bound is ${CAP} + one frame`);
    assert.match(await metricsText(sb()), /^switchboard_signaling_server_closes_total\{reason="slow-reader"\} 1$/m);
    // The flooder was within its rate and heard no complaint; the bystander still gets relays.
    assert.deepEqual(
      a.received.filter((m) => m.type === 'error'),
      [],
    );
    a.send({ type: 'offer', to: jc.self.id, sdp: 'v=0\r\n' });
    assert.deepEqual(await c.next('offer'), { type: 'offer', from: ja.self.id, sdp: 'v=0\r\n' });
    // B's session is in its resume grace, not gone: nobody was told it left; frames for it are queued.
    assert.equal(sb().signaling.stats.sessions, 3);
    a.send({ type: 'offer', to: jb.self.id, sdp: 'v=0\r\nqueued-1' });
    a.send({ type: 'offer', to: jb.self.id, sdp: 'v=0\r\nqueued-2' });
    await sleep(100);
    assert.equal(
      c.received.some((m) => m.type === 'participant-left'),
      false,
    );
    const b2 = track(await TestClient.connect(sb().wsUrl));
    b2.send({ type: 'resume', sessionToken: wb.sessionToken });
    const resumed = await b2.next('resumed');
    assert.deepEqual([resumed.sessionId, resumed.room], [jb.self.id, 'slow']);
    const queued: string[] = [];
    for (;;) {
      const o = await b2.next('offer');
      if (o.sdp.length < 100) queued.push(o.sdp);
      if (o.sdp === 'v=0\r\nqueued-2') break;
    }
    assert.deepEqual(queued, ['v=0\r\nqueued-1', 'v=0\r\nqueued-2']);
  });
});

describe('fields named like Object.prototype members', () => {
  const { sb, track } = serverFor({});

  test('are refused with invalid-message naming the field, and nothing reaches the peer', async () => {
    const [a] = await TestClient.hello(sb().wsUrl);
    const [b] = await TestClient.hello(sb().wsUrl);
    [a, b].forEach(track);
    const ja = await a.join('proto');
    const jb = await b.join('proto');
    const to = jb.self.id;
    const cases: Array<[string, string]> = [
      [`{"type":"candidate","to":"${to}","candidate":{"candidate":"c","__proto__":{"polluted":true}}}`, 'candidate.__proto__'],
      [`{"type":"candidate","to":"${to}","candidate":{"candidate":"c","constructor":"x"}}`, 'candidate.constructor'],
      [`{"type":"offer","to":"${to}","sdp":"v=0","__proto__":{"sdp":"x"}}`, '__proto__'],
      [`{"type":"offer","to":"${to}","sdp":"v=0","constructor":{"prototype":{}}}`, 'constructor'],
      [`{"type":"end-of-candidates","to":"${to}","toString":"x"}`, 'toString'],
    ];
    for (const [raw, field] of cases) {
      const e = await a.expectError(raw);
      assert.deepEqual([e.code, e.field], ['invalid-message', field], raw);
    }
    a.send({ type: 'candidate', to, candidate: { candidate: 'c2' } });
    assert.deepEqual(await b.next('candidate'), { type: 'candidate', from: ja.self.id, candidate: { candidate: 'c2' } });
    const relayed = b.received.filter((m) => m.type === 'offer' || m.type === 'candidate' || m.type === 'end-of-candidates');
    assert.equal(relayed.length, 1, JSON.stringify(relayed).slice(0, 400));
  });
});

describe('a connection that never says hello', () => {
  const { sb, track } = serverFor({ helloTimeoutMs: 500 });

  test('is closed with 1008 at the hello deadline; an identified one stays', async () => {
    const silent = track(await TestClient.connect(sb().wsUrl));
    const closed = new Promise<[number, string]>((resolve) =>
      silent.ws.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    const [talker] = await TestClient.hello(sb().wsUrl);
    track(talker);
    const outcome = await Promise.race([closed, sleep(5000).then(() => 'still open after 5 s' as const)]);
    assert.deepEqual(outcome, [1008, 'no "hello" or "resume" within 500 ms']);
    talker.send({ type: 'ping', id: 1 });
    assert.deepEqual(await talker.next('pong'), { type: 'pong', ref: 1 });
    assert.equal(talker.closeCode, null);
    assert.match(await metricsText(sb()), /^switchboard_signaling_server_closes_total\{reason="hello-timeout"\} 1$/m);
  });
});

describe('connections per client address', () => {
  const { sb, track } = serverFor({ maxConnectionsPerIp: 4 });

  /** The HTTP status of an upgrade that was refused, or 'open'. */
  function tryUpgrade(): Promise<number | 'open'> {
    return new Promise((resolve) => {
      const ws = new WebSocket(sb().wsUrl);
      ws.on('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      ws.on('open', () => {
        resolve('open');
        ws.terminate();
      });
      ws.on('error', () => undefined);
    });
  }

  test('beyond the cap, upgrades get 429 (counted); a freed slot is usable again', async () => {
    const held: TestClient[] = [];
    for (let i = 0; i < 4; i++) held.push(track(await TestClient.connect(sb().wsUrl)));
    assert.equal(await tryUpgrade(), 429);
    assert.equal(await tryUpgrade(), 429);
    // The four held ones are unaffected.
    const first = held[0] as TestClient;
    first.send({ type: 'ping', id: 'p' });
    assert.deepEqual(await first.next('pong'), { type: 'pong', ref: 'p' });
    first.close();
    assert.ok(await waitFor(() => sb().signaling.stats.connections === 3, 3000), 'the closed connection is not released');
    const again = track(await TestClient.connect(sb().wsUrl));
    again.send({ type: 'ping', id: 'q' });
    assert.deepEqual(await again.next('pong'), { type: 'pong', ref: 'q' });
    assert.match(await metricsText(sb()), /^switchboard_signaling_upgrades_refused_total\{reason="per-ip-limit"\} 2$/m);
  });
});

describe('call attempts', () => {
  const { sb, track } = serverFor({ callRingMs: 5000 });
  let n = 0;
  async function user(): Promise<[TestClient, WelcomeMsg]> {
    const r = await TestClient.hello(sb().wsUrl, { identity: `lim${++n}` });
    track(r[0]);
    return r;
  }
  /** The body is a CreateCallResponse when the status is 201, a RestError otherwise. */
  async function post(token: string, to: string): Promise<{ status: number; json: CreateCallResponse & RestError }> {
    const res = await fetch(`${sb().url}/api/calls`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to }),
    });
    return { status: res.status, json: (await res.json()) as CreateCallResponse & RestError };
  }
  /**
   * 5 accepted, then refused; a bucket refills at 5 per 10 s, so on a machine slow enough to
   * take seconds over the loop, that many more may pass (and only then).
   */
  function assertLimited(statuses: number[], startedAt: number): void {
    const refilled = Math.floor(((Date.now() - startedAt) / 1000) * 0.5);
    const accepted = statuses.filter((x) => x === 201).length;
    if (refilled === 0)
      assert.deepEqual(
        statuses,
        statuses.map((_, i) => (i < 5 ? 201 : 429)),
      );
    assert.ok(accepted >= 5 && accepted <= 5 + refilled, `${accepted} calls rang: ${JSON.stringify(statuses)}`);
    assert.ok(
      statuses.slice(0, 5).every((x) => x === 201),
      JSON.stringify(statuses),
    );
  }

  test('a ring-and-cancel loop is limited per caller (cancelling over REST and WebSocket)', async () => {
    const [caller, wc] = await user();
    const [callee, we] = await user();
    const statuses: number[] = [];
    const startedAt = Date.now();
    for (let i = 0; i < 12; i++) {
      const r = await post(wc.sessionToken, we.identity);
      statuses.push(r.status);
      if (r.status !== 201) {
        assert.deepEqual([r.status, r.json.error.code], [429, 'rate-limited']);
        continue;
      }
      await callee.next('call-incoming');
      if (i % 2 === 0) {
        const del = await fetch(`${sb().url}/api/calls/${r.json.callId}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${wc.sessionToken}` },
        });
        assert.equal(del.status, 204);
      } else {
        caller.send({ type: 'call-cancel', callId: r.json.callId });
      }
      await caller.next('call-ended');
    }
    assertLimited(statuses, startedAt);
    assert.equal(statuses.length, 12);
    assert.equal(callee.received.filter((m) => m.type === 'call-incoming').length, statuses.filter((x) => x === 201).length);
  });

  test('rings to one callee are limited across callers', async () => {
    const [callee, we] = await user();
    const callers = await Promise.all([user(), user(), user()]);
    const statuses: number[] = [];
    const startedAt = Date.now();
    for (const [caller, wc] of callers) {
      for (let i = 0; i < 2; i++) {
        const r = await post(wc.sessionToken, we.identity);
        statuses.push(r.status);
        if (r.status !== 201) {
          // The callee's bucket, not the caller's (each caller tries twice).
          assert.deepEqual(
            [r.status, r.json.error.code, r.json.error.message],
            [429, 'rate-limited', `"${we.identity}" has been called too often; try again later`],
          );
          continue;
        }
        await callee.next('call-incoming');
        caller.send({ type: 'call-cancel', callId: r.json.callId });
        await caller.next('call-ended');
      }
    }
    assertLimited(statuses, startedAt);
    assert.equal(statuses.length, 6);
    assert.equal(callee.received.filter((m) => m.type === 'call-incoming').length, statuses.filter((x) => x === 201).length);
    assert.match(await metricsText(sb()), /^switchboard_calls_refused_total\{code="rate-limited"\} [1-9]\d*$/m);
  });
});

describe('calls from a room-scoped token', () => {
  const secret = 'scoped-calls-secret-0123456789abcdef';
  const { sb, track } = serverFor({ authSecret: secret });
  async function as(identity: string, room: string): Promise<[TestClient, WelcomeMsg]> {
    const token = await createAccessToken({ secret, identity, room, ttlSeconds: 600 });
    const r = await TestClient.hello(sb().wsUrl, { token });
    track(r[0]);
    return r;
  }
  async function post(token: string, to: string): Promise<{ status: number; text: string }> {
    const res = await fetch(`${sb().url}/api/calls`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to }),
    });
    return { status: res.status, text: await res.text() };
  }

  test('reach only identities in their room; everyone else looks exactly like an unknown identity', async () => {
    const [, wScoped] = await as('scoped', 'r1');
    const [mate] = await as('mate', 'r1');
    await mate.join('r1');
    const [stranger] = await as('stranger', '*');
    await stranger.join('r2');
    const [idle] = await as('idle', '*');
    const [, wAdmin] = await as('admin', '*');
    const unknown = await post(wScoped.sessionToken, 'ghost');
    assert.equal(unknown.status, 404);
    assert.deepEqual(JSON.parse(unknown.text), {
      error: { code: 'callee-not-found', message: 'no one is online as "ghost"', field: 'to' },
    });
    const sameAsUnknown = (identity: string): string => unknown.text.replace('ghost', identity);
    for (const who of ['stranger', 'idle']) {
      const r = await post(wScoped.sessionToken, who);
      assert.deepEqual([r.status, r.text], [404, sameAsUnknown(who)], who);
    }
    // A `*` token reaches the stranger (who is online); busy with it, the stranger is still "not found" to the scoped caller.
    const byAdmin = await post(wAdmin.sessionToken, 'stranger');
    assert.equal(byAdmin.status, 201, byAdmin.text);
    const busy = await post(wScoped.sessionToken, 'stranger');
    assert.deepEqual([busy.status, busy.text], [404, sameAsUnknown('stranger')]);
    assert.deepEqual(
      stranger.received.filter((m) => m.type === 'call-incoming').map((m) => m.type === 'call-incoming' && m.from.identity),
      ['admin'],
    );
    assert.equal(
      idle.received.some((m) => m.type === 'call-incoming'),
      false,
    );
    // In the room: rings.
    const inRoom = await post(wScoped.sessionToken, 'mate');
    assert.equal(inRoom.status, 201, inRoom.text);
    assert.equal((await mate.next('call-incoming')).from.identity, 'scoped');
  });
});

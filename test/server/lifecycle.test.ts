/** Heartbeat, resume within the grace period, expiry after it, and token-protected servers. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { createAccessToken } from '../../src/signaling/auth.js';
import { TestClient, sleep } from '../helpers/ws-client.js';

describe('heartbeat and resume', () => {
  let sb: Switchboard;
  const clients: TestClient[] = [];
  before(async () => {
    sb = await startSwitchboard({
      port: 0,
      turnPort: 0,
      rtcPort: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      heartbeatMs: 200,
      resumeGraceMs: 1500,
    });
  });
  after(async () => {
    for (const c of clients) c.terminate();
    await sb.close();
  });

  test('a connection that stops answering pings is terminated', async () => {
    const [dead] = await TestClient.hello(sb.wsUrl, {}, { autoPong: false });
    const [live] = await TestClient.hello(sb.wsUrl);
    clients.push(dead, live);
    const code = await Promise.race([dead.closed, sleep(2000).then(() => -1)]);
    assert.equal(code, 1006, 'terminated without a close frame');
    assert.equal(live.closeCode, null, 'a live connection is kept');
  });

  test('a connection that keeps talking needs no pong to stay', async () => {
    const [talker] = await TestClient.hello(sb.wsUrl, {}, { autoPong: false });
    clients.push(talker);
    for (let i = 0; i < 12; i++) {
      talker.send({ type: 'ping', id: i });
      await talker.next('pong');
      await sleep(100);
    }
    assert.equal(talker.closeCode, null, 'alive after 6 heartbeat intervals');
    // Once it falls silent, it is dropped within a few intervals.
    const code = await Promise.race([talker.closed, sleep(2000).then(() => -1)]);
    assert.equal(code, 1006);
  });

  test('resume within the grace keeps identity and room; others see nothing; queued messages arrive', async () => {
    const [a, wa] = await TestClient.hello(sb.wsUrl, { identity: 'rosa' });
    const [b] = await TestClient.hello(sb.wsUrl);
    clients.push(a, b);
    const ja = await a.join('resume1');
    await b.join('resume1');
    await a.next('participant-joined');
    const seen = a.received.length;
    b.terminate(); // an abrupt loss, not a clean close
    await sleep(300);
    const jbId = (b.received.find((m) => m.type === 'joined') as { self: { id: string } }).self.id;
    a.send({ type: 'offer', to: jbId, sdp: 'sent while b was away' });
    await sleep(100);
    const welcomeB = b.received.find((m) => m.type === 'welcome') as { sessionToken: string; identity: string };
    const b2 = await TestClient.connect(sb.wsUrl);
    clients.push(b2);
    b2.send({ type: 'resume', sessionToken: welcomeB.sessionToken, id: 'r' });
    const r = await b2.next('resumed');
    assert.equal(r.ref, 'r');
    assert.equal(r.sessionId, jbId);
    assert.equal(r.identity, welcomeB.identity);
    assert.equal(r.room, 'resume1');
    assert.deepEqual(
      r.participants?.map((p) => p.identity),
      [wa.identity],
    );
    assert.deepEqual(await b2.next('offer'), { type: 'offer', from: ja.self.id, sdp: 'sent while b was away' });
    // And the relay works both ways on the new socket.
    b2.send({ type: 'answer', to: ja.self.id, sdp: 'back' });
    await a.next('answer');
    await sleep(1700); // past the grace: nothing may fire for the resumed session
    assert.deepEqual(
      a.received.slice(seen).map((m) => m.type),
      ['answer'],
      'no leave/join seen by others',
    );
  });

  test('after the grace, resume fails and the room is told the participant disconnected', async () => {
    const [a] = await TestClient.hello(sb.wsUrl);
    const [b, wb] = await TestClient.hello(sb.wsUrl);
    clients.push(a, b);
    await a.join('resume2');
    const jb = await b.join('resume2');
    b.terminate();
    const left = await a.next('participant-left', 4000);
    assert.deepEqual(left, { type: 'participant-left', room: 'resume2', participantId: jb.self.id, reason: 'disconnected' });
    const b2 = await TestClient.connect(sb.wsUrl);
    clients.push(b2);
    const e = await b2.expectError({ type: 'resume', sessionToken: wb.sessionToken });
    assert.deepEqual([e.code, e.field], ['resume-failed', 'sessionToken']);
  });

  test('a clean close is a departure: no grace', async () => {
    const [a] = await TestClient.hello(sb.wsUrl);
    const [b] = await TestClient.hello(sb.wsUrl);
    clients.push(a, b);
    await a.join('clean1');
    const jb = await b.join('clean1');
    const t0 = Date.now();
    b.close();
    const left = await a.next('participant-left', 1000);
    assert.equal(left.participantId, jb.self.id);
    assert.equal(left.reason, 'left');
    assert.ok(Date.now() - t0 < 1000);
  });
});

describe('access tokens', () => {
  const secret = 'test-secret-0123456789';
  let sb: Switchboard;
  const clients: TestClient[] = [];
  before(async () => {
    sb = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent', authSecret: secret });
  });
  after(async () => {
    for (const c of clients) c.terminate();
    await sb.close();
  });

  async function helloError(fields: Record<string, unknown>): Promise<{ code: string; field?: string }> {
    const c = await TestClient.connect(sb.wsUrl);
    clients.push(c);
    return c.expectError({ type: 'hello', ...fields });
  }

  test('missing, forged, expired, unsigned and wrong-secret tokens are refused', async () => {
    assert.deepEqual(await helloError({ identity: 'x' }), {
      type: 'error',
      code: 'token-required',
      message: 'this server requires an access token',
      field: 'token',
      inReplyTo: 'hello',
    });
    const good = await createAccessToken({ secret, identity: 'ivy', room: 'r1', ttlSeconds: 60 });
    const [h, p] = good.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), room: '*' })).toString(
      'base64url',
    );
    assert.equal((await helloError({ token: `${h}.${forgedPayload}.${good.split('.')[2]}` })).code, 'token-invalid');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
    assert.equal((await helloError({ token: none })).code, 'token-invalid');
    const other = await createAccessToken({ secret: 'another-secret-abcdef', identity: 'ivy', room: 'r1', ttlSeconds: 60 });
    assert.equal((await helloError({ token: other })).code, 'token-invalid');
    const expired = await new SignJWT({ room: 'r1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ivy')
      .setIssuer('switchboard')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(new TextEncoder().encode(secret));
    assert.equal((await helloError({ token: expired })).code, 'token-expired');
    assert.equal((await helloError({ token: 'not.a.jwt' })).code, 'token-invalid');
  });

  test('a valid token sets the identity and grants only its room', async () => {
    const token = await createAccessToken({ secret, identity: 'ivy', room: 'r1', ttlSeconds: 60, name: 'Ivy' });
    const [c, w] = await TestClient.hello(sb.wsUrl, { token, identity: 'mallory' });
    clients.push(c);
    assert.deepEqual([w.identity, w.name], ['ivy', 'Ivy']);
    const e = await c.expectError({ type: 'join', room: 'r2' });
    assert.deepEqual([e.code, e.field], ['room-not-allowed', 'room']);
    assert.equal((await c.join('r1')).room, 'r1');
  });

  test('a "*" grant allows any room', async () => {
    const token = await createAccessToken({ secret, identity: 'admin', room: '*', ttlSeconds: 60 });
    const [c] = await TestClient.hello(sb.wsUrl, { token });
    clients.push(c);
    assert.equal((await c.join('anything')).room, 'anything');
  });
});

/** The 1:1 call flow: REST to start it, WebSocket for the rest, relay only once accepted. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CreateCallResponse, RestError, WelcomeMsg } from '../../src/protocol/index.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { TestClient } from '../helpers/ws-client.js';

const RING_MS = 400;
let sb: Switchboard;
const clients: TestClient[] = [];

before(async () => {
  sb = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent', callRingMs: RING_MS });
});
after(async () => {
  for (const c of clients) c.terminate();
  await sb.close();
});

let n = 0;
async function user(): Promise<[TestClient, WelcomeMsg]> {
  const r = await TestClient.hello(sb.wsUrl, { identity: `u${++n}`, name: `User ${n}` });
  clients.push(r[0]);
  return r;
}

/** GET /api/calls/:id */
interface CallStatus {
  callId: string;
  state: string;
}

/** One request; `T` is the body the test expects (null when empty, as for 204). */
async function api<T = CreateCallResponse>(
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${sb.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
}

test('accept: both sides can relay, and hangup ends it for both', async () => {
  const [a, wa] = await user();
  const [b, wb] = await user();
  const created = await api('POST', '/api/calls', wa.sessionToken, { to: wb.identity });
  assert.equal(created.status, 201);
  assert.deepEqual(created.json.to, { sessionId: wb.sessionId, identity: wb.identity, name: wb.name });
  assert.equal(created.json.state, 'ringing');
  const callId: string = created.json.callId;
  const inc = await b.next('call-incoming');
  assert.deepEqual(inc, { type: 'call-incoming', callId, from: { sessionId: wa.sessionId, identity: wa.identity, name: wa.name } });
  // Not before accept: ringing is no licence to send SDP.
  assert.equal((await a.expectError({ type: 'offer', to: wb.sessionId, sdp: 'early', callId })).code, 'peer-not-found');
  b.send({ type: 'call-accept', callId });
  assert.deepEqual(await a.next('call-accepted'), {
    type: 'call-accepted',
    callId,
    peer: { sessionId: wb.sessionId, identity: wb.identity, name: wb.name },
  });
  a.send({ type: 'offer', to: wb.sessionId, sdp: 'v=0 call offer', callId });
  assert.deepEqual(await b.next('offer'), { type: 'offer', from: wa.sessionId, sdp: 'v=0 call offer', callId });
  b.send({ type: 'answer', to: wa.sessionId, sdp: 'v=0 call answer', callId });
  assert.equal((await a.next('answer')).sdp, 'v=0 call answer');
  assert.equal((await api<CallStatus>('GET', `/api/calls/${callId}`, wb.sessionToken)).json.state, 'active');
  b.send({ type: 'call-hangup', callId });
  const ended = { type: 'call-ended', callId, reason: 'hangup', by: wb.sessionId };
  assert.deepEqual(await a.next('call-ended'), ended);
  assert.deepEqual(await b.next('call-ended'), ended);
  assert.equal((await a.expectError({ type: 'offer', to: wb.sessionId, sdp: 'late' })).code, 'peer-not-found');
});

test('reject tells the caller', async () => {
  const [a, wa] = await user();
  const [b, wb] = await user();
  const { json } = await api('POST', '/api/calls', wa.sessionToken, { to: wb.identity });
  await b.next('call-incoming');
  b.send({ type: 'call-reject', callId: json.callId });
  assert.deepEqual(await a.next('call-ended'), { type: 'call-ended', callId: json.callId, reason: 'rejected', by: wb.sessionId });
});

test('cancel over WebSocket and over DELETE stops the ringing', async () => {
  const [a, wa] = await user();
  const [b, wb] = await user();
  let { json } = await api('POST', '/api/calls', wa.sessionToken, { to: wb.identity });
  await b.next('call-incoming');
  assert.equal((await b.expectError({ type: 'call-cancel', callId: json.callId })).code, 'call-state-invalid', 'only the caller cancels');
  a.send({ type: 'call-cancel', callId: json.callId });
  assert.equal((await b.next('call-ended')).reason, 'cancelled');
  ({ json } = await api('POST', '/api/calls', wa.sessionToken, { to: wb.identity }));
  await b.next('call-incoming');
  assert.equal((await api('DELETE', `/api/calls/${json.callId}`, wa.sessionToken)).status, 204);
  assert.equal((await b.next('call-ended')).reason, 'cancelled');
  assert.equal((await a.next('call-ended')).reason, 'cancelled');
});

test('an unanswered call times out for both', async () => {
  const [a, wa] = await user();
  const [b, wb] = await user();
  const t0 = Date.now();
  const { json } = await api('POST', '/api/calls', wa.sessionToken, { to: wb.identity });
  await b.next('call-incoming');
  assert.deepEqual(await a.next('call-ended', 3000), { type: 'call-ended', callId: json.callId, reason: 'timeout' });
  assert.equal((await b.next('call-ended')).reason, 'timeout');
  assert.ok(Date.now() - t0 >= RING_MS - 20);
  assert.equal((await b.expectError({ type: 'call-accept', callId: json.callId })).code, 'call-not-found');
});

test('busy, unknown callee, self-call, bad body and missing auth', async () => {
  const [, wa] = await user();
  const [b, wb] = await user();
  const [, wc] = await user();
  const { json } = await api('POST', '/api/calls', wa.sessionToken, { to: wb.identity });
  await b.next('call-incoming');
  const busy = await api<RestError>('POST', '/api/calls', wc.sessionToken, { to: wb.identity });
  assert.equal(busy.status, 409);
  assert.equal(busy.json.error.code, 'busy');
  const caller = await api<RestError>('POST', '/api/calls', wa.sessionToken, { to: wc.identity });
  assert.deepEqual([caller.status, caller.json.error.code], [409, 'call-state-invalid']);
  const nobody = await api<RestError>('POST', '/api/calls', wc.sessionToken, { to: 'nobody-here' });
  assert.deepEqual([nobody.status, nobody.json.error.code, nobody.json.error.field], [404, 'callee-not-found', 'to']);
  const self = await api<RestError>('POST', '/api/calls', wc.sessionToken, { to: wc.identity });
  assert.deepEqual([self.status, self.json.error.code], [400, 'invalid-message']);
  const bad = await api<RestError>('POST', '/api/calls', wc.sessionToken, { to: 42 });
  assert.deepEqual([bad.status, bad.json.error.field, bad.json.error.message], [400, 'to', 'to: must be a string']);
  const notJson = await api<RestError>('POST', '/api/calls', wc.sessionToken, '{oops');
  assert.deepEqual([notJson.status, notJson.json.error.code], [400, 'malformed-json']);
  const anon = await api<RestError>('POST', '/api/calls', null, { to: wb.identity });
  assert.deepEqual([anon.status, anon.json.error.code], [401, 'unauthorized']);
  const wrong = await api('POST', '/api/calls', 'x'.repeat(43), { to: wb.identity });
  assert.equal(wrong.status, 401);
  const stranger = await api<RestError>('GET', `/api/calls/${json.callId}`, wc.sessionToken);
  assert.deepEqual([stranger.status, stranger.json.error.code], [404, 'call-not-found']);
  const huge = await api('POST', '/api/calls', wc.sessionToken, { to: 'y'.repeat(10_000) });
  assert.equal(huge.status, 413);
});

test('a callee that disconnects for good ends the call', async () => {
  const [a, wa] = await user();
  const [b, wb] = await user();
  const { json } = await api('POST', '/api/calls', wa.sessionToken, { to: wb.identity });
  await b.next('call-incoming');
  b.close();
  assert.deepEqual(await a.next('call-ended'), { type: 'call-ended', callId: json.callId, reason: 'hangup', by: wb.sessionId });
});

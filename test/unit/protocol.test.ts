/** Every client message type, valid and invalid, through the shared validator. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CLIENT_SCHEMAS,
  MAX_MESSAGE_BYTES,
  parseClientMessage,
  readActiveSpeaker,
  validateCreateCall,
  type ClientMessageType,
} from '../../src/protocol/index.js';

const cand = { candidate: 'candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null };

const VALID: Record<ClientMessageType, Record<string, unknown>> = {
  hello: { type: 'hello', id: 1, token: 'a.b.c', identity: 'ada@example', name: 'Ada Lovelace' },
  resume: { type: 'resume', sessionToken: 'abcDEF_123-xyz' },
  join: { type: 'join', room: 'team.daily-1', topology: 'mesh' },
  leave: { type: 'leave' },
  offer: { type: 'offer', to: 'p-abc', sdp: 'v=0\r\n', callId: 'c-1' },
  answer: { type: 'answer', to: 'p-abc', sdp: 'v=0\r\n' },
  candidate: { type: 'candidate', to: 'p-abc', candidate: cand },
  'end-of-candidates': { type: 'end-of-candidates', to: 'p-abc' },
  ping: { type: 'ping', id: 'x' },
  'sfu-offer': { type: 'sfu-offer', id: 3, transport: 'publish', sdp: 'v=0\r\n' },
  'sfu-answer': { type: 'sfu-answer', transport: 'subscribe', sdp: 'v=0\r\n', revision: 2 },
  'sfu-video-size': { type: 'sfu-video-size', trackId: 'p-1-1-sc0a0b0c', width: 320, height: 180 },
  'sfu-video-source': { type: 'sfu-video-source', source: 'screen' },
  'mcu-layout': { type: 'mcu-layout', layout: 'speaker' },
  'call-accept': { type: 'call-accept', callId: 'c-1' },
  'call-reject': { type: 'call-reject', callId: 'c-1' },
  'call-cancel': { type: 'call-cancel', callId: 'c-1' },
  'call-hangup': { type: 'call-hangup', callId: 'c-1' },
};

/** One invalid variant per type, with the field the error must name. */
const INVALID: Record<ClientMessageType, [Record<string, unknown>, string]> = {
  hello: [{ type: 'hello', identity: 'has space' }, 'identity'],
  resume: [{ type: 'resume' }, 'sessionToken'],
  join: [{ type: 'join', room: 'r', topology: 'star' }, 'topology'],
  leave: [{ type: 'leave', room: 'r' }, 'room'],
  offer: [{ type: 'offer', to: 'p-abc', sdp: 42 }, 'sdp'],
  answer: [{ type: 'answer', sdp: 'v=0' }, 'to'],
  candidate: [{ type: 'candidate', to: 'p-abc', candidate: { ...cand, sdpMLineIndex: -1 } }, 'candidate.sdpMLineIndex'],
  'end-of-candidates': [{ type: 'end-of-candidates', to: '' }, 'to'],
  ping: [{ type: 'ping', id: { nested: true } }, 'id'],
  'sfu-offer': [{ type: 'sfu-offer', transport: 'subscribe', sdp: 'v=0' }, 'transport'],
  'sfu-answer': [{ type: 'sfu-answer', transport: 'subscribe', sdp: 'v=0', revision: -1 }, 'revision'],
  'sfu-video-size': [{ type: 'sfu-video-size', trackId: 't', width: 320.5, height: 180 }, 'width'],
  'sfu-video-source': [{ type: 'sfu-video-source', source: 'window' }, 'source'],
  'mcu-layout': [{ type: 'mcu-layout', layout: 'mosaic' }, 'layout'],
  'call-accept': [{ type: 'call-accept', callId: 7 }, 'callId'],
  'call-reject': [{ type: 'call-reject' }, 'callId'],
  'call-cancel': [{ type: 'call-cancel', callId: 'x'.repeat(65) }, 'callId'],
  'call-hangup': [{ type: 'call-hangup', callId: 'c/1' }, 'callId'],
};

test('every message type has a valid and an invalid case here', () => {
  assert.deepEqual(Object.keys(VALID).sort(), Object.keys(CLIENT_SCHEMAS).sort());
  assert.deepEqual(Object.keys(INVALID).sort(), Object.keys(CLIENT_SCHEMAS).sort());
});

for (const [type, msg] of Object.entries(VALID)) {
  test(`${type}: valid message is accepted unchanged`, () => {
    const r = parseClientMessage(JSON.stringify(msg));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.message, msg);
  });
}

for (const [type, [msg, field]] of Object.entries(INVALID)) {
  test(`${type}: invalid message names the field ${field}`, () => {
    const r = parseClientMessage(JSON.stringify(field === 'id' ? msg : { ...msg, id: 'req-1' }));
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.code, 'invalid-message');
    assert.equal(r.field, field);
    assert.equal(r.inReplyTo, type);
    assert.ok(r.message.startsWith(`${field}: `), r.message);
    if (field !== 'id') assert.equal(r.ref, 'req-1');
  });
}

test('frames that are not messages', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['', 'malformed-json', undefined],
    ['{"type":', 'malformed-json', undefined],
    ['null', 'malformed-json', undefined],
    ['"hello"', 'malformed-json', undefined],
    ['[{"type":"ping"}]', 'malformed-json', undefined],
    ['{}', 'invalid-message', 'type'],
    ['{"type":5}', 'invalid-message', 'type'],
    ['{"type":"nope"}', 'unknown-type', 'type'],
    ['{"type":"toString"}', 'unknown-type', 'type'],
    ['{"type":"hasOwnProperty"}', 'unknown-type', 'type'],
  ];
  for (const [raw, code, field] of cases) {
    const r = parseClientMessage(raw);
    assert.equal(r.ok, false, raw);
    if (!r.ok) assert.deepEqual([r.code, r.field], [code, field], raw);
  }
});

test('size limit counts UTF-8 bytes, not characters', () => {
  const sdp = 'é'.repeat(Math.ceil(MAX_MESSAGE_BYTES / 2));
  const r = parseClientMessage(JSON.stringify({ type: 'offer', to: 'p-1', sdp }));
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.code, 'message-too-large');
  const small = parseClientMessage(JSON.stringify({ type: 'offer', to: 'p-1', sdp: '😀'.repeat(100) }));
  assert.ok(small.ok);
});

test('names that exist on Object.prototype are unknown fields too, at the top and nested', () => {
  // JSON.parse makes "__proto__" an own key; "constructor" and "toString" are inherited names.
  for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    const top = `{"type":"offer","to":"p-abc","sdp":"v=0","${key}":{"x":1}}`;
    const r = parseClientMessage(top);
    assert.equal(r.ok, false, top);
    if (!r.ok) assert.deepEqual([r.code, r.field, r.message], ['invalid-message', key, `${key}: is not allowed`], top);
    const nested = `{"type":"candidate","to":"p-abc","candidate":{"candidate":"c","${key}":"x"}}`;
    const n = parseClientMessage(nested);
    assert.equal(n.ok, false, nested);
    if (!n.ok) assert.deepEqual([n.code, n.field], ['invalid-message', `candidate.${key}`], nested);
    assert.deepEqual(validateCreateCall(JSON.parse(`{"to":"bob","${key}":1}`)), { field: key, problem: 'is not allowed' });
  }
});

test('a parsed message is rebuilt from its schema: a fresh object with only known own fields', () => {
  const raw = JSON.stringify({ type: 'candidate', to: 'p-abc', candidate: cand, id: 4 });
  const r = parseClientMessage(raw);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.deepEqual(r.message, JSON.parse(raw));
  const m = r.message as unknown as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(m), Object.prototype);
  assert.deepEqual(Object.keys(m).sort(), ['candidate', 'id', 'to', 'type']);
  assert.deepEqual(Object.keys(m.candidate as object).sort(), ['candidate', 'sdpMLineIndex', 'sdpMid', 'usernameFragment']);
});

test('REST call body', () => {
  assert.equal(validateCreateCall({ to: 'bob' }), undefined);
  assert.deepEqual(validateCreateCall({ to: 'bo b' }), { field: 'to', problem: 'must match ^[A-Za-z0-9_.:@-]+$' });
  assert.deepEqual(validateCreateCall({}), { field: 'to', problem: 'is required' });
  assert.deepEqual(validateCreateCall({ to: 'bob', x: 1 }), { field: 'x', problem: 'is not allowed' });
  assert.deepEqual(validateCreateCall('bob'), { field: '(root)', problem: 'must be an object' });
});

test('a random-input run never throws', () => {
  // Cheap fuzz: mutated valid messages and random bytes. Each must give a result, not throw.
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bases = Object.values(VALID).map((m) => JSON.stringify(m));
  for (let i = 0; i < 50_000; i++) {
    const base = bases[rnd(bases.length)] as string;
    const chars = base.split('');
    for (let k = 0; k < 1 + rnd(4); k++) chars[rnd(chars.length)] = String.fromCharCode(rnd(128));
    const r = parseClientMessage(
      i % 10 === 0 ? Array.from({ length: rnd(64) }, () => String.fromCharCode(rnd(65536))).join('') : chars.join(''),
    );
    assert.equal(typeof r.ok, 'boolean');
  }
});

test('sfu-video-size: exact errors for bad sizes and track ids', () => {
  const cases: Array<[Record<string, unknown>, string, string]> = [
    [{ width: -1, height: 10 }, 'width', 'width: must be between 0 and 16384'],
    [{ width: 10, height: 16385 }, 'height', 'height: must be between 0 and 16384'],
    [{ width: '10', height: 10 }, 'width', 'width: must be an integer'],
    [{ width: 10 }, 'height', 'height: is required'],
    [{ width: 10, height: 10, trackId: 'a b' }, 'trackId', 'trackId: must match ^[A-Za-z0-9_.:@-]+$'],
  ];
  for (const [fields, field, message] of cases) {
    const r = parseClientMessage(JSON.stringify({ type: 'sfu-video-size', trackId: 't-1', ...fields }));
    assert.equal(r.ok, false);
    if (r.ok) continue;
    assert.equal(r.field, field);
    assert.equal(r.message, message);
  }
});

test('readActiveSpeaker: accepts the server message, refuses malformed ones (never throws)', () => {
  assert.deepEqual(readActiveSpeaker({ type: 'active-speaker', room: 'r1', participantId: 'p-abc_1' }), {
    type: 'active-speaker',
    room: 'r1',
    participantId: 'p-abc_1',
  });
  assert.deepEqual(readActiveSpeaker({ type: 'active-speaker', room: 'r1', participantId: null }), {
    type: 'active-speaker',
    room: 'r1',
    participantId: null,
  });
  const bad: unknown[] = [
    null,
    1,
    'x',
    [],
    {},
    { type: 'active-speaker', room: 'r1' },
    { type: 'active-speaker', room: 'r 1', participantId: 'a' },
    { type: 'active-speaker', room: 'r1', participantId: 'a b' },
    { type: 'active-speaker', room: 'r1', participantId: 'x'.repeat(65) },
    { type: 'active-speaker', room: 'r1', participantId: 7 },
    { type: 'participant-left', room: 'r1', participantId: 'a' },
  ];
  for (const b of bad) assert.equal(readActiveSpeaker(b), null, JSON.stringify(b));
  // Random JSON-ish values: never throws.
  let seed = 7;
  const r = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const atoms: unknown[] = [null, true, 0, -1, '', 'r1', 'active-speaker', 'p', {}, [], 'x'.repeat(100)];
  for (let i = 0; i < 20_000; i++) {
    const m: Record<string, unknown> = {};
    for (const k of ['type', 'room', 'participantId', 'extra']) if (r(3) > 0) m[k] = atoms[r(atoms.length)];
    const out = readActiveSpeaker(m);
    if (out) assert.equal(out.type, 'active-speaker');
  }
});

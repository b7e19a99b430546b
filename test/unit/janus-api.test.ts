/**
 * parseJanusMessage (bench/loadtest/janus-api.ts): what the Janus client reads from Janus's
 * frames, and a bounded fuzz run showing it never throws on mutated or random input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJanusMessage } from '../../bench/loadtest/janus-api.js';
import { janusRoomId } from '../../bench/loadtest/janus-driver.js';
import { xorshift32 } from '../helpers/random.js';

const EVENT = JSON.stringify({
  janus: 'event',
  session_id: 123,
  sender: 456,
  transaction: 'tx1',
  plugindata: { plugin: 'janus.plugin.videoroom', data: { videoroom: 'event', configured: 'ok' } },
  jsep: { type: 'answer', sdp: 'v=0\r\n' },
});

test('parseJanusMessage reads an event with its plugin data and JSEP', () => {
  const m = parseJanusMessage(EVENT);
  assert.ok(m);
  assert.equal(m.janus, 'event');
  assert.equal(m.sessionId, 123);
  assert.equal(m.sender, 456);
  assert.equal(m.transaction, 'tx1');
  assert.deepEqual(m.pluginData, { videoroom: 'event', configured: 'ok' });
  assert.deepEqual(m.jsep, { type: 'answer', sdp: 'v=0\r\n' });
});

test('parseJanusMessage reads success ids, errors and hangup reasons', () => {
  assert.equal(parseJanusMessage('{"janus":"success","transaction":"t","data":{"id":987654321}}')?.id, 987654321);
  assert.deepEqual(parseJanusMessage('{"janus":"error","error":{"code":458,"reason":"No such session"}}')?.error, {
    code: 458,
    reason: 'No such session',
  });
  assert.equal(parseJanusMessage('{"janus":"hangup","sender":1,"reason":"DTLS alert"}')?.reason, 'DTLS alert');
});

test('parseJanusMessage refuses what is not a Janus frame', () => {
  for (const bad of [
    '',
    'null',
    '[]',
    '{}',
    '{"janus":5}',
    'not json',
    '{"janus":"event","jsep":{"type":"pranswer","sdp":"x"}}',
    '{"janus":"event","jsep":{"type":"offer"}}',
  ]) {
    assert.equal(parseJanusMessage(bad), null, bad);
  }
  // Wrong types are left out, not trusted.
  const m = parseJanusMessage('{"janus":"success","data":{"id":"12"},"sender":1.5,"session_id":1e300,"plugindata":{"data":[]}}');
  assert.ok(m);
  assert.equal(m.id, undefined);
  assert.equal(m.sender, undefined);
  assert.equal(m.sessionId, undefined);
  assert.equal(m.pluginData, undefined);
});

test('parseJanusMessage never throws: 50,000 mutated and random frames (seeded)', () => {
  const rand = xorshift32(0x1a2b3c);
  const alphabet = '{}[]":,0123456789.-eE truefalsnjJSONanusjsepdtype\\u';
  let parsed = 0;
  for (let i = 0; i < 50_000; i++) {
    let s: string;
    if (i % 2 === 0) {
      const chars = EVENT.split('');
      for (let k = 1 + rand(4); k > 0; k--) {
        const at = rand(chars.length);
        const op = rand(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, alphabet[rand(alphabet.length)]!);
        else chars[at] = alphabet[rand(alphabet.length)]!;
      }
      s = chars.join('');
    } else {
      s = Array.from({ length: rand(64) }, () => alphabet[rand(alphabet.length)]).join('');
    }
    const m = parseJanusMessage(s);
    if (m) {
      parsed++;
      assert.equal(typeof m.janus, 'string');
    }
  }
  assert.ok(parsed > 0, 'some mutations still parse');
});

test('janusRoomId: a stable positive 31-bit id per room name', () => {
  assert.equal(janusRoomId('bench'), janusRoomId('bench'));
  assert.notEqual(janusRoomId('bench'), janusRoomId('bench2'));
  for (const name of ['', 'a', 'x'.repeat(1000)]) {
    const id = janusRoomId(name);
    assert.ok(Number.isInteger(id) && id > 0 && id < 2 ** 31, name);
  }
});

/** Each client's welcome carries fresh TURN REST credentials for its own identity. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { verifyTurnRestCredential } from '../../src/turn/rest-credentials.js';
import { TestClient } from '../helpers/ws-client.js';

const SECRET = 'shared-with-the-turn-server';
let sb: Switchboard;
before(async () => {
  sb = await startSwitchboard({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    turnSecret: SECRET,
    turnCredentialTtlSeconds: 600,
    turnUrls: ['turn:turn.example:3478?transport=udp', 'turns:turn.example:5349'],
    iceServers: [{ urls: ['stun:stun.example:3478'] }],
  });
});
after(() => sb.close());

test('welcome lists the static servers and a TURN entry with a valid credential', async () => {
  const [a, wa] = await TestClient.hello(sb.wsUrl, { identity: 'ann' });
  const [b, wb] = await TestClient.hello(sb.wsUrl, { identity: 'ben' });
  for (const [w, who] of [
    [wa, 'ann'],
    [wb, 'ben'],
  ] as const) {
    assert.deepEqual(w.iceServers[0], { urls: ['stun:stun.example:3478'] });
    const turn = w.iceServers[1];
    assert.deepEqual(turn?.urls, ['turn:turn.example:3478?transport=udp', 'turns:turn.example:5349']);
    assert.match(turn?.username ?? '', new RegExp(`^\\d+:${who}$`));
    const expiry = Number(turn?.username?.split(':')[0]);
    assert.ok(Math.abs(expiry - (Date.now() / 1000 + 600)) < 5, 'expires after the configured TTL');
    assert.equal(verifyTurnRestCredential(SECRET, turn?.username ?? '', turn?.credential ?? ''), true);
  }
  assert.notEqual(wa.iceServers[1]?.credential, wb.iceServers[1]?.credential);
  a.terminate();
  b.terminate();
});

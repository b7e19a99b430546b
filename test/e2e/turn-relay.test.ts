/**
 * Clients get TURN REST credentials from signaling and relay-only calls go through the TURN
 * server that shares the secret (coturn here, until our own server exists). With a secret
 * the TURN server does not share, a relay-only call cannot connect: the credentials are what
 * makes it work.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { LOW_VIDEO, diagnose, openPage, remoteStats, sleep } from './page-api.js';

const SECRET = 'turn-rest-secret-for-tests';
let coturn: Coturn;
let browser: TestBrowser;
const servers: Switchboard[] = [];

before(async () => {
  coturn = await startCoturn(SECRET);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  coturn?.close();
});

async function relayRoom(secret: string, room: string): Promise<[TestPage, TestPage]> {
  const sb = await startSwitchboard({
    port: 0,
    turnPort: 0,
    rtcPort: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    turnSecret: secret,
    turnUrls: [`turn:127.0.0.1:${coturn.port}?transport=udp`],
  });
  servers.push(sb);
  const url = `http://localhost:${sb.port}/?room=${room}&video=${LOW_VIDEO}&relay=1`;
  const a = await browser.newPage();
  const b = await browser.newPage();
  await openPage(a, `${url}&name=a`);
  await openPage(b, `${url}&name=b`);
  return [a, b];
}

test('a relay-only call connects through TURN with the credentials from signaling', { timeout: 60_000 }, async () => {
  const [a, b] = await relayRoom(SECRET, 'relay-ok');
  await diagnose(
    [
      { label: 'a', page: a },
      { label: 'b', page: b },
    ],
    async () => {
      for (const [label, page] of [
        ['a', a],
        ['b', b],
      ] as const) {
        const s = await waitFor(
          `${label} decodes through the relay`,
          async () => {
            const [r] = await remoteStats(page);
            return r && r.connectionState === 'connected' && r.videoFramesDecoded > 10 && r.audioEnergy > 0 ? r : null;
          },
          30_000,
          500,
        );
        assert.equal(s.localCandidateType, 'relay', `${label}: local side of the pair is a relay candidate`);
        assert.equal(s.remoteCandidateType, 'relay', `${label}: remote side too`);
      }
    },
  );
});

test('with a secret the TURN server does not share, a relay-only call cannot connect', { timeout: 60_000 }, async () => {
  const [a] = await relayRoom('not-the-turn-secret', 'relay-bad');
  await sleep(12_000);
  const [r] = await remoteStats(a);
  assert.notEqual(r?.connectionState, 'connected');
  assert.equal(r?.videoFramesDecoded ?? 0, 0);
});

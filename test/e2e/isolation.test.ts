/**
 * Rooms are isolated as a user sees them: a page in room B shows no tile, participant or
 * chat line of room A while A's two pages are connected and chatting.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { LOW_VIDEO, openPage, remoteStats, remoteTileIds, sleep, type PageGlobals } from './page-api.js';

let server: Switchboard;
let browser: TestBrowser;
let a1: TestPage;
let a2: TestPage;
let b1: TestPage;

before(async () => {
  server = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' });
  browser = await launchChromium();
  [b1, a1, a2] = await Promise.all([browser.newPage(), browser.newPage(), browser.newPage()]);
  const base = `http://localhost:${server.port}/?video=${LOW_VIDEO}`;
  await openPage(b1, `${base}&room=roomB&name=bea`);
  await openPage(a1, `${base}&room=roomA&name=ann`);
  await openPage(a2, `${base}&room=roomA&name=abe`);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('a page in room B sees nothing of room A', { timeout: 60_000 }, async () => {
  // Room A is really live: connected and chatting.
  await waitFor(
    'room A connected',
    async () => {
      const s = await remoteStats(a1);
      return s.length === 1 && s[0]?.connectionState === 'connected' && s[0].videoFramesDecoded > 0;
    },
    30_000,
    500,
  );
  await a1.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.sendChat('secret of room A'));
  await waitFor(
    'chat within A',
    () => a2.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.chatLog.some((l) => l.text === 'secret of room A')),
    10_000,
  );
  await sleep(1000);
  assert.deepEqual(await remoteTileIds(b1), []);
  assert.deepEqual(await remoteStats(b1), []);
  assert.equal(await b1.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.room?.participants.size), 0);
  assert.deepEqual(await b1.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.chatLog), []);
  const people = await b1.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('#people li').length);
  assert.equal(people, 0);
});

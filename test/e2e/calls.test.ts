/**
 * 1:1 calls in real Chromium pages: the callee is rung over its WebSocket and answers by
 * clicking the app's Accept/Reject buttons; the REST call flow's outcomes are checked as
 * each page shows them.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { LOW_VIDEO, diagnose, openPage, type PageGlobals } from './page-api.js';

const RING_MS = 3000;
let server: Switchboard;
let browser: TestBrowser;
let alice: TestPage;
let bob: TestPage;
let carol: TestPage;

before(async () => {
  server = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent', callRingMs: RING_MS });
  browser = await launchChromium();
  [alice, bob, carol] = await Promise.all([browser.newPage(), browser.newPage(), browser.newPage()]);
  for (const [page, id] of [
    [alice, 'alice'],
    [bob, 'bob'],
    [carol, 'carol'],
  ] as const) {
    await openPage(page, `http://localhost:${server.port}/?identity=${id}&name=${id}&video=${LOW_VIDEO}`);
  }
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const callState = (p: TestPage): Promise<string> => p.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.callState);
const endReason = (p: TestPage): Promise<string | null> =>
  p.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.callEndReason);
const statusText = (p: TestPage): Promise<string> =>
  p.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelector('#call-status')?.textContent ?? '');
const dialogOpen = (p: TestPage): Promise<boolean> =>
  p.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelector('#incoming-call')?.open === true);

/** Places a call from `from` to identity `to`; resolves 'ok' or the CallError code. */
function placeCall(from: TestPage, to: string): Promise<string> {
  return from.evaluate(
    (id) =>
      (globalThis as unknown as PageGlobals).switchboard.call(id).then(
        () => 'ok',
        (err: Error & { code?: string }) => err.code ?? String(err),
      ),
    to,
  );
}

async function ringing(caller: TestPage, callee: TestPage, calleeId: string): Promise<void> {
  assert.equal(await placeCall(caller, calleeId), 'ok');
  await waitFor('callee rings', async () => (await callState(callee)) === 'incoming' && (await dialogOpen(callee)), 10_000);
  assert.equal(await callState(caller), 'outgoing');
}

async function mediaFlows(page: TestPage, label: string): Promise<void> {
  const first = await waitFor(
    `${label}: call media decoding`,
    async () => {
      const s = await page.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.callStats());
      return s && s.connectionState === 'connected' && s.videoFramesDecoded > 0 && s.audioEnergy > 0 ? s : null;
    },
    30_000,
    500,
  );
  await waitFor(
    `${label}: call media rising`,
    async () => {
      const s = await page.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.callStats());
      return s !== null && s.videoFramesDecoded > first.videoFramesDecoded + 5 && s.audioEnergy > first.audioEnergy;
    },
    15_000,
    500,
  );
}

afterEach(async () => {
  // Leave no call behind for the next case.
  for (const p of [alice, bob, carol]) {
    await p.evaluate(() => {
      const sb = (globalThis as unknown as PageGlobals).switchboard;
      if (sb.callState !== 'idle') sb.hangup();
    });
  }
  for (const p of [alice, bob, carol]) await waitFor('idle', async () => (await callState(p)) === 'idle', 10_000);
});

test('accept: media flows both ways, then hangup ends it for both', { timeout: 90_000 }, async () => {
  const pages = [
    { label: 'alice', page: alice },
    { label: 'bob', page: bob },
  ];
  await diagnose(pages, async () => {
    await ringing(alice, bob, 'bob');
    await bob.click('#call-accept');
    await mediaFlows(alice, 'alice');
    await mediaFlows(bob, 'bob');
    assert.equal(await callState(alice), 'connected');
    await alice.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.hangup());
    await waitFor('bob sees hangup', async () => (await callState(bob)) === 'idle' && (await endReason(bob)) === 'hangup', 10_000);
    assert.match(await statusText(bob), /Call ended/);
  });
});

test('reject: the caller is told', { timeout: 30_000 }, async () => {
  await ringing(alice, bob, 'bob');
  await bob.click('#call-reject');
  await waitFor('alice sees rejected', async () => (await endReason(alice)) === 'rejected', 10_000);
  assert.equal(await callState(alice), 'idle');
  assert.match(await statusText(alice), /Call rejected/);
});

test('cancel: the callee stops ringing', { timeout: 30_000 }, async () => {
  await ringing(alice, bob, 'bob');
  await alice.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.cancelCall());
  await waitFor('bob sees cancelled', async () => (await endReason(bob)) === 'cancelled' && !(await dialogOpen(bob)), 10_000);
  assert.equal(await callState(bob), 'idle');
});

test('timeout: an unanswered call ends for both after the ring time', { timeout: 30_000 }, async () => {
  const started = Date.now();
  await ringing(alice, bob, 'bob');
  await waitFor(
    'both see timeout',
    async () => (await endReason(alice)) === 'timeout' && (await endReason(bob)) === 'timeout',
    RING_MS + 10_000,
  );
  assert.ok(Date.now() - started >= RING_MS - 200, 'not before the ring time');
  assert.match(await statusText(alice), /timed out/);
  assert.equal(await dialogOpen(bob), false);
});

test('busy: calling someone already in a call', { timeout: 60_000 }, async () => {
  await ringing(alice, bob, 'bob');
  await bob.click('#call-accept');
  await waitFor('alice connected', async () => (await callState(alice)) === 'connected', 30_000);
  assert.equal(await placeCall(carol, 'bob'), 'busy');
  assert.equal(await endReason(carol), 'busy');
  assert.match(await statusText(carol), /Busy/);
  assert.equal(await callState(bob), 'connected', 'the ongoing call is untouched');
});

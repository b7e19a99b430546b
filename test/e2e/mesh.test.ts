/**
 * Mesh room in real browsers: two Chromium pages and one Firefox page. Each must decode
 * video and audio from both others, chat and a 5 MB file must reach everyone, and a page
 * that leaves must disappear from the others' grids.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { launchChromium, launchFirefox, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { LOW_VIDEO, diagnose, openPage, remoteStats, remoteTileIds, type PageGlobals } from './page-api.js';

let server: Switchboard;
let chromium: TestBrowser;
let firefox: TestBrowser;
const pages: Array<{ label: string; page: TestPage }> = [];

before(async () => {
  server = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' });
  [chromium, firefox] = await Promise.all([launchChromium(), launchFirefox()]);
  // Pages open one after another: each newcomer offers to those already present.
  const specs: Array<[string, TestBrowser]> = [
    ['ada', chromium],
    ['bob', chromium],
    ['fox', firefox],
  ];
  for (const [name, browser] of specs) {
    const page = await browser.newPage();
    pages.push({ label: name, page });
    // localhost (not 127.0.0.1) is a secure context in both browsers, so getUserMedia works over HTTP.
    await openPage(page, `http://localhost:${server.port}/?room=mesh1&name=${name}&video=${LOW_VIDEO}`);
  }
});

after(async () => {
  for (const { page } of pages) await page.close();
  await Promise.all([chromium?.close(), firefox?.close()]);
  await server?.close();
});

test('every page decodes video and audio from both others', { timeout: 90_000 }, async () => {
  await diagnose(pages, async () => {
    for (const { label, page } of pages) {
      const first = await waitFor(
        `${label}: two remote peers connected and decoding`,
        async () => {
          const s = await remoteStats(page);
          return s.length === 2 && s.every((r) => r.connectionState === 'connected' && r.videoFramesDecoded > 0 && r.audioEnergy > 0)
            ? s
            : null;
        },
        45_000,
        500,
      );
      // Rising, not just non-zero: media keeps flowing.
      const later = await waitFor(
        `${label}: frames and audio energy rising`,
        async () => {
          const s = await remoteStats(page);
          const rising = s.every((r) => {
            const before = first.find((f) => f.participantId === r.participantId);
            return before !== undefined && r.videoFramesDecoded > before.videoFramesDecoded + 5 && r.audioEnergy > before.audioEnergy;
          });
          return rising ? s : null;
        },
        15_000,
        500,
      );
      for (const r of later) {
        assert.ok(r.videoWidth > 0 && r.videoHeight > 0, `${label} sees a video size from ${r.name}`);
        assert.equal(r.localCandidateType, 'host', `${label}: loopback call goes host to host`);
      }
    }
  });
});

test('a chat line reaches both others', { timeout: 30_000 }, async () => {
  const [ada, bob, fox] = pages.map((p) => p.page) as [TestPage, TestPage, TestPage];
  const text = `hello from fox ${Date.now()}`;
  await fox.evaluate((t) => (globalThis as unknown as PageGlobals).switchboard.sendChat(t), text);
  for (const page of [ada, bob]) {
    await waitFor(
      'chat line delivered',
      () =>
        page.evaluate(
          (t) => (globalThis as unknown as PageGlobals).switchboard.chatLog.some((l) => l.text === t && !l.local && l.name === 'fox'),
          text,
        ),
      10_000,
    );
  }
});

test('a 5 MB file arrives at both others with a matching SHA-256', { timeout: 90_000 }, async () => {
  const [ada, bob, fox] = pages.map((p) => p.page) as [TestPage, TestPage, TestPage];
  const size = 5 * 1024 * 1024;
  // The sender makes the bytes itself (5 MB through page.evaluate is slow); it reports their hash.
  const sent = await ada.evaluate(async (n) => {
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536)
      (globalThis as unknown as PageGlobals).crypto.getRandomValues(bytes.subarray(i, Math.min(n, i + 65536)));
    return (globalThis as unknown as PageGlobals).switchboard.sendFile('big.bin', bytes);
  }, size);
  assert.deepEqual(sent.failures, []);
  assert.match(sent.sha256, /^[0-9a-f]{64}$/);
  for (const [label, page] of [
    ['bob', bob],
    ['fox', fox],
  ] as const) {
    const got = await waitFor(
      `${label} receives big.bin`,
      () => page.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.receivedFiles.find((f) => f.name === 'big.bin') ?? null),
      60_000,
      500,
    );
    assert.equal(got.size, size, `${label}: size`);
    assert.equal(got.sha256, sent.sha256, `${label}: hash computed on arrival equals the sender's`);
    assert.equal(got.ok, true, `${label}: app reports the hash check passed`);
  }
  // Our own check of the hash function against Node's, on known bytes, so "ok" cannot be vacuous.
  const probe = randomBytes(1000);
  const pageHash = await fox.evaluate(async (hex) => {
    const bytes = new Uint8Array(hex.match(/../g)!.map((b) => parseInt(b, 16)));
    const d = new Uint8Array(
      await (
        globalThis as unknown as { crypto: { subtle: { digest(a: string, b: Uint8Array): Promise<ArrayBuffer> } } }
      ).crypto.subtle.digest('SHA-256', bytes),
    );
    return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
  }, probe.toString('hex'));
  assert.equal(pageHash, createHash('sha256').update(probe).digest('hex'));
});

test('a page that leaves disappears from the others', { timeout: 30_000 }, async () => {
  const [ada, bob, fox] = pages.map((p) => p.page) as [TestPage, TestPage, TestPage];
  const bobPeers = await bob.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.room?.participants.size ?? -1);
  assert.equal(bobPeers, 2);
  const before = await remoteTileIds(ada);
  assert.equal(before.length, 2);
  const bobSelf = (await remoteStats(ada)).find((s) => s.name === 'bob')?.participantId;
  assert.ok(bobSelf);
  await bob.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.leave());
  for (const [label, page] of [
    ['ada', ada],
    ['fox', fox],
  ] as const) {
    const tiles: string[] = await waitFor(
      `${label} drops bob's tile`,
      async (): Promise<string[] | null> => {
        const ids = await remoteTileIds(page);
        return ids.length === 1 && !ids.includes(bobSelf) ? ids : null;
      },
      5_000,
    );
    assert.equal(tiles.length, 1);
  }
});

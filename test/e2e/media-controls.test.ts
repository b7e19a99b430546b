/**
 * The web app's media controls, as the other side sees them: a page without camera
 * permission or without devices still joins and receives; mute, camera off, screen share,
 * device switch and the stats overlay change what the remote page shows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { LOW_VIDEO, diagnose, openPage, remoteStats, sleep, type RemoteStat } from './page-api.js';

let server: Switchboard;
const browsers: TestBrowser[] = [];

before(async () => {
  server = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' });
});
after(async () => {
  for (const b of browsers) await b.close();
  await server?.close();
});

async function page(opts: Parameters<typeof launchChromium>[0], url: string): Promise<TestPage> {
  const b = await launchChromium(opts);
  browsers.push(b);
  const p = await b.newPage();
  await openPage(p, url);
  return p;
}

async function statOf(p: TestPage, name: string): Promise<RemoteStat | undefined> {
  return (await remoteStats(p)).find((s) => s.name === name);
}

interface Problem {
  kind: string;
  message: string;
}
const problems = (p: TestPage): Promise<Problem[]> =>
  p.evaluate(() =>
    (globalThis as unknown as { switchboard: { mediaProblems: Problem[] } }).switchboard.mediaProblems.map((x) => ({
      kind: x.kind,
      message: x.message,
    })),
  );
const bannerText = (p: TestPage): Promise<string> =>
  p.evaluate(
    () =>
      (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector(
        '#banners',
      )?.textContent ?? '',
  );

describe('receive-only when the camera cannot be used', () => {
  test('denied permission and missing devices are explained, and those pages still receive', { timeout: 90_000 }, async () => {
    const url = `http://localhost:${server.port}/?room=ro1&video=${LOW_VIDEO}`;
    const sender = await page({}, `${url}&name=sender`);
    const denied = await page({ media: 'denied' }, `${url}&name=denied`);
    const none = await page({ media: 'none' }, `${url}&name=none`);
    const all = [
      { label: 'sender', page: sender },
      { label: 'denied', page: denied },
      { label: 'none', page: none },
    ];
    await diagnose(all, async () => {
      const d = await problems(denied);
      assert.equal(d[0]?.kind, 'denied');
      assert.match(await bannerText(denied), /Permission to use the .* was denied\. You joined receive-only/);
      const n = await problems(none);
      assert.equal(n[0]?.kind, 'not-found');
      assert.match(await bannerText(none), /No .* found\. You joined receive-only/);
      for (const [label, p] of [
        ['denied', denied],
        ['none', none],
      ] as const) {
        await waitFor(
          `${label} decodes the sender`,
          async () => {
            const s = await statOf(p, 'sender');
            return s !== undefined && s.connectionState === 'connected' && s.videoFramesDecoded > 5 && s.audioEnergy > 0;
          },
          30_000,
          500,
        );
      }
      // The sender sees both as connected participants that send nothing.
      const fromSender = await remoteStats(sender);
      assert.deepEqual(fromSender.map((s) => s.name).sort(), ['denied', 'none']);
      for (const s of fromSender) assert.equal(s.videoFramesDecoded, 0, `${s.name} sends no video`);
    });
  });
});

describe('controls', () => {
  let a: TestPage;
  let b: TestPage;
  before(async () => {
    const url = `http://localhost:${server.port}/?room=ctl1&video=${LOW_VIDEO}`;
    // Chromium's third fake camera is MJPEG like a webcam; its second is Y16 (a depth camera).
    a = await page({ fakeDeviceCount: 3 }, `${url}&name=alpha`);
    b = await page({}, `${url}&name=beta`);
    await waitFor('beta decodes alpha', async () => ((await statOf(b, 'alpha'))?.videoFramesDecoded ?? 0) > 5, 30_000, 500);
  });

  /** Mean brightness (0-255) of alpha's tile as beta's page renders it. */
  const alphaBrightness = (): Promise<number> =>
    b.evaluate(() => {
      const g = globalThis as unknown as {
        document: { querySelectorAll(s: string): ArrayLike<{ querySelector(s: string): unknown }>; createElement(t: string): unknown };
      };
      type Video = { videoWidth: number; videoHeight: number };
      type Ctx = {
        drawImage(v: unknown, x: number, y: number, w: number, h: number): void;
        getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
      };
      const tiles = Array.from(g.document.querySelectorAll('.tile[data-participant-id]'));
      const tile = tiles.find((t) => (t.querySelector('.name') as { textContent: string }).textContent === 'alpha');
      const video = tile?.querySelector('video') as Video | undefined;
      if (!video || video.videoWidth === 0) return -1;
      const canvas = g.document.createElement('canvas') as { width: number; height: number; getContext(t: string): Ctx };
      canvas.width = 64;
      canvas.height = 48;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(video, 0, 0, 64, 48);
      const px = ctx.getImageData(0, 0, 64, 48).data;
      let sum = 0;
      for (let i = 0; i < px.length; i += 4) sum += ((px[i] ?? 0) + (px[i + 1] ?? 0) + (px[i + 2] ?? 0)) / 3;
      return sum / (px.length / 4);
    });

  async function energyDelta(ms: number): Promise<number> {
    const e0 = (await statOf(b, 'alpha'))?.audioEnergy ?? 0;
    await sleep(ms);
    return ((await statOf(b, 'alpha'))?.audioEnergy ?? 0) - e0;
  }

  test('muting the microphone silences it for the other side, unmuting brings it back', { timeout: 40_000 }, async () => {
    const live = await energyDelta(2000);
    assert.ok(live > 0, `audio energy rises while unmuted (${live})`);
    await a.click('#btn-mic');
    await sleep(1000);
    const muted = await energyDelta(2000);
    assert.ok(muted < live * 0.05, `muted: energy ${muted} vs ${live} before`);
    await a.click('#btn-mic');
    await waitFor('audio back after unmute', async () => (await energyDelta(1500)) > live * 0.2, 10_000, 0);
  });

  test('turning the camera off shows black to the other side, and back on', { timeout: 40_000 }, async () => {
    await waitFor('alpha visible', async () => (await alphaBrightness()) > 20, 10_000);
    await a.click('#btn-cam');
    await waitFor(
      'alpha goes black',
      async () => {
        const v = await alphaBrightness();
        return v >= 0 && v < 5;
      },
      10_000,
    );
    await a.click('#btn-cam');
    await waitFor('alpha visible again', async () => (await alphaBrightness()) > 20, 10_000);
  });

  test('screen share replaces the camera for the other side, and stopping restores it', { timeout: 40_000 }, async () => {
    const before = await statOf(b, 'alpha');
    assert.equal(before?.videoWidth, 320);
    await a.click('#btn-screen');
    await waitFor('beta receives the 1280-wide screen', async () => (await statOf(b, 'alpha'))?.videoWidth === 1280, 20_000);
    await a.click('#btn-screen');
    await waitFor('beta receives the camera again', async () => (await statOf(b, 'alpha'))?.videoWidth === 320, 20_000);
  });

  test('the device picker switches to another camera without interrupting the call', { timeout: 40_000 }, async () => {
    await a.click('#btn-devices');
    const label = (): Promise<string> =>
      a.evaluate(
        () =>
          (globalThis as unknown as { switchboard: { media: { cameraTrack: { label: string } | null } } }).switchboard.media.cameraTrack
            ?.label ?? '',
      );
    assert.equal(await label(), 'fake_device_0');
    const options = await waitFor(
      'camera options listed',
      () =>
        a.evaluate(() => {
          const sel = (
            globalThis as unknown as { document: { querySelector(s: string): { options: ArrayLike<{ value: string; text: string }> } } }
          ).document.querySelector('#cam-select');
          const opts = Array.from(sel.options).map((o) => o.text);
          return opts.length === 3 ? opts : null;
        }),
      5_000,
    );
    assert.deepEqual(options, ['fake_device_0', 'fake_device_1', 'fake_device_2']);
    await a.evaluate(() => {
      const g = globalThis as unknown as {
        document: { querySelector(s: string): { selectedIndex: number; dispatchEvent(e: unknown): void } };
        Event: new (t: string) => unknown;
      };
      const sel = g.document.querySelector('#cam-select');
      sel.selectedIndex = 2;
      sel.dispatchEvent(new g.Event('change'));
    });
    await waitFor('camera switched', async () => (await label()) === 'fake_device_2', 10_000);
    const f0 = (await statOf(b, 'alpha'))?.videoFramesDecoded ?? 0;
    await waitFor('beta keeps decoding alpha', async () => ((await statOf(b, 'alpha'))?.videoFramesDecoded ?? 0) > f0 + 10, 10_000);
  });

  test('tiles show the connection state, and the stats overlay shows codec, RTT and path', { timeout: 20_000 }, async () => {
    const tileText = (): Promise<{ state: string; stats: string }> =>
      b.evaluate(() => {
        const g = globalThis as unknown as {
          document: { querySelector(s: string): { querySelector(s: string): { textContent: string | null } | null } | null };
        };
        const t = g.document.querySelector('.tile[data-participant-id]');
        return { state: t?.querySelector('.conn-state')?.textContent ?? '', stats: t?.querySelector('.stats-overlay')?.textContent ?? '' };
      });
    assert.equal((await tileText()).state, 'connected');
    await b.click('#btn-stats');
    const stats = await waitFor(
      'overlay filled',
      async () => {
        const t = await tileText();
        return /rtt\s+\d+ ms/.test(t.stats) ? t.stats : null;
      },
      10_000,
    );
    assert.match(stats, /video\s+VP8 \d+×\d+/);
    assert.match(stats, /audio\s+opus/);
    assert.match(stats, /path\s+host ↔ host/);
    assert.match(stats, /in\s+\d+ kbps\s+out \d+ kbps/);
  });
});

/**
 * MCU room with real Chromium pages: three pages (ada, bob, cy), each with a voice-like fake
 * microphone and a fake camera at 320×240, join `topology=mcu`. The server decodes everyone,
 * mixes N−1 audio per listener and composes one 1280×720 picture (src/mcu). Checked as a user
 * would: each page receives exactly one video (the composite's size, decoding ≥ 10 fps) and one
 * audio; a page never hears itself; asking for another layout changes what the picture shows.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { writeVoiceWav } from '../helpers/wav.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { computeLayout, fitRect, type LayoutKind } from '../../src/mcu/video/layout.js';
import { labelSize } from '../../src/mcu/video/label.js';
import type { Mixer } from '../../src/mcu/Mixer.js';
import { LOW_VIDEO, diagnose, openPage, sleep } from './page-api.js';

const ROOM = 'mcu-e2e';
const WIDTH = 1280;
const HEIGHT = 720;
let server: Switchboard;
let dir: string;
const browsers: TestBrowser[] = [];
const pages: Array<{ label: string; page: TestPage; id: string }> = [];

/** What a page receives on its subscribe connection: every inbound-rtp, and its own microphone's energy. */
interface Inbound {
  video: Array<{ width: number; height: number; framesDecoded: number }>;
  audio: Array<{ energy: number; samples: number }>;
  micEnergy: number;
  at: number;
}

function inbound(page: TestPage): Promise<Inbound> {
  return page.evaluate(async () => {
    interface Pc {
      getStats(): Promise<{ forEach(cb: (r: Record<string, unknown>) => void): void }>;
    }
    interface Session {
      subscribePc: Pc | null;
      publishPc: Pc;
    }
    const g = globalThis as unknown as { switchboard: { room: { transport: Session } } };
    const session = g.switchboard.room.transport;
    const out: Inbound = { video: [], audio: [], micEnergy: 0, at: performance.now() };
    const pc = session.subscribePc;
    if (pc) {
      (await pc.getStats()).forEach((r: Record<string, unknown>) => {
        if (r.type !== 'inbound-rtp') return;
        if (r.kind === 'video')
          out.video.push({
            width: Number(r.frameWidth ?? 0),
            height: Number(r.frameHeight ?? 0),
            framesDecoded: Number(r.framesDecoded ?? 0),
          });
        else out.audio.push({ energy: Number(r.totalAudioEnergy ?? 0), samples: Number(r.totalSamplesReceived ?? 0) });
      });
    }
    (await session.publishPc.getStats()).forEach((r: Record<string, unknown>) => {
      if (r.type === 'media-source' && r.kind === 'audio') out.micEnergy = Number(r.totalAudioEnergy ?? 0);
    });
    return out;
  });
}

/** The mix tile's current picture, drawn on a canvas and read back as luma, `w`×`h` samples. */
function sampleMix(page: TestPage, w: number, h: number): Promise<number[] | null> {
  return page.evaluate(
    ({ w, h }) => {
      interface Ctx {
        drawImage(v: unknown, x: number, y: number, w: number, h: number): void;
        getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
      }
      interface Canvas {
        width: number;
        height: number;
        getContext(k: '2d'): Ctx | null;
      }
      const g = globalThis as unknown as {
        document: { querySelector(s: string): { videoWidth: number } | null; createElement(t: 'canvas'): Canvas };
      };
      const video = g.document.querySelector('.tile[data-mix] video');
      if (!video || video.videoWidth === 0) return null;
      const canvas = g.document.createElement('canvas');
      canvas.width = w;
      canvas.height = h;
      const ctx = canvas.getContext('2d');
      if (!ctx) return null;
      ctx.drawImage(video, 0, 0, w, h);
      const px = ctx.getImageData(0, 0, w, h).data;
      const out: number[] = [];
      for (let i = 0; i < w * h; i++)
        out.push(0.299 * (px[i * 4] as number) + 0.587 * (px[i * 4 + 1] as number) + 0.114 * (px[i * 4 + 2] as number));
      return out;
    },
    { w, h },
  );
}

const mixer = (): Mixer => {
  const m = server.sfu?.mixers.get(ROOM);
  assert.ok(m, 'the room has a mixer');
  return m;
};

/**
 * Where the composite shows a participant's picture (true) or background (false) for `kind`,
 * from the same geometry the server uses, at each sample point; null near an edge or on a label,
 * where a scaled-down sample mixes both.
 */
function expectedMask(kind: LayoutKind, w: number, h: number): Array<boolean | null> {
  const m = mixer();
  const order = pages.map((p) => p.id);
  const speaker = m.activeSpeaker;
  const rects = computeLayout(
    kind,
    order.map((id) => ({ id, speaking: id === speaker })),
    WIDTH,
    HEIGHT,
  );
  const content = rects.map((r) => {
    const input = m.video.inputs.get(r.id);
    return fitRect(input?.decoder.width ?? 0, input?.decoder.height ?? 0, r);
  });
  const labels = rects.map((r) => {
    const name = pages.find((p) => p.id === r.id)?.label ?? '';
    const size = labelSize(name, 2, r.width - 16);
    return { x: r.x + 8, y: r.y + r.height - size.height - 8, width: size.width, height: size.height };
  });
  const margin = 16;
  const near = (x: number, y: number, r: { x: number; y: number; width: number; height: number }, grow: number): boolean =>
    x >= r.x - grow && x < r.x + r.width + grow && y >= r.y - grow && y < r.y + r.height + grow;
  const out: Array<boolean | null> = [];
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const x = ((i + 0.5) * WIDTH) / w;
      const y = ((j + 0.5) * HEIGHT) / h;
      if (labels.some((l) => near(x, y, l, margin))) {
        out.push(null);
        continue;
      }
      const inside = content.some((c) => near(x, y, c, -margin));
      const edge = content.some((c) => near(x, y, c, margin)) && !inside;
      out.push(edge ? null : inside);
    }
  }
  return out;
}

/** How well a sampled picture matches a layout: picture where it expects one, background elsewhere. */
function match(luma: readonly number[], mask: ReadonlyArray<boolean | null>): { agreement: number; picture: number; background: number } {
  let pictureSum = 0,
    pictureN = 0,
    backgroundSum = 0,
    backgroundN = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === true) {
      pictureSum += luma[i] as number;
      pictureN++;
    }
    if (mask[i] === false) {
      backgroundSum += luma[i] as number;
      backgroundN++;
    }
  }
  // Background is BACKGROUND_Y (32 → about 19 in RGB); a camera picture is far brighter.
  const threshold = 40;
  let agree = 0,
    n = 0;
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i];
    if (m === null || m === undefined) continue;
    n++;
    if ((luma[i] as number) > threshold === m) agree++;
  }
  return { agreement: agree / n, picture: pictureSum / Math.max(1, pictureN), background: backgroundSum / Math.max(1, backgroundN) };
}

const page = (label: string): { page: TestPage; id: string } => {
  const p = pages.find((x) => x.label === label);
  assert.ok(p, label);
  return p;
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-mcu-'));
  const voice = join(dir, 'voice.wav');
  writeVoiceWav(voice, 10, 0.4);
  server = await startSwitchboard({ workers: 0, port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'warn' });
  for (const label of ['ada', 'bob', 'cy']) {
    const b = await launchChromium({ args: [`--use-file-for-fake-audio-capture=${voice}`] });
    browsers.push(b);
    const p = await b.newPage();
    await openPage(p, `http://localhost:${server.port}/?room=${ROOM}&name=${label}&topology=mcu&video=${LOW_VIDEO}`);
    const id = await p.evaluate(
      () => (globalThis as unknown as { switchboard: { room: { self: { id: string } } } }).switchboard.room.self.id,
    );
    pages.push({ label, page: p, id });
  }
});

after(async () => {
  for (const { page: p } of pages) await p.close();
  await Promise.all(browsers.map((b) => b.close()));
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function serverState(): string {
  const m = server.sfu?.mixers.get(ROOM);
  if (!m) return 'no mixer';
  const inputs = [...m.video.inputs.values()].map(
    (i) =>
      `${i.ownerId}: ${i.framesDecoded} decoded ${i.decoder.width}x${i.decoder.height}, jitter out ${i.jitter.framesOut} dropped ${i.jitter.framesDropped}`,
  );
  const comps = [...m.video.compositions.values()].map(
    (c) =>
      `${c.kind}: ${c.framesComposed} frames, tiers ${c.activeTiers.join(',')}, viewers ${c.viewers.size}, ${Math.round(c.busyMs / Math.max(1, c.framesComposed))} ms/frame`,
  );
  const audio = [...m.audio.inputs.values()].map(
    (i) => `${i.ownerId}: played ${i.jitter.framesPlayed} concealed ${i.jitter.framesConcealed}`,
  );
  return `video inputs: ${inputs.join('; ')}\ncompositions: ${comps.join('; ')}\naudio: ${audio.join('; ')}`;
}

test('each page receives one composed video (1280×720, ≥ 10 fps) and one mixed audio', { timeout: 120_000 }, async () => {
  await diagnose(
    pages,
    async () => {
      for (const { label, page: p } of pages) {
        const first = await waitFor(
          `${label}: one 1280×720 video and one audio track decoding`,
          async () => {
            const s = await inbound(p);
            return s.video.length === 1 &&
              s.video[0]?.width === WIDTH &&
              s.video[0]?.height === HEIGHT &&
              (s.video[0]?.framesDecoded ?? 0) > 0 &&
              s.audio.length === 1 &&
              (s.audio[0]?.samples ?? 0) > 0
              ? s
              : null;
          },
          60_000,
          500,
        );
        await sleep(3000);
        const second = await inbound(p);
        assert.equal(second.video.length, 1, `${label}: exactly one inbound video`);
        assert.equal(second.audio.length, 1, `${label}: exactly one inbound audio`);
        const secs = (second.at - first.at) / 1000;
        const fps = ((second.video[0]?.framesDecoded ?? 0) - (first.video[0]?.framesDecoded ?? 0)) / secs;
        const energy = (second.audio[0]?.energy ?? 0) - (first.audio[0]?.energy ?? 0);
        console.log(
          `# ${label}: composite decoded at ${fps.toFixed(1)} fps, mixed audio energy +${energy.toExponential(2)} in ${secs.toFixed(1)} s`,
        );
        assert.ok(fps >= 10, `${label}: ${fps.toFixed(1)} fps`);
        assert.ok(energy > 0, `${label}: the mixed audio's energy rises`);
      }
    },
    serverState,
  );
});

test(
  'a page never hears itself: with the others muted its mix falls silent while its microphone stays on',
  { timeout: 60_000 },
  async () => {
    const ada = page('ada');
    await diagnose(
      pages,
      async () => {
        for (const label of ['bob', 'cy'])
          await page(label).page.evaluate(() =>
            (globalThis as unknown as { switchboard: { setMuted(k: string, m: boolean): void } }).switchboard.setMuted('audio', true),
          );
        // The mutes reach the mix within the jitter buffers' and the browsers' own delays.
        await sleep(2000);
        const a0 = await inbound(ada.page);
        const b0 = await inbound(page('bob').page);
        await sleep(3000);
        const a1 = await inbound(ada.page);
        const b1 = await inbound(page('bob').page);
        const adaHears = (a1.audio[0]?.energy ?? 0) - (a0.audio[0]?.energy ?? 0);
        const adaSays = a1.micEnergy - a0.micEnergy;
        const bobHears = (b1.audio[0]?.energy ?? 0) - (b0.audio[0]?.energy ?? 0);
        console.log(
          `# ada's microphone +${adaSays.toExponential(2)}; ada hears +${adaHears.toExponential(2)}; bob hears +${bobHears.toExponential(2)}`,
        );
        assert.ok(adaSays > 0.001, "ada's microphone is on");
        assert.ok(bobHears > 0.001, 'bob hears ada');
        assert.ok(adaHears < bobHears / 1000, "ada's own mix is silent");
        // The only voice left: the mixer's active speaker (from decoded energy), on every page.
        await waitFor('the mixer chooses ada as the active speaker', () => (mixer().activeSpeaker === ada.id ? true : null), 15_000, 250);
        for (const { label, page: p } of pages) {
          await waitFor(
            `${label}: told ada is speaking`,
            () =>
              p
                .evaluate(() => (globalThis as unknown as { switchboard: { activeSpeaker: string | null } }).switchboard.activeSpeaker)
                .then((id) => (id === ada.id ? id : null)),
            5000,
            250,
          );
        }
      },
      serverState,
    );
  },
);

test('asking for another layout changes what the received picture shows', { timeout: 60_000 }, async () => {
  const ada = page('ada');
  const W = 64;
  const H = 36;
  const shows = (kind: LayoutKind) =>
    waitFor(
      `ada: the picture shows the ${kind} layout`,
      async () => {
        const luma = await sampleMix(ada.page, W, H);
        if (!luma) return null;
        const m = match(luma, expectedMask(kind, W, H));
        return m.agreement > 0.9 ? m : null;
      },
      20_000,
      500,
    );
  await diagnose(
    pages,
    async () => {
      const grid = await shows('grid');
      const gridVsSpeaker = match((await sampleMix(ada.page, W, H)) ?? [], expectedMask('speaker', W, H));
      console.log(
        `# grid picture: matches grid ${(grid.agreement * 100).toFixed(0)} % (picture luma ${grid.picture.toFixed(0)}, background ${grid.background.toFixed(0)}), speaker ${(gridVsSpeaker.agreement * 100).toFixed(0)} %`,
      );
      assert.ok(gridVsSpeaker.agreement < 0.8, 'the grid picture does not look like the speaker layout');
      const t0 = Date.now();
      await ada.page.evaluate(() =>
        (globalThis as unknown as { switchboard: { setLayout(l: string): void } }).switchboard.setLayout('speaker'),
      );
      const speaker = await shows('speaker');
      console.log(`# speaker layout shown ${Date.now() - t0} ms after the request: matches ${(speaker.agreement * 100).toFixed(0)} %`);
      assert.equal(mixer().video.layoutOf(ada.id), 'speaker');
      assert.equal(mixer().video.layoutOf(page('bob').id), 'grid', 'bob still views the grid');
      // The new composition's video decodes at the composite's size.
      const s = await inbound(ada.page);
      assert.ok(
        s.video.some((v) => v.framesDecoded > 0 && v.width === WIDTH),
        'the speaker layout decodes at 1280 wide',
      );
    },
    serverState,
  );
});

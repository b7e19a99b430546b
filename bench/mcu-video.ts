/**
 * Video MCU against the SFU, same run, same pages: 4 Chromium pages each publish a 640×360
 * canvas video at 30 fps in which a 15-bit frame counter is drawn as black/white blocks (twice,
 * as a check), noting when each counter value was drawn. One page reads the counter of another
 * page's picture from every frame it receives (requestVideoFrameCallback → canvas): in the SFU
 * room from that page's own track, in the MCU room from its tile in the 1280×720 composite
 * (position from the layout code the server uses). Latency = received − drawn (same machine
 * clock): capture, encode, network, server, decode — glass to glass less the display. The MCU's
 * added latency is its p50 minus the SFU's.
 *
 * Server CPU: the Switchboard child's utime+stime over each measured window (/proc), as a share
 * of one core; the browsers run on the same 2 cores, so the figures move with their load.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/mcu-video.js [--seconds 15]
 *
 * About 1 minute at the defaults. Loopback only.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../test/helpers/browsers.js';
import { computeLayout, fitRect } from '../src/mcu/video/layout.js';
import { CLK_TCK, cpuTicks, loopbackServeArgs, nonNegative, spawnServer, stopServer, type ServerChild } from './lib/proc.js';

const SOURCE_W = 640;
const SOURCE_H = 360;
const BITS = 15;
const BLOCK = 40;
/** Rows of blocks (source pixels): the counter, and the same again as a check. */
const ROWS = [60, 160];
const PAGES = 4;

function usage(problem: string): never {
  console.error(`${problem}\nusage: node dist/bench/mcu-video.js [--seconds S]`);
  process.exit(2);
}

function parseArgs(argv: string[]): { seconds: number } {
  const o = { seconds: 15 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--seconds') o.seconds = Math.max(3, nonNegative('seconds', argv[++i], usage));
    else usage(`unknown option ${a}`);
  }
  return o;
}

/** Replaces the camera with a canvas drawing the counter; `window.__drawn` keeps [counter, Date.now()]. */
const CANVAS_CAMERA = `(() => {
  const W = ${SOURCE_W}, H = ${SOURCE_H}, BITS = ${BITS}, BLOCK = ${BLOCK}, ROWS = ${JSON.stringify(ROWS)};
  const md = navigator.mediaDevices;
  const original = md.getUserMedia.bind(md);
  md.getUserMedia = async (c) => {
    const out = new MediaStream();
    if (c && c.audio) (await original({ audio: true })).getAudioTracks().forEach((t) => out.addTrack(t));
    if (c && c.video) {
      const canvas = document.createElement('canvas');
      canvas.width = W; canvas.height = H;
      const ctx = canvas.getContext('2d');
      window.__drawn = [];
      let n = 0;
      setInterval(() => {
        n = (n + 1) & 0x7fff;
        ctx.fillStyle = '#707070'; ctx.fillRect(0, 0, W, H);
        ctx.fillStyle = '#3050a0'; ctx.fillRect((n * 4) % (W - 80), 250, 80, 80); // motion, as a camera has
        for (const y of ROWS) for (let b = 0; b < BITS; b++) {
          ctx.fillStyle = (n >> b) & 1 ? '#ffffff' : '#000000';
          ctx.fillRect(20 + b * BLOCK, y - 25, BLOCK, 50);
        }
        window.__drawn.push([n, Date.now()]);
        if (window.__drawn.length > 20000) window.__drawn.splice(0, 10000);
      }, 33);
      canvas.captureStream(30).getVideoTracks().forEach((t) => out.addTrack(t));
    }
    return out;
  };
})();`;

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Starts reading counters from the video matching `selector`, in `rect` (null: the whole video, source-sized). */
function startReading(page: TestPage, selector: string, rect: Rect | null): Promise<boolean> {
  return page.evaluate(
    ({ selector, rect, bits, block, rows, sw, sh }) => {
      interface V {
        videoWidth: number;
        videoHeight: number;
        requestVideoFrameCallback(cb: () => void): void;
      }
      const g = globalThis as unknown as {
        document: {
          querySelector(s: string): V | null;
          createElement(t: 'canvas'): {
            width: number;
            height: number;
            getContext(
              k: '2d',
              o: unknown,
            ): { drawImage(...a: unknown[]): void; getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
          };
        };
        __received: Array<[number, number]>;
      };
      const video = g.document.querySelector(selector);
      if (!video) return false;
      const canvas = g.document.createElement('canvas');
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      g.__received = [];
      const onFrame = (): void => {
        const vw = video.videoWidth,
          vh = video.videoHeight;
        if (vw > 0) {
          if (canvas.width !== vw || canvas.height !== vh) {
            canvas.width = vw;
            canvas.height = vh;
          }
          ctx.drawImage(video, 0, 0, vw, vh);
          const r = rect ?? { x: 0, y: 0, width: vw, height: vh };
          const values: number[] = [];
          for (const row of rows) {
            let n = 0;
            for (let b = 0; b < bits; b++) {
              const x = Math.round(r.x + ((20 + b * block + block / 2) * r.width) / sw);
              const y = Math.round(r.y + (row * r.height) / sh);
              const px = ctx.getImageData(x, y, 1, 1).data;
              const luma = 0.299 * (px[0] as number) + 0.587 * (px[1] as number) + 0.114 * (px[2] as number);
              if (luma > 128) n |= 1 << b;
            }
            values.push(n);
          }
          if (values[0] === values[1]) g.__received.push([values[0] as number, Date.now()]);
        }
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
      return true;
    },
    { selector, rect, bits: BITS, block: BLOCK, rows: ROWS, sw: SOURCE_W, sh: SOURCE_H },
  );
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function runRoom(
  server: ServerChild,
  browser: TestBrowser,
  topology: 'sfu' | 'mcu',
  seconds: number,
): Promise<{ latencies: number[]; frames: number; cpu: number }> {
  const room = `bench-${topology}`;
  const pages: TestPage[] = [];
  const ids: string[] = [];
  try {
    for (let i = 0; i < PAGES; i++) {
      const p = await browser.newPage();
      await p.addInitScript(CANVAS_CAMERA);
      await p.goto(`http://127.0.0.1:${server.port}/?room=${room}&name=p${i}&topology=${topology}`);
      await waitFor(
        `page ${i} joined`,
        () =>
          p.evaluate(
            () =>
              (globalThis as unknown as { switchboard: { room: { self: { id: string } | null } | null } }).switchboard.room?.self?.id ??
              null,
          ),
        20_000,
      );
      ids.push(
        await p.evaluate(() => (globalThis as unknown as { switchboard: { room: { self: { id: string } } } }).switchboard.room.self.id),
      );
      pages.push(p);
    }
    const receiver = pages[0]!;
    const sender = pages[1]!;
    // The sender's picture at the receiver: its own track (SFU), or its tile of the grid (MCU).
    let selector = `.tile[data-participant-id="${ids[1]}"] video`;
    let rect: Rect | null = null;
    if (topology === 'mcu') {
      selector = '.tile[data-mix] video';
      const tile = computeLayout(
        'grid',
        ids.map((id) => ({ id })),
        1280,
        720,
      ).find((t) => t.id === ids[1])!;
      rect = fitRect(SOURCE_W, SOURCE_H, tile);
    }
    await waitFor(
      `${topology}: the sender's video plays at the receiver`,
      () =>
        receiver.evaluate((s) => {
          const v = (
            globalThis as unknown as { document: { querySelector(q: string): { videoWidth: number; currentTime: number } | null } }
          ).document.querySelector(s);
          return v && v.videoWidth > 0 && v.currentTime > 0 ? true : null;
        }, selector),
      40_000,
      500,
    );
    await new Promise((r) => setTimeout(r, 3000)); // past the first keyframes and the bandwidth ramp
    if (!(await startReading(receiver, selector, rect))) throw new Error('no video to read');
    const t0 = cpuTicks(server.pid);
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu = (cpuTicks(server.pid) - t0) / CLK_TCK / ((performance.now() - w0) / 1000);
    const received = await receiver.evaluate(() => (globalThis as unknown as { __received: Array<[number, number]> }).__received);
    const drawn = await sender.evaluate(() => (globalThis as unknown as { __drawn: Array<[number, number]> }).__drawn);
    const drawnAt = new Map(drawn.map(([n, t]) => [n, t]));
    const seen = new Set<number>();
    const latencies: number[] = [];
    for (const [n, t] of received) {
      if (seen.has(n)) continue; // the same frame shown twice (MCU: composed at 15 fps from a 30 fps source)
      seen.add(n);
      const at = drawnAt.get(n);
      if (at !== undefined && t >= at && t - at < 5000) latencies.push(t - at);
    }
    latencies.sort((a, b) => a - b);
    return { latencies, frames: seen.size, cpu };
  } finally {
    for (const p of pages) await p.close();
  }
}

async function main(): Promise<void> {
  const { seconds } = parseArgs(process.argv.slice(2));
  const mainJs = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'src', 'cli', 'main.js');
  const server = await spawnServer('switchboard', loopbackServeArgs(mainJs), { startTimeoutMs: 20_000 });
  const browser = await launchChromium();
  try {
    console.log(
      `Video MCU vs SFU: ${PAGES} Chromium pages publishing ${SOURCE_W}×${SOURCE_H} at 30 fps; MCU out 1280×720 at 15 fps; ${seconds} s per room\n`,
    );
    const results: Record<string, Awaited<ReturnType<typeof runRoom>>> = {};
    for (const topology of ['sfu', 'mcu'] as const) {
      const r = await runRoom(server, browser, topology, seconds);
      results[topology] = r;
      if (r.latencies.length < 10) throw new Error(`${topology}: only ${r.latencies.length} frames read (of ${r.frames})`);
      console.log(
        `${topology.toUpperCase()}: ${r.latencies.length} frames read, latency p50 ${percentile(r.latencies, 50)} ms, p95 ${percentile(r.latencies, 95)} ms; server CPU ${(r.cpu * 100).toFixed(0)} % of a core`,
      );
    }
    const sfu = results.sfu!;
    const mcu = results.mcu!;
    console.log(
      `\nMCU adds ${percentile(mcu.latencies, 50) - percentile(sfu.latencies, 50)} ms at p50 (${percentile(mcu.latencies, 95) - percentile(sfu.latencies, 95)} ms at p95); server CPU ${(mcu.cpu * 100).toFixed(0)} % vs ${(sfu.cpu * 100).toFixed(0)} % of a core (ratio ${(mcu.cpu / Math.max(0.001, sfu.cpu)).toFixed(1)})`,
    );
  } finally {
    await browser.close();
    await stopServer(server);
  }
}

await main();

/**
 * SFU room in real browsers: three Chromium pages and one Firefox page, each connected only
 * to the server (its publish and subscribe connections both end at the RTC port). Each page
 * must decode video and audio from the three others, chat and a 5 MB file must reach everyone
 * through the server's data-channel relay, and a page that leaves must lose its tile on the
 * others within 2 s.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { launchChromium, launchFirefox, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { LOW_VIDEO, diagnose, openPage, publishStats, remoteStats, remoteTileIds, type PageGlobals } from './page-api.js';

let server: Switchboard;
let chromium: TestBrowser;
let firefox: TestBrowser;
const pages: Array<{ label: string; page: TestPage }> = [];
const ROOM = 'sfu1';

before(async () => {
  server = await startSwitchboard({ workers: 0, port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'warn' });
  [chromium, firefox] = await Promise.all([launchChromium(), launchFirefox()]);
  const specs: Array<[string, TestBrowser]> = [
    ['ada', chromium],
    ['bob', chromium],
    ['cy', chromium],
    ['fox', firefox],
  ];
  for (const [name, browser] of specs) {
    const page = await browser.newPage();
    pages.push({ label: name, page });
    await openPage(page, `http://localhost:${server.port}/?room=${ROOM}&name=${name}&topology=sfu&video=${LOW_VIDEO}`);
  }
});

after(async () => {
  for (const { page } of pages) await page.close();
  await Promise.all([chromium?.close(), firefox?.close()]);
  await server?.close();
});

test('every page decodes video and audio from the three others, over connections to the RTC port only', { timeout: 150_000 }, async () => {
  const rtcPort = server.rtc?.port.udpPort;
  assert.ok(rtcPort, 'the RTC port is open');
  await diagnose(pages, async () => {
    for (const { label, page } of pages) {
      assert.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.topology), 'sfu');
      const first = await waitFor(
        `${label}: three remote participants decoding`,
        async () => {
          const s = await remoteStats(page);
          return s.length === 3 && s.every((r) => r.connectionState === 'connected' && r.videoFramesDecoded > 0 && r.audioEnergy > 0)
            ? s
            : null;
        },
        60_000,
        500,
      );
      const later = await waitFor(
        `${label}: frames and audio energy rising`,
        async () => {
          const s = await remoteStats(page);
          const rising =
            s.length === 3 &&
            s.every((r) => {
              const before = first.find((f) => f.participantId === r.participantId);
              return before !== undefined && r.videoFramesDecoded > before.videoFramesDecoded + 5 && r.audioEnergy > before.audioEnergy;
            });
          return rising ? s : null;
        },
        20_000,
        500,
      );
      for (const r of later) {
        assert.ok(r.videoWidth > 0 && r.videoHeight > 0, `${label} sees a video size from ${r.name}`);
        assert.equal(r.remoteCandidatePort, rtcPort, `${label}: the subscribe connection ends at the RTC port (${r.name})`);
      }
      const pub = await publishStats(page);
      assert.equal(pub?.remoteCandidatePort, rtcPort, `${label}: the publish connection ends at the RTC port`);
      // The server's RTCP: its receiver reports give the publisher an RTT (LSR/DLSR), its
      // sender reports reach every subscriber.
      const rtt = await waitFor(
        `${label}: RTT from the server's receiver reports`,
        async () => (await publishStats(page))?.reportedRttMs ?? null,
        10_000,
        500,
      );
      assert.ok(rtt >= 0 && rtt < 1000, `${label}: RTT ${rtt} ms`);
      if (page.engine === 'chromium') {
        // The server's transport-cc feedback holds the browser's send-side estimate near or
        // above its start rate (300 kbit/s in libwebrtc; 350-700 measured on a quiet machine,
        // ~210 with five other test runs on it). Without feedback it backs off within seconds
        // to under 100 (measured: 84) and stays there; with it, on a machine busy with four
        // browsers, it may dip to ~85 while every connection starts and then climbs past 150
        // (seen taking ~10 s in full `npm test` runs), hence the 30 s.
        const seen: number[] = [];
        const estimate = await waitFor(
          `${label}: the publisher's bandwidth estimate above 150 kbit/s`,
          async () => {
            const kbps = (await publishStats(page))?.availableOutgoingKbps ?? 0;
            seen.push(kbps);
            return kbps > 150 ? kbps : null;
          },
          30_000,
          500,
        ).catch((err: Error) => {
          throw new Error(`${err.message}; estimates seen: ${seen.join(' ')}`);
        });
        console.log(`${label}: publish estimate ${estimate} kbit/s`);
        // One SR per consumer and second: wait for each stream's first.
        await waitFor(
          `${label}: sender reports received for every remote stream`,
          async () => {
            const s = await remoteStats(page);
            return s.length === 3 && s.every((r) => r.senderReportsReceived > 0) ? s : null;
          },
          5_000,
          250,
        );
      }
    }
  });
  // The server forwards: 4 participants × (audio + video) producers, 3 consumers each.
  const router = server.sfu?.rooms.get(ROOM);
  assert.ok(router);
  assert.equal(router.producers.length, 8);
  for (const p of router.producers)
    assert.equal(router.router.consumersOf(p).size, 3, `producer ${p.id} has a consumer per other participant`);
  for (const participant of router.participants.values()) {
    assert.ok(participant.publish.transportFeedbacksSent > 0, `${participant.id}: transport-cc feedback sent to the publisher`);
  }
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^switchboard_sfu_producers 8$/m);
  assert.match(metrics, /^switchboard_sfu_consumers 24$/m);
  assert.match(metrics, /^switchboard_rtc_transports 8$/m);
});

test('a chat line from Firefox reaches the three others through the server', { timeout: 30_000 }, async () => {
  const fox = pages[3]!.page;
  const text = `hello from fox ${Date.now()}`;
  await fox.evaluate((t) => (globalThis as unknown as PageGlobals).switchboard.sendChat(t), text);
  for (const { label, page } of pages.slice(0, 3)) {
    await waitFor(
      `${label}: chat line delivered`,
      () =>
        page.evaluate(
          (t) => (globalThis as unknown as PageGlobals).switchboard.chatLog.some((l) => l.text === t && !l.local && l.name === 'fox'),
          text,
        ),
      10_000,
    );
  }
});

// The relay toward three busy Chromium receivers carries 60–100 KB/s each on this 2-core machine
// (10 quiet runs: 50–81 s for the file; a mesh transfer takes 9 s): the deadline guards against a
// stalled association, not against that slowness, which README and the issue notes record.
test('a 5 MB file reaches the three others with a matching SHA-256', { timeout: 200_000 }, async () => {
  const ada = pages[0]!.page;
  const size = 5 * 1024 * 1024;
  // The server shares this process: its event-loop delay says how busy the machine was.
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const t0 = performance.now();
  const sent = await ada.evaluate(async (n) => {
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536)
      (globalThis as unknown as PageGlobals).crypto.getRandomValues(bytes.subarray(i, Math.min(n, i + 65536)));
    return (globalThis as unknown as PageGlobals).switchboard.sendFile('big.bin', bytes);
  }, size);
  assert.deepEqual(sent.failures, []);
  try {
    for (const { label, page } of pages.slice(1)) {
      const got = await waitFor(
        `${label} receives big.bin`,
        () =>
          page.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.receivedFiles.find((f) => f.name === 'big.bin') ?? null),
        150_000,
        500,
      ).catch((err: Error) => {
        // Where the bytes stopped: the server's SCTP toward each receiver.
        const router = server.sfu?.rooms.get(ROOM);
        const lines = [...(router?.participants.values() ?? [])].map(
          (p) =>
            `${p.id}: subscribe ${p.subscribeRtc.state} sctp ${p.subscribeRtc.sctp?.state} ${JSON.stringify(p.subscribeRtc.sctp?.stats)} ${JSON.stringify(p.subscribeRtc.sctp?.sendState())}`,
        );
        err.message += `\nrelay relayed ${router?.data.relayed} dropped ${router?.data.dropped}\n${lines.join('\n')}`;
        throw err;
      });
      assert.equal(got.size, size, `${label}: size`);
      assert.equal(got.sha256, sent.sha256, `${label}: hash on arrival equals the sender's`);
      assert.equal(got.ok, true, `${label}: the app's hash check passed`);
    }
  } finally {
    lag.disable();
    console.log(
      `5 MB file: ${Math.round(performance.now() - t0)} ms to the last receiver; server event-loop delay p99 ${Math.round(lag.percentile(99) / 1e6)} ms, max ${Math.round(lag.max / 1e6)} ms`,
    );
  }
});

test('a page that leaves loses its tile on the others within 2 s', { timeout: 30_000 }, async () => {
  const [ada, bob, cy, fox] = pages.map((p) => p.page) as [TestPage, TestPage, TestPage, TestPage];
  const bobId = (await remoteStats(ada)).find((s) => s.name === 'bob')?.participantId;
  assert.ok(bobId);
  await bob.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.leave());
  for (const [label, page] of [
    ['ada', ada],
    ['cy', cy],
    ['fox', fox],
  ] as const) {
    await waitFor(
      `${label} drops bob's tile`,
      async () => {
        const ids = await remoteTileIds(page);
        return ids.length === 2 && !ids.includes(bobId) ? ids : null;
      },
      2_000,
      100,
    );
  }
  // The server closed bob's producers and every consumer of them.
  const router = server.sfu?.rooms.get(ROOM);
  await waitFor(
    'bob is gone from the router',
    () => (router && !router.participants.has(bobId) && router.producers.length === 6 ? true : null),
    2_000,
    100,
  ).catch((err: Error) => {
    err.message += ` (participants ${[...(router?.participants.keys() ?? [])].join(',')}; producers ${router?.producers.map((p) => `${p.id}/${p.kind}`).join(',')})`;
    throw err;
  });
  for (const p of router!.producers) assert.equal(router!.router.consumersOf(p).size, 2);
});

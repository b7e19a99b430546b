/**
 * SFU interop: one room with four independent WebRTC stacks — Chromium (libwebrtc), Firefox
 * (its own ICE, DTLS and SCTP), node-datachannel (libdatachannel: libjuice, OpenSSL, libsrtp,
 * usrsctp) and werift (TypeScript). Each headless peer publishes real VP8 and Opus recorded
 * from Chromium (test/fixtures/media) under its own SSRC, sequence numbers and timestamps.
 *
 * Proves: both browsers decode video frames from each headless peer; each headless peer
 * receives audio and video RTP, and a VP8 keyframe, from both browsers and from the other
 * headless peer; the server holds 4 participants × 2 producers with a consumer per other
 * participant; chat crosses between browsers and headless peers through the server's relay.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, launchFirefox, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { SfuNodePeer } from '../helpers/sfu-node-peer.js';
import { NodeDataChannelRtc, releaseNodeDataChannel } from '../helpers/sfu-node-peer-ndc.js';
import { WeriftRtc } from '../helpers/sfu-node-peer-werift.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import type { Producer } from '../../src/sfu/Producer.js';
import { LOW_VIDEO, diagnose, openPage, remoteStats, type PageGlobals, type RemoteStat } from './page-api.js';

const ROOM = 'interop';
let server: Switchboard;
let chromium: TestBrowser;
let firefox: TestBrowser;
const pages: Array<{ label: string; page: TestPage }> = [];
const peers: SfuNodePeer[] = [];

before(async () => {
  server = await startSwitchboard({ workers: 0, port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' });
  const browsers = Promise.all([launchChromium(), launchFirefox()]);
  peers.push(await SfuNodePeer.join(server.wsUrl, ROOM, 'ndc', new NodeDataChannelRtc('ndc')));
  peers.push(await SfuNodePeer.join(server.wsUrl, ROOM, 'werift', new WeriftRtc()));
  [chromium, firefox] = await browsers;
  for (const [label, browser] of [
    ['chrome', chromium],
    ['fox', firefox],
  ] as const) {
    const page = await browser.newPage();
    pages.push({ label, page });
    await openPage(page, `http://localhost:${server.port}/?room=${ROOM}&name=${label}&topology=sfu&video=${LOW_VIDEO}`);
  }
});

after(async () => {
  for (const { page } of pages) await page.close();
  await Promise.all([chromium?.close(), firefox?.close()]);
  for (const p of peers) await p.close();
  await server?.close();
  await releaseNodeDataChannel();
});

const NAMES = ['chrome', 'fox', 'ndc', 'werift'] as const;

function peerReport(): string {
  return peers
    .map(
      (p) =>
        `${p.name} (${p.rtc.library}): sent ${p.packetsSent}; received ${JSON.stringify(
          Object.fromEntries([...p.received.byParticipant].map(([id, r]) => [p.names.get(id) ?? id, r])),
        )}; unknown SSRC ${p.received.unknownSsrcPackets}; revisions ${p.answeredRevisions.join(',')}; errors ${p.errors.join('; ') || 'none'}`,
    )
    .join('\n');
}

test('the server holds 4 participants, each with audio and video producers consumed by the 3 others', { timeout: 30_000 }, async () => {
  const router = server.sfu?.rooms.get(ROOM);
  assert.ok(router);
  await waitFor(
    '8 producers with 3 consumers each',
    () =>
      router.participants.size === 4 &&
      router.producers.length === 8 &&
      router.producers.every((p) => router.router.consumersOf(p).size === 3),
    20_000,
  ).catch((err: Error) => {
    err.message += `\n${router.producers.map((p) => `${p.ownerId}/${p.kind}: ${router.router.consumersOf(p).size} consumers`).join('\n')}`;
    throw err;
  });
  for (const peer of peers) {
    const own: Producer[] = router.producers.filter((p) => p.ownerId === peer.id);
    assert.deepEqual(own.map((p) => p.kind).sort(), ['audio', 'video'], `${peer.name} publishes audio and video`);
    // The producers received the peer's own stream (its SSRCs; werift picks its own), keyframes included.
    const video = own.find((p) => p.kind === 'video');
    await waitFor(
      `${peer.name}: the server receives its video with a keyframe`,
      () => (video && video.packetsReceived > 20 && video.keyframesReceived > 0) || null,
      10_000,
    );
  }
});

test('Chromium and Firefox decode video from both headless peers', { timeout: 60_000 }, async () => {
  await diagnose(pages, async () => {
    for (const { label, page } of pages) {
      const decoding = async (): Promise<RemoteStat[] | null> => {
        const s = await remoteStats(page);
        const fromPeers = s.filter((r) => r.name === 'ndc' || r.name === 'werift');
        return fromPeers.length === 2 && fromPeers.every((r) => r.connectionState === 'connected' && r.videoFramesDecoded > 0)
          ? fromPeers
          : null;
      };
      const first = await waitFor(`${label}: decoding video from ndc and werift`, decoding, 40_000, 500);
      const later = await waitFor(
        `${label}: frames keep coming from ndc and werift`,
        async () => {
          const now = await decoding();
          return now && now.every((r) => r.videoFramesDecoded > (first.find((f) => f.name === r.name)?.videoFramesDecoded ?? 0) + 10)
            ? now
            : null;
        },
        15_000,
        500,
      );
      for (const r of later)
        assert.ok(
          r.videoWidth === 320 && r.videoHeight === 240,
          `${label} sees ${r.name}'s 320x240 (got ${r.videoWidth}x${r.videoHeight})`,
        );
    }
  });
});

test(
  'each headless peer receives audio, video and a VP8 keyframe from both browsers and the other peer',
  { timeout: 40_000 },
  async (t) => {
    for (const peer of peers) {
      const others = NAMES.filter((n) => n !== peer.name);
      await waitFor(
        `${peer.name}: RTP from ${others.join(', ')}`,
        () =>
          others.every((name) => {
            const id = peer.idOf(name);
            const r = id ? peer.receivedFrom(id) : undefined;
            return r !== undefined && r.audioPackets > 50 && r.videoPackets > 20 && r.videoKeyframes > 0;
          }),
        30_000,
        250,
      ).catch((err: Error) => {
        err.message += `\n${peerReport()}`;
        throw err;
      });
    }
    for (const peer of peers) assert.deepEqual(peer.errors, [], `${peer.name}: no signaling or negotiation error`);
    t.diagnostic(peerReport());
  },
);

test('chat crosses between browsers and headless peers through the relay', { timeout: 30_000 }, async () => {
  const [ndc, werift] = peers as [SfuNodePeer, SfuNodePeer];
  const fromNdc = `hello from ndc ${Date.now()}`;
  assert.ok(ndc.sendChat(fromNdc), 'ndc chat channel open');
  for (const { label, page } of pages) {
    await waitFor(
      `${label}: chat line from ndc`,
      () =>
        page.evaluate(
          (t) => (globalThis as unknown as PageGlobals).switchboard.chatLog.some((l) => l.text === t && !l.local && l.name === 'ndc'),
          fromNdc,
        ),
      10_000,
    );
  }
  await waitFor('werift: chat line from ndc', () => werift.chatLog.some((l) => l.text === fromNdc && l.from === ndc.id), 10_000);
  const fromFox = `hello from fox ${Date.now()}`;
  await pages[1]!.page.evaluate((t) => (globalThis as unknown as PageGlobals).switchboard.sendChat(t), fromFox);
  for (const peer of peers) {
    await waitFor(
      `${peer.name}: chat line from fox`,
      () => peer.chatLog.some((l) => l.text === fromFox && l.from === peer.idOf('fox')),
      10_000,
    );
  }
});

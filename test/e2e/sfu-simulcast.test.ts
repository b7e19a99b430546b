/**
 * Simulcast and SVC layer selection with real Chromium pages: one publisher (fake camera at
 * 1280×720) and two subscribers whose tiles for it are resized from the test. The server must
 * forward the smallest layer that covers each tile, keep both decoding, climb when a tile
 * grows, and pause the top simulcast layer at the publisher while nobody needs it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import type { Producer } from '../../src/sfu/Producer.js';
import { LOW_VIDEO, diagnose, openPage } from './page-api.js';
import {
  consumerOf,
  describeLayers,
  publisherEncodings,
  publisherOutbound,
  selfId,
  sizeTile,
  tileShown,
  videoProducer,
  waitForHeight,
} from './sfu-layer-pages.js';

let server: Switchboard;
let chromium: TestBrowser;
const opened: TestPage[] = [];

before(async () => {
  server = await startSwitchboard({ workers: 0, port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'warn' });
  chromium = await launchChromium();
});

after(async () => {
  for (const page of opened) await page.close();
  await chromium?.close();
  await server?.close();
});

async function open(room: string, name: string, extra: string): Promise<{ label: string; page: TestPage }> {
  const page = await chromium.newPage();
  opened.push(page);
  await openPage(page, `http://localhost:${server.port}/?room=${room}&name=${name}&topology=sfu&${extra}`);
  return { label: name, page };
}

test(
  'simulcast: a thumbnail gets the lowest layer, a large tile the top one; growing climbs; unused top layer pauses and resumes',
  { timeout: 300_000 },
  async () => {
    const ROOM = 'simulcast1';
    const pub = await open(ROOM, 'pub', 'video=1280x720&layering=simulcast');
    const small = await open(ROOM, 'small', `video=${LOW_VIDEO}`);
    const large = await open(ROOM, 'large', `video=${LOW_VIDEO}`);
    const pages = [pub, small, large];
    const pubId = await selfId(pub.page);
    const smallId = await selfId(small.page);
    const largeId = await selfId(large.page);
    const producer = (): Producer | null => videoProducer(server, ROOM, pubId);
    await diagnose(pages, async () => {
      await tileShown([small.page, large.page], pubId);
      await sizeTile(small.page, pubId, 160);
      await sizeTile(large.page, pubId, 1280);

      // The server's producer has three layers, each with packets and a size from its keyframes.
      const p = await waitFor(
        'three simulcast layers with packets',
        () => {
          const pr = producer();
          return pr && pr.simulcast && pr.streams.length === 3 && pr.streams.every((s) => s.packetsReceived > 0 && s.height > 0)
            ? pr
            : null;
        },
        60_000,
        500,
      ).catch(async (err: Error) => {
        err.message += `\n${describeLayers(producer())}\npublisher: ${await publisherOutbound(pub.page)}`;
        throw err;
      });
      assert.deepEqual(
        p.streams.map((s) => s.rid),
        ['q', 'h', 'f'],
      );

      const smallHeight = await waitForHeight(
        'small',
        small.page,
        pubId,
        (h) => h > 0 && h <= 180,
        'the lowest layer (≤ 180 lines)',
        producer,
      );
      assert.ok(smallHeight <= 180);
      assert.equal(consumerOf(p, smallId)?.currentLayers.spatial, 0, 'the thumbnail consumer forwards layer 0');
      await waitForHeight('large', large.page, pubId, (h) => h === 720, 'the top layer (720 lines)', producer, 90_000);
      assert.equal(consumerOf(p, largeId)?.currentLayers.spatial, 2);

      // The thumbnail grows: it climbs to the top layer.
      await sizeTile(small.page, pubId, 1280);
      await waitForHeight('small, grown', small.page, pubId, (h) => h === 720, 'the top layer after growing', producer);
      assert.equal(consumerOf(p, smallId)?.currentLayers.spatial, 2);

      // Both shrink to thumbnails: nobody needs 'f' any more; the publisher stops encoding it.
      await sizeTile(small.page, pubId, 160);
      await sizeTile(large.page, pubId, 160);
      await waitFor(
        'rid f paused at the publisher',
        async () => ((await publisherEncodings(pub.page)).f === false ? true : null),
        20_000,
        500,
      );
      const enc = await publisherEncodings(pub.page);
      assert.equal(enc.q, true, 'the lowest layer is never paused while consumed');
      const fStream = p.streams[2];
      assert.ok(fStream);
      const fPackets = fStream.packetsReceived;
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok(fStream.packetsReceived - fPackets < 20, `rid f stopped arriving (${fStream.packetsReceived - fPackets} packets in 2 s)`);
      await waitForHeight('large, shrunk', large.page, pubId, (h) => h > 0 && h <= 180, 'the lowest layer after shrinking', producer);

      // Needed again: resumed, and the large tile climbs back to 720.
      await sizeTile(large.page, pubId, 1280);
      await waitFor('rid f active again', async () => ((await publisherEncodings(pub.page)).f === true ? true : null), 10_000, 250);
      await waitForHeight('large, regrown', large.page, pubId, (h) => h === 720, 'the top layer after the resume', producer, 60_000);
    });
    for (const { page } of pages) await page.close();
  },
);

test('VP9 SVC (L3T3): a thumbnail gets spatial layer 0, a large tile the top layer', { timeout: 240_000 }, async () => {
  const ROOM = 'svc1';
  const pub = await open(ROOM, 'svcpub', 'video=1280x720&layering=svc');
  const small = await open(ROOM, 'svcsmall', `video=${LOW_VIDEO}`);
  const large = await open(ROOM, 'svclarge', `video=${LOW_VIDEO}`);
  const pages = [pub, small, large];
  const pubId = await selfId(pub.page);
  const producer = (): Producer | null => videoProducer(server, ROOM, pubId);
  await diagnose(pages, async () => {
    await tileShown([small.page, large.page], pubId);
    await sizeTile(small.page, pubId, 160);
    await sizeTile(large.page, pubId, 1280);
    const p = await waitFor(
      'a VP9 producer with 3 spatial layers',
      () => {
        const pr = producer();
        return pr && pr.codec.name.toLowerCase() === 'vp9' && pr.svcHeights.length === 3 ? pr : null;
      },
      60_000,
      500,
    ).catch((err: Error) => {
      err.message += `\n${describeLayers(producer())}`;
      throw err;
    });
    assert.deepEqual(p.svcHeights, [180, 360, 720]);
    await waitForHeight('small', small.page, pubId, (h) => h > 0 && h <= 180, 'spatial layer 0 (≤ 180 lines)', producer);
    await waitForHeight('large', large.page, pubId, (h) => h === 720, 'the top spatial layer (720 lines)', producer, 90_000);
  });
  for (const { page } of pages) await page.close();
});

/**
 * The stream allocator against real Chromium subscribers (../helpers/bwe-lab.ts): a simulcast
 * publisher (Chromium's fake camera at 1280×720, rids q/h/f), a receive-only subscriber on this
 * machine, and a receive-only subscriber in a lab home whose downlink is shaped to 300 kbit/s
 * by a `tbf` qdisc. Both render the publisher's tile 1280 px wide, so both would like the top
 * layer. The limited one must get a low layer (≤ 360 lines) and keep decoding while the other
 * gets 720 lines; once the limit is lifted, the limited one must be back on the top layer
 * within 15 s (estimate probes, then the allocator raises the layer on a keyframe).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { browsersAvailable, CHROMIUM_PATH, waitFor } from '../helpers/browsers.js';
import { LIMITED, PUBLISHER, UNLIMITED, startBweLab, type BweLab } from '../helpers/bwe-lab.js';
import { netlabAvailable } from '../helpers/netlab.js';
import { diagnose, remoteStats } from '../e2e/page-api.js';
import { describeLayers, selfId, sizeTile, statsOf, tileShown, videoProducer, waitForHeight } from '../e2e/sfu-layer-pages.js';
import { allocatorTarget, describeSfuRoom } from '../helpers/sfu-state.js';
import type { SfuParticipant } from '../../src/session/SfuParticipant.js';

const LIMIT_KBIT = 300;
const CLIMB_WITHIN_MS = 15_000;

let lab: BweLab | undefined;

before(async () => {
  assert.ok(netlabAvailable(), 'the NAT lab needs root with iproute2 and iptables (ip netns, iptables)');
  assert.ok(browsersAvailable().chromium, `Chromium not found at ${CHROMIUM_PATH}`);
  lab = await startBweLab({ room: 'scbwe1', limitKbit: LIMIT_KBIT, publisherVideo: '1280x720', simulcast: true, freePublishes: false });
});

after(async () => {
  await lab?.close();
});

/** The subscriber's estimate and what its allocator gave each video consumer, for diagnostics. */
function allocation(p: SfuParticipant): string {
  const parts = [...p.subscribe.consumers]
    .filter((c) => c.kind === 'video')
    .map((c) => `${c.producer.ownerId}: target ${allocatorTarget(p, c)} current ${c.currentLayers.spatial}/${c.currentLayers.temporal}`);
  const probe = p.allocator?.probe;
  return `estimate ${Math.round(p.subscribe.estimateBps / 1000)} kbit/s, used ${Math.round((p.allocator?.usedBps ?? 0) / 1000)}, deficit ${Math.round((p.allocator?.deficitBps ?? 0) / 1000)}; probes ${probe?.probesStarted ?? 0} started, ${probe?.probesSucceeded ?? 0} succeeded; ${parts.join('; ')}`;
}

test(
  'simulcast behind 300 kbit/s: a low layer still decoding while the unlimited page gets 720 lines; limit lifted → top layer within 15 s',
  { timeout: 300_000 },
  async (t) => {
    const l = lab!;
    const page = (label: string) => l.pages.find((p) => p.label === label)!.page;
    const pubId = await selfId(page(PUBLISHER));
    const producer = () => videoProducer(l.server, l.room, pubId);
    await diagnose(
      l.pages,
      async () => {
        await tileShown([page(LIMITED), page(UNLIMITED)], pubId);
        await sizeTile(page(LIMITED), pubId, 1280);
        await sizeTile(page(UNLIMITED), pubId, 1280);
        const limited = await l.participant(LIMITED);
        assert.equal(limited.subscribeRtc.ice.selectedTuple?.protocol, 'udp', 'the limited subscriber receives over UDP');
        assert.ok(limited.allocator, 'the room allocates bandwidth (the default)');

        await waitForHeight(UNLIMITED, page(UNLIMITED), pubId, (h) => h === 720, 'the top layer (720 lines)', producer, 90_000);
        const low = await waitForHeight(
          LIMITED,
          page(LIMITED),
          pubId,
          (h) => h > 0 && h <= 360,
          'a low layer (≤ 360 lines)',
          producer,
          60_000,
        ).catch((err: Error) => {
          err.message += `\nlimited: ${allocation(limited)}`;
          throw err;
        });
        t.diagnostic(`${LIMITED}: ${low} lines at ${LIMIT_KBIT} kbit/s; ${allocation(limited)}`);
        t.diagnostic(`layers: ${describeLayers(producer())}`);
        // Held there: 5 s later still decoding, still no more than 360 lines.
        const before = await statsOf(page(LIMITED), pubId);
        await new Promise((r) => setTimeout(r, 5000));
        const after = await statsOf(page(LIMITED), pubId);
        assert.ok(before && after && after.frames > before.frames + 10, `${LIMITED} keeps decoding (${before?.frames} → ${after?.frames})`);
        assert.ok(after.height <= 360, `${LIMITED} stays on a low layer (${after.height} lines)`);

        l.shape(null);
        const liftedAt = performance.now();
        const trace: string[] = [];
        await waitFor(
          `${LIMITED}: the top layer within ${CLIMB_WITHIN_MS / 1000} s of the lift`,
          async () => {
            const s = await statsOf(page(LIMITED), pubId);
            trace.push(`${Math.round(performance.now() - liftedAt)}ms:${s?.height}:${Math.round(limited.subscribe.estimateBps / 1000)}`);
            return s && s.height === 720 ? s : null;
          },
          CLIMB_WITHIN_MS,
          500,
        ).catch((err: Error) => {
          err.message += `\ntrace (ms:lines:estimate kbit/s): ${trace.join(' ')}\nlimited: ${allocation(limited)}`;
          throw err;
        });
        const climbMs = Math.round(performance.now() - liftedAt);
        t.diagnostic(`${LIMITED}: 720 lines ${climbMs} ms after the limit was lifted; trace (ms:lines:estimate kbit/s) ${trace.join(' ')}`);
        t.diagnostic(`${LIMITED}: ${allocation(limited)}`);
        const [s] = (await remoteStats(page(LIMITED))).filter((r) => r.participantId === pubId);
        assert.ok(s && s.videoFramesDecoded > 0);
      },
      () => describeSfuRoom(l.server, l.room),
    );
  },
);

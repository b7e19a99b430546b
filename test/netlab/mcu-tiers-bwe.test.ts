/**
 * The MCU's composed video follows each receiver's bandwidth (../helpers/bwe-lab.ts): an MCU
 * room with a publisher (a noise camera, so the composite needs every bit it is given), an
 * unlimited page on this machine and a page in a lab home whose downlink is shaped to 1000
 * kbit/s by a `tbf` qdisc. The composition is encoded in tiers (300 kbit/s at half size, 700
 * and 1500 kbit/s at 1280×720); each page's stream allocator picks the tier its estimate
 * affords: the limited page must get the 300 kbit/s tier and keep decoding, the unlimited one a
 * higher tier; and tiers nobody receives are not encoded.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { browsersAvailable, CHROMIUM_PATH, waitFor } from '../helpers/browsers.js';
import { LIMITED, UNLIMITED, startBweLab, type BweLab } from '../helpers/bwe-lab.js';
import { netlabAvailable } from '../helpers/netlab.js';
import { diagnose } from '../e2e/page-api.js';
import { tierSize } from '../../src/mcu/video/Composition.js';
import type { Consumer } from '../../src/sfu/Consumer.js';
import type { SfuParticipant } from '../../src/session/SfuParticipant.js';

const LIMIT_KBIT = 1000;
const ROOM = 'mcubwe1';
let lab: BweLab | undefined;

before(async () => {
  assert.ok(netlabAvailable(), 'the NAT lab needs root with iproute2 and iptables (ip netns, iptables)');
  assert.ok(browsersAvailable().chromium, `Chromium not found at ${CHROMIUM_PATH}`);
  lab = await startBweLab({ room: ROOM, limitKbit: LIMIT_KBIT, publisherVideo: '640x480', topology: 'mcu' });
});

after(async () => {
  await lab?.close();
});

const mixVideo = (p: SfuParticipant): Consumer | undefined =>
  [...p.subscribe.consumers].find((c) => c.kind === 'video' && c.producer.ownerId === 'mixer');

function describe(p: SfuParticipant): string {
  const c = mixVideo(p);
  const tiers = c
    ? Array.from({ length: c.producer.spatialLayers }, (_, i) => `t${i} ${Math.round(c.producer.layerBitrate(i) / 1000)}`).join(' ')
    : '';
  return `estimate ${Math.round(p.subscribe.estimateBps / 1000)} kbit/s; tier current ${c?.currentLayers.spatial} target ${c?.targetLayers.spatial}; sent ${c?.packetsSent ?? 0} packets; tiers measured (kbit/s) ${tiers}`;
}

/** The page's received composite: frames decoded and its height, from its subscribe connection. */
function decoded(page: import('../helpers/browsers.js').TestPage): Promise<{ frames: number; height: number }> {
  return page.evaluate(async () => {
    interface Pc {
      getStats(): Promise<{ forEach(cb: (r: Record<string, unknown>) => void): void }>;
    }
    const pc = (globalThis as unknown as { switchboard: { room: { transport: { subscribePc: Pc | null } } } }).switchboard.room.transport
      .subscribePc;
    let frames = 0;
    let height = 0;
    (await pc?.getStats())?.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        frames += Number(r.framesDecoded ?? 0);
        height = Math.max(height, Number(r.frameHeight ?? 0));
      }
    });
    return { frames, height };
  });
}

test(
  `composed video behind ${LIMIT_KBIT} kbit/s: the lowest tier, still decoding, while the unlimited page gets a higher one`,
  { timeout: 240_000 },
  async (t) => {
    const l = lab!;
    const page = (label: string) => l.pages.find((p) => p.label === label)!.page;
    const limited = await l.participant(LIMITED);
    const free = await l.participant(UNLIMITED);
    const mixer = l.server.sfu?.mixers.get(ROOM);
    assert.ok(mixer, 'the room has a mixer');
    const pub = await l.participant('pub');
    await diagnose(
      l.pages,
      async () => {
        // The tiers differ only once the picture needs the bits (the publisher's noise arrives at a
        // high rate once its own estimate has ramped); before that every tier costs about the same.
        await waitFor(
          "the composition's top tier at > 800 kbit/s",
          () => {
            const c = mixVideo(free);
            return c && c.producer.layerBitrate(2) > 800_000 ? true : null;
          },
          90_000,
          500,
        ).catch((err: Error) => {
          err.message += `\n${UNLIMITED}: ${describe(free)}`;
          throw err;
        });
        await waitFor(
          `${UNLIMITED}: a tier above the lowest`,
          () => ((mixVideo(free)?.currentLayers.spatial ?? -1) >= 1 ? true : null),
          90_000,
          500,
        ).catch((err: Error) => {
          err.message += `\n${UNLIMITED}: ${describe(free)}`;
          throw err;
        });
        await waitFor(
          `${LIMITED}: the lowest tier, decoding`,
          async () => {
            const d = await decoded(page(LIMITED));
            return mixVideo(limited)?.currentLayers.spatial === 0 && d.frames > 0 ? d : null;
          },
          60_000,
          500,
        ).catch((err: Error) => {
          err.message += `\n${LIMITED}: ${describe(limited)}`;
          throw err;
        });
        t.diagnostic(`${LIMITED}: ${describe(limited)}; ${UNLIMITED}: ${describe(free)}`);
        // Held there, and still decoding the composite at its full size 5 s later.
        const before = await decoded(page(LIMITED));
        await new Promise((r) => setTimeout(r, 5000));
        const later = await decoded(page(LIMITED));
        assert.ok(later.frames > before.frames + 25, `${LIMITED} keeps decoding (${before.frames} → ${later.frames})`);
        assert.equal(later.height, tierSize(300_000, 1280, 720, 15).height, 'the 300 kbit/s tier is the composite at half size');
        assert.equal(mixVideo(limited)?.currentLayers.spatial, 0, `${LIMITED} stays on the lowest tier`);
        const composition = [...mixer.video.compositions.values()][0];
        assert.ok(composition);
        const receivers = [limited, free, pub];
        const received = (): Set<string> => new Set(receivers.map((p) => `t${mixVideo(p)?.currentLayers.spatial}`));
        t.diagnostic(`tiers received: ${[...received()].join(', ')}; encoded: ${composition.activeTiers.join(', ')}`);
        for (const tier of received()) assert.ok(composition.activeTiers.includes(tier), `${tier} is encoded`);
        // A tier nobody receives stops being encoded (after the LayerPauser's 4 s grace).
        const encoded = await waitFor(
          'only the received tiers encoded',
          () => {
            const now = received();
            return now.size < 3 && composition.activeTiers.length === now.size && composition.activeTiers.every((tier) => now.has(tier))
              ? composition.activeTiers
              : null;
          },
          15_000,
          500,
        ).catch((err: Error) => {
          const p = composition.producer;
          err.message += `\nstreams: ${p.streams.map((st) => `${st.rid} ${st.width}x${st.height} ${st.packetsReceived} pkts`).join('; ')}`;
          err.message += `\nconsumers: ${[...mixer.room.router.consumersOf(p)].map((c) => `${c.subscriberId} current ${c.currentLayers.spatial} target ${c.targetLayers.spatial}`).join('; ')}`;
          throw err;
        });
        t.diagnostic(`encoded after the grace: ${encoded.join(', ')}`);
      },
      () =>
        `${LIMITED}: ${describe(limited)}\n${UNLIMITED}: ${describe(free)}\nencoders: ${[...mixer.video.compositions.values()]
          .flatMap((c) => c.tierStats)
          .map((t) => `${t.rid} ${t.width}x${t.height} ${t.frames} frames ${t.keyframes} keyframes ${Math.round(t.bytes / 1000)} kB`)
          .join('; ')}`,
    );
  },
);

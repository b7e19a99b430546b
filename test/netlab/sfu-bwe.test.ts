/**
 * Bandwidth estimation against real Chromium subscribers (../helpers/bwe-lab.ts): a publisher
 * (noise camera) and a second page that publishes too send without limit; a receive-only
 * subscriber sits behind a 300 kbit/s `tbf` downlink in a lab home, the second page on this
 * machine has no limit. From transport-cc feedback alone the server's
 * estimate for the limited subscriber must fall below 400 kbit/s within about 10 s, while the
 * unlimited subscriber's stays well above 1 Mbit/s. (Climbing back after the limit is lifted
 * needs probing and the stream allocator, which come later.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { browsersAvailable, CHROMIUM_PATH, waitFor } from '../helpers/browsers.js';
import { LAB_METRICS_TOKEN, LIMITED, PUBLISHER, UNLIMITED, startBweLab, type BweLab } from '../helpers/bwe-lab.js';
import { netlabAvailable } from '../helpers/netlab.js';
import { diagnose, sleep } from '../e2e/page-api.js';
import type { SfuParticipant } from '../../src/session/SfuParticipant.js';

const LIMIT_KBIT = 300;
const FALL_WITHIN_MS = 10_000;
const WATCH_MS = 10_000;

let lab: BweLab | undefined;

before(async () => {
  assert.ok(netlabAvailable(), 'the NAT lab needs root with iproute2 and iptables (ip netns, iptables)');
  assert.ok(browsersAvailable().chromium, `Chromium not found at ${CHROMIUM_PATH}`);
  lab = await startBweLab({ room: 'bwe1', limitKbit: LIMIT_KBIT, publisherVideo: '640x480' });
});

after(async () => {
  await lab?.close();
});

/** Waits until the server sends video to `p` and the subscriber's transport-cc feedback flows. */
async function feedbackFlowing(p: SfuParticipant, label: string): Promise<void> {
  await waitFor(
    `${label}: video sent and transport-cc feedback received`,
    async () => {
      const video = [...p.subscribe.consumers].find((c) => c.kind === 'video');
      return video && video.packetsSent > 50 && p.subscribe.bwe.counters.feedbacks > 5 ? true : null;
    },
    60_000,
    250,
  );
}

test(
  'a subscriber behind 300 kbit/s is estimated below 400 kbit/s; an unlimited one stays above 1 Mbit/s',
  { timeout: 180_000 },
  async (t) => {
    const l = lab!;
    await diagnose(l.pages, async () => {
      const limited = await l.participant(LIMITED);
      const free = await l.participant(UNLIMITED);
      await l.participant(PUBLISHER);
      assert.equal(limited.subscribeRtc.ice.selectedTuple?.protocol, 'udp', 'the limited subscriber receives over UDP');
      assert.ok(limited.transportCcAnswered && free.transportCcAnswered, 'both answers kept the transport-cc extension');
      await feedbackFlowing(limited, LIMITED);
      // Sampled every 250 ms for FALL_WITHIN_MS from the first feedback.
      const trace: string[] = [];
      let fellAt: number | null = null;
      for (let ms = 0; ms <= FALL_WITHIN_MS && fellAt === null; ms += 250) {
        const b = limited.subscribe.bwe;
        trace.push(
          `${ms}:${Math.round(b.estimateBps / 1000)}/${Math.round(b.delayBasedBps / 1000)}/${Math.round(b.lossBasedBps / 1000)}/${Math.round((b.ackedBps ?? 0) / 1000)}/${b.usage[0]}`,
        );
        if (b.estimateBps < 400_000) fellAt = ms;
        else await sleep(250);
      }
      for (const c of limited.subscribe.consumers)
        t.diagnostic(
          `${LIMITED} consumer ${c.kind} of ${c.producer.ownerId}: ${c.packetsSent} packets, ${c.octetsSent} bytes, ${c.keyframeRequests} keyframe requests, ${c.nacksReceived} NACKed, producer got ${c.producer.packetsReceived}`,
        );
      t.diagnostic(
        `${LIMITED}: ms:estimate/delay/loss/acked kbit/s/usage ${trace.join(' ')}; ${JSON.stringify(limited.subscribe.bwe.counters)}`,
      );
      assert.ok(fellAt !== null, `${LIMITED}: estimate below 400 kbit/s within ${FALL_WITHIN_MS} ms`);
      await feedbackFlowing(free, UNLIMITED);
      const freeSamples: number[] = [];
      const limitedSamples: number[] = [];
      for (let i = 0; i < WATCH_MS / 1000; i++) {
        await sleep(1000);
        freeSamples.push(free.subscribe.estimateBps);
        limitedSamples.push(limited.subscribe.estimateBps);
      }
      const kbit = (xs: number[]): string => xs.map((x) => Math.round(x / 1000)).join(' ');
      t.diagnostic(
        `${UNLIMITED}: estimates (kbit/s, 1/s) ${kbit(freeSamples)}; acked ${Math.round((free.subscribe.bwe.ackedBps ?? 0) / 1000)}; ${JSON.stringify(free.subscribe.bwe.counters)}`,
      );
      t.diagnostic(
        `${LIMITED}: estimates (kbit/s, 1/s) ${kbit(limitedSamples)}; acked ${Math.round((limited.subscribe.bwe.ackedBps ?? 0) / 1000)}; loss ${limited.subscribe.bwe.lossFraction.toFixed(2)}; history ${limited.subscribe.bwe.history.packetsSent}; RTX held back ${limited.subscribe.rtxBudget.dropped}; consumers sent ${[...limited.subscribe.consumers].map((c) => `${c.kind}:${c.packetsSent}+${c.retransmitted}(nacked ${c.nacksReceived}, skipped ${c.resendsSkipped})`).join(',')}; ${JSON.stringify(limited.subscribe.bwe.counters)}`,
      );
      assert.ok(Math.min(...freeSamples) > 1_000_000, `${UNLIMITED} stays above 1 Mbit/s (min ${Math.min(...freeSamples)})`);
      assert.ok(Math.max(...limitedSamples) < 400_000, `${LIMITED} stays below 400 kbit/s (max ${Math.max(...limitedSamples)})`);
      // Padding probes: stamped, sent on a video consumer's RTX SSRC, and acknowledged by Chromium's feedback.
      const sent = free.subscribe.sendPadding(20, 250);
      assert.equal(sent, 20, 'twenty padding packets sent');
      const acked = await waitFor(
        `${UNLIMITED}: padding probes acknowledged`,
        async () => (free.subscribe.bwe.counters.probesAcked >= 15 ? free.subscribe.bwe.counters.probesAcked : null),
        5000,
        100,
      );
      t.diagnostic(`${UNLIMITED}: ${acked} of ${sent} padding probes acknowledged by transport-cc feedback`);
      // The estimates are on /metrics: one histogram observation per subscriber, 1 under 400 kbit/s.
      const metrics = await (await fetch(`${l.server.url}/metrics`, { headers: { authorization: `Bearer ${LAB_METRICS_TOKEN}` } })).text();
      assert.match(metrics, /^switchboard_sfu_subscriber_estimate_bps_count 3$/m);
      assert.match(metrics, /^switchboard_sfu_subscriber_estimate_bps_bucket\{le="300000"\} [1-3]$/m);
      assert.match(metrics, /^switchboard_sfu_transport_feedbacks_total [1-9]\d*$/m);
    });
  },
);

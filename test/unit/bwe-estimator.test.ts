/**
 * The send-side bandwidth estimator on feedback sequences from the bottleneck-link SIMULATION
 * (test/helpers/bottleneck-link-simulation.ts: real TWCC writer and parser, simulated link):
 * steady, step-down, loss burst, inherent loss, recovery; plus REMB fallback, RTT, the send history's wrap
 * and the transport-cc slot a consumer writes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeRtpHeader } from '../../src/rtc/rtp/index.js';
import { BandwidthEstimator } from '../../src/sfu/bwe/BandwidthEstimator.js';
import { SendHistory } from '../../src/sfu/bwe/SendHistory.js';
import { TRANSPORT_CC_SLOT, transportCcSlot } from '../../src/sfu/bwe/transport-cc-extension.js';
import { between, runBottleneckLink, type BottleneckSample } from '../helpers/bottleneck-link-simulation.js';

const MBIT = 1_000_000;
const min = (s: readonly BottleneckSample[]): number => Math.min(...s.map((x) => x.estimateBps));
const max = (s: readonly BottleneckSample[]): number => Math.max(...s.map((x) => x.estimateBps));
const mean = (s: readonly BottleneckSample[]): number => s.reduce((n, x) => n + x.estimateBps, 0) / s.length;
const firstAtOrBelow = (s: readonly BottleneckSample[], bps: number): number | undefined => s.find((x) => x.estimateBps <= bps)?.tMs;
const firstAtOrAbove = (s: readonly BottleneckSample[], bps: number): number | undefined => s.find((x) => x.estimateBps >= bps)?.tMs;

test('steady 2 Mbit/s link: the estimate converges near the link rate and stays in a band', () => {
  const e = new BandwidthEstimator({ startBps: MBIT });
  const r = runBottleneckLink(e, { durationMs: 40_000, linkBps: () => 2 * MBIT });
  const settled = between(r.samples, 15_000, 40_000);
  assert.ok(mean(settled) > 1.6 * MBIT && mean(settled) < 2.2 * MBIT, `mean ${mean(settled)}`);
  assert.ok(min(settled) > 1.4 * MBIT, `never far below the link: min ${min(settled)}`);
  assert.ok(max(settled) < 2.4 * MBIT, `never far above the link: max ${max(settled)}`);
  assert.ok(e.counters.overuses > 0, 'it found the link by overusing it');
  assert.equal(e.counters.unknownPackets, 0);
});

test('step-down: the link halves and the estimate follows within a few seconds', () => {
  const e = new BandwidthEstimator({ startBps: MBIT });
  const r = runBottleneckLink(e, { durationMs: 40_000, linkBps: (t) => (t < 20_000 ? 2 * MBIT : MBIT) });
  const after = between(r.samples, 20_000, 40_000);
  const t = firstAtOrBelow(after, 1.1 * MBIT);
  assert.ok(t !== undefined && t - 20_000 < 3000, `followed the step after ${t === undefined ? 'never' : t - 20_000} ms`);
  const settled = between(r.samples, 25_000, 40_000);
  assert.ok(max(settled) < 1.2 * MBIT && min(settled) > 0.7 * MBIT, `settled in [${min(settled)}, ${max(settled)}]`);
});

test('loss burst: 30 % random loss for 3 s drops the estimate, which then recovers', () => {
  const e = new BandwidthEstimator({ startBps: MBIT });
  const r = runBottleneckLink(e, {
    durationMs: 50_000,
    linkBps: () => 2 * MBIT,
    seed: 7,
    lossRate: (t) => (t >= 20_000 && t < 23_000 ? 0.3 : 0),
  });
  const before = mean(between(r.samples, 12_000, 20_000));
  const during = min(between(r.samples, 20_000, 25_000));
  assert.ok(during < 0.6 * before, `dropped from ${before} to ${during}`);
  const t = firstAtOrAbove(between(r.samples, 25_000, 50_000), 0.85 * before);
  assert.ok(t !== undefined && t < 45_000, `recovered at ${t}`);
  assert.ok(e.counters.packetsLost > 0);
});

test('inherent loss: 10 % random loss on an uncongested 2 Mbit/s link does not walk the estimate down', () => {
  // A lossy hop drops packets at random whatever the rate; no queue builds. GCC §6 alone would
  // treat every window above 10 % as congestion and never climb again.
  const e = new BandwidthEstimator({ startBps: MBIT });
  const r = runBottleneckLink(e, { durationMs: 40_000, linkBps: () => 2 * MBIT, seed: 11, lossRate: () => 0.1 });
  const settled = between(r.samples, 15_000, 40_000);
  assert.ok(mean(settled) > 1.4 * MBIT, `mean ${mean(settled)} under 10 % random loss`);
  assert.ok(min(settled) > 0.9 * MBIT, `min ${min(settled)}`);
  assert.ok(e.lossFraction > 0.05, `the loss was measured (${e.lossFraction})`);
});

test('recovery: 2 → 0.5 → 2 Mbit/s, the estimate drops under the cut and climbs back', () => {
  const e = new BandwidthEstimator({ startBps: MBIT });
  const r = runBottleneckLink(e, { durationMs: 55_000, linkBps: (t) => (t < 15_000 || t >= 30_000 ? 2 * MBIT : 0.5 * MBIT) });
  const cut = between(r.samples, 20_000, 30_000);
  assert.ok(max(cut) < 0.65 * MBIT && min(cut) > 0.25 * MBIT, `under the cut in [${min(cut)}, ${max(cut)}]`);
  const t = firstAtOrAbove(between(r.samples, 30_000, 55_000), 1.5 * MBIT);
  assert.ok(t !== undefined && t - 30_000 < 20_000, `climbed back to 1.5 Mbit/s after ${t === undefined ? 'never' : t - 30_000} ms`);
});

test('bounds: a 50 kbit/s link pins the estimate at or above the floor, a huge link at or below the ceiling', () => {
  const low = new BandwidthEstimator({ startBps: MBIT, minBps: 30_000, maxBps: 5 * MBIT });
  const r1 = runBottleneckLink(low, { durationMs: 20_000, linkBps: () => 50_000, bufferBytes: 20_000 });
  assert.ok(min(r1.samples) >= 30_000);
  assert.ok(low.estimateBps < 120_000, `down to ${low.estimateBps}`);
  const high = new BandwidthEstimator({ startBps: MBIT, minBps: 30_000, maxBps: 5 * MBIT });
  const r2 = runBottleneckLink(high, { durationMs: 40_000, linkBps: () => 100 * MBIT });
  assert.ok(max(r2.samples) <= 5 * MBIT);
  assert.equal(high.estimateBps, 5 * MBIT);
});

test('REMB: the estimate when no transport-cc feedback comes, only a cap while it does', () => {
  const e = new BandwidthEstimator({ startBps: MBIT });
  const seen: number[] = [];
  e.on('estimate', (bps) => seen.push(bps));
  e.onRemb(300_000, 0);
  assert.equal(e.estimateBps, 300_000);
  e.onRemb(10, 100);
  assert.equal(e.estimateBps, e.minBps, 'bounded below');
  e.onRemb(1e12, 200);
  assert.equal(e.estimateBps, e.maxBps, 'bounded above');
  e.onRemb(Number.NaN, 300);
  assert.equal(e.estimateBps, e.maxBps, 'a NaN changes nothing');
  assert.deepEqual(seen, [300_000, e.minBps, e.maxBps]);
  // With transport-cc feedback flowing, a low REMB still caps.
  const t = new BandwidthEstimator({ startBps: MBIT });
  runBottleneckLink(t, { durationMs: 5000, linkBps: () => 2 * MBIT });
  t.onRemb(200_000, 5000);
  assert.equal(t.estimateBps, 200_000);
});

test('estimate events are throttled: only on a > 5 % move or once a second', () => {
  const e = new BandwidthEstimator({ startBps: MBIT });
  let events = 0;
  e.on('estimate', () => events++);
  const r = runBottleneckLink(e, { durationMs: 20_000, linkBps: () => 2 * MBIT });
  assert.ok(events > 10, `${events} events`);
  assert.ok(events < r.feedbacks / 4, `${events} events for ${r.feedbacks} feedbacks`);
});

test('RTT: taken when plausible, ignored otherwise', () => {
  const e = new BandwidthEstimator();
  e.onRtt(42);
  assert.equal(e.rttMs, 42);
  e.onRtt(-1);
  e.onRtt(Number.NaN);
  e.onRtt(1e9);
  assert.equal(e.rttMs, 42);
});

test('send history: 16-bit numbers unwrap to the nearest sent packet; unknown and too-old ones are refused', () => {
  const h = new SendHistory();
  assert.equal(h.slot(0), -1, 'nothing sent yet');
  let last = 0;
  for (let i = 0; i < 70_000; i++) last = h.record(100 + (i % 7), i, false);
  assert.equal(last, (70_000 - 1) & 0xffff);
  const s = h.slot(last);
  assert.ok(s >= 0);
  assert.equal(h.sendTimeMs(s), 69_999);
  assert.equal(h.size(h.slot((last - 5) & 0xffff)), 100 + ((69_999 - 5) % 7));
  assert.equal(h.slot((last + 1) & 0xffff), -1, 'not sent yet');
  assert.equal(h.slot((last - 9000) & 0xffff), -1, 'older than the ring');
});

test('transport-cc slot: a consumer-style header carries it first, the transport finds and stamps it', () => {
  const out = Buffer.alloc(100);
  const len = writeRtpHeader(out, 0, { marker: true, payloadType: 96, sequenceNumber: 5, timestamp: 9, ssrc: 0x1234 }, TRANSPORT_CC_SLOT);
  assert.equal(len, 20);
  const slot = transportCcSlot(out.subarray(0, len + 10));
  assert.equal(slot, 17);
  const plain = Buffer.alloc(40);
  writeRtpHeader(plain, 0, { marker: false, payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 1 }, []);
  assert.equal(transportCcSlot(plain), -1);
  assert.equal(transportCcSlot(Buffer.alloc(5)), -1);
  const other = Buffer.alloc(60);
  writeRtpHeader(other, 0, { marker: false, payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 1 }, [
    { id: 5, value: new Uint8Array(1) },
  ]);
  assert.equal(transportCcSlot(other), -1, 'another extension first');
});

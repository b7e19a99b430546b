/**
 * Probe results (ProbeBitrateEstimator through the BandwidthEstimator): an application-limited
 * sender's estimate is stuck near 1.5 × what it sends until a probe cluster shows the path
 * carries more; a probe into a saturated link gives the link's rate, not the probe's. The link
 * is a SIMULATION (a FIFO served at a fixed rate, 20 ms each way); the feedback is built with the
 * real transport-cc writer and read back with the real parser.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRtcpCompound, writeTwccFeedback, type TwccArrival } from '../../src/rtc/rtcp/index.js';
import { BandwidthEstimator } from '../../src/sfu/bwe/BandwidthEstimator.js';
import { ProbeBitrateEstimator } from '../../src/sfu/bwe/ProbeBitrateEstimator.js';

const PROPAGATION_MS = 20;
const PACKET = 1200;

/** Sends `bps` of 1,200-byte packets for `ms` through a FIFO link of `linkBps`, feeding back every 50 ms. */
class LinkRun {
  now = 0;
  private linkFreeAt = 0;
  private readonly pending: { seq: number; arrivalMs: number }[] = [];
  private readonly out = Buffer.alloc(1500);

  constructor(
    readonly bwe: BandwidthEstimator,
    readonly linkBps: number,
  ) {}

  send(bps: number, ms: number, cluster = 0): void {
    const gap = (PACKET * 8 * 1000) / bps;
    const end = this.now + ms;
    let nextSend = this.now;
    let nextFeedback = Math.ceil(this.now / 50) * 50 + 50;
    for (let t = this.now; t < end; t += 1) {
      while (nextSend <= t) {
        const seq = this.bwe.onPacketSent(PACKET, nextSend, cluster !== 0, cluster);
        const start = Math.max(nextSend, this.linkFreeAt);
        this.linkFreeAt = start + (PACKET * 8 * 1000) / this.linkBps;
        this.pending.push({ seq, arrivalMs: this.linkFreeAt + PROPAGATION_MS });
        nextSend += gap;
      }
      if (t >= nextFeedback) {
        this.feedback(t);
        nextFeedback += 50;
      }
    }
    this.now = end;
  }

  private feedback(t: number): void {
    // What has arrived by t − 20 ms (the feedback's own way back) is reported.
    const arrived: TwccArrival[] = [];
    while (this.pending.length > 0 && (this.pending[0]?.arrivalMs as number) <= t - PROPAGATION_MS) {
      const p = this.pending.shift() as { seq: number; arrivalMs: number };
      arrived.push({ seq: p.seq, arrivalUs: p.arrivalMs * 1000 + 5e9 });
    }
    if (arrived.length === 0) return;
    const len = writeTwccFeedback(this.out, 0, { senderSsrc: 1, mediaSsrc: 2, fbPktCount: 0, arrivals: arrived });
    const parsed = parseRtcpCompound(this.out.subarray(0, len));
    const fb = parsed?.[0];
    assert.ok(fb && fb.type === 'twcc');
    this.bwe.onTransportFeedback(fb, t);
  }
}

test('an application-limited sender stays near 1.5 × its rate until a probe shows the path carries more', () => {
  const bwe = new BandwidthEstimator({ startBps: 300_000 });
  const run = new LinkRun(bwe, 5_000_000);
  run.send(300_000, 6000);
  const limited = bwe.estimateBps;
  assert.ok(limited < 500_000, `without probes the estimate stays near 1.5 × 300k: ${Math.round(limited)}`);
  // A 600 ms probe: media and padding together at 1.2 Mbit/s, all tagged with cluster 1.
  run.send(1_200_000, 600, 1);
  run.send(300_000, 300);
  assert.ok(bwe.counters.probeResults > 0, 'the cluster produced a result');
  assert.ok(bwe.estimateBps > 1_000_000, `after the probe: ${Math.round(bwe.estimateBps)}`);
});

test('a probe into a saturated link never lifts the estimate above the link', () => {
  const bwe = new BandwidthEstimator({ startBps: 300_000 });
  const run = new LinkRun(bwe, 700_000);
  run.send(300_000, 6000);
  run.send(1_400_000, 600, 2);
  run.send(300_000, 300);
  assert.ok(bwe.estimateBps < 800_000, `capped near the 700k link: ${Math.round(bwe.estimateBps)}`);
});

test("a cluster says nothing until it has 10 packets sent over at least 250 ms (a token bucket's burst is then a small part)", () => {
  const p = new ProbeBitrateEstimator();
  for (let i = 0; i < 8; i++) p.onPacketAcked(3, i * 30, 1000 + i * 30, 1200, 100);
  assert.equal(p.result(100), 0, '8 packets');
  p.onPacketAcked(3, 240, 1240, 1200, 100);
  assert.equal(p.result(100), 0, '9 packets, but sent over 240 ms only');
  p.onPacketAcked(3, 270, 1270, 1200, 100);
  const bps = p.result(100);
  // 9 × 1200 bytes over 270 ms each way: 320 kbit/s.
  assert.ok(Math.abs(bps - 320_000) < 1000, `${bps}`);
  assert.equal(p.results, 1);
  // Arrivals spread out twice as long: saturated → 0.95 × the arrival rate.
  const q = new ProbeBitrateEstimator();
  for (let i = 0; i < 10; i++) q.onPacketAcked(4, i * 30, 1000 + i * 60, 1200, 100);
  assert.ok(Math.abs(q.result(100) - 0.95 * 160_000) < 1000);
});

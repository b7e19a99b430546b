/**
 * Fuzzing the bandwidth estimator with network-shaped garbage: transport-cc feedback sequences
 * with random sequence wraps, duplicates, reordering, unknown numbers, huge and negative deltas,
 * jumping reference times, interleaved REMB and RTT values, and random bytes through the real
 * compound parser. Nothing may throw and the estimate must stay within its bounds. Seeded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRtcpCompound, writeTransportFeedback, type TwccPacketStatus } from '../../src/rtc/rtcp/index.js';
import { BandwidthEstimator } from '../../src/sfu/bwe/BandwidthEstimator.js';
import { transportCcSlot } from '../../src/sfu/bwe/transport-cc-extension.js';
import { mulberry32, xorshift32 } from '../helpers/random.js';

const ROUNDS = 20_000;

test('estimator fuzz: random feedback sequences never throw and keep the estimate in bounds', () => {
  const rnd = xorshift32(0xb3e);
  const f = mulberry32(0x5eed);
  const out = Buffer.alloc(70_000);
  let e = new BandwidthEstimator({ startBps: 800_000, minBps: 30_000, maxBps: 20_000_000 });
  let now = 0;
  let acked = 0;
  let lost = 0;
  let reference = rnd(0x1000000) - 0x800000;
  for (let round = 0; round < ROUNDS; round++) {
    if (rnd(2000) === 0) {
      acked += e.counters.packetsAcked;
      lost += e.counters.packetsLost;
      e = new BandwidthEstimator({ startBps: 800_000, minBps: 30_000, maxBps: 20_000_000 });
    }
    now += rnd(200);
    // Some sends, sometimes thousands (the history wraps its ring and the 16-bit numbers).
    const sends = rnd(50) === 0 ? 5000 + rnd(70_000) : rnd(40);
    for (let i = 0; i < sends; i++) e.onPacketSent(rnd(1500), now + i * f(), rnd(10) === 0);
    const sent = e.history.packetsSent;
    // Feedback near what was sent, or anywhere.
    const base = rnd(4) === 0 ? rnd(0x10000) : (sent - rnd(300) + 0x10000) & 0xffff;
    const count = 1 + (rnd(8) === 0 ? rnd(3000) : rnd(60));
    const packets: TwccPacketStatus[] = [];
    for (let i = 0; i < count; i++) {
      const received = rnd(5) !== 0;
      const kind = rnd(20);
      const deltaUs = kind === 0 ? -rnd(8192) * 250 : kind === 1 ? rnd(32768) * 250 : rnd(256) * 250;
      packets.push(received ? { seq: (base + i) & 0xffff, received, deltaUs } : { seq: (base + i) & 0xffff, received });
    }
    const jump = rnd(10);
    reference = jump === 0 ? rnd(0x1000000) - 0x800000 : ((reference + rnd(4) + 0x800000) % 0x1000000) - 0x800000;
    const len = writeTransportFeedback(out, 0, {
      senderSsrc: 1,
      mediaSsrc: 2,
      baseSeq: base,
      packetStatusCount: count,
      referenceTime: reference,
      fbPktCount: round & 0xff,
      packets,
    });
    const parsed = parseRtcpCompound(out.subarray(0, len));
    assert.ok(parsed);
    for (const p of parsed) {
      if (p.type === 'twcc') {
        e.onTransportFeedback(p, now);
        if (rnd(3) === 0) e.onTransportFeedback(p, now + 1); // the same feedback twice
      }
    }
    if (rnd(30) === 0) e.onRemb(rnd(4) === 0 ? f() * 1e13 : rnd(5_000_000), now);
    if (rnd(30) === 0) e.onRtt(rnd(3) === 0 ? (f() - 0.5) * 1e9 : rnd(1000));
    const bps = e.estimateBps;
    assert.ok(Number.isFinite(bps) && bps >= e.minBps && bps <= e.maxBps, `round ${round}: estimate ${bps}`);
  }
  // The garbage reached the estimator's insides, not only its guards.
  assert.ok(acked + e.counters.packetsAcked > 10_000 && lost + e.counters.packetsLost > 1000, `acked ${acked}, lost ${lost}`);
});

test('estimator fuzz: random bytes through the RTCP parser into the estimator', () => {
  const rnd = xorshift32(0xfeed);
  const e = new BandwidthEstimator();
  const buf = Buffer.alloc(600);
  for (let i = 0; i < 2000; i++) e.onPacketSent(1200, i);
  for (let round = 0; round < ROUNDS * 5; round++) {
    const len = 8 + rnd(590);
    for (let i = 0; i < len; i++) buf[i] = rnd(256);
    // A plausible RTPFB/15 header, so that the body reaches the TWCC parser most of the time.
    buf[0] = 0x8f;
    buf[1] = 205;
    buf.writeUInt16BE((len >> 2) - 1, 2);
    const parsed = parseRtcpCompound(buf.subarray(0, len & ~3));
    for (const p of parsed ?? []) {
      if (p.type === 'twcc') e.onTransportFeedback(p, round);
      if (p.type === 'remb') e.onRemb(p.bitrate, round);
    }
    assert.ok(e.estimateBps >= e.minBps && e.estimateBps <= e.maxBps);
    assert.ok(transportCcSlot(buf.subarray(0, len)) < len);
  }
});

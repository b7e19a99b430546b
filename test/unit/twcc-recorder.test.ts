/**
 * TwccRecorder (receiver side of transport-wide CC): every feedback it writes parses back with
 * our parser and werift's, covering each sequence number once in order (lost ones as lost),
 * late arrivals re-reported, wraps, backlogs split, and hostile sequences never throw.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RtcpPacketConverter, type RtcpTransportLayerFeedback, type TransportWideCC } from 'werift';
import { parseRtcpCompound, twccArrivalTimesUs, type RtcpTransportFeedback } from '../../src/rtc/rtcp/index.js';
import { TwccRecorder } from '../../src/sfu/receive/TwccRecorder.js';
import { mulberry32, xorshift32 } from '../helpers/random.js';

const out = Buffer.alloc(1500);

function drain(r: TwccRecorder): RtcpTransportFeedback[] {
  const fbs: RtcpTransportFeedback[] = [];
  for (let i = 0; i < 50; i++) {
    const len = r.writeFeedback(out, 0, 0x1111, 0x2222);
    if (len === 0) break;
    assert.ok(len <= 1200, `feedback of ${len} bytes fits one datagram`);
    const parsed = parseRtcpCompound(out.subarray(0, len));
    assert.ok(parsed && parsed.length === 1 && parsed[0]?.type === 'twcc', 'parses as one transport-cc feedback');
    fbs.push(parsed[0]);
  }
  return fbs;
}

test('in-order arrivals: one feedback, every number received, times within 250 µs', () => {
  const r = new TwccRecorder();
  const t0 = 10_000;
  for (let i = 0; i < 100; i++) r.onPacket(500 + i, t0 + i * 1.3);
  const [fb, extra] = drain(r);
  assert.equal(extra, undefined);
  assert.ok(fb);
  assert.equal(fb.baseSeq, 500);
  assert.equal(fb.packetStatusCount, 100);
  assert.equal(fb.senderSsrc, 0x1111);
  assert.equal(fb.mediaSsrc, 0x2222);
  const times = twccArrivalTimesUs(fb);
  assert.equal(times.length, 100);
  for (let i = 0; i < 100; i++) {
    assert.equal(times[i]?.seq, 500 + i);
    assert.ok(Math.abs((times[i]?.arrivalUs ?? 0) - (t0 + i * 1.3) * 1000) <= 250);
  }
  assert.equal(r.feedbacksSent, 1);
  assert.equal(drain(r).length, 0, 'nothing new, nothing sent');
});

test('gaps are reported lost; a late arrival is reported received in the next feedback', () => {
  const r = new TwccRecorder();
  for (const s of [1, 2, 4, 5]) r.onPacket(s, 100 + s);
  const [first] = drain(r);
  assert.deepEqual(
    first?.packets.map((p) => [p.seq, p.received]),
    [
      [1, true],
      [2, true],
      [3, false],
      [4, true],
      [5, true],
    ],
  );
  r.onPacket(3, 120);
  r.onPacket(6, 121);
  const [second] = drain(r);
  assert.equal(second?.baseSeq, 3);
  const received = second?.packets.filter((p) => p.received).map((p) => p.seq);
  assert.deepEqual(received, [3, 4, 5, 6], 'the late one and everything after it');
  assert.equal(second?.fbPktCount, 1, 'feedback packet count advances');
});

test('losses before the next arrival start the report (base = first unreported number)', () => {
  const r = new TwccRecorder();
  r.onPacket(10, 1);
  drain(r);
  r.onPacket(14, 2);
  const [fb] = drain(r);
  assert.equal(fb?.baseSeq, 11);
  assert.deepEqual(
    fb?.packets.map((p) => p.received),
    [false, false, false, true],
  );
});

test('wrap across 65535 → 0, duplicates counted once, backlog split into several feedbacks', () => {
  const r = new TwccRecorder();
  for (let i = 0; i < 1000; i++) {
    const seq = (65000 + i) & 0xffff;
    r.onPacket(seq, 50 + i * 0.5);
    if (i % 10 === 0) r.onPacket(seq, 50 + i * 0.5 + 3); // duplicate
  }
  const fbs = drain(r);
  assert.ok(fbs.length >= 3, `${fbs.length} feedbacks for 1,000 packets`);
  const seqs = fbs.flatMap((fb) => twccArrivalTimesUs(fb).map((a) => a.seq));
  assert.equal(seqs.length, 1000);
  for (let i = 0; i < 1000; i++) assert.equal(seqs[i], (65000 + i) & 0xffff);
  assert.deepEqual(
    fbs.map((f) => f.fbPktCount),
    fbs.map((_, i) => i),
  );
});

test('werift reads our feedback the same way', () => {
  const r = new TwccRecorder();
  for (const s of [7, 8, 10, 30, 31]) r.onPacket(s, 1000 + s * 2);
  const len = r.writeFeedback(out, 0, 5, 6);
  const theirs = (RtcpPacketConverter.deSerialize(out.subarray(0, len))[0] as RtcpTransportLayerFeedback).feedback as TransportWideCC;
  assert.equal(theirs.baseSequenceNumber, 7);
  assert.equal(theirs.packetStatusCount, 25);
  assert.equal(theirs.recvDeltas.length, 5, 'five received packets, five deltas');
});

test('fuzz: 200,000 hostile arrivals (wraps, jumps, reorder, huge time gaps) never throw', () => {
  const next = xorshift32(0x7c1);
  const rnd = mulberry32(99);
  const r = new TwccRecorder();
  let seq = 0;
  let now = 0;
  let feedbacks = 0;
  for (let i = 0; i < 200_000; i++) {
    const pick = next(100);
    if (pick < 80) seq = (seq + 1) & 0xffff;
    else if (pick < 90) seq = (seq - next(50)) & 0xffff;
    else if (pick < 97) seq = (seq + next(3000)) & 0xffff;
    else seq = next(0x10000);
    now += pick === 0 ? 20_000 * rnd() : rnd() * 3;
    r.onPacket(seq, now);
    if (i % 37 === 0) {
      for (let k = 0; k < 8; k++) {
        const len = r.writeFeedback(out, 0, 1, 2);
        if (len === 0) break;
        feedbacks++;
        assert.ok(parseRtcpCompound(out.subarray(0, len)), 'every feedback parses');
      }
    }
  }
  assert.ok(feedbacks > 1000, `${feedbacks} feedbacks written`);
});

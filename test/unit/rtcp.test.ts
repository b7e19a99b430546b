/**
 * RTCP parse and build: round trips for every packet type, byte-exact agreement with werift's
 * serializers, werift parsing ours, TWCC chunk choices, and the compound error policy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GenericNack,
  PictureLossIndication,
  ReceiverEstimatedMaxBitrate,
  RecvDelta,
  RtcpHeader,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  RunLengthChunk,
  SourceDescriptionChunk,
  SourceDescriptionItem,
  StatusVectorChunk,
  TransportWideCC,
} from 'werift';
import {
  RtcpParseCounters,
  buildRtcpCompound,
  buildRtcpPacket,
  nackEntryCount,
  parseRtcpCompound,
  twccArrivalTimesUs,
  writeNack,
  writeSdesCname,
  writeTwccFeedback,
  type RtcpPacket,
  type RtcpTransportFeedback,
  type TwccArrival,
} from '../../src/rtc/rtcp/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function roundTrip(p: RtcpPacket): Buffer {
  const bytes = buildRtcpPacket(p);
  assert.equal(bytes.length % 4, 0);
  assert.deepEqual(parseRtcpCompound(bytes), [p]);
  return bytes;
}

// werift writes the cumulative loss unsigned, so the shared examples keep it positive.
const block = { ssrc: 0x11223344, fractionLost: 25, cumulativeLost: 3, highestSeq: 0x0001ffff, jitter: 1234, lsr: 0xabcdef01, dlsr: 65536 };

test('SR with report blocks: round trip, byte-equal to werift, werift reads ours', () => {
  const sr: RtcpPacket = {
    type: 'sr',
    ssrc: 0xdeadbeef,
    ntpSec: 0xe8a1b2c3,
    ntpFrac: 0x80000000,
    rtpTimestamp: 0xfffffff0,
    packetCount: 1000,
    octetCount: 123456,
    reports: [block, { ...block, ssrc: 7, cumulativeLost: 0x7fffff }],
  };
  const ours = roundTrip(sr);
  const theirs = new RtcpSrPacket({
    ssrc: 0xdeadbeef,
    senderInfo: new RtcpSenderInfo({
      ntpTimestamp: (0xe8a1b2c3n << 32n) | 0x80000000n,
      rtpTimestamp: 0xfffffff0,
      packetCount: 1000,
      octetCount: 123456,
    }),
    reports: [block, { ...block, ssrc: 7, cumulativeLost: 0x7fffff }].map(
      (b) =>
        new RtcpReceiverInfo({
          ssrc: b.ssrc,
          fractionLost: b.fractionLost,
          packetsLost: b.cumulativeLost,
          highestSequence: b.highestSeq,
          jitter: b.jitter,
          lsr: b.lsr,
          dlsr: b.dlsr,
        }),
    ),
  }).serialize();
  assert.deepEqual(ours, theirs);
  const parsed = RtcpPacketConverter.deSerialize(ours)[0] as RtcpSrPacket;
  assert.equal(parsed.senderInfo.ntpTimestamp, (0xe8a1b2c3n << 32n) | 0x80000000n);
  assert.equal(parsed.reports[0]?.packetsLost, 3);
  roundTrip({
    ...sr,
    reports: [
      { ...block, cumulativeLost: -3 },
      { ...block, cumulativeLost: -0x800000 },
    ],
  });
});

test('RR: round trip, byte-equal to werift; cumulative lost is clamped to signed 24 bits', () => {
  const rr: RtcpPacket = { type: 'rr', ssrc: 1, reports: [block] };
  const ours = roundTrip(rr);
  const theirs = new RtcpRrPacket({
    ssrc: 1,
    reports: [
      new RtcpReceiverInfo({
        ssrc: block.ssrc,
        fractionLost: 25,
        packetsLost: 3,
        highestSequence: block.highestSeq,
        jitter: 1234,
        lsr: block.lsr,
        dlsr: block.dlsr,
      }),
    ],
  }).serialize();
  assert.deepEqual(ours, theirs);
  assert.deepEqual(roundTrip({ type: 'rr', ssrc: 2, reports: [] }), hex('80 c9 00 01 00 00 00 02'));
  const clamped = parseRtcpCompound(buildRtcpPacket({ type: 'rr', ssrc: 1, reports: [{ ...block, cumulativeLost: -1e9 }] }));
  assert.equal(clamped?.[0]?.type === 'rr' && clamped[0].reports[0]?.cumulativeLost, -0x800000);
});

test('SDES CNAME: byte-equal to werift (null item, 32-bit padding); multi-chunk round trip', () => {
  const out = Buffer.alloc(64);
  const n = writeSdesCname(out, 0, 9, 'abcd');
  const theirs = new RtcpSourceDescriptionPacket({
    chunks: [new SourceDescriptionChunk({ source: 9, items: [new SourceDescriptionItem({ type: 1, text: 'abcd' })] })],
  }).serialize();
  assert.deepEqual(out.subarray(0, n), theirs);
  roundTrip({
    type: 'sdes',
    chunks: [
      {
        ssrc: 1,
        items: [
          { type: 1, text: 'user@host' },
          { type: 2, text: 'Zoë' },
        ],
      },
      { ssrc: 2, items: [] },
      { ssrc: 3, items: [{ type: 1, text: 'ab' }] },
    ],
  });
  assert.deepEqual(
    parseRtcpCompound(hex('81 ca 00 02 00 00 00 09 01 04 61 62')),
    [],
    'length says 12 bytes, 12 given, but no null item: skipped, nothing left',
  );
});

test('BYE with and without a reason', () => {
  assert.deepEqual(roundTrip({ type: 'bye', ssrcs: [1, 2] }), hex('82 cb 00 02 00 00 00 01 00 00 00 02'));
  const withReason = roundTrip({ type: 'bye', ssrcs: [5], reason: 'left' });
  assert.deepEqual(withReason, hex('81 cb 00 03 00 00 00 05 04 6c 65 66 74 00 00 00'));
});

test('NACK: PID/BLP pairs byte-equal to werift; wraparound 65535 → 0 stays in one entry', () => {
  const seqs = [10, 11, 26, 27, 40];
  const ours = roundTrip({ type: 'nack', senderSsrc: 1, mediaSsrc: 2, seqs });
  assert.deepEqual(
    ours,
    new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: 2, lost: seqs }) }).serialize(),
  );
  assert.deepEqual(((RtcpPacketConverter.deSerialize(ours)[0] as RtcpTransportLayerFeedback).feedback as GenericNack).lost, seqs);
  const wrap = [65530, 65535, 0, 9, 11];
  assert.equal(nackEntryCount(wrap), 2);
  const bytes = roundTrip({ type: 'nack', senderSsrc: 1, mediaSsrc: 2, seqs: wrap });
  // PID 65530, BLP bits for +5, +6, +15 (65535, 0, 9); 11 is +17, so a new PID.
  assert.deepEqual(bytes.subarray(12), hex('ff fa 40 30 00 0b 00 00'));
  const dup = parseRtcpCompound(buildRtcpPacket({ type: 'nack', senderSsrc: 1, mediaSsrc: 2, seqs: [5, 5, 6] }));
  assert.deepEqual(dup?.[0]?.type === 'nack' && dup[0].seqs, [5, 6]);
  assert.throws(() => writeNack(Buffer.alloc(64), 0, { senderSsrc: 1, mediaSsrc: 2, seqs: [] }), RangeError);
});

test('PLI, FIR and REMB: round trips; werift bytes equal or werift reads ours', () => {
  const pli = roundTrip({ type: 'pli', senderSsrc: 1, mediaSsrc: 0xcafe });
  assert.deepEqual(
    pli,
    new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: 0xcafe }) }).serialize(),
  );
  const fir = roundTrip({
    type: 'fir',
    senderSsrc: 1,
    entries: [
      { ssrc: 7, seq: 3 },
      { ssrc: 8, seq: 255 },
    ],
  });
  assert.deepEqual(fir, hex('84 ce 00 06 00 00 00 01 00 00 00 00 00 00 00 07 03 00 00 00 00 00 00 08 ff 00 00 00'));
  const theirFir = (RtcpPacketConverter.deSerialize(fir)[0] as RtcpPayloadSpecificFeedback).feedback as unknown as {
    fir: { ssrc: number; sequenceNumber: number }[];
  };
  assert.deepEqual(
    theirFir.fir.map((e) => [e.ssrc, e.sequenceNumber]),
    [
      [7, 3],
      [8, 255],
    ],
  );
  const remb = roundTrip({ type: 'remb', senderSsrc: 1, bitrate: 200_000 * 8, ssrcs: [5, 6] });
  assert.deepEqual(
    remb,
    new RtcpPayloadSpecificFeedback({
      feedback: new ReceiverEstimatedMaxBitrate({
        senderSsrc: 1,
        mediaSsrc: 0,
        brExp: 3,
        brMantissa: 200_000,
        ssrcNum: 2,
        ssrcFeedbacks: [5, 6],
      }),
    }).serialize(),
  );
  // 1.5 Gbit/s needs exponent 13; the mantissa is rounded down.
  const big = parseRtcpCompound(buildRtcpPacket({ type: 'remb', senderSsrc: 1, bitrate: 1_500_000_123, ssrcs: [] }));
  const bitrate = big?.[0]?.type === 'remb' ? big[0].bitrate : -1;
  assert.ok(bitrate <= 1_500_000_123 && bitrate > 1_500_000_123 - 2 ** 13, `${bitrate}`);
  const theirRemb = (
    RtcpPacketConverter.deSerialize(
      buildRtcpPacket({ type: 'remb', senderSsrc: 1, bitrate: 2_000_000, ssrcs: [9] }),
    )[0] as RtcpPayloadSpecificFeedback
  ).feedback as ReceiverEstimatedMaxBitrate;
  assert.equal(theirRemb.bitrate, 2_000_000n);
});

function twcc(arrivals: TwccArrival[], fbPktCount = 0): { bytes: Buffer; fb: RtcpTransportFeedback } {
  const out = Buffer.alloc(70_000);
  const n = writeTwccFeedback(out, 0, { senderSsrc: 1, mediaSsrc: 2, fbPktCount, arrivals });
  const bytes = Buffer.from(out.subarray(0, n));
  const parsed = parseRtcpCompound(bytes);
  assert.ok(parsed && parsed.length === 1 && parsed[0]?.type === 'twcc');
  const fb = parsed[0];
  // Every arrival comes back to within the 250 µs grid, relative to the reference time.
  const back = twccArrivalTimesUs(fb);
  assert.deepEqual(
    back.map((a) => a.seq),
    arrivals.map((a) => a.seq & 0xffff),
  );
  for (let i = 0; i < arrivals.length; i++) {
    const err = Math.abs((back[i] as TwccArrival).arrivalUs - (arrivals[i] as TwccArrival).arrivalUs);
    assert.ok(err <= 125, `seq ${arrivals[i]?.seq}: off by ${err} µs`);
  }
  return { bytes, fb };
}

const chunkWords = (bytes: Buffer, count: number): number[] => Array.from({ length: count }, (_, i) => bytes.readUInt16BE(20 + 2 * i));

test('TWCC: all received with small deltas → one run-length chunk; byte-equal to werift', () => {
  const arrivals = Array.from({ length: 20 }, (_, i) => ({ seq: 100 + i, arrivalUs: 1_000_000 + 1000 * i }));
  const { bytes, fb } = twcc(arrivals, 4);
  assert.deepEqual([fb.baseSeq, fb.packetStatusCount, fb.referenceTime, fb.fbPktCount], [100, 20, 15, 4]);
  assert.deepEqual(chunkWords(bytes, 1), [0x2014]);
  assert.equal(fb.packets[0]?.deltaUs, 40_000); // 1 000 000 − 15 × 64 000
  assert.equal(bytes.length, 44);
  assert.equal((bytes[0] as number) & 0x20, 0x20, 'padding flagged, count in the last octet');
  assert.equal(bytes[43], 2);
  const theirs = new RtcpTransportLayerFeedback({
    feedback: new TransportWideCC({
      senderSsrc: 1,
      mediaSourceSsrc: 2,
      baseSequenceNumber: 100,
      packetStatusCount: 20,
      referenceTime: 15,
      fbPktCount: 4,
      packetChunks: [new RunLengthChunk({ packetStatus: 1, runLength: 20 })],
      recvDeltas: fb.packets.map((p) => new RecvDelta({ delta: p.deltaUs as number })),
      header: new RtcpHeader({ type: 205, count: 15, version: 2, padding: true }),
    }),
  }).serialize();
  assert.deepEqual(bytes, theirs);
});

test('TWCC: alternate losses → 1-bit status vectors; werift reads the same deltas', () => {
  const arrivals = Array.from({ length: 14 }, (_, i) => ({ seq: 2 * i, arrivalUs: 64_000 * 3 + 2000 * i }));
  const { bytes, fb } = twcc(arrivals);
  assert.equal(fb.packetStatusCount, 27);
  assert.deepEqual(chunkWords(bytes, 2), [0x8000 | 0b10101010101010, 0x8000 | 0b10101010101010]);
  assert.deepEqual(
    fb.packets.filter((p) => !p.received).map((p) => p.seq),
    Array.from({ length: 13 }, (_, i) => 2 * i + 1),
  );
  const theirs = (RtcpPacketConverter.deSerialize(bytes)[0] as RtcpTransportLayerFeedback).feedback as TransportWideCC;
  assert.deepEqual(
    theirs.packetChunks.map((c) => (c instanceof StatusVectorChunk ? `v${c.symbolSize}` : 'run')),
    ['v0', 'v0'],
  );
  assert.deepEqual(
    theirs.recvDeltas.map((d) => d.delta),
    fb.packets.filter((p) => p.received).map((p) => p.deltaUs),
  );
});

test('TWCC: large and negative deltas → 2-bit vector; werift-built 2-bit and run chunks parse', () => {
  const t0 = 64_000 * 10;
  const { bytes, fb } = twcc([
    { seq: 0, arrivalUs: t0 },
    { seq: 1, arrivalUs: t0 + 100_000 },
    { seq: 3, arrivalUs: t0 + 99_000 },
  ]);
  assert.deepEqual(chunkWords(bytes, 1), [0xc000 | (1 << 12) | (2 << 10) | (0 << 8) | (2 << 6)]);
  assert.deepEqual(
    fb.packets.map((p) => p.deltaUs),
    [0, 100_000, undefined, -1000],
  );
  const theirs = new RtcpTransportLayerFeedback({
    feedback: new TransportWideCC({
      senderSsrc: 1,
      mediaSourceSsrc: 2,
      baseSequenceNumber: 65534,
      packetStatusCount: 10,
      referenceTime: 0x7fffff,
      fbPktCount: 255,
      packetChunks: [
        new StatusVectorChunk({ symbolSize: 1, symbolList: [1, 2, 0, 1, 0, 0, 2] }),
        new RunLengthChunk({ packetStatus: 0, runLength: 3 }),
      ],
      recvDeltas: [
        new RecvDelta({ delta: 500 }),
        new RecvDelta({ delta: -250_000 }),
        new RecvDelta({ delta: 63_750 }),
        new RecvDelta({ delta: 8_191_750 }),
      ],
      header: new RtcpHeader({ type: 205, count: 15, version: 2, padding: true }),
    }),
  }).serialize();
  const parsed = parseRtcpCompound(theirs);
  assert.ok(parsed?.[0]?.type === 'twcc');
  const p = parsed[0];
  assert.deepEqual([p.baseSeq, p.referenceTime, p.fbPktCount], [65534, 0x7fffff, 255]);
  assert.deepEqual(
    p.packets.map((x) => [x.seq, x.received, x.deltaUs]),
    [
      [65534, true, 500],
      [65535, true, -250_000],
      [0, false, undefined],
      [1, true, 63_750],
      [2, false, undefined],
      [3, false, undefined],
      [4, true, 8_191_750],
      [5, false, undefined],
      [6, false, undefined],
      [7, false, undefined],
    ],
  );
  // And ours rebuilds werift's bytes exactly from the parsed form.
  assert.deepEqual(buildRtcpPacket(p), theirs);
});

test('TWCC: long losses use run-length chunks (13-bit runs); sequence wraparound; 24-bit reference time wraps', () => {
  const { bytes, fb } = twcc([
    { seq: 0, arrivalUs: 0 },
    { seq: 10_000, arrivalUs: 100_000 },
  ]);
  assert.equal(fb.packetStatusCount, 10_001);
  // 1-bit vector (received + 13 lost), runs of 8191 and 1795 lost, then a run of one large delta.
  assert.deepEqual(chunkWords(bytes, 4), [0x8000 | (1 << 13), 0x1fff, 1795, 0x4001]);
  const wrap = twcc([65534, 65535, 0, 1].map((seq, i) => ({ seq, arrivalUs: 5_000_000 + 250 * i })));
  assert.deepEqual([wrap.fb.baseSeq, wrap.fb.packetStatusCount], [65534, 4]);
  const late = 2 ** 24 * 64_000 + 2 * 64_000 + 500;
  const out = Buffer.alloc(64);
  writeTwccFeedback(out, 0, { senderSsrc: 1, mediaSsrc: 2, fbPktCount: 0, arrivals: [{ seq: 1, arrivalUs: late }] });
  assert.equal(out.readIntBE(16, 3), 2);
  assert.throws(
    () =>
      twcc([
        { seq: 0, arrivalUs: 0 },
        { seq: 1, arrivalUs: 9_000_000 },
      ]),
    RangeError,
    'delta over 8.19 s',
  );
  assert.throws(
    () =>
      twcc([
        { seq: 5, arrivalUs: 0 },
        { seq: 4, arrivalUs: 0 },
      ]),
    RangeError,
    'out of order',
  );
});

test('TWCC: reserved status 3 and deltas past the end are malformed', () => {
  const base = '8f cd 00 05 00 00 00 01 00 00 00 02 00 00 00 01 00 00 00 00';
  assert.deepEqual(parseRtcpCompound(hex(`${base} 60 01 00 00`)), [], 'status 3: skipped');
  assert.deepEqual(
    parseRtcpCompound(hex('8f cd 00 05 00 00 00 01 00 00 00 02 00 00 00 02 00 00 00 00 40 02 01 00')),
    [],
    'large delta cut short',
  );
});

test('compound: SR + SDES + BYE round trip; werift compound parses; error policy', () => {
  const packets: RtcpPacket[] = [
    { type: 'sr', ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6, reports: [] },
    { type: 'sdes', chunks: [{ ssrc: 1, items: [{ type: 1, text: 'cname' }] }] },
    { type: 'bye', ssrcs: [1] },
  ];
  const compound = buildRtcpCompound(packets);
  assert.deepEqual(parseRtcpCompound(compound), packets);
  const theirs = Buffer.concat([
    new RtcpRrPacket({ ssrc: 9, reports: [] }).serialize(),
    new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: 9, mediaSourceSsrc: 8, lost: [1, 3] }) }).serialize(),
    new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: 9, mediaSsrc: 8 }) }).serialize(),
  ]);
  assert.deepEqual(parseRtcpCompound(theirs), [
    { type: 'rr', ssrc: 9, reports: [] },
    { type: 'nack', senderSsrc: 9, mediaSsrc: 8, seqs: [1, 3] },
    { type: 'pli', senderSsrc: 9, mediaSsrc: 8 },
  ]);
  const counters = new RtcpParseCounters();
  assert.equal(parseRtcpCompound(compound.subarray(0, compound.length - 1), counters), null, 'truncated: framing lost');
  assert.equal(parseRtcpCompound(Buffer.concat([compound, hex('40 c8 00 00')]), counters), null, 'version 1');
  assert.equal(parseRtcpCompound(Buffer.alloc(0), counters), null, 'empty');
  assert.equal(parseRtcpCompound(hex('a0 c9 00 01 00 00 00 00'), counters), null, 'padding count 0');
  assert.equal(counters.compoundsRejected, 4);
  // A NACK without FCI frames fine: it is skipped, the rest kept.
  const withBad = Buffer.concat([hex('81 cd 00 02 00 00 00 01 00 00 00 02'), compound]);
  assert.deepEqual(parseRtcpCompound(withBad, counters), packets);
  assert.equal(counters.packetsSkipped, 1);
  assert.deepEqual(parseRtcpCompound(hex('80 cc 00 00 81 cf 00 00')), [
    { type: 'unknown', pt: 204, fmt: 0 },
    { type: 'unknown', pt: 207, fmt: 1 },
  ]);
  // Padding on an RR (P bit, count 4) is stripped.
  assert.deepEqual(parseRtcpCompound(hex('a0 c9 00 02 00 00 00 07 00 00 00 04')), [{ type: 'rr', ssrc: 7, reports: [] }]);
});

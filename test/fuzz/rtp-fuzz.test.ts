/**
 * Fuzzing the RTP and RTCP parsers: 1,000,000 inputs each — real-shaped packets with bit flips,
 * truncations, length-field edits, random appends, and pure random bytes; for RTCP also mixed
 * compounds. RTP inputs go through the header parser, every extension ID, every extension
 * value reader, RTX unwrap and the VP8 descriptor. Nothing may throw, and memory must stay flat.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AudioLevel,
  RtpHeaderView,
  Vp8Descriptor,
  findHeaderExtension,
  isVp8Keyframe,
  parseRtpHeader,
  parseVp8Descriptor,
  readAbsSendTime,
  readAudioLevel,
  readSdesIdentifier,
  readTransportSequence,
  unwrapRtx,
  writeRtpHeader,
} from '../../src/rtc/rtp/index.js';
import { RtcpParseCounters, buildRtcpPacket, parseRtcpCompound, writeTwccFeedback, type RtcpPacket } from '../../src/rtc/rtcp/index.js';
import { xorshift32 } from '../helpers/random.js';

const ITERATIONS = 1_000_000;

const rng = xorshift32;

function rtpSeeds(): Buffer[] {
  const make = (exts: { id: number; value: Buffer }[], payload: Buffer, csrcs: number[] = []): Buffer => {
    const out = Buffer.alloc(400);
    const n = writeRtpHeader(out, 0, { marker: true, payloadType: 96, sequenceNumber: 65535, timestamp: 12345, ssrc: 0x1234, csrcs }, exts);
    payload.copy(out, n);
    return Buffer.from(out.subarray(0, n + payload.length));
  };
  const vp8 = Buffer.from('90e09234 05a01002 009d012a 00000000'.replace(/ /g, ''), 'hex');
  return [
    make(
      [
        { id: 1, value: Buffer.from('0') },
        { id: 2, value: Buffer.from([1, 2, 3]) },
        { id: 3, value: Buffer.from([0, 7]) },
        { id: 4, value: Buffer.from([0x9e]) },
      ],
      vp8,
    ),
    make(
      [
        { id: 10, value: Buffer.from('hi') },
        { id: 11, value: Buffer.from('lo') },
      ],
      Buffer.from([0x03, 0xe8, 1, 2, 3]),
    ),
    make(
      [
        { id: 1, value: Buffer.from('mid') },
        { id: 20, value: Buffer.alloc(0) },
        { id: 3, value: Buffer.alloc(17, 1) },
      ],
      vp8,
      [1, 2],
    ),
    make([], Buffer.from('opus frame')),
    Buffer.from('a06f000100000002000000030102030000000003', 'hex'), // padded
  ];
}

function rtcpSeeds(): Buffer[] {
  const block = { ssrc: 1, fractionLost: 2, cumulativeLost: -3, highestSeq: 4, jitter: 5, lsr: 6, dlsr: 7 };
  const packets: RtcpPacket[] = [
    { type: 'sr', ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6, reports: [block] },
    { type: 'rr', ssrc: 1, reports: [block, block] },
    {
      type: 'sdes',
      chunks: [
        { ssrc: 1, items: [{ type: 1, text: 'cname@x' }] },
        { ssrc: 2, items: [] },
      ],
    },
    { type: 'bye', ssrcs: [1, 2], reason: 'bye' },
    { type: 'nack', senderSsrc: 1, mediaSsrc: 2, seqs: [65535, 0, 3, 40] },
    { type: 'pli', senderSsrc: 1, mediaSsrc: 2 },
    { type: 'fir', senderSsrc: 1, entries: [{ ssrc: 2, seq: 3 }] },
    { type: 'remb', senderSsrc: 1, bitrate: 3_000_000, ssrcs: [2, 3] },
  ];
  const out = Buffer.alloc(400);
  const twccs = [
    writeTwccFeedback(out, 0, {
      senderSsrc: 1,
      mediaSsrc: 2,
      fbPktCount: 1,
      arrivals: [0, 1, 3, 4, 30].map((seq) => ({ seq, arrivalUs: 1e6 + seq * 900 })),
    }),
  ].map((n) => Buffer.from(out.subarray(0, n)));
  const singles = [
    ...packets.map((p) => buildRtcpPacket(p)),
    ...twccs,
    Buffer.from('8fcd0005000000010000000200000008000001004002010040', 'hex').subarray(0, 24),
  ];
  return [...singles, Buffer.concat(singles.slice(0, 4)), Buffer.concat([singles[1] as Buffer, singles[4] as Buffer, ...twccs])];
}

function mutate(base: Buffer, r: (n: number) => number, lengthOffsets: readonly number[]): Buffer {
  const b = Buffer.from(base);
  switch (r(7)) {
    case 0:
      for (let k = 0, n = 1 + r(4); k < n; k++) b[r(b.length)] = (b[r(b.length)] as number) ^ (1 << r(8));
      return b;
    case 1:
      return b.subarray(0, r(b.length + 1));
    case 2: {
      // a length-like field (RTP extension length, RTCP length, counts)
      const off = lengthOffsets[r(lengthOffsets.length)] as number;
      if (off + 2 <= b.length) b.writeUInt16BE(r(4) === 0 ? r(0x10000) : (b.readUInt16BE(off) + r(5) - 2) & 0xffff, off);
      return b;
    }
    case 3:
      b[0] = ((b[0] as number) & 0xe0) | r(32);
      return b; // CSRC count / RC / FMT
    case 4:
      return Buffer.concat([b, Buffer.from(Array.from({ length: 1 + r(64) }, () => r(256)))]);
    case 5:
      if (b.length > 0) b[b.length - 1] = r(256);
      return b; // padding count
    default:
      return Buffer.from(Array.from({ length: r(120) }, () => r(256)));
  }
}

test(
  `RTP: ${ITERATIONS.toLocaleString('en')} random and mutated packets through every reader: no throw, flat memory`,
  { timeout: 180_000 },
  () => {
    const r = rng(0x5eed);
    const bases = rtpSeeds();
    const view = new RtpHeaderView();
    const level = new AudioLevel();
    const vp8 = new Vp8Descriptor();
    const out = Buffer.alloc(1600);
    let parsed = 0;
    let found = 0;
    let values = 0;
    let heapAfterWarmup = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) {
      if (i === 50_000) heapAfterWarmup = process.memoryUsage().heapUsed;
      const input = mutate(bases[r(bases.length)] as Buffer, r, [2, 14, 18]);
      if (!parseRtpHeader(input, view)) continue;
      parsed++;
      assert.ok(view.headerLength + view.payloadLength + view.paddingLength === input.length);
      for (let id = 1; id <= 20; id++) {
        const at = findHeaderExtension(input, view, id);
        if (at < 0) continue;
        found++;
        const len = view.extensionElementLength;
        assert.ok(at + len <= view.headerLength, 'an element stays inside the extension block');
        if (readSdesIdentifier(input, at, len) !== null) values++;
        if (readAbsSendTime(input, at, len) >= 0) values++;
        if (readTransportSequence(input, at, len) >= 0) values++;
        if (readAudioLevel(input, at, len, level)) values++;
      }
      unwrapRtx(input, view, out, 1, 96);
      parseVp8Descriptor(input, view.headerLength, view.payloadLength, vp8);
      isVp8Keyframe(input, view.headerLength, view.payloadLength);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const growth = process.memoryUsage().heapUsed - heapAfterWarmup;
    console.log(
      `rtp fuzz: ${ITERATIONS} inputs in ${seconds.toFixed(1)} s, ${parsed} parsed, ${found} extension elements found, ${values} value reads accepted, heap growth ${(growth / 1048576).toFixed(1)} MiB`,
    );
    assert.ok(parsed > ITERATIONS / 3, `enough inputs parsed (${parsed})`);
    assert.ok(found > ITERATIONS / 3, `enough extension elements reached the readers (${found})`);
    assert.ok(growth < 50 * 1048576, `heap grew ${growth} bytes`);
  },
);

test(`RTCP: ${ITERATIONS.toLocaleString('en')} random, mutated and mixed compounds: no throw, flat memory`, { timeout: 180_000 }, () => {
  const r = rng(0xc0ffee);
  const bases = rtcpSeeds();
  const counters = new RtcpParseCounters();
  let compounds = 0;
  let packets = 0;
  let heapAfterWarmup = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) {
    if (i === 50_000) heapAfterWarmup = process.memoryUsage().heapUsed;
    let input = mutate(bases[r(bases.length)] as Buffer, r, [2, 14, 26, 30]);
    if (r(8) === 0) input = Buffer.concat([bases[r(bases.length)] as Buffer, input, bases[r(bases.length)] as Buffer]);
    const res = parseRtcpCompound(input, counters);
    if (res === null) continue;
    compounds++;
    packets += res.length;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const growth = process.memoryUsage().heapUsed - heapAfterWarmup;
  console.log(
    `rtcp fuzz: ${ITERATIONS} inputs in ${seconds.toFixed(1)} s, ${compounds} compounds parsed (${packets} packets), ` +
      `${counters.compoundsRejected} rejected, ${counters.packetsSkipped} packets skipped, heap growth ${(growth / 1048576).toFixed(1)} MiB`,
  );
  assert.equal(compounds + counters.compoundsRejected, ITERATIONS, 'every input either parses or is counted as rejected');
  assert.ok(compounds > ITERATIONS / 4, `enough compounds parsed (${compounds})`);
  assert.ok(counters.packetsSkipped > 1000, 'malformed bodies inside sound framing are exercised');
  assert.ok(growth < 50 * 1048576, `heap grew ${growth} bytes`);
});

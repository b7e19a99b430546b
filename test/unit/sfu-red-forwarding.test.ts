/**
 * Audio through Producer → Consumer with RED (RFC 2198): a publisher's RED packets (its own RED
 * and opus payload types) reach a subscriber that kept RED with our payload types outside and
 * inside the blocks, and a subscriber that dropped RED as plain opus (the primary block). Plain
 * opus packets pass as opus either way. Malformed RED is dropped and counted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedBlocks, RtpHeaderView, parseRed, parseRtpHeader, writeRtpHeader } from '../../src/rtc/rtp/index.js';
import type { Consumer } from '../../src/sfu/Consumer.js';
import type { Producer } from '../../src/sfu/Producer.js';
import { testProducer, testConsumer } from '../helpers/media-core.js';

/** Firefox-like publisher payload types, so that every number has to be mapped. */
const PUB_OPUS = 109;
const PUB_RED = 120;

function makeProducer(): Producer {
  return testProducer({
    id: 'p',
    kind: 'audio',
    ownerId: 'pub',
    mid: '0',
    ssrc: 0xabc,
    codec: { name: 'opus', payloadType: PUB_OPUS, clockRate: 48000, channels: 2, fmtp: '', rtcpFeedback: [], redPayloadType: PUB_RED },
    feedbackSsrc: 1,
    feedback: { sendRtcp: () => undefined },
  });
}

function makeConsumer(producer: Producer, sent: Buffer[], red: boolean): Consumer {
  const c = testConsumer({
    id: `c${red}`,
    producer,
    subscriberId: 'sub',
    ssrc: 0x5555,
    payloadType: 111,
    redPayloadType: 63,
    transport: { sendRtp: (p) => sent.push(Buffer.from(p)), sendRtcp: () => undefined },
  });
  c.useRed(red);
  return c;
}

function packet(seq: number, pt: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(1500);
  const n = writeRtpHeader(out, 0, { marker: false, payloadType: pt, sequenceNumber: seq, timestamp: seq * 960, ssrc: 0xabc }, []);
  payload.copy(out, n);
  return Buffer.from(out.subarray(0, n + payload.length));
}

/** RED with one redundant block (the previous frame) and the primary, Chromium's shape. */
function redPayload(prev: Buffer, primary: Buffer, blockPt = PUB_OPUS): Buffer {
  const h = Buffer.alloc(4);
  h[0] = 0x80 | blockPt;
  h.writeUIntBE((960 << 10) | prev.length, 1, 3);
  return Buffer.concat([h, Buffer.from([blockPt]), prev, primary]);
}

function feed(producer: Producer, pkts: Buffer[]): void {
  const view = new RtpHeaderView();
  pkts.forEach((p, i) => {
    assert.ok(parseRtpHeader(p, view));
    producer.receive(p, view, i * 20);
  });
}

test('RED kept by the subscriber: our RED payload type, block payload types mapped to our opus; data unchanged', () => {
  const producer = makeProducer();
  const sent: Buffer[] = [];
  const consumer = makeConsumer(producer, sent, true);
  const frames = [Buffer.from('frame-0'), Buffer.from('frame-1'), Buffer.from('frame-2')];
  feed(producer, [packet(10, PUB_RED, redPayload(frames[0]!, frames[1]!)), packet(11, PUB_OPUS, frames[2]!)]);
  assert.equal(sent.length, 2);
  const view = new RtpHeaderView();
  assert.ok(parseRtpHeader(sent[0]!, view));
  assert.equal(view.payloadType, 63);
  const blocks = new RedBlocks();
  assert.ok(parseRed(sent[0]!, view.headerLength, view.headerLength + view.payloadLength, blocks));
  assert.deepEqual([blocks.count, blocks.payloadTypes[0], blocks.payloadTypes[1]], [2, 111, 111]);
  const block = (i: number): string => {
    const start = blocks.offsets[i]!;
    return sent[0]!.subarray(start, start + blocks.lengths[i]!).toString();
  };
  assert.equal(block(0), 'frame-0');
  assert.equal(block(1), 'frame-1');
  assert.equal(blocks.timestampOffsets[0], 960);
  // Plain opus stays plain, with our opus payload type.
  assert.ok(parseRtpHeader(sent[1]!, view));
  assert.equal(view.payloadType, 111);
  assert.equal(sent[1]!.subarray(view.headerLength).toString(), 'frame-2');
  assert.equal(consumer.sendsRed, true);
  producer.close();
});

test('RED dropped by the subscriber: only the primary block goes out, as opus, with continuous sequence numbers', () => {
  const producer = makeProducer();
  const sent: Buffer[] = [];
  const consumer = makeConsumer(producer, sent, false);
  feed(
    producer,
    [0, 1, 2, 3].map((i) => packet(100 + i, PUB_RED, redPayload(Buffer.from(`f${i - 1}`), Buffer.from(`frame-${i}`)))),
  );
  assert.deepEqual(
    sent.map((p) => {
      const v = new RtpHeaderView();
      assert.ok(parseRtpHeader(p, v));
      return [v.payloadType, p.subarray(v.headerLength).toString()];
    }),
    [
      [111, 'frame-0'],
      [111, 'frame-1'],
      [111, 'frame-2'],
      [111, 'frame-3'],
    ],
  );
  const seqs = sent.map((p) => p.readUInt16BE(2));
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1]! + 1) & 0xffff);
  assert.equal(consumer.sendsRed, false);
  producer.close();
});

test('malformed RED, or a primary block of another codec, is dropped and counted (both modes)', () => {
  for (const red of [true, false]) {
    const producer = makeProducer();
    const sent: Buffer[] = [];
    const consumer = makeConsumer(producer, sent, red);
    const bad = [
      packet(1, PUB_RED, Buffer.from([0x80 | PUB_OPUS, 0, 0x3, 0xff, PUB_OPUS, 1])), // block longer than the payload
      packet(2, PUB_RED, Buffer.from([0x80 | PUB_OPUS, 0, 0])), // cut header
    ];
    if (!red) bad.push(packet(3, PUB_RED, redPayload(Buffer.from('x'), Buffer.from('cn'), 13))); // primary is CN
    feed(producer, bad);
    assert.equal(sent.length, 0, `red=${red}`);
    assert.equal(consumer.redDropped, bad.length);
    producer.close();
  }
});

/**
 * A video packet that reaches the producer twice — the publisher answered two of our NACKs
 * for it with RTX, or the network doubled it — is forwarded once: a second copy would repeat
 * the consumer's SRTP index, which the subscriber's replay check drops and its transport-cc
 * feedback reports as lost (seen as ~5 % "loss" on clean subscribers of a lossy publisher).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RtpHeaderView, parseRtpHeader, wrapRtx, writeRtpHeader } from '../../src/rtc/rtp/index.js';
import { testProducer, testConsumer } from '../helpers/media-core.js';

const SSRC = 0x1111;
const RTX_SSRC = 0x2222;
/** VP8 descriptor (S=1, partition 0) + a 1280×720 keyframe header (RFC 6386 §9.1). */
const KEYFRAME = Buffer.from([0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02, 1, 2, 3]);
/** VP8 descriptor (S=1) + an inter frame (P bit set). */
const DELTA = Buffer.from([0x10, 0x01, 0x00, 0x00, 7, 7, 7, 7]);

function packet(seq: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(200);
  const n = writeRtpHeader(out, 0, { marker: true, payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc: SSRC }, []);
  payload.copy(out, n);
  return Buffer.from(out.subarray(0, n + payload.length));
}

test('a packet received twice (two RTX answers, or doubled on the way) is forwarded once', () => {
  const producer = testProducer({
    id: 'p',
    kind: 'video',
    ownerId: 'pub',
    mid: '1',
    ssrc: SSRC,
    rtxSsrc: RTX_SSRC,
    codec: { name: 'VP8', payloadType: 96, clockRate: 90000, fmtp: '', rtcpFeedback: [{ type: 'nack' }], rtxPayloadType: 97 },
    feedbackSsrc: 1,
    feedback: { sendRtcp: () => undefined },
  });
  const sent: number[] = [];
  const out = new RtpHeaderView();
  const consumer = testConsumer({
    id: 'c',
    producer,
    subscriberId: 'sub',
    ssrc: 0x5555,
    payloadType: 96,
    transport: {
      sendRtp: (p) => {
        assert.ok(parseRtpHeader(p, out));
        sent.push(out.sequenceNumber);
      },
      sendRtcp: () => undefined,
    },
  });
  consumer.requestKeyframe();
  const view = new RtpHeaderView();
  const receive = (p: Buffer, at: number): void => {
    assert.ok(parseRtpHeader(p, view));
    producer.receive(p, view, at);
  };
  const rtx = (seq: number, rtxSeq: number): Buffer => {
    const original = packet(seq, DELTA);
    const v = new RtpHeaderView();
    assert.ok(parseRtpHeader(original, v));
    const buf = Buffer.alloc(300);
    return Buffer.from(buf.subarray(0, wrapRtx(original, v, buf, RTX_SSRC, 97, rtxSeq)));
  };
  receive(packet(100, KEYFRAME), 0);
  receive(packet(101, DELTA), 33);
  receive(packet(103, DELTA), 66); // 102 lost on the way in
  receive(rtx(102, 1), 80); // the answer to our first NACK…
  receive(rtx(102, 2), 120); // …and to the second
  receive(packet(103, DELTA), 130); // the network doubled one
  receive(packet(104, DELTA), 133);
  assert.equal(producer.duplicatesDropped, 2);
  assert.equal(sent.length, 5, `forwarded ${sent.join(',')}`);
  assert.equal(new Set(sent).size, sent.length, 'no sequence number sent twice');
});

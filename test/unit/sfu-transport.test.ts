/**
 * The media core on its own (no sockets, no WebRtcServer, no SDP): a Router over in-memory
 * transports forwards a publisher's RTP to a subscriber, and each SfuTransport's two halves do
 * their jobs — the receive half's RR about the producer, the send half's SR written by the
 * consumer, the round trip read from the subscriber's RR, feedback routed to the consumer.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { ntpMiddle32, parseRtcpCompound, writePli, writeReceiverReport, type RtcpPacket } from '../../src/rtc/rtcp/index.js';
import { RtpHeaderView, parseRtpHeader, writeRtpHeader } from '../../src/rtc/rtp/index.js';
import type { CodecParameters } from '../../src/sfu/types.js';
import { routerInMemory } from '../helpers/media-core.js';

const OPUS: CodecParameters = { name: 'opus', payloadType: 111, clockRate: 48_000, channels: 2, fmtp: '', rtcpFeedback: [] };
const VP8: CodecParameters = {
  name: 'VP8',
  payloadType: 96,
  clockRate: 90_000,
  fmtp: '',
  rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
};

function rtp(ssrc: number, pt: number, seq: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(12 + payload.length);
  writeRtpHeader(out, 0, { marker: true, payloadType: pt, sequenceNumber: seq, timestamp: seq * 960, ssrc }, []);
  payload.copy(out, 12);
  return out;
}

function rtcpOf(list: Buffer[]): RtcpPacket[] {
  return list.flatMap((b) => parseRtcpCompound(b) ?? []);
}

test('a router over in-memory transports forwards RTP and each transport half reports', async () => {
  const router = routerInMemory();
  const pub = router.createTransport('alice/publish');
  const sub = router.createTransport('bob/subscribe');
  const producer = router.produce({
    id: 'alice-audio',
    kind: 'audio',
    ownerId: 'alice',
    mid: '0',
    ssrc: 0x1111,
    codec: OPUS,
    transport: pub,
  });
  const consumer = router.consume(producer, sub, { id: 'alice-audio>bob', subscriberId: 'bob', ssrc: 0x2222, payloadType: 111 });
  assert.deepEqual([...router.consumersOf(producer)], [consumer]);

  for (let seq = 1; seq <= 5; seq++) pub.media.deliverRtp(rtp(0x1111, 111, seq, Buffer.from([0xf8, seq])));
  assert.equal(sub.media.rtp.length, 5, 'five packets forwarded to the subscriber');
  const view = new RtpHeaderView();
  assert.ok(parseRtpHeader(sub.media.rtp[4] as Buffer, view));
  assert.equal(view.ssrc, 0x2222, "the consumer's SSRC");
  assert.equal(view.payloadType, 111);

  // One report interval: the subscriber side sends the consumer's SR, the publisher side its RR.
  await new Promise((r) => setTimeout(r, 1_150));
  const sr = rtcpOf(sub.media.rtcp).find((p) => p.type === 'sr');
  assert.ok(sr && sr.type === 'sr', 'an SR toward the subscriber');
  assert.equal(sr.ssrc, 0x2222);
  assert.equal(sr.packetCount, 5);
  const rr = rtcpOf(pub.media.rtcp).find((p) => p.type === 'rr');
  assert.ok(rr && rr.type === 'rr', 'an RR toward the publisher');
  assert.equal(rr.reports[0]?.ssrc, 0x1111);
  assert.ok(
    rtcpOf(sub.media.rtcp).some((p) => p.type === 'sdes'),
    'each compound ends with our CNAME',
  );

  // The subscriber's RR about our SR: a round trip of about the delay since (LSR − DLSR = 0).
  const out = Buffer.alloc(200);
  const lsr = ntpMiddle32(Date.now() - 40);
  const len = writeReceiverReport(out, 0, {
    ssrc: 0x9999,
    reports: [{ ssrc: 0x2222, fractionLost: 0, cumulativeLost: 0, highestSeq: 5, jitter: 0, lsr, dlsr: 0 }],
  });
  sub.media.deliverRtcp(out.subarray(0, len));
  assert.ok(sub.rttMs >= 30 && sub.rttMs < 1_000, `rtt ${sub.rttMs} ms`);

  router.close();
  assert.ok(pub.media.closed && sub.media.closed, 'closing the router closes its transports');
  assert.ok(consumer.closed && producer.closed);
});

test("a subscriber's PLI reaches the publisher as a PLI for the producer's SSRC", async () => {
  const router = routerInMemory();
  const pub = router.createTransport('alice/publish');
  const sub = router.createTransport('bob/subscribe');
  const producer = router.produce({
    id: 'alice-video',
    kind: 'video',
    ownerId: 'alice',
    mid: '1',
    ssrc: 0x3333,
    codec: VP8,
    transport: pub,
  });
  router.consume(producer, sub, { id: 'alice-video>bob', subscriberId: 'bob', ssrc: 0x4444, payloadType: 96 });
  const plis = (): number => rtcpOf(pub.media.rtcp).filter((p) => p.type === 'pli' && p.mediaSsrc === 0x3333).length;
  assert.equal(plis(), 1, 'a new video consumer asks for a keyframe at once');
  // Keyframe requests are throttled to one per second per stream (KeyframeRequester).
  await new Promise((r) => setTimeout(r, 1_100));
  const out = Buffer.alloc(64);
  const len = writePli(out, 0, { senderSsrc: 0x9999, mediaSsrc: 0x4444 });
  sub.media.deliverRtcp(out.subarray(0, len));
  assert.equal(plis(), 2, "the subscriber's PLI went on toward the publisher");
  router.close();
});

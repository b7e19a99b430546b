/**
 * The sending end of a pipe on its own, over an in-memory pipe transport: each simulcast layer
 * leaves on its own pipe SSRC with the publisher's sequence numbers, timestamps and payload; a
 * NACK is answered from the origin cache on the pipe SSRC (a repeat within 20 ms is
 * skipped, a packet gone from the cache is counted); PLI and FIR name the layer to refresh; the
 * parameters are plain JSON and pass the far side's check.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SwitchboardError } from '../../src/protocol/errors.js';
import { parseRtcpCompound, writeFir, writeNack, writePli } from '../../src/rtc/rtcp/index.js';
import { parsePipeProducerParameters } from '../../src/sfu/pipe/parameters.js';
import { MemoryTransport, routerInMemory } from '../helpers/media-core.js';
import { VP8, rtpPacket, tagOf, vp8Payload } from '../helpers/piped-routers.js';

test('pipe consumer: layers on pipe SSRCs, NACK from the origin cache, PLI/FIR per layer', () => {
  const router = routerInMemory();
  const pub = router.createTransport('alice/publish');
  pub.ridBinder.ids = { mid: 1, rid: 2 };
  const producer = router.produce({
    id: 'sim',
    kind: 'video',
    ownerId: 'alice',
    mid: '1',
    rids: ['q', 'h', 'f'],
    codec: VP8,
    transport: pub,
  });
  const wire = new MemoryTransport('pipe-end');
  const pipeTransport = router.createPipeTransport('pipe', wire);
  const pipe = router.pipeProducer(producer, pipeTransport);
  assert.equal(pipe.ssrcs.length, 3);
  assert.equal(new Set(pipe.ssrcs).size, 3, 'one SSRC per layer');

  const ext = (rid: string): { id: number; value: Buffer }[] => [
    { id: 1, value: Buffer.from('1') },
    { id: 2, value: Buffer.from(rid) },
  ];
  const sent: Buffer[] = [];
  for (let n = 0; n < 4; n++)
    ['q', 'h', 'f'].forEach((rid, layer) => {
      const p = rtpPacket(0x900 + layer, 96, 100 * (layer + 1) + n, 7000 + n * 3000, vp8Payload(n === 0, layer * 10 + n), true, ext(rid));
      sent.push(p);
      pub.media.deliverRtp(p);
    });
  assert.equal(wire.rtp.length, 12, 'every packet of every layer');
  wire.rtp.forEach((out, i) => {
    const original = sent[i]!;
    const layer = i % 3;
    assert.equal(out.readUInt32BE(8), pipe.ssrcs[layer], 'the pipe SSRC of its layer');
    assert.deepEqual(out.subarray(0, 8), original.subarray(0, 8), 'sequence number and timestamp kept');
    assert.deepEqual(out.subarray(12), original.subarray(12), 'extensions and payload kept');
  });

  // NACK for layer 1's pipe SSRC: 201 (cached) and 250 (never was); then 201 again at once.
  const b = Buffer.alloc(200);
  let len = writeNack(b, 0, { senderSsrc: 5, mediaSsrc: pipe.ssrcs[1]!, seqs: [201, 250] });
  wire.deliverRtcp(b.subarray(0, len));
  len = writeNack(b, 0, { senderSsrc: 5, mediaSsrc: pipe.ssrcs[1]!, seqs: [201] });
  wire.deliverRtcp(b.subarray(0, len));
  assert.equal(wire.rtp.length, 13, 'one resend');
  const resent = wire.rtp.at(-1)!;
  assert.equal(resent.readUInt32BE(8), pipe.ssrcs[1]);
  assert.equal(resent.readUInt16BE(2), 201);
  assert.equal(tagOf(resent), 11);
  assert.deepEqual([pipe.nacksReceived, pipe.retransmitted, pipe.resendsSkipped, pipe.nackMisses], [3, 1, 1, 1]);

  // PLI for the top layer's pipe SSRC, FIR for the lowest: keyframe requests of those streams.
  const plis = (): number[] =>
    pub.media.rtcp
      .flatMap((x) => parseRtcpCompound(x) ?? [])
      .flatMap((p) => (p.type === 'pli' ? [p.mediaSsrc] : []))
      .filter((s) => s >= 0x900 && s <= 0x902);
  const before = plis().length;
  len = writePli(b, 0, { senderSsrc: 5, mediaSsrc: pipe.ssrcs[2]! });
  wire.deliverRtcp(b.subarray(0, len));
  len = writeFir(b, 0, { senderSsrc: 5, entries: [{ ssrc: pipe.ssrcs[0]!, seq: 1 }] });
  wire.deliverRtcp(b.subarray(0, len));
  assert.deepEqual(plis().slice(before), [0x902, 0x900]);
  assert.equal(pipe.keyframeRequests, 2);

  // Demand as it may come over the control channel: only `true` counts; anything but a list is refused.
  pipe.setDemand([false, 1, true] as unknown as boolean[]);
  assert.deepEqual([pipe.currentLayers.spatial, pipe.targetLayers.spatial], [2, 2]);
  assert.deepEqual(router.demandOf(producer).markNeeded([false, false, false]), [false, false, true]);
  assert.throws(() => pipe.setDemand(null as unknown as boolean[]), SwitchboardError);

  const params = pipe.parameters();
  assert.deepEqual(parsePipeProducerParameters(JSON.parse(JSON.stringify(params))), params, 'JSON round trip, accepted as is');
  assert.equal(params.codec.rtxPayloadType, undefined, 'no RTX on a pipe');
  assert.deepEqual(params.ssrcs, pipe.ssrcs);
  router.close();
  assert.equal(pipe.closed, true);
});

/**
 * Fuzz: the receive path of a pipe end, over a real loopback socket, into the media core behind
 * it. 30,000 datagrams from the connected remote: mutated RTP and RTCP protected with the valid
 * key (they authenticate, so the core parses them: piped VP8 simulcast, VP9 and Opus producers
 * with consumers, and a pipe consumer answering NACK/PLI/FIR), valid packets under another key,
 * protected packets mutated after protection, random bytes; and some from another port. Nothing
 * may throw (no entry-point fault is recorded), every datagram is counted exactly once, the
 * transport stays open and a genuine packet still reaches a subscriber afterwards. Seeded.
 * Also: hostile JSON into both parameter checks (what crosses the control channel) — only
 * SwitchboardErrors come out.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';
import { SwitchboardError } from '../../src/protocol/errors.js';
import { newPipeSrtpParameters, parsePipeTransportParameters, pipeMasterKeys } from '../../src/rtc/pipe/parameters.js';
import { PipeTransport } from '../../src/rtc/pipe/PipeTransport.js';
import { writeFir, writeNack, writePli, writeReceiverReport, writeSdesCname } from '../../src/rtc/rtcp/index.js';
import { SrtpContext } from '../../src/rtc/srtp/index.js';
import { parsePipeProducerParameters, type PipeProducerParameters } from '../../src/sfu/pipe/parameters.js';
import { entryFaults } from '../../src/util/guarded.js';
import { routerInMemory } from '../helpers/media-core.js';
import { until } from '../helpers/pipe-pair.js';
import { OPUS, VP8, rtpPacket, vp8Payload } from '../helpers/piped-routers.js';
import { mulberry32 } from '../helpers/random.js';
import { hostileValue, int, mutate, randomBytes } from './mutate.js';

const DATAGRAMS = 30_000;
const BATCH = 50;
const DEADLINE_MS = 90_000;

const VP9 = { ...VP8, name: 'VP9', payloadType: 98 };
const base = { ownerId: 'alice', source: 'camera' as const };
const PRODUCERS: PipeProducerParameters[] = [
  { ...base, producerId: 'sim', kind: 'video', mid: '1', codec: VP8, layering: 'simulcast', ssrcs: [11, 12, 13] },
  { ...base, producerId: 'svc', kind: 'video', mid: '2', codec: VP9, layering: 'svc', ssrcs: [21] },
  {
    ...base,
    producerId: 'mic',
    kind: 'audio',
    mid: '0',
    codec: { ...OPUS, redPayloadType: 63 },
    layering: 'none',
    ssrcs: [31],
    audioLevelExtensionId: 1,
  },
];

function seeds(pipeSsrc: number): { rtp: Buffer[]; rtcp: Buffer[] } {
  const level = [{ id: 1, value: Uint8Array.of(0x85) }];
  // VP9 (RFC 9628 §4.2): I, B, E set, 15-bit picture id; then a scalability structure with sizes.
  const vp9 = Buffer.from('aa80011800028001e000f0012c00b4', 'hex');
  const rtp = [
    rtpPacket(11, 96, 100, 3000, vp8Payload(true, 1, 320, 180)),
    rtpPacket(12, 96, 200, 3000, vp8Payload(false, 2)),
    rtpPacket(13, 96, 300, 3000, vp8Payload(true, 3, 1280, 720)),
    rtpPacket(21, 98, 400, 3000, vp9),
    rtpPacket(31, 111, 500, 960, Buffer.from([0xf8, 1, 2, 3]), true, level),
    rtpPacket(31, 63, 501, 1920, Buffer.from([0x6f, 0x00, 0x0f, 0x03, 0x6f, 0xf8, 1, 2, 0xf8, 3]), true, level),
  ];
  const b = Buffer.alloc(1200);
  const one = (len: number): Buffer => Buffer.from(b.subarray(0, len));
  const rtcp = [
    one(writeNack(b, 0, { senderSsrc: 7, mediaSsrc: pipeSsrc, seqs: [100, 101, 140, 65535] })),
    one(writePli(b, 0, { senderSsrc: 7, mediaSsrc: pipeSsrc })),
    one(writeFir(b, 0, { senderSsrc: 7, entries: [{ ssrc: pipeSsrc, seq: 1 }] })),
    one(
      writeReceiverReport(b, 0, {
        ssrc: 7,
        reports: [{ ssrc: pipeSsrc, fractionLost: 0, cumulativeLost: 0, highestSeq: 9, jitter: 0, lsr: 0, dlsr: 0 }],
      }),
    ),
    one(writeSdesCname(b, 0, 7, 'far-end')),
  ];
  return { rtp, rtcp };
}

async function rawSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

test('pipe fuzz: hostile and mutated datagrams into a pipe end and the core behind it', async (t) => {
  const started = Date.now();
  const faultsBefore = entryFaults.total();
  const rand = mulberry32(0x9e3779b9);
  const router = routerInMemory();
  const end = await PipeTransport.open({ address: '127.0.0.1' });
  const peer = await rawSocket();
  const stranger = await rawSocket();
  t.after(() => {
    router.close();
    end.close();
    peer.close();
    stranger.close();
  });
  const key = newPipeSrtpParameters();
  end.connect({ ip: '127.0.0.1', port: peer.address().port, srtp: key });
  const pipe = router.createPipeTransport('pipe', end);
  const producers = PRODUCERS.map((p) => router.producePiped(p, pipe));
  const subs = producers.map((p, i) => {
    const sub = router.createTransport(`sub${i}`);
    const c = router.consume(p, sub, { id: `c${i}`, subscriberId: `s${i}`, ssrc: 1000 + i, payloadType: p.codec.payloadType });
    if (p.simulcast) c.setRenderSize(640, 360);
    return sub;
  });
  // The far end pipes a track back over the same transport: its feedback is fuzzed too.
  const back = router.pipeProducer(producers[0]!, pipe);
  const { rtp, rtcp } = seeds(back.ssrcs[1]!);

  const good = new SrtpContext('AEAD_AES_128_GCM', pipeMasterKeys(key));
  const wrong = new SrtpContext('AEAD_AES_128_GCM', pipeMasterKeys(newPipeSrtpParameters()));
  const target = end.localParameters();
  const protect = (ctx: SrtpContext, plain: Buffer, isRtcp: boolean): Buffer | null => {
    try {
      return Buffer.from(isRtcp ? ctx.protectRtcp(plain) : ctx.protectRtp(plain));
    } catch {
      return null; // not RTP/RTCP enough to protect: sent as it is
    }
  };
  const pick = <T>(list: readonly T[]): T => list[int(rand, list.length)] as T;
  let fromPeer = 0;
  let fromStranger = 0;
  const c = end.counters;
  const counted = (): number => c.packetsIn + c.droppedAuth + c.droppedMalformed + c.droppedWrongSource + c.droppedBeforeConnect;

  for (let sent = 0; sent < DATAGRAMS;) {
    for (let i = 0; i < BATCH; i++, sent++) {
      const isRtcp = rand() < 0.3;
      const seed = pick(isRtcp ? rtcp : rtp);
      const roll = rand();
      let data: Buffer;
      if (roll < 0.55) data = protect(good, mutate(rand, seed), isRtcp) ?? mutate(rand, seed);
      else if (roll < 0.7) data = protect(good, seed, isRtcp) ?? seed;
      else if (roll < 0.8) data = protect(wrong, seed, isRtcp) ?? seed;
      else if (roll < 0.9) data = mutate(rand, protect(good, seed, isRtcp) ?? seed);
      else data = randomBytes(rand, int(rand, 1400));
      if (rand() < 0.05) {
        stranger.send(data, target.port, target.ip);
        fromStranger++;
      } else {
        peer.send(data, target.port, target.ip);
        fromPeer++;
      }
    }
    await until(() => counted() === sent, `datagram ${sent} counted`, 5_000);
    assert.ok(Date.now() - started < DEADLINE_MS, 'within the deadline');
  }

  assert.equal(entryFaults.total(), faultsBefore, 'no handler threw');
  assert.equal(end.closed, false);
  assert.equal(c.droppedWrongSource, fromStranger);
  assert.equal(c.packetsIn + c.droppedAuth + c.droppedMalformed, fromPeer);
  assert.ok(c.packetsIn > DATAGRAMS / 10, `accepted ${c.packetsIn}`);
  assert.ok(c.droppedAuth > DATAGRAMS / 10, `refused ${c.droppedAuth}`);
  assert.ok(c.droppedMalformed > 0);
  assert.ok(back.nacksReceived > 0 && back.keyframeRequests > 0, 'fuzzed feedback reached the pipe consumer');
  assert.ok(
    producers.every((p) => p.packetsReceived > 0),
    'every piped producer took packets',
  );

  // Still healthy: a genuine audio packet, far ahead of anything fuzzed, reaches its subscriber.
  const audioSub = subs[2]!;
  const before = audioSub.media.rtp.length;
  const fresh = rtpPacket(31, 111, 30_000, 10_000_000, Buffer.from([0xf8, 9, 9, 9]));
  peer.send(Buffer.from(good.protectRtp(fresh)), target.port, target.ip);
  await until(() => audioSub.media.rtp.length > before, 'a genuine packet after the fuzz');
});

test('pipe fuzz: hostile parameters from the control channel are refused with SwitchboardError only', () => {
  const rand = mulberry32(0x51ed);
  const valid: Record<string, unknown>[] = [{ ...PRODUCERS[0]! }, { ip: '127.0.0.1', port: 5000, srtp: newPipeSrtpParameters() }];
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    const which = i % 2;
    // A valid object with one field (top level or nested) replaced by a hostile value.
    const value: Record<string, unknown> = structuredClone(valid[which]!);
    const keys = Object.keys(value);
    const k = keys[int(rand, keys.length)]!;
    const inner = value[k];
    if (inner && typeof inner === 'object' && !Array.isArray(inner) && rand() < 0.5) {
      const innerKeys = Object.keys(inner);
      (inner as Record<string, unknown>)[innerKeys[int(rand, innerKeys.length)]!] = hostileValue(rand);
    } else value[k] = hostileValue(rand);
    const input = rand() < 0.05 ? hostileValue(rand) : value;
    try {
      if (which === 0) parsePipeProducerParameters(input);
      else parsePipeTransportParameters(input, 4);
      accepted++;
    } catch (err) {
      assert.ok(err instanceof SwitchboardError && err.code === 'invalid-argument', String(err));
    }
  }
  assert.ok(accepted < 20_000, 'most hostile values are refused');
});

/** The SFU's per-stream bookkeeping: packet cache, NACK requests, receiver stats, keyframe throttle. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyframeRequester } from '../../src/sfu/receive/KeyframeRequester.js';
import { NackRequester } from '../../src/sfu/receive/NackRequester.js';
import { PacketCache } from '../../src/sfu/receive/PacketCache.js';
import { ReceiveStats } from '../../src/sfu/receive/ReceiveStats.js';

test('packet cache: returns what was put, forgets what was overwritten, across the 16-bit wrap', () => {
  const cache = new PacketCache(100); // rounded up to 128
  assert.equal(cache.size, 128);
  for (let i = 0; i < 300; i++) {
    const seq = (65_500 + i) & 0xffff;
    cache.put(seq, Buffer.from([seq >> 8, seq & 0xff, i & 0xff]));
  }
  const newest = (65_500 + 299) & 0xffff;
  assert.deepEqual([...(cache.get(newest) ?? [])], [newest >> 8, newest & 0xff, 299 & 0xff]);
  assert.equal(cache.get((65_500 + 299 - 128) & 0xffff), undefined, 'overwritten by a newer packet');
  assert.ok(cache.get((65_500 + 299 - 127) & 0xffff));
  cache.put(7, Buffer.alloc(2000));
  assert.equal(cache.get(7), undefined, 'oversize packets are not cached');
});

test('NACK requester: asks for a gap after the reorder delay, retries, stops on arrival, gives up', () => {
  const n = new NackRequester({ reorderMs: 10, retryMs: 40, maxTries: 3, maxAgeMs: 1000, maxGap: 100 });
  n.onPacket(65_534, 0);
  n.onPacket(2, 1); // 65535, 0, 1 missing across the wrap
  const out: number[] = [];
  n.collect(5, out);
  assert.deepEqual(out, [], 'not before the reorder delay');
  n.collect(11, out);
  assert.deepEqual(out, [65_535, 0, 1]);
  out.length = 0;
  n.onPacket(0, 20); // a retransmission arrives
  n.collect(30, out);
  assert.deepEqual(out, [], 'not again before retryMs');
  n.collect(51, out);
  assert.deepEqual(out, [65_535, 1]);
  assert.equal(n.recovered, 1);
  out.length = 0;
  n.collect(100, out);
  assert.deepEqual(out, [65_535, 1]);
  out.length = 0;
  assert.equal(n.collect(200, out), true, 'maxTries reached: given up');
  assert.deepEqual(out, []);
  assert.equal(n.pending, 0);
  assert.equal(n.givenUp, 2);
  assert.equal(n.onPacket(500, 300), true, 'a gap wider than maxGap asks for a keyframe instead');
});

test('receive stats: loss, fraction lost, extended highest sequence across the wrap, jitter, LSR/DLSR', () => {
  const s = new ReceiveStats(0x1234, 90_000);
  // 100 packets, every 10th lost, 20 ms apart with exact timestamps: jitter stays 0.
  for (let i = 0; i < 100; i++) {
    if (i % 10 === 5) continue;
    s.onPacket((65_486 + i) & 0xffff, i * 1800, 1000 + i * 20, 1000);
  }
  s.onSenderReport(0x0001_abcd, 0x8000_0000, 2000);
  const r = s.report(2500);
  assert.equal(r.cumulativeLost, 10);
  assert.equal(r.fractionLost, Math.floor((10 * 256) / 100));
  assert.equal(r.highestSeq, 0x10000 + ((65_486 + 99) & 0xffff));
  assert.equal(r.jitter, 0);
  assert.equal(r.lsr, 0xabcd_8000);
  assert.equal(r.dlsr, 32_768, '500 ms in 1/65536 s');
  const again = s.report(3000);
  assert.equal(again.fractionLost, 0, 'nothing lost in an empty interval');
  // Irregular arrival → jitter grows.
  const j = new ReceiveStats(1, 90_000);
  for (let i = 0; i < 50; i++) j.onPacket(i, i * 1800, i * 20 + (i % 2) * 8, 100);
  assert.ok(j.report(2000).jitter > 100);
});

test('keyframe requester: at most one request per interval; a request inside it is sent when it ends', async () => {
  let sent = 0;
  const k = new KeyframeRequester(() => {
    sent++;
  }, 200);
  k.request();
  k.request();
  k.request();
  assert.equal(sent, 1);
  await new Promise((r) => setTimeout(r, 260));
  assert.equal(sent, 2, 'the merged requests produced exactly one more');
  await new Promise((r) => setTimeout(r, 260));
  assert.equal(sent, 2);
  k.request();
  assert.equal(sent, 3);
  k.close();
});

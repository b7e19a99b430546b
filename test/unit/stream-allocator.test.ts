/**
 * Stream allocation for one subscriber: audio is never touched, video by priority (screen,
 * speaker, rest), lowest layers first then upgrades, pause when even the lowest does not fit
 * and the link is losing packets,
 * hysteresis on upgrades; probing only while something is held back, paced, capped at twice
 * the estimate, backing off after failures.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRIORITY, allocate, type AllocationTrack, type LayerOption } from '../../src/sfu/allocation/allocate.js';
import { ProbeController } from '../../src/sfu/allocation/ProbeController.js';
import { StreamAllocator, type AllocatedTrack } from '../../src/sfu/allocation/StreamAllocator.js';
import { TypedEmitter } from '../../src/util/TypedEmitter.js';

/** Three simulcast layers of one temporal layer: 150k, 500k, 1.5M (cumulative). */
const SIMULCAST: LayerOption[] = [
  { spatial: 0, temporal: 0, bps: 150_000 },
  { spatial: 1, temporal: 0, bps: 500_000 },
  { spatial: 2, temporal: 0, bps: 1_500_000 },
];
const video = (id: string, priority: number = PRIORITY.normal, options = SIMULCAST): AllocationTrack => ({
  id,
  kind: 'video',
  priority,
  options,
  bps: 0,
});
const audio = (id: string, bps = 40_000): AllocationTrack => ({ id, kind: 'audio', priority: PRIORITY.normal, options: [], bps });

test('enough for everything: every video track gets its best option', () => {
  const r = allocate(10_000_000, [audio('a1'), video('v1'), video('v2')]);
  assert.equal(r.targets.get('v1'), 2);
  assert.equal(r.targets.get('v2'), 2);
  assert.equal(r.usedBps, 40_000 + 3_000_000);
  assert.equal(r.deficitBps, 0);
});

test('tight budget: every track keeps its lowest layer before any is raised; priority decides who is raised', () => {
  const r = allocate(1_000_000, [video('rest'), video('speaker', PRIORITY.speaker), video('screen', PRIORITY.screen)]);
  // 3 × 150k = 450k for the lowest layers; 550k left: the screen share goes to 500k (+350k), the speaker can't reach 500k (+350k > 200k).
  assert.equal(r.targets.get('screen'), 1);
  assert.equal(r.targets.get('speaker'), 0);
  assert.equal(r.targets.get('rest'), 0);
  assert.equal(r.usedBps, 800_000);
  assert.equal(r.deficitBps, 1_500_000 - 500_000 + 2 * (1_500_000 - 150_000));
});

test('video is paused before audio is touched, lowest priority first', () => {
  const r = allocate(260_000, [audio('a1'), audio('a2'), video('rest'), video('speaker', PRIORITY.speaker)]);
  assert.equal(r.targets.get('speaker'), 0, '260k − 80k audio leaves room for one lowest layer (with the 15 % margin of a first start)');
  assert.equal(r.targets.get('rest'), -1, 'paused');
  assert.equal(r.usedBps, 80_000 + 150_000);
  const none = allocate(50_000, [audio('a1'), video('v')]);
  assert.equal(none.targets.get('v'), -1);
  assert.equal(none.usedBps, 40_000, 'audio still granted above the budget share left for it');
});

test('pausing not allowed: every track keeps its lowest layer over budget; nothing is raised', () => {
  const r = allocate(260_000, [audio('a1'), audio('a2'), video('rest'), video('speaker', PRIORITY.speaker)], new Map(), undefined, false);
  assert.equal(r.targets.get('speaker'), 0);
  assert.equal(r.targets.get('rest'), 0);
  assert.equal(r.usedBps, 80_000 + 2 * 150_000);
});

test('a track with no measured layers yet is not allocated, a thumbnail asks for less', () => {
  const thumb = video('thumb', PRIORITY.normal, SIMULCAST.slice(0, 1));
  const r = allocate(10_000_000, [video('empty', PRIORITY.normal, []), thumb]);
  assert.equal(r.targets.get('empty'), -1);
  assert.equal(r.targets.get('thumb'), 0);
  assert.equal(r.deficitBps, 0, 'the thumbnail has what it wants');
});

test('hysteresis: raising above the previous target needs 15 % headroom; keeping it does not', () => {
  const budget = 1_600_000; // the top layer (1.5M) fits, but not with the 15 % margin
  const fresh = allocate(budget, [video('v')]);
  assert.equal(fresh.targets.get('v'), 1, 'not raised to the top without the margin');
  const kept = allocate(budget, [video('v')], new Map([['v', 2]]));
  assert.equal(kept.targets.get('v'), 2, 'already there: kept');
  const down = allocate(1_400_000, [video('v')], new Map([['v', 2]]));
  assert.equal(down.targets.get('v'), 1, 'over budget: down at once');
});

class CountingPadding {
  packets = 0;
  bytes = 0;
  sendPadding(count: number, packetBytes: number): number {
    this.packets += count;
    this.bytes += count * packetBytes;
    return count;
  }
}

test('probe: only while something is held back; padding paced to the goal, at most 2 × the estimate', () => {
  const sink = new CountingPadding();
  const probe = new ProbeController(sink, { clusterMs: 500, minIntervalMs: 3000 });
  probe.tick(10_000, 1_000_000, 800_000, 0);
  assert.equal(probe.probing, false, 'no deficit, no probe');
  probe.tick(10_000, 1_000_000, 800_000, 5_000_000);
  assert.equal(probe.probing, true);
  // Goal min(2 × 1M, 800k + 5.5M) = 2M: padding 1.2 Mbit/s for 500 ms = 75,000 bytes.
  for (let t = 10_010; t <= 10_500; t += 10) probe.pace(t);
  assert.equal(probe.probing, false, 'ended after its cluster');
  assert.ok(Math.abs(sink.bytes - 75_000) <= 500, `${sink.bytes} bytes of padding`);
  probe.close();
});

test('probe: waits its interval, backs off after a failure, resets after a success, stays quiet after a drop', () => {
  const sink = new CountingPadding();
  const probe = new ProbeController(sink, { clusterMs: 100, minIntervalMs: 3000, maxIntervalMs: 24_000 });
  const run = (start: number, estimateBefore: number, estimateAfter: number): boolean => {
    probe.tick(start, estimateBefore, 300_000, 2_000_000);
    if (!probe.probing) return false;
    probe.pace(start + 100);
    probe.tick(start + 1200, estimateAfter, 300_000, 2_000_000); // verdict (a success starts the next probe at once)
    if (probe.probing) probe.pace(start + 1300);
    return true;
  };
  assert.equal(run(0, 400_000, 400_000), true, 'first probe');
  assert.equal(probe.probesSucceeded, 0);
  assert.equal(run(3000, 400_000, 400_000), false, 'after a failure the interval doubled to 6 s');
  assert.equal(run(6200, 400_000, 900_000), true);
  assert.equal(probe.probesSucceeded, 1);
  probe.onEstimate(900_000, 9_000);
  probe.onEstimate(500_000, 9_100); // a drop
  assert.equal(run(10_500, 500_000, 500_000), false, 'quiet for 3 s after the estimate fell');
  assert.equal(run(12_200, 500_000, 500_000), true);
  probe.close();
});

test('defaults: after a successful probe the next starts with its verdict; failures back off 2 s, 4 s, then every 5 s', () => {
  const probe = new ProbeController(new CountingPadding());
  probe.tick(0, 400_000, 300_000, 2_000_000);
  assert.ok(probe.probing, 'first probe');
  probe.pace(600);
  probe.tick(1700, 900_000, 300_000, 2_000_000);
  assert.equal(probe.probesSucceeded, 1);
  assert.ok(probe.probing, 'the next probe started with the verdict');
  probe.pace(2300);
  const starts: number[] = [];
  for (let t = 2400; t <= 20_000; t += 100) {
    const before = probe.probesStarted;
    probe.tick(t, 900_000, 300_000, 2_000_000); // no gain: every later probe fails
    if (probe.probesStarted > before) starts.push(t);
    if (probe.probing) probe.pace(t + 600);
  }
  // Probe 2 ended at 2300 and failed: the next 2 s after, then 4 s after probe 3's end (4900), then 5 s after probe 4's (9500).
  assert.deepEqual(starts, [4300, 8900, 14_500]);
  probe.close();
});

class Estimate extends TypedEmitter<{ estimate: [bps: number] }> {
  estimateBps = 2_500_000;
  lossyWindows = 0;
  hasFeedback = true;
  set(bps: number, lossyWindows = this.lossyWindows): void {
    this.estimateBps = bps;
    this.lossyWindows = lossyWindows;
    this.emit('estimate', bps);
  }
}

test('StreamAllocator applies targets to its tracks and follows the estimate', async () => {
  const estimate = new Estimate();
  const applied = new Map<string, LayerOption | null>();
  const track = (id: string, priority: number): AllocatedTrack => ({
    ...video(id, priority),
    apply: (o) => {
      applied.set(id, o);
    },
  });
  const allocator = new StreamAllocator(estimate, new CountingPadding());
  allocator.add(track('speaker', PRIORITY.speaker));
  allocator.add(track('rest', PRIORITY.normal));
  await new Promise((r) => setImmediate(r));
  // 2.5M × 0.9 = 2.25M: both lowest (300k), then the speaker to the top (+1.35M, × 1.15 to
  // go up), the rest to the middle with what is left (+350k × 1.15 ≤ 600k).
  assert.deepEqual(applied.get('speaker'), SIMULCAST[2]);
  assert.deepEqual(applied.get('rest'), SIMULCAST[1]);
  // A low estimate without loss (a receiver's jittery clock on a busy machine): no pause.
  estimate.set(300_000);
  assert.deepEqual(applied.get('speaker'), SIMULCAST[0], 'the speaker keeps its lowest layer');
  assert.deepEqual(applied.get('rest'), SIMULCAST[0], 'the rest keeps its lowest layer too');
  assert.equal(allocator.pauseAllowed, false);
  // One lossy window is not yet sustained loss.
  estimate.set(300_000, 1);
  assert.deepEqual(applied.get('rest'), SIMULCAST[0], 'one lossy second pauses nothing');
  // Two in a row: the lowest layers do not fit, the rest is paused.
  estimate.set(300_000, 2);
  assert.deepEqual(applied.get('speaker'), SIMULCAST[0], 'the speaker keeps its lowest layer');
  assert.equal(applied.get('rest'), null, 'the rest is paused');
  estimate.set(300_000, 0);
  assert.equal(applied.get('rest'), null, 'still paused right after the loss ends (10 s memory)');
  assert.ok(allocator.deficitBps > 0);
  allocator.remove('speaker');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(applied.get('rest'), SIMULCAST[0], "the speaker's share goes to the other track");
  estimate.set(1_000_000);
  assert.deepEqual(applied.get('rest'), SIMULCAST[1], 'and it climbs with the estimate');
  assert.ok(allocator.allocations >= 4);
  allocator.close();
});

test('a subscriber that never sent congestion feedback gets its preferred layers and no probes', async () => {
  const estimate = new Estimate();
  estimate.hasFeedback = false;
  estimate.estimateBps = 300_000; // the start value would say 300k; without feedback it means nothing
  const applied = new Map<string, LayerOption | null>();
  const padding = new CountingPadding();
  const allocator = new StreamAllocator(estimate, padding, { intervalMs: 20 });
  allocator.add({
    ...video('v'),
    apply: (o) => {
      applied.set('v', o);
    },
  });
  allocator.add({
    ...video('waiting', PRIORITY.normal, []),
    apply: (o) => {
      applied.set('waiting', o);
    },
  });
  await new Promise((r) => setTimeout(r, 120));
  assert.deepEqual(applied.get('v'), SIMULCAST[2]);
  assert.equal(applied.has('waiting'), false, 'a track with nothing measured is left alone');
  assert.equal(allocator.probe.probesStarted, 0);
  assert.equal(padding.packets, 0);
  allocator.close();
});

/**
 * The load tool's measurement math: loss from sequence numbers (reordering, duplicates, wrap),
 * RFC 3550 §6.4.1 interarrival jitter against values worked out by hand, percentiles, the
 * capture-time trailer (fuzzed), the server-CPU parsers, and the replayer's grown VP8 stream.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { RtpHeaderView, Vp8Descriptor, parseRtpHeader, parseVp8Descriptor } from '../../src/rtc/rtp/index.js';
import { TRAILER_LENGTH, TRAILER_MAGIC, TrailerView, readTrailer, writeTrailer } from '../../bench/loadtest/media-trailer.js';
import { LogHistogram, percentile } from '../../bench/loadtest/percentiles.js';
import { TrackReceiveStats } from '../../bench/loadtest/receive-stats.js';
import { RtpReplayer } from '../../bench/loadtest/rtp-replayer.js';
import { loadRecordedMedia } from '../../bench/loadtest/run.js';
import { parseCpuSecondsMetric, parseProcStatCpuTicks, procTreeCpuSource } from '../../bench/loadtest/server-cpu.js';
import { checkLoopback, isLoopbackAddress, parseLoadtestArgs } from '../../bench/loadtest/options.js';
import { decodeServerFrame } from '../../bench/loadtest/switchboard-driver.js';
import { mulberry32, xorshift32 } from '../helpers/random.js';

/** Feeds sequence numbers (1 ms apart, 1 kHz clock so timestamps do not matter here). */
function seqs(list: number[]): TrackReceiveStats {
  const s = new TrackReceiveStats(1000);
  list.forEach((seq, i) => s.onPacket(seq, i, 100, i * 1000, NaN));
  return s;
}

test('loss: in order, a gap, a gap filled late, reordering, duplicates, wrap', () => {
  const inOrder = seqs([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([inOrder.expected, inOrder.lost, inOrder.duplicates, inOrder.reordered], [10, 0, 0, 0]);
  const gap = seqs([0, 1, 2, 4, 5]);
  assert.deepEqual([gap.expected, gap.lost], [6, 1]);
  assert.equal(gap.lossFraction, 1 / 6);
  const filledLate = seqs([0, 1, 3, 4, 2]);
  assert.deepEqual([filledLate.expected, filledLate.lost, filledLate.reordered], [5, 0, 1]);
  const dups = seqs([0, 1, 1, 2, 2, 3]);
  assert.deepEqual([dups.packets, dups.expected, dups.lost, dups.duplicates, dups.reordered], [6, 4, 0, 2, 0]);
  const lateDup = seqs([0, 2, 1, 1, 3]);
  assert.deepEqual([lateDup.expected, lateDup.lost, lateDup.duplicates, lateDup.reordered], [4, 0, 1, 1]);
  const dupHidesLoss = seqs([0, 1, 1, 3]); // a duplicate must not stand in for the lost 2
  assert.deepEqual([dupHidesLoss.expected, dupHidesLoss.lost], [4, 1]);
  const wrap = seqs([65534, 65535, 0, 1]);
  assert.deepEqual([wrap.expected, wrap.lost], [4, 0]);
  const wrapLoss = seqs([65534, 0, 1]);
  assert.deepEqual([wrapLoss.expected, wrapLoss.lost], [4, 1]);
  const beforeFirst = seqs([10, 9, 11]); // the first packet seen was not the first sent
  assert.deepEqual([beforeFirst.expected, beforeFirst.lost, beforeFirst.reordered], [3, 0, 1]);
  const reorderedAcrossWrap = seqs([65535, 1, 0, 2]);
  assert.deepEqual([reorderedAcrossWrap.expected, reorderedAcrossWrap.lost], [4, 0]);
});

test('loss: random reordering and duplication of a stream with known losses', () => {
  const rand = xorshift32(0x10ad7e57);
  for (let round = 0; round < 50; round++) {
    const start = rand(65536);
    const n = 200 + rand(800);
    const sent = Array.from({ length: n }, (_, i) => (start + i) & 0xffff);
    // Keep the first and the last, drop some in between.
    const kept = sent.filter((_, i) => i === 0 || i === n - 1 || rand(100) >= 5);
    const dropped = n - kept.length;
    // Duplicate some, then swap neighbours (reordering within a few packets, as networks do).
    const arriving = kept.flatMap((s) => (rand(100) < 3 ? [s, s] : [s]));
    for (let i = 1; i + 1 < arriving.length - 1; i++) {
      if (rand(100) < 10) [arriving[i], arriving[i + 1]] = [arriving[i + 1] as number, arriving[i] as number];
    }
    const stats = seqs(arriving);
    assert.equal(stats.expected, n, `round ${round}`);
    assert.equal(stats.lost, dropped, `round ${round}`);
    assert.equal(stats.duplicates, arriving.length - kept.length, `round ${round}`);
  }
});

test('jitter: RFC 3550 §6.4.1 J += (|D| − J)/16, worked by hand', () => {
  // 1 kHz clock: one timestamp unit per millisecond.
  const s = new TrackReceiveStats(1000);
  s.onPacket(0, 0, 100, 0, NaN);
  s.onPacket(1, 10, 100, 10_000, NaN); // D = (10 − 0) − (10 − 0) = 0 → J = 0
  assert.equal(s.jitter, 0);
  s.onPacket(2, 20, 100, 25_000, NaN); // D = 15 − 10 = 5 → J = 5/16 = 0.3125
  assert.equal(s.jitter, 0.3125);
  s.onPacket(3, 30, 100, 30_000, NaN); // D = 5 − 10 = −5 → J = 0.3125 + (5 − 0.3125)/16 = 0.60546875
  assert.equal(s.jitter, 0.60546875);
  assert.equal(s.jitterMs, 0.60546875);
  // 90 kHz: the same arrivals in µs, timestamps × 90; J in units, ms unchanged.
  const v = new TrackReceiveStats(90_000);
  [
    [0, 0],
    [900, 10_000],
    [1800, 25_000],
    [2700, 30_000],
  ].forEach(([ts, at], i) => v.onPacket(i, ts as number, 100, at as number, NaN));
  assert.ok(Math.abs(v.jitter - 0.60546875 * 90) < 1e-9);
  assert.ok(Math.abs(v.jitterMs - 0.60546875) < 1e-9);
  // Across the 32-bit timestamp wrap: 0xfffffff6 → 0 is 10 units later.
  const w = new TrackReceiveStats(1000);
  w.onPacket(0, 0xfffffff6, 100, 0, NaN);
  w.onPacket(1, 0, 100, 10_000, NaN); // D = 0
  w.onPacket(2, 10, 100, 30_000, NaN); // D = 20 − 10 = 10 → J = 0.625
  assert.equal(w.jitter, 0.625);
});

test('bit rate and latency of a track', () => {
  const s = new TrackReceiveStats(90_000);
  for (let i = 0; i <= 100; i++) s.onPacket(i, i * 900, 1000, 1_000_000 + i * 10_000, 1_000_000 + i * 10_000 - 2000 - (i % 2) * 1000);
  // 101 packets of 1000 bytes over 1 s.
  assert.equal(s.bitrate, 808_000);
  assert.equal(s.latencyUs.count, 101);
  assert.ok(Math.abs(s.latencyUs.percentile(50) - 2000) <= 40, `p50 ${s.latencyUs.percentile(50)}`);
  assert.ok(Math.abs(s.latencyUs.percentile(99) - 3000) <= 60, `p99 ${s.latencyUs.percentile(99)}`);
  s.onPacket(101, 0, 100, 2_000_000, NaN); // unmarked: no latency sample
  assert.equal(s.latencyUs.count, 101);
});

test('percentiles: nearest rank, and the log histogram within its 2 % buckets', () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile(values, 100), 100);
  assert.equal(percentile(values, 0), 1);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
  const h = new LogHistogram();
  assert.ok(Number.isNaN(h.percentile(50)));
  const rand = mulberry32(99);
  const sample: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const v = Math.exp(rand() * 14); // 1 µs .. 1.2 s, log-uniform
    sample.push(v);
    h.add(v);
  }
  for (const p of [1, 50, 90, 99, 99.9]) {
    const exact = percentile(sample, p);
    assert.ok(Math.abs(h.percentile(p) - exact) / exact < 0.02, `p${p}: ${h.percentile(p)} vs ${exact}`);
  }
  h.add(-5);
  h.add(NaN);
  assert.equal(h.count, 20_000);
  const other = new LogHistogram();
  other.add(5e7);
  h.merge(other);
  assert.equal(h.count, 20_001);
  assert.equal(h.percentile(100), 5e7);
});

test('trailer: round trip, and random payloads are never misread nor throw', () => {
  const packet = Buffer.alloc(12 + 40 + TRAILER_LENGTH);
  writeTrailer(packet, 4242, 1_790_000_000_123_456);
  const view = new TrailerView();
  assert.ok(readTrailer(packet, 12, packet.length, view));
  assert.deepEqual([view.trackId, view.captureUs], [4242, 1_790_000_000_123_456]);
  assert.ok(!readTrailer(packet, 12, packet.length - 1, view), 'the trailer must end the payload');
  assert.ok(!readTrailer(packet, packet.length - TRAILER_LENGTH + 1, packet.length, view), 'a payload shorter than the trailer');
  packet.writeDoubleBE(NaN, packet.length - 8);
  assert.ok(!readTrailer(packet, 12, packet.length, view), 'a time that is not a number');
  const rand = xorshift32(0x7a11e4);
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    const buf = Buffer.alloc(rand(80));
    for (let j = 0; j < buf.length; j++) buf[j] = rand(256);
    if (i % 4 === 0 && buf.length >= TRAILER_LENGTH) buf.writeUInt32BE(TRAILER_MAGIC, buf.length - TRAILER_LENGTH);
    const start = rand(buf.length + 2);
    const end = rand(buf.length + 20);
    if (readTrailer(buf, start, end, view)) {
      accepted++;
      assert.ok(end - start >= TRAILER_LENGTH && end <= buf.length && Number.isFinite(view.captureUs));
    }
  }
  assert.ok(accepted > 0);
});

test('server CPU: /proc/PID/stat utime + stime, and process_cpu_seconds_total from /metrics', () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3)); // field n holds n
  fields[11] = '250';
  fields[12] = '50';
  assert.equal(parseProcStatCpuTicks(`1234 (a (b) c) ${fields.join(' ')}`), 300);
  assert.ok(parseProcStatCpuTicks(readFileSync('/proc/self/stat', 'utf8')) >= 0);
  assert.throws(() => parseProcStatCpuTicks('garbage'));
  const text = [
    '# HELP switchboard_process_process_cpu_user_seconds_total Total user CPU time spent in seconds.',
    '# TYPE switchboard_process_process_cpu_user_seconds_total counter',
    'switchboard_process_process_cpu_user_seconds_total 1.5',
    'other_process_cpu_seconds_total{worker="1"} 9',
    '# TYPE switchboard_process_process_cpu_seconds_total counter',
    'switchboard_process_process_cpu_seconds_total 2.25',
  ].join('\n');
  assert.equal(parseCpuSecondsMetric(text), 2.25);
  assert.equal(parseCpuSecondsMetric('process_cpu_seconds_total 3e-1 1700000000000'), 0.3);
  assert.equal(parseCpuSecondsMetric('nothing here'), null);
  // /metrics text comes from the network: random lines never throw and yield a finite number or null.
  const rand = xorshift32(0xc0ffee);
  const alphabet = 'process_cpu_seconds_total{}="# \n0123456789.eE+-NaInfity';
  for (let i = 0; i < 5000; i++) {
    let line = rand(3) === 0 ? 'process_cpu_seconds_total ' : '';
    for (let j = rand(60); j > 0; j--) line += alphabet[rand(alphabet.length)];
    const v = parseCpuSecondsMetric(line);
    assert.ok(v === null || Number.isFinite(v), line);
  }
});

test('server CPU of a process tree: the server and the workers under it', async () => {
  // A child that burns about 0.4 s of CPU, then waits: its time counts in its parent's tree.
  const child = spawn(
    process.execPath,
    ['-e', 'const end = Date.now() + 400; while (Date.now() < end); console.log("done"); setTimeout(() => {}, 10000)'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  try {
    await new Promise((r) => child.stdout.once('data', r));
    const childSeconds = await procTreeCpuSource(child.pid as number).read();
    assert.ok(childSeconds >= 0.3, `the child used ${childSeconds} s`);
    const own = process.cpuUsage();
    const tree = await procTreeCpuSource(process.pid).read();
    assert.ok(tree >= (own.user + own.system) / 1e6 - 0.05 + childSeconds - 0.05, `tree ${tree} s holds this process and the child`);
  } finally {
    child.kill('SIGKILL');
  }
});

test('several --url and --topology', () => {
  const o = parseLoadtestArgs(
    [
      '--url',
      'http://127.0.0.1:1',
      '--url',
      'ws://127.0.0.1:2/ws',
      '--rooms',
      '1',
      '--publishers',
      '1',
      '--subscribers',
      '0',
      '--duration',
      '1',
    ],
    {},
  );
  assert.deepEqual(
    o.urls.map((u) => u.href),
    ['http://127.0.0.1:1/', 'ws://127.0.0.1:2/ws'],
  );
  assert.equal(o.url.href, 'http://127.0.0.1:1/');
  assert.equal(o.topology, 'sfu');
  assert.equal(
    parseLoadtestArgs(
      ['--url', 'http://127.0.0.1:1', '--topology', 'mcu', '--rooms', '1', '--publishers', '1', '--subscribers', '0', '--duration', '1'],
      {},
    ).topology,
    'mcu',
  );
});

test('loopback: what counts, and names that resolve to it', async () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopbackAddress(a), a);
  for (const a of ['10.0.0.1', '198.18.0.1', '::', '0.0.0.0', '::ffff:198.18.0.1', 'fe80::1']) assert.ok(!isLoopbackAddress(a), a);
  await checkLoopback(new URL('http://localhost:1/'), false);
  await checkLoopback(new URL('ws://[::1]:1/ws'), false);
  await assert.rejects(
    checkLoopback(new URL('http://198.18.0.1/'), false),
    /refusing 198\.18\.0\.1: it resolves to 198\.18\.0\.1, not loopback/,
  );
  await checkLoopback(new URL('http://198.18.0.1/'), true); // allowed, and nothing is resolved or sent
});

test('replayer: grows VP8 to the target rate with valid continuation packets, every packet marked', async () => {
  const media = loadRecordedMedia();
  const sent: Buffer[] = [];
  const target = 1_000_000;
  const r = new RtpReplayer(media.video, {
    kind: 'video',
    ssrc: 0x1234,
    payloadType: 96,
    clockRate: 90000,
    send: (p) => sent.push(Buffer.from(p)),
    targetBitrate: target,
    trackId: 7,
  });
  r.start();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  r.stop();
  assert.ok(Math.abs(r.bitrate - target) < 0.2 * target, `sent ${r.bitrate} bit/s, target ${target}`);
  const view = new RtpHeaderView();
  const vp8 = new Vp8Descriptor();
  const trailer = new TrailerView();
  let lastSeq = -1;
  let lastTs = -1;
  let frameOpen = false;
  for (const p of sent) {
    assert.ok(parseRtpHeader(p, view));
    assert.ok(p.length <= 1200 + TRAILER_LENGTH);
    assert.equal(view.ssrc, 0x1234);
    if (lastSeq >= 0) assert.equal(view.sequenceNumber, (lastSeq + 1) & 0xffff, 'contiguous sequence numbers');
    lastSeq = view.sequenceNumber;
    assert.ok(readTrailer(p, view.headerLength, view.headerLength + view.payloadLength, trailer));
    assert.equal(trailer.trackId, 7);
    assert.ok(parseVp8Descriptor(p, view.headerLength, view.payloadLength, vp8));
    // A packet of a new picture starts a partition; a packet of an open picture keeps its timestamp.
    if (!frameOpen) assert.ok(vp8.startOfPartition, 'a frame starts with S=1');
    else assert.equal(view.timestamp, lastTs, 'a frame keeps its timestamp until its marker');
    lastTs = view.timestamp;
    frameOpen = !view.marker;
  }
  assert.ok(sent.length > 100);
});

test('driver: server frames are checked before use; random and mutated frames never throw', () => {
  const offer = {
    type: 'sfu-offer',
    transport: 'subscribe',
    sdp: 'v=0\r\n',
    revision: 3,
    tracks: [{ mid: '0', kind: 'video', participantId: 'p1', trackId: 't', active: true }],
  };
  assert.equal(typeof decodeServerFrame(JSON.stringify(offer)), 'object');
  assert.equal(decodeServerFrame('{"type":"sfu-offer","sdp":"v=0","revision":"3","tracks":[]}'), 'a malformed sfu-offer');
  assert.equal(decodeServerFrame('{"type":"sfu-offer","sdp":"v=0","revision":3,"tracks":[{"mid":0}]}'), 'a malformed sfu-offer track');
  assert.equal(decodeServerFrame('{"type":"joined","participants":null}'), 'a malformed joined');
  assert.equal(decodeServerFrame('[1]'), 'a frame that is not a JSON object');
  assert.equal(decodeServerFrame('{"type":7}'), 'a message without a type');
  assert.equal(decodeServerFrame('nope'), 'a frame that is not JSON');
  const samples = [
    JSON.stringify(offer),
    '{"type":"sfu-answer","sdp":"v=0"}',
    '{"type":"joined","participants":[{"id":"a","name":"b"}]}',
    '{"type":"participant-joined","participant":{"id":"a","name":"b"}}',
    '{"type":"error","code":"x","message":"y"}',
    '{"type":"welcome"}',
  ];
  const rand = xorshift32(0xd21e7);
  const junk = '{}[]":,0123456789.-eEtruefalsnul sfu-offer tracks mid kind video';
  for (let i = 0; i < 20_000; i++) {
    const chars = [...(samples[rand(samples.length)] as string)];
    for (let n = 1 + rand(4); n > 0; n--) {
      const at = rand(chars.length + 1);
      const op = rand(3);
      if (op === 0) chars.splice(at, 1);
      else if (op === 1) chars.splice(at, 0, junk[rand(junk.length)] as string);
      else chars[at] = junk[rand(junk.length)] as string;
    }
    const out = decodeServerFrame(chars.join(''));
    assert.ok(typeof out === 'string' || (typeof out === 'object' && typeof out.type === 'string'));
  }
});

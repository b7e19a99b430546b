/**
 * Media in worker processes (MediaWorkerPool, media-worker.ts) with `workers: 2, mcuWorkers: 1`
 * and headless libdatachannel peers: placement by measured load (a busy worker is passed over
 * though it holds fewer participants), two SFU rooms on two workers (two RTC ports) each
 * forwarding its publisher's media, kill -9 of one worker (its rooms' members get `media-lost`
 * and leave the room, the other worker's room keeps flowing, the worker comes back on its port
 * and takes a new room), an MCU room on the MCU worker at niceness 10, error codes across the
 * hop, and the workers in /healthz and /metrics.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import type { ServerConfig } from '../../src/server/config.js';
import { placementScore, type WorkerSlot } from '../../src/server/workers/MediaWorkerPool.js';
import { OpusFrameDecoder } from '../../src/mcu/codec/opus.js';
import { parseRtpHeader, RtpHeaderView } from '../../src/rtc/rtp/index.js';
import { SfuNodePeer } from '../helpers/sfu-node-peer.js';
import { NodeDataChannelRtc, releaseNodeDataChannel } from '../helpers/sfu-node-peer-ndc.js';
import { waitFor } from '../helpers/browsers.js';
import { TestClient } from '../helpers/ws-client.js';

const BASE: Partial<ServerConfig> = {
  port: 0,
  turnPort: 0,
  rtcPort: 0,
  host: '127.0.0.1',
  rtcHost: '127.0.0.1',
  announcedIps: ['127.0.0.1'],
  turnEnabled: false,
  logLevel: 'silent',
  workers: 2,
  mcuWorkers: 1,
  maxMcuRooms: 1,
};
/** The Opus payload type of the server's subscribe offers (SfuParticipant SUBSCRIBE_PT). */
const SUBSCRIBE_OPUS_PT = 111;

/** A libdatachannel peer whose received Opus is decoded with libopus: frames decoded and their loudest sample. */
class DecodingRtc extends NodeDataChannelRtc {
  private readonly decoder = new OpusFrameDecoder();
  private readonly view = new RtpHeaderView();
  decodedFrames = 0;
  peak = 0;

  override onSubscribeRtp(cb: (packet: Buffer) => void): void {
    super.onSubscribeRtp((packet) => {
      cb(packet);
      if (!parseRtpHeader(packet, this.view) || this.view.payloadType !== SUBSCRIBE_OPUS_PT) return;
      if (!this.decoder.decode(packet.subarray(this.view.headerLength, this.view.headerLength + this.view.payloadLength))) return;
      this.decodedFrames++;
      for (const v of this.decoder.frame) this.peak = Math.max(this.peak, Math.abs(v));
    });
  }
}

let sb: Switchboard;
const clients: TestClient[] = [];
const peers: SfuNodePeer[] = [];

before(async () => {
  const t = performance.now();
  sb = await startSwitchboard(BASE);
  console.log(`startSwitchboard with 2 media workers + 1 MCU worker: ${Math.round(performance.now() - t)} ms`);
});

after(async () => {
  for (const c of clients) c.close();
  for (const p of peers) await p.close();
  await sb?.close();
  await releaseNodeDataChannel();
});

const pool = () => {
  assert.ok(sb.media, 'the server runs media workers');
  return sb.media;
};
const slot = (name: string): WorkerSlot => pool().slots.find((s) => s.name === name) as WorkerSlot;
const workerOf = (room: string): string | undefined => pool().workerOf(room)?.name;

async function peer(room: string, name: string, topology: 'sfu' | 'mcu' = 'sfu'): Promise<SfuNodePeer> {
  const p = await SfuNodePeer.join(sb.wsUrl, room, name, new DecodingRtc(name), 20_000, topology);
  peers.push(p);
  return p;
}

async function member(room: string, topology: 'sfu' | 'mcu' = 'sfu'): Promise<TestClient> {
  const [c] = await TestClient.hello(sb.wsUrl);
  clients.push(c);
  c.send({ type: 'join', room, topology });
  await c.next('joined');
  return c;
}

/** Waits until `to` has received audio and VP8 keyframes from `from` (and returns the video packet count). */
async function mediaArrives(to: SfuNodePeer, from: SfuNodePeer, what: string): Promise<number> {
  const got = await waitFor(
    what,
    () => {
      const r = to.receivedFrom(from.id);
      return r.audioPackets > 10 && r.videoKeyframes > 0 ? r : null;
    },
    20_000,
    100,
  );
  return got.videoPackets;
}

async function flowsOn(to: SfuNodePeer, from: SfuNodePeer, what: string): Promise<void> {
  const before = to.receivedFrom(from.id).videoPackets + to.receivedFrom(from.id).audioPackets;
  await waitFor(
    what,
    () => (to.receivedFrom(from.id).videoPackets + to.receivedFrom(from.id).audioPackets > before + 50 ? true : null),
    10_000,
    100,
  );
}

let busyA: SfuNodePeer, busyB: SfuNodePeer, busyC: SfuNodePeer;
let pubB: SfuNodePeer, subB: SfuNodePeer;
let idle: TestClient[];

test('placement follows measured load: a busy worker is passed over though it has fewer participants', { timeout: 90_000 }, async () => {
  // Idle room first: both workers idle, a tie, so the lower index takes it.
  idle = [await member('idle'), await member('idle'), await member('idle'), await member('idle')];
  assert.equal(workerOf('idle'), 'media-0');
  // The busy room goes to the worker with fewer participants (both still idle).
  busyA = await peer('busy', 'busy-a');
  busyB = await peer('busy', 'busy-b');
  busyC = await peer('busy', 'busy-c');
  assert.equal(workerOf('busy'), 'media-1');
  await mediaArrives(busyB, busyA, 'busy room forwards');
  // media-1 now forwards 3 publishers to 2 subscribers each: wait for its reports to show it.
  await waitFor(
    'media-1 reports more load than media-0',
    () => (placementScore(slot('media-1').load) > placementScore(slot('media-0').load) + 0.05 ? true : null),
    20_000,
    200,
  );
  console.log(`load: media-0 ${JSON.stringify(slot('media-0').load)}, media-1 ${JSON.stringify(slot('media-1').load)}`);
  assert.ok(slot('media-0').participants > slot('media-1').participants, 'media-0 holds more participants');
  pubB = await peer('quiet', 'pub-b');
  subB = await peer('quiet', 'sub-b');
  assert.equal(workerOf('quiet'), 'media-0', 'the new room goes to the less loaded worker, not the emptier one');
});

test('two SFU rooms on two workers (two RTC ports) each forward their own media', { timeout: 60_000 }, async () => {
  assert.notEqual(slot('media-0').port, slot('media-1').port);
  await mediaArrives(subB, pubB, 'quiet room: subscriber gets its publisher');
  await mediaArrives(busyC, busyA, 'busy room: subscriber gets its publisher');
  // The subscribers decode what they get (libopus): sound, not silence or garbage.
  for (const [who, what] of [
    [subB, 'quiet room'],
    [busyC, 'busy room'],
  ] as const) {
    const rtc = who.rtc as DecodingRtc;
    await waitFor(`${what}: Opus decoded`, () => (rtc.decodedFrames >= 25 && rtc.peak > 1000 ? true : null), 10_000, 100);
  }
  assert.equal(subB.receivedFrom(busyA.id).videoPackets, 0, "nothing of the other room's media");
  assert.deepEqual(subB.errors, []);
  assert.deepEqual(busyA.errors, []);
});

test(
  'kill -9 of a worker: its rooms get media-lost, the other room flows on, the worker comes back and takes a new room',
  { timeout: 90_000 },
  async () => {
    const dead = slot('media-0');
    const port = dead.port;
    const pid = dead.process?.pid as number;
    process.kill(pid, 'SIGKILL');
    for (const c of idle) {
      const e = await c.next('error', 5000);
      assert.equal(e.code, 'media-lost');
      assert.match(e.message, /room "idle" stopped; join the room again/);
    }
    await waitFor('the quiet room members hear media-lost', () => (subB.errors.some((e) => /media-lost/.test(e)) ? true : null), 5000, 50);
    assert.ok(pubB.errors.some((e) => /media-lost/.test(e)));
    assert.equal(sb.signaling.stats.rooms, 1, 'the lost rooms are gone from signaling; the busy room remains');
    await flowsOn(busyB, busyA, 'the busy room keeps flowing on the other worker');
    // Back on the same port after the backoff.
    await waitFor('media-0 is up again', () => (dead.process && !dead.process.exited && dead.restarts === 1 ? true : null), 10_000, 100);
    assert.notEqual(dead.process?.pid, pid);
    assert.equal(dead.port, port, 'the restarted worker has its port again');
    assert.equal(pool().crashes, 1);
    // The evicted page rejoins: a new room works, on the restarted (idle) worker.
    const a = await peer('after', 'after-a');
    const b = await peer('after', 'after-b');
    assert.equal(workerOf('after'), 'media-0');
    await mediaArrives(b, a, 'a room on the restarted worker forwards');
    await flowsOn(busyB, busyA, 'the busy room still flows');
  },
);

test('an MCU room lands on the MCU worker, which runs at niceness 10; maxMcuRooms holds across workers', { timeout: 60_000 }, async () => {
  const c = await member('mcu-room', 'mcu');
  assert.equal(workerOf('mcu-room'), 'mcu-2');
  await c.next('sfu-offer', 10_000); // the mixer's two tracks, from the MCU worker
  const pid = slot('mcu-2').process?.pid as number;
  // /proc/<pid>/stat: field 19 is the nice value (after the parenthesised command name).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  assert.equal(Number(fields[16]), 10, 'nice value of the MCU worker');
  const mediaStat = readFileSync(`/proc/${slot('media-1').process?.pid as number}/stat`, 'utf8');
  assert.equal(Number(mediaStat.slice(mediaStat.lastIndexOf(')') + 2).split(' ')[16]), 0, 'media workers run at the default');
  const [d] = await TestClient.hello(sb.wsUrl);
  clients.push(d);
  const refused = await d.expectError({ type: 'join', id: 'j2', room: 'mcu-2nd', topology: 'mcu' });
  assert.equal(refused.code, 'mcu-capacity');
  assert.match(refused.message, /maximum of 1 MCU rooms/);
});

test('error codes survive the hop to the worker', { timeout: 30_000 }, async () => {
  const c = await member('codes');
  const size = await c.expectError({ type: 'sfu-video-size', id: 's1', trackId: 'no-such-track', width: 320, height: 180 });
  assert.equal(size.code, 'not-found');
  assert.match(size.message, /no forwarded video track "no-such-track"/);
  const sdp = await c.expectError({ type: 'sfu-offer', id: 'o1', transport: 'publish', sdp: 'v=0\r\nnot sdp' });
  assert.equal(sdp.code, 'invalid-sdp');
  const layout = await c.expectError({ type: 'mcu-layout', id: 'l1', layout: 'grid' });
  assert.equal(layout.code, 'not-mcu-room');
  c.send({ type: 'leave' });
  await c.next('left');
  const out = await c.expectError({ type: 'sfu-video-source', id: 'v1', source: 'screen' });
  assert.equal(out.code, 'not-in-room');
});

test('/healthz lists the workers; /metrics has the SFU gauges per worker and worker CPU and restarts', { timeout: 30_000 }, async () => {
  const health = (await (await fetch(`${sb.url}/healthz`)).json()) as { workers: Array<Record<string, unknown>> };
  assert.deepEqual(
    health.workers.map((w) => [w.name, w.kind, w.up]),
    [
      ['media-0', 'media', true],
      ['media-1', 'media', true],
      ['mcu-2', 'mcu', true],
    ],
  );
  const w1 = health.workers[1]!;
  assert.equal(w1.pid, slot('media-1').process?.pid);
  assert.equal(w1.port, slot('media-1').port);
  assert.equal(w1.rooms, 1);
  assert.equal(w1.participants, 3);
  assert.equal(typeof w1.cpu, 'number');
  assert.equal(health.workers[0]!.restarts, 1);
  const text = await (await fetch(`${sb.url}/metrics`)).text();
  const value = (line: string): number => Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.equal(value('switchboard_sfu_participants{worker="media-1"}'), 3);
  assert.equal(value('switchboard_sfu_rooms{worker="media-0"}'), 1);
  assert.equal(value('switchboard_mcu_rooms{worker="mcu-2"}'), 1);
  assert.equal(value('switchboard_worker_restarts_total{worker="media-0",kind="media"}'), 1);
  assert.equal(value('switchboard_worker_up{worker="mcu-2",kind="mcu"}'), 1);
  assert.ok(value('switchboard_worker_cpu_ratio{worker="media-1",kind="media"}') > 0);
  assert.ok(value('switchboard_rtc_port_udp_datagrams_total{worker="media-1"}') > 0);
  assert.match(text, /# TYPE switchboard_worker_entry_faults_total gauge/);
  assert.equal(value('switchboard_mcu_rooms_refused_total'), 1);
  assert.equal((text.match(/^# TYPE switchboard_sfu_rooms /gm) ?? []).length, 1, 'one family, a series per worker');
});

test('a worker port that is taken fails the start, naming --rtc-port and the range', { timeout: 60_000 }, async () => {
  // A port P whose P+1 is held by someone else.
  let blocker: Socket | undefined;
  let first = 0;
  for (let i = 0; i < 20 && !blocker; i++) {
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
    first = probe.address().port;
    probe.close();
    if (first >= 65535) continue;
    const s = createSocket('udp4');
    blocker = await new Promise<Socket | undefined>((resolve) => {
      s.once('error', () => resolve(undefined));
      s.bind(first + 1, '127.0.0.1', () => resolve(s));
    });
  }
  assert.ok(blocker, 'found a port pair');
  try {
    await assert.rejects(startSwitchboard({ ...BASE, port: 0, rtcPort: first, workers: 2, mcuWorkers: 0 }), (err: Error) => {
      assert.match(
        err.message,
        new RegExp(
          `media-1 could not start on RTC port ${first + 1} \\(--rtc-port ${first}: the workers use ports ${first}-${first + 1}\\)`,
        ),
      );
      return true;
    });
  } finally {
    blocker.close();
  }
});

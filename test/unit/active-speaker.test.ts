/**
 * ActiveSpeakerObserver on synthetic level sequences (packets every 20 ms, as Opus sends them;
 * windows closed every 200 ms by calling `tick` with a simulated clock): silence, a first
 * speaker, hysteresis against a brief interjection, a sustained takeover, DTX gaps, a speaker
 * leaving. And the audio level read from RTP packets by a real Producer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RtpHeaderView, parseRtpHeader, writeRtpHeader } from '../../src/rtc/rtp/index.js';
import { ActiveSpeakerObserver, type ActiveSpeaker } from '../../src/sfu/speaker/ActiveSpeakerObserver.js';
import { AudioLevelMeter } from '../../src/sfu/receive/AudioLevelMeter.js';
import { loadRecordedMedia } from '../helpers/sfu-node-peer-media.js';
import { testProducer } from '../helpers/media-core.js';

const SILENCE = 127;
/** Levels in −dBov: a voice near the microphone, a quieter one, room noise. */
const LOUD = 25;
const VOICE = 35;
const NOISE = 85;

interface FakeProducer {
  id: string;
  ownerId: string;
  audioLevel: AudioLevelMeter;
}

function producer(owner: string): FakeProducer {
  return { id: `${owner}-audio`, ownerId: owner, audioLevel: new AudioLevelMeter(1) };
}

/** Drives an observer on a simulated clock: `run(ms, levels)` sends a packet per 20 ms per producer (null: no packet, as with DTX). */
class Scene {
  now = 1_000_000;
  readonly events: Array<{ at: number; speaker: ActiveSpeaker | null }> = [];
  constructor(readonly observer: ActiveSpeakerObserver) {
    observer.on('dominant-speaker', (speaker) => this.events.push({ at: this.now, speaker }));
  }

  run(ms: number, levels: Map<FakeProducer, number | null>): void {
    const interval = this.observer.options.intervalMs;
    for (let t = 0; t < ms; t += 20) {
      this.now += 20;
      for (const [p, level] of levels) if (level !== null) p.audioLevel.add(level, level < 60);
      if (this.now % interval === 0) this.observer.tick(this.now);
    }
  }

  get active(): string | null {
    return this.observer.activeSpeaker?.participantId ?? null;
  }
}

function room(...owners: string[]): { scene: Scene; ps: FakeProducer[] } {
  const observer = new ActiveSpeakerObserver();
  const ps = owners.map(producer);
  for (const p of ps) observer.addProducer(p);
  return { scene: new Scene(observer), ps };
}

const levels = (entries: Array<[FakeProducer, number | null]>): Map<FakeProducer, number | null> => new Map(entries);

test('a silent room has no active speaker; neither does room noise', () => {
  const {
    scene,
    ps: [a, b, c],
  } = room('a', 'b', 'c');
  scene.run(
    5000,
    levels([
      [a!, SILENCE],
      [b!, SILENCE],
      [c!, null],
    ]),
  );
  assert.equal(scene.active, null);
  scene.run(
    5000,
    levels([
      [a!, NOISE],
      [b!, NOISE + 5],
      [c!, SILENCE],
    ]),
  );
  assert.equal(scene.active, null);
  assert.equal(scene.events.length, 0);
});

test('the one who speaks becomes active after the activation time, not before', () => {
  const {
    scene,
    ps: [a, b],
  } = room('a', 'b');
  const start = scene.now;
  scene.run(
    400,
    levels([
      [a!, VOICE],
      [b!, SILENCE],
    ]),
  );
  assert.equal(scene.active, null, 'not after 400 ms');
  scene.run(
    1000,
    levels([
      [a!, VOICE],
      [b!, SILENCE],
    ]),
  );
  assert.equal(scene.active, 'a');
  assert.equal(scene.events.length, 1);
  const after = (scene.events[0]?.at ?? 0) - start;
  assert.ok(after >= 600 && after <= 1200, `chosen after ${after} ms`);
  assert.deepEqual(scene.events[0]?.speaker, { participantId: 'a', producerId: 'a-audio' });
});

test('hysteresis: a brief louder interjection does not switch; sustained louder speech does', () => {
  const {
    scene,
    ps: [a, b],
  } = room('a', 'b');
  scene.run(
    2000,
    levels([
      [a!, VOICE],
      [b!, SILENCE],
    ]),
  );
  assert.equal(scene.active, 'a');
  // b interjects, much louder, for 400 ms while a keeps talking.
  scene.run(
    400,
    levels([
      [a!, VOICE],
      [b!, LOUD],
    ]),
  );
  scene.run(
    2000,
    levels([
      [a!, VOICE],
      [b!, SILENCE],
    ]),
  );
  assert.equal(scene.active, 'a', 'interjection ignored');
  assert.equal(scene.events.length, 1);
  // b keeps talking louder: takes over, after the switch time.
  const start = scene.now;
  scene.run(
    3000,
    levels([
      [a!, VOICE],
      [b!, LOUD],
    ]),
  );
  assert.equal(scene.active, 'b');
  const took = (scene.events.at(-1)?.at ?? 0) - start;
  assert.ok(took >= 1000 && took <= 2000, `switched after ${took} ms`);
});

test('two voices at about the same level: the active one holds (margin)', () => {
  const {
    scene,
    ps: [a, b],
  } = room('a', 'b');
  scene.run(
    2000,
    levels([
      [a!, VOICE],
      [b!, SILENCE],
    ]),
  );
  scene.run(
    5000,
    levels([
      [a!, VOICE],
      [b!, VOICE - 3],
    ]),
  );
  assert.equal(scene.active, 'a');
  assert.equal(scene.events.length, 1);
});

test('the speaker stops and another speaks: it switches; a silent room then keeps the last speaker', () => {
  const {
    scene,
    ps: [a, b, c],
  } = room('a', 'b', 'c');
  scene.run(
    2000,
    levels([
      [a!, VOICE],
      [b!, SILENCE],
      [c!, SILENCE],
    ]),
  );
  assert.equal(scene.active, 'a');
  scene.run(
    3000,
    levels([
      [a!, SILENCE],
      [b!, VOICE],
      [c!, SILENCE],
    ]),
  );
  assert.equal(scene.active, 'b');
  scene.run(
    10_000,
    levels([
      [a!, SILENCE],
      [b!, SILENCE],
      [c!, SILENCE],
    ]),
  );
  assert.equal(scene.active, 'b', 'kept through silence');
  assert.deepEqual(
    scene.events.map((e) => e.speaker?.participantId),
    ['a', 'b'],
  );
});

test('DTX: a speaker whose packets stop counts as silent', () => {
  const {
    scene,
    ps: [a, b],
  } = room('a', 'b');
  scene.run(
    2000,
    levels([
      [a!, LOUD],
      [b!, SILENCE],
    ]),
  );
  assert.equal(scene.active, 'a');
  // a's encoder goes to DTX (no packets at all); b talks quietly.
  scene.run(
    3000,
    levels([
      [a!, null],
      [b!, VOICE + 10],
    ]),
  );
  assert.equal(scene.active, 'b');
});

test('the active speaker leaves: cleared at once (event null), then the next speaker is chosen', () => {
  const {
    scene,
    ps: [a, b],
  } = room('a', 'b');
  scene.run(
    2000,
    levels([
      [a!, VOICE],
      [b!, SILENCE],
    ]),
  );
  assert.equal(scene.active, 'a');
  scene.observer.removeProducer(a!.id);
  assert.equal(scene.active, null);
  assert.equal(scene.events.at(-1)?.speaker, null);
  scene.run(2000, levels([[b!, VOICE]]));
  assert.equal(scene.active, 'b');
  // Removing someone who is not active says nothing.
  const n = scene.events.length;
  scene.observer.removeProducer('nobody');
  assert.equal(scene.events.length, n);
});

test('producers without the audio level extension are not observed', () => {
  const observer = new ActiveSpeakerObserver();
  observer.addProducer({ id: 'x', ownerId: 'x', audioLevel: null });
  observer.tick(0);
  assert.equal(observer.activeSpeaker, null);
});

test('Producer reads the RFC 6464 level of each packet (one- and two-byte extension forms, recorded Opus payloads)', () => {
  const recorded = loadRecordedMedia().audio.slice(0, 50);
  for (const form of ['one-byte', 'two-byte'] as const) {
    const id = form === 'one-byte' ? 5 : 20;
    const p = testProducer({
      id: 'p',
      kind: 'audio',
      ownerId: 'o',
      mid: '0',
      ssrc: 1234,
      codec: { name: 'opus', payloadType: 111, clockRate: 48000, channels: 2, fmtp: '', rtcpFeedback: [], redPayloadType: 63 },
      feedbackSsrc: 1,
      feedback: { sendRtcp: () => undefined },
      audioLevelExtensionId: id,
    });
    const view = new RtpHeaderView();
    const out = Buffer.alloc(1500);
    let expectedSum = 0;
    recorded.forEach((r, i) => {
      const src = new RtpHeaderView();
      assert.ok(parseRtpHeader(r.packet, src));
      const level = i % 2 === 0 ? 30 : 90;
      expectedSum += 127 - level;
      const exts = [
        { id, value: Buffer.from([0x80 | level]) },
        { id: 3, value: Buffer.from([1, 2]) },
      ];
      // Every other packet as RED (RFC 2198): the level is read from the RTP header either way.
      const n = writeRtpHeader(
        out,
        0,
        { marker: false, payloadType: i % 2 ? 63 : 111, sequenceNumber: i, timestamp: i * 960, ssrc: 1234 },
        exts,
      );
      const payload = r.packet.subarray(src.headerLength, src.headerLength + src.payloadLength);
      payload.copy(out, n);
      const pkt = Buffer.from(out.subarray(0, n + payload.length));
      assert.ok(parseRtpHeader(pkt, view));
      p.receive(pkt, view, i * 20);
    });
    const meter = p.audioLevel as AudioLevelMeter;
    assert.equal(meter.packetsWithLevel, recorded.length, form);
    const w = { packets: 0, loudness: 0, voiceShare: 0 };
    meter.take(w);
    assert.equal(w.packets, recorded.length);
    assert.ok(Math.abs(w.loudness - expectedSum / recorded.length) < 1e-9);
    assert.equal(w.voiceShare, 1);
    p.close();
  }
});

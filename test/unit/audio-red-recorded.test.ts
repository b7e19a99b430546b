/**
 * Real Chromium audio as the SFU receives it (test/fixtures/media/chromium-opus-red.sbrtp:
 * RED with header extensions, 2 s of voice then 2 s muted): RED blocks parse and chain (each
 * packet's redundant block is the previous packet's primary), the RFC 6464 level is read per
 * packet, the active speaker observer picks the voice, and a Consumer turns the RED stream into
 * plain opus (primary blocks) or keeps it with remapped block payload types.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AudioLevel,
  RedBlocks,
  RtpHeaderView,
  findHeaderExtension,
  parseRed,
  parseRtpHeader,
  readAudioLevel,
  rewriteRedPayloadTypes,
} from '../../src/rtc/rtp/index.js';
import { ActiveSpeakerObserver } from '../../src/sfu/speaker/ActiveSpeakerObserver.js';
import type { Producer } from '../../src/sfu/Producer.js';
import { readRtpFile, type RecordedPacket } from '../fixtures/media/rtp-file.js';
import { testProducer, testConsumer } from '../helpers/media-core.js';

const MEDIA_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/media');
const meta = JSON.parse(readFileSync(join(MEDIA_DIR, 'recording-red.json'), 'utf8')) as {
  opusPayloadType: number;
  redPayloadType: number;
  audioLevelExtensionId: number;
  seconds: number;
};
const packets: RecordedPacket[] = readRtpFile(join(MEDIA_DIR, 'chromium-opus-red.sbrtp'));
const HALF_US = (meta.seconds / 2) * 1e6;

function producer(): Producer {
  const first = new RtpHeaderView();
  assert.ok(parseRtpHeader((packets[0] as RecordedPacket).packet, first));
  return testProducer({
    id: 'chromium-audio',
    kind: 'audio',
    ownerId: 'chromium',
    mid: '0',
    ssrc: first.ssrc,
    codec: {
      name: 'opus',
      payloadType: meta.opusPayloadType,
      clockRate: 48000,
      channels: 2,
      fmtp: '',
      rtcpFeedback: [],
      redPayloadType: meta.redPayloadType,
    },
    feedbackSsrc: 1,
    feedback: { sendRtcp: () => undefined },
    audioLevelExtensionId: meta.audioLevelExtensionId,
  });
}

test('the recording: every packet is RED, parses, and its redundant block repeats the previous primary', () => {
  assert.ok(packets.length > 100);
  const view = new RtpHeaderView();
  const blocks = new RedBlocks();
  let previousPrimary: Buffer | null = null;
  let previousSeq = -1;
  let chained = 0;
  for (const { packet } of packets) {
    assert.ok(parseRtpHeader(packet, view));
    assert.equal(view.payloadType, meta.redPayloadType);
    assert.ok(parseRed(packet, view.headerLength, view.headerLength + view.payloadLength, blocks), `seq ${view.sequenceNumber}`);
    for (let i = 0; i < blocks.count; i++) assert.equal(blocks.payloadTypes[i], meta.opusPayloadType);
    const last = blocks.count - 1;
    const start = blocks.offsets[last] as number;
    const primary = packet.subarray(start, start + (blocks.lengths[last] as number));
    // RFC 2198 §3: one packet later, a 20 ms frame comes back as redundancy 960 ticks earlier.
    if (
      blocks.count === 2 &&
      blocks.timestampOffsets[0] === 960 &&
      previousPrimary &&
      view.sequenceNumber === ((previousSeq + 1) & 0xffff)
    ) {
      const first = blocks.offsets[0] as number;
      const redundant = packet.subarray(first, first + (blocks.lengths[0] as number));
      assert.deepEqual(redundant, previousPrimary);
      chained++;
    }
    previousPrimary = Buffer.from(primary);
    previousSeq = view.sequenceNumber;
  }
  assert.ok(chained > 80, `${chained} redundant blocks matched the previous primary`);
});

test('the recording: audio levels read per packet — a voice first, digital silence once muted', () => {
  const view = new RtpHeaderView();
  const level = new AudioLevel();
  const voice: number[] = [];
  const muted: number[] = [];
  for (const { arrivalUs, packet } of packets) {
    assert.ok(parseRtpHeader(packet, view));
    const at = findHeaderExtension(packet, view, meta.audioLevelExtensionId);
    assert.ok(at >= 0 && readAudioLevel(packet, at, view.extensionElementLength, level));
    // Leave 300 ms around the mute for the encoder's and the level's lag.
    if (arrivalUs < HALF_US - 300_000) voice.push(level.level);
    else if (arrivalUs > HALF_US + 300_000) muted.push(level.level);
  }
  assert.ok(voice.length > 50 && muted.length > 3, `${voice.length} voiced, ${muted.length} muted packets`);
  assert.ok(
    voice.every((l) => l < 60),
    `voice levels ${Math.min(...voice)}–${Math.max(...voice)} −dBov`,
  );
  assert.ok(
    muted.every((l) => l === 127),
    'muted: 127 −dBov',
  );
  // DTX: the muted half has far fewer packets than the voiced half.
  assert.ok(muted.length < voice.length / 4);
});

test('the recording through a Producer and the observer: the voice becomes the active speaker and stays it through the silence', () => {
  const p = producer();
  const observer = new ActiveSpeakerObserver();
  observer.addProducer(p);
  const view = new RtpHeaderView();
  let next = 200_000;
  let chosenAtUs = -1;
  observer.on('dominant-speaker', () => {
    if (chosenAtUs < 0) chosenAtUs = next;
  });
  for (const { arrivalUs, packet } of packets) {
    while (arrivalUs >= next) {
      observer.tick(next / 1000);
      next += 200_000;
    }
    assert.ok(parseRtpHeader(packet, view));
    p.receive(packet, view, arrivalUs / 1000);
  }
  observer.tick(next / 1000);
  assert.equal(p.redPacketsReceived, packets.length);
  assert.equal(p.audioLevel?.packetsWithLevel, packets.length);
  assert.equal(observer.activeSpeaker?.participantId, 'chromium');
  assert.ok(chosenAtUs > 0 && chosenAtUs <= 1_200_000, `chosen at ${chosenAtUs / 1000} ms`);
  p.close();
});

test('the recording through a Consumer: RED kept with our payload types, or reduced to plain opus', () => {
  for (const red of [true, false]) {
    const p = producer();
    const sent: Buffer[] = [];
    const c = testConsumer({
      id: 'c',
      producer: p,
      subscriberId: 's',
      ssrc: 7,
      payloadType: 100,
      redPayloadType: 101,
      transport: { sendRtp: (b) => sent.push(Buffer.from(b)), sendRtcp: () => undefined },
    });
    c.useRed(red);
    const view = new RtpHeaderView();
    const primaries: Buffer[] = [];
    const blocks = new RedBlocks();
    for (const { packet } of packets) {
      assert.ok(parseRtpHeader(packet, view));
      assert.ok(parseRed(packet, view.headerLength, view.headerLength + view.payloadLength, blocks));
      const last = blocks.count - 1;
      if ((blocks.lengths[last] as number) > 0) {
        primaries.push(
          Buffer.from(packet.subarray(blocks.offsets[last] as number, (blocks.offsets[last] as number) + (blocks.lengths[last] as number))),
        );
      }
      p.receive(packet, view, 0);
    }
    assert.equal(c.redDropped, 0);
    const out = new RtpHeaderView();
    if (red) {
      assert.equal(sent.length, packets.length);
      for (const b of sent) {
        assert.ok(parseRtpHeader(b, out));
        assert.equal(out.payloadType, 101);
        assert.ok(parseRed(b, out.headerLength, out.headerLength + out.payloadLength, blocks));
        for (let i = 0; i < blocks.count; i++) assert.equal(blocks.payloadTypes[i], 100);
        // Mapping back gives the publisher's payload exactly.
        assert.ok(rewriteRedPayloadTypes(b, out.headerLength, out.headerLength + out.payloadLength, 100, meta.opusPayloadType));
      }
    } else {
      assert.deepEqual(
        sent.map((b) => {
          assert.ok(parseRtpHeader(b, out));
          assert.equal(out.payloadType, 100);
          return b.subarray(out.headerLength, out.headerLength + out.payloadLength);
        }),
        primaries,
      );
    }
    p.close();
  }
});

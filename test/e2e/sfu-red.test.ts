/**
 * Opus RED (RFC 2198), in-band FEC and DTX through the SFU with real browsers: a Chromium page
 * publishes its voice file, and the publish answer puts RED first, so Chromium sends audio/red;
 * the server forwards RED to a Chromium subscriber (which keeps RED in its answer) with our
 * payload types, and plain opus (the primary blocks) to a subscriber that drops RED. Every
 * subscriber must hear the publisher (totalAudioEnergy rising) with little concealment, and the
 * opus fmtp on both connections must carry useinbandfec=1 and usedtx=1 (RFC 7587 §7).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, launchFirefox, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { writeVoiceWav } from '../helpers/wav.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import type { Consumer } from '../../src/sfu/Consumer.js';
import { LOW_VIDEO, diagnose, openPage, publishStats, remoteStats, sleep, type RemoteStat } from './page-api.js';

const ROOM = 'red';
let server: Switchboard;
let dir: string;
const browsers: TestBrowser[] = [];
const pages: Array<{ label: string; page: TestPage; id: string }> = [];

function byLabel(label: string): { page: TestPage; id: string } {
  const p = pages.find((x) => x.label === label);
  assert.ok(p, label);
  return p;
}

/** The SDP the page's SFU session applied from the server (reaching into the SDK's session: test only). */
function remoteSdp(page: TestPage, which: 'publishPc' | 'subscribePc'): Promise<string> {
  return page.evaluate((w) => {
    const sb = (
      globalThis as unknown as {
        switchboard: { room: { transport: Record<string, { currentRemoteDescription: { sdp: string } | null }> } };
      }
    ).switchboard;
    return sb.room.transport[w]?.currentRemoteDescription?.sdp ?? '';
  }, which);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-red-'));
  const voice = join(dir, 'voice.wav');
  writeVoiceWav(voice);
  server = await startSwitchboard({ workers: 0, port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'warn' });
  const pub = await launchChromium({ args: [`--use-file-for-fake-audio-capture=${voice}`] });
  const [sub, fox] = await Promise.all([launchChromium(), launchFirefox()]);
  browsers.push(pub, sub, fox);
  for (const [label, b, extra] of [
    ['pub', pub, ''],
    ['sub', sub, '&mute=audio'],
    ['fox', fox, '&mute=audio'],
  ] as const) {
    const p = await b.newPage();
    await openPage(p, `http://localhost:${server.port}/?room=${ROOM}&name=${label}&topology=sfu&video=${LOW_VIDEO}${extra}`);
    const id = await p.evaluate(
      () => (globalThis as unknown as { switchboard: { room: { self: { id: string } } } }).switchboard.room.self.id,
    );
    pages.push({ label, page: p, id });
  }
});

after(async () => {
  for (const { page } of pages) await page.close();
  await Promise.all(browsers.map((b) => b.close()));
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** RFC 7587 §7 parameters on the opus fmtp line, in whatever order the browser re-serialised them. */
function assertOpusFmtp(sdp: string, where: string): void {
  const line = /\r\na=fmtp:111 ([^\r]*)\r\n/.exec(sdp)?.[1];
  assert.ok(line, `${where}: an opus fmtp line`);
  const params = new Set(line.split(';').map((p) => p.trim()));
  for (const p of ['useinbandfec=1', 'usedtx=1']) assert.ok(params.has(p), `${where}: opus fmtp ${line} has ${p}`);
}

/** Two samples of a page's stats for `from`, `gapMs` apart, once it decodes audio from them. */
async function audioFrom(page: TestPage, label: string, fromId: string, gapMs = 4000): Promise<{ first: RemoteStat; later: RemoteStat }> {
  const first = await waitFor(
    `${label}: audio from the publisher`,
    async () => {
      const s = (await remoteStats(page)).find((r) => r.participantId === fromId);
      return s && s.connectionState === 'connected' && s.audioSamplesReceived > 48_000 ? s : null;
    },
    60_000,
    500,
  );
  await sleep(gapMs);
  const later = (await remoteStats(page)).find((r) => r.participantId === fromId);
  assert.ok(later);
  return { first, later };
}

test('Chromium publishes RED; a Chromium subscriber receives RED and hears it; Firefox hears it too', { timeout: 150_000 }, async () => {
  const pub = byLabel('pub');
  await diagnose(pages, async () => {
    const publishAnswer = await remoteSdp(pub.page, 'publishPc');
    assert.match(publishAnswer, /\r\nm=audio \d+ UDP\/TLS\/RTP\/SAVPF 63 111\r\n/);
    assertOpusFmtp(publishAnswer, 'publish answer');
    const router = server.sfu?.rooms.get(ROOM);
    const producer = router?.producers.find((p) => p.ownerId === pub.id && p.kind === 'audio');
    assert.ok(producer, "the publisher's audio producer");
    assert.equal(producer.codec.redPayloadType, 63);
    // The publisher sends RED (libwebrtc does once red precedes opus in the answer): every audio
    // packet the server receives is RED. Chromium's outbound-rtp codecId still names audio/opus,
    // so the wire, not getStats, is the evidence.
    await waitFor('pub: audio packets at the server', () => (producer.packetsReceived > 100 ? true : null), 20_000, 250);
    assert.equal(producer.redPacketsReceived, producer.packetsReceived, 'every audio packet is RED');
    const outCodec = (await publishStats(pub.page))?.audioCodec ?? null;

    const report: string[] = [];
    for (const label of ['sub', 'fox']) {
      const { page } = byLabel(label);
      const offer = await remoteSdp(page, 'subscribePc');
      assertOpusFmtp(offer, `${label}: subscribe offer`);
      assert.match(offer, /\r\na=rtpmap:63 red\/48000(\/2)?\r\n/, `${label}: RED offered`);
      assert.match(offer, /\r\na=fmtp:63 111\/111\r\n/, `${label}: RED of our opus`);
      const { first, later } = await audioFrom(page, label, pub.id);
      assert.ok(later.audioEnergy > first.audioEnergy, `${label}: audio energy rising (${first.audioEnergy} → ${later.audioEnergy})`);
      const samples = later.audioSamplesReceived - first.audioSamplesReceived;
      const concealed = later.audioConcealedSamples - first.audioConcealedSamples;
      assert.ok(samples > 100_000, `${label}: ${samples} samples in 4 s`);
      const ratio = concealed / samples;
      assert.ok(ratio < 0.05, `${label}: concealment ${(ratio * 100).toFixed(2)} %`);
      const consumer: Consumer | undefined = [...router!.router.consumersOf(producer)].find((c) => c.subscriberId === byLabel(label).id);
      assert.ok(consumer, `${label}: a consumer of the publisher's audio`);
      assert.equal(consumer.redDropped, 0);
      report.push(
        `${label}: ${consumer.sendsRed ? 'RED' : 'opus (primary blocks)'}, codec ${later.audioCodec}, concealment ${(ratio * 100).toFixed(2)} %`,
      );
      // Chromium keeps RED in its answer; Firefox decides in its own. Either way it must hear the publisher (checked above).
      if (label === 'sub') assert.equal(consumer.sendsRed, true, 'Chromium keeps RED in its answer');
      assert.ok(consumer.packetsSent > 100, `${label}: ${consumer.packetsSent} audio packets forwarded`);
    }
    console.log(
      `# pub: ${producer.redPacketsReceived}/${producer.packetsReceived} packets RED (its getStats says ${outCodec}); ${report.join('; ')}`,
    );
  });
});

/**
 * Active speaker in an SFU room, with real Chromium pages: three browsers, each with its own fake
 * microphone file — ada's and bob's a voice-like signal, cy's digital silence; bob joins muted
 * (`?mute=audio`: the track is disabled, so Chromium sends silence). The server must pick ada
 * from the audio levels her packets carry (RFC 6464), tell every page, and the web app must
 * highlight and promote her tile. Then ada mutes and bob unmutes: bob takes over.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { writeSilentWav, writeVoiceWav } from '../helpers/wav.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { LOW_VIDEO, diagnose, openPage, remoteStats, sleep, type PageGlobals } from './page-api.js';

const ROOM = 'speakers';
let server: Switchboard;
let dir: string;
const browsers: TestBrowser[] = [];
const pages: Array<{ label: string; page: TestPage; id: string }> = [];
/** When ada's page was ready (joined, publishing), for the time the server took to choose her. */
let adaReadyAt = 0;

interface SpeakerView {
  active: string | null;
  changes: Array<{ participantId: string | null; at: number }>;
  /** Remote tiles: id, classes, computed CSS order. */
  tiles: Array<{ id: string; speaking: boolean; promoted: boolean; order: string }>;
  localSpeaking: boolean;
}

/** What a page shows about the active speaker: the SDK's value and the grid's tiles. */
function speakerView(page: TestPage): Promise<SpeakerView> {
  return page.evaluate(() => {
    interface El {
      getAttribute(n: string): string | null;
      classList: { contains(c: string): boolean };
    }
    const g = globalThis as unknown as {
      switchboard: PageGlobals['switchboard'];
      document: { querySelectorAll(s: string): ArrayLike<El>; querySelector(s: string): El | null };
      getComputedStyle(el: El): { order: string };
    };
    const tiles = Array.from(g.document.querySelectorAll('.tile[data-participant-id]')).map((el) => ({
      id: el.getAttribute('data-participant-id') ?? '',
      speaking: el.classList.contains('speaking'),
      promoted: el.classList.contains('promoted'),
      order: g.getComputedStyle(el).order,
    }));
    return {
      active: g.switchboard.activeSpeaker,
      changes: g.switchboard.speakerChanges,
      tiles,
      localSpeaking: g.document.querySelector('.tile.local')?.classList.contains('speaking') ?? false,
    };
  });
}

function page(label: string): { page: TestPage; id: string } {
  const p = pages.find((x) => x.label === label);
  assert.ok(p, label);
  return p;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-speaker-'));
  const voice = join(dir, 'voice.wav');
  const silence = join(dir, 'silence.wav');
  writeVoiceWav(voice);
  writeSilentWav(silence);
  server = await startSwitchboard({ workers: 0, port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'warn' });
  const specs: Array<[string, string, string]> = [
    ['ada', voice, ''],
    ['bob', voice, '&mute=audio'],
    ['cy', silence, ''],
  ];
  for (const [label, file, extra] of specs) {
    const b = await launchChromium({ args: [`--use-file-for-fake-audio-capture=${file}`] });
    browsers.push(b);
    const p = await b.newPage();
    await openPage(p, `http://localhost:${server.port}/?room=${ROOM}&name=${label}&topology=sfu&video=${LOW_VIDEO}${extra}`);
    const id = await p.evaluate(
      () => (globalThis as unknown as { switchboard: { room: { self: { id: string } } } }).switchboard.room.self.id,
    );
    pages.push({ label, page: p, id });
    if (label === 'ada') adaReadyAt = Date.now();
  }
});

after(async () => {
  for (const { page: p } of pages) await p.close();
  await Promise.all(browsers.map((b) => b.close()));
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(
  'the only page with sound becomes the active speaker on every page; its tile is highlighted and promoted',
  { timeout: 120_000 },
  async () => {
    const ada = page('ada');
    await diagnose(pages, async () => {
      // Everyone receives everyone (audio flowing) before timing the choice.
      for (const { label, page: p } of pages) {
        await waitFor(
          `${label}: two remote participants with audio`,
          async () => {
            const s = await remoteStats(p);
            return s.length === 2 && s.every((r) => r.connectionState === 'connected' && r.audioSamplesReceived > 0) ? s : null;
          },
          60_000,
          500,
        );
      }
      for (const label of ['bob', 'cy']) {
        const v = await waitFor(
          `${label}: ada is the active speaker`,
          async () => {
            const view = await speakerView(page(label).page);
            return view.active === ada.id ? view : null;
          },
          15_000,
          250,
        );
        const tile = v.tiles.find((t) => t.id === ada.id);
        assert.ok(tile?.speaking && tile.promoted, `${label}: ada's tile is highlighted and promoted`);
        assert.equal(tile.order, '-1', `${label}: ada's tile comes first`);
        for (const t of v.tiles) if (t.id !== ada.id) assert.ok(!t.speaking && !t.promoted, `${label}: ${t.id} is not marked`);
        // Nobody else was ever chosen: silence (cy) and a muted track (bob) never win.
        assert.deepEqual(
          v.changes.map((c) => c.participantId),
          [ada.id],
          `${label}: one change only`,
        );
      }
      const own = await speakerView(ada.page);
      assert.equal(own.active, ada.id, 'ada is told she is speaking');
      assert.ok(own.localSpeaking, "ada's own tile is highlighted");
      const router = server.sfu?.rooms.get(ROOM);
      assert.equal(router?.activeSpeaker, ada.id);
      // The levels the server read: a real voice for ada; digital silence from the silent file and the muted track.
      const levels = new Map([...router.producers].filter((p) => p.kind === 'audio').map((p) => [p.ownerId, p.audioLevel?.lastLevel]));
      console.log(
        `# audio levels read (−dBov): ${[...pages].map((x) => `${x.label}=${levels.get(x.id)}`).join(' ')}; ada chosen ${(own.changes[0]?.at ?? 0) - adaReadyAt} ms after her page joined`,
      );
      assert.ok((levels.get(ada.id) ?? 127) < 60, `ada's level ${levels.get(ada.id)}`);
      assert.equal(levels.get(page('bob').id), 127, 'bob (muted) sends silence');
      assert.equal(levels.get(page('cy').id), 127, 'cy (silent file) sends silence');
      // Opus DTX (usedtx=1 in the publish answer): in silence the publisher sends far fewer packets.
      const audioOf = (id: string) => router.producers.find((p) => p.kind === 'audio' && p.ownerId === id);
      const [adaAudio, cyAudio] = [audioOf(ada.id), audioOf(page('cy').id)];
      assert.ok(adaAudio && cyAudio);
      const before = [adaAudio.packetsReceived, cyAudio.packetsReceived];
      await sleep(2000);
      const voiced = (adaAudio.packetsReceived - (before[0] as number)) / 2;
      const silent = (cyAudio.packetsReceived - (before[1] as number)) / 2;
      console.log(`# audio packets/s: voice ${voiced}, silence ${silent} (DTX)`);
      assert.ok(voiced >= 40, `voice at ${voiced} packets/s`);
      assert.ok(silent < voiced / 4, `silence at ${silent} packets/s: DTX`);
    });
  },
);

test('the speaker mutes and another page speaks: the active speaker changes on every page', { timeout: 60_000 }, async () => {
  const ada = page('ada');
  const bob = page('bob');
  await diagnose(pages, async () => {
    const t0 = Date.now();
    await ada.page.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.setMuted('audio', true));
    await bob.page.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.setMuted('audio', false));
    for (const label of ['ada', 'cy']) {
      const v = await waitFor(
        `${label}: bob is the active speaker`,
        async () => {
          const view = await speakerView(page(label).page);
          return view.active === bob.id ? view : null;
        },
        15_000,
        250,
      );
      const tile = v.tiles.find((t) => t.id === bob.id);
      assert.ok(tile?.speaking && tile.promoted, `${label}: bob's tile is highlighted and promoted`);
      assert.ok(!v.tiles.find((t) => t.id === ada.id)?.speaking, `${label}: ada's tile is no longer marked`);
      const switchedAt = v.changes.at(-1)?.at ?? 0;
      console.log(`# ${label}: switched to bob ${switchedAt - t0} ms after the mute/unmute`);
    }
    const cy = await speakerView(page('cy').page);
    assert.deepEqual(
      cy.changes.map((c) => c.participantId),
      [ada.id, bob.id],
      'cy saw ada then bob, no flicker',
    );
  });
});

/**
 * A page whose signaling connection drops (the server side kills the TCP connection, as a
 * network blip would) reconnects with its session token: it keeps its id and room, the other
 * page sees no leave or join, signaling works again, and the call never stops.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { LOW_VIDEO, diagnose, openPage, remoteStats, type PageGlobals } from './page-api.js';

let server: Switchboard;
let browser: TestBrowser;
let stay: TestPage;
let blip: TestPage;

before(async () => {
  server = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' });
  browser = await launchChromium();
  [stay, blip] = await Promise.all([browser.newPage(), browser.newPage()]);
  const url = `http://localhost:${server.port}/?room=resume-e2e&video=${LOW_VIDEO}`;
  await openPage(stay, `${url}&name=stay&identity=stay`);
  await openPage(blip, `${url}&name=blip&identity=blip`);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const sessionId = (p: TestPage): Promise<string | undefined> =>
  p.evaluate(
    () =>
      (globalThis as unknown as { switchboard: { signaling: { sessionId?: string | null; welcome?: { sessionId: string } | null } } })
        .switchboard.signaling.welcome?.sessionId,
  );
const signalState = (p: TestPage): Promise<string> =>
  p.evaluate(() => (globalThis as unknown as { switchboard: { signaling: { state: string } } }).switchboard.signaling.state);

test('a dropped signaling connection resumes without others seeing a leave or join', { timeout: 60_000 }, async () => {
  await diagnose(
    [
      { label: 'stay', page: stay },
      { label: 'blip', page: blip },
    ],
    async () => {
      await waitFor('connected', async () => (await remoteStats(stay))[0]?.videoFramesDecoded ?? 0, 30_000, 500);
      const before = await sessionId(blip);
      const chatBefore = await stay.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('#chat-log li').length);
      const session = server.signaling.sessionByIdentity('blip');
      assert.ok(session?.socket, 'blip has a live socket');
      session.socket.terminate(); // abrupt: no close frame, like a lost network path
      await waitFor(
        'blip notices and resumes',
        async () => (await signalState(blip)) === 'open' && server.signaling.sessionByIdentity('blip')?.connected === true,
        15_000,
        200,
      );
      assert.equal(await sessionId(blip), before, 'same session after resume');
      // Signaling works again: a chat line (data channel) and the media path were never cut,
      // and the other page saw no leave/join (no system lines, same single remote tile).
      await blip.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.sendChat('still here'));
      await waitFor(
        'chat arrives',
        () => stay.evaluate(() => (globalThis as unknown as PageGlobals).switchboard.chatLog.some((l) => l.text === 'still here')),
        10_000,
      );
      const stats = await remoteStats(stay);
      assert.equal(stats.length, 1);
      assert.equal(stats[0]?.connectionState, 'connected');
      const chatAfter = await stay.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('#chat-log li').length);
      assert.equal(chatAfter, chatBefore + 1, 'only the chat line was added: no "left"/"joined" notices');
      // And a fresh negotiation over the resumed signaling session works: an ICE restart, seen by
      // the other page as new ICE credentials in blip's description.
      const remoteUfrag = (): Promise<string> =>
        stay.evaluate(() => {
          const g = globalThis as unknown as {
            switchboard: { room: { participants: Map<string, { peer: { link: { pc: { remoteDescription: { sdp: string } | null } } } }> } };
          };
          const [p] = [...g.switchboard.room.participants.values()];
          return /a=ice-ufrag:(\S+)/.exec(p?.peer.link.pc.remoteDescription?.sdp ?? '')?.[1] ?? '';
        });
      const ufrag0 = await remoteUfrag();
      assert.ok(ufrag0.length > 0);
      await blip.evaluate(() => {
        const g = globalThis as unknown as {
          switchboard: { room: { participants: Map<string, { peer: { link: { restartIce(r: string): void } } }> } };
        };
        for (const p of g.switchboard.room.participants.values()) p.peer.link.restartIce('test');
      });
      await waitFor(
        'new ICE credentials negotiated',
        async () => {
          const u = await remoteUfrag();
          return u !== '' && u !== ufrag0;
        },
        15_000,
        200,
      );
      const f0 = (await remoteStats(stay))[0]?.videoFramesDecoded ?? 0;
      await waitFor(
        'media still flowing after renegotiation',
        async () => ((await remoteStats(stay))[0]?.videoFramesDecoded ?? 0) > f0 + 10,
        15_000,
        500,
      );
    },
  );
});

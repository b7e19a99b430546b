/**
 * ICE consent freshness (RFC 7675) on the SFU: two Chromium pages in an SFU room; then every
 * packet from one page's connections to the RTC port is dropped with iptables (a chain of its
 * own, removed afterwards; loopback and this machine's own address only). That page can no
 * longer renew consent, so within 30 s the server closes both its transports and its producers
 * end — while its signaling session is untouched — and the other page's consumers of it close.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { IptablesChain } from '../helpers/iptables-chain.js';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { LOW_VIDEO, diagnose, openPage, remoteStats } from './page-api.js';

const chain = new IptablesChain(`SB_CONSENT_${process.pid}`);
const ROOM = 'consent1';
let server: Switchboard;
let browser: TestBrowser;
let a: TestPage;
let b: TestPage;

before(async () => {
  chain.remove();
  server = await startSwitchboard({ workers: 0, port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' });
  browser = await launchChromium();
  [a, b] = await Promise.all([browser.newPage(), browser.newPage()]);
  const url = `http://localhost:${server.port}/?room=${ROOM}&topology=sfu&video=${LOW_VIDEO}`;
  await openPage(a, `${url}&name=a`);
  await openPage(b, `${url}&name=b`);
});

after(async () => {
  chain.remove();
  await browser?.close();
  await server?.close();
});

test('a peer that stops answering is closed within 30 s and its producers end', { timeout: 120_000 }, async () => {
  await diagnose(
    [
      { label: 'a', page: a },
      { label: 'b', page: b },
    ],
    async () => {
      for (const page of [a, b]) {
        await waitFor(
          'decoding',
          async () => {
            const [s] = await remoteStats(page);
            return s && s.videoFramesDecoded > 0 ? s : null;
          },
          45_000,
          500,
        );
      }
      const router = server.sfu?.rooms.get(ROOM);
      assert.ok(router);
      const bName = 'b';
      const bId = (await remoteStats(a)).find((s) => s.name === bName)?.participantId;
      assert.ok(bId);
      const victim = router.participants.get(bId);
      assert.ok(victim);
      const rtcPort = server.rtc!.port.udpPort;
      const tuples = [victim.publishRtc.ice.selectedTuple, victim.subscribeRtc.ice.selectedTuple];
      assert.ok(
        tuples.every((t) => t !== null),
        "both of b's connections have a selected path",
      );
      const bProducers = [...victim.producers];
      assert.equal(bProducers.length, 2);

      // Everything to the RTC port is dropped except a's two paths: b cannot renew consent on
      // its selected paths nor on any other candidate pair (other addresses, ICE-TCP).
      const keeper = router.participants.get([...router.participants.keys()].find((id) => id !== bId)!)!;
      chain.create();
      for (const t of [keeper.publishRtc.ice.selectedTuple, keeper.subscribeRtc.ice.selectedTuple]) {
        assert.ok(t);
        chain.append('-p', t.protocol, '--sport', String(t.remotePort), '--dport', String(rtcPort), '-j', 'RETURN');
      }
      for (const proto of ['udp', 'tcp']) chain.append('-p', proto, '--dport', String(rtcPort), '-j', 'DROP');
      chain.hook('INPUT');
      const blockedAt = Date.now();

      await waitFor(
        "b's transports closed by the server",
        () => (victim.publishRtc.state === 'closed' && victim.subscribeRtc.state === 'closed' ? true : null),
        33_000,
        250,
      );
      const elapsed = Date.now() - blockedAt;
      assert.ok(elapsed <= 32_000, `closed ${elapsed} ms after the peer went silent`);
      assert.ok(
        bProducers.every((p) => p.closed),
        "b's producers ended",
      );
      assert.ok(
        router.producers.every((p) => p.ownerId !== bId),
        'no producer of b is left in the room',
      );
      assert.ok(router.participants.has(bId), 'b is still a member: only its media ended (its signaling session is alive)');
      // a still publishes into the room; nobody consumes b any more.
      assert.equal(router.producers.length, 2);
    },
  );
});

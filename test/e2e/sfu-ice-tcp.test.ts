/**
 * ICE-TCP on the SFU's port (RFC 6544 passive candidates, RFC 4571 framing): with UDP to the
 * RTC port dropped by iptables (a chain of its own, removed afterwards), two Chromium pages
 * still connect to the server over TCP on the same port number, and decode each other.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { IptablesChain } from '../helpers/iptables-chain.js';
import { describeSfuRoom } from '../helpers/sfu-state.js';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { LOW_VIDEO, diagnose, openPage, publishStats, remoteStats } from './page-api.js';

const chain = new IptablesChain(`SB_ICETCP_${process.pid}`);
const ROOM = 'icetcp1';
let server: Switchboard;
let browser: TestBrowser;
const pages: Array<{ label: string; page: TestPage }> = [];

before(async () => {
  chain.remove();
  server = await startSwitchboard({ workers: 0, port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' });
  chain.create();
  chain.append('-p', 'udp', '--dport', String(server.rtc!.port.udpPort), '-j', 'DROP');
  chain.hook('INPUT');
  browser = await launchChromium();
  for (const name of ['a', 'b']) {
    const page = await browser.newPage();
    pages.push({ label: name, page });
    await openPage(page, `http://localhost:${server.port}/?room=${ROOM}&name=${name}&topology=sfu&video=${LOW_VIDEO}`);
  }
});

after(async () => {
  chain.remove();
  await browser?.close();
  await server?.close();
});

test('with UDP blocked, pages reach the SFU over ICE-TCP on the same port and decode', { timeout: 120_000 }, async () => {
  const rtcPort = server.rtc!.port.tcpPort;
  assert.equal(rtcPort, server.rtc!.port.udpPort, 'ICE-TCP shares the port number');
  await diagnose(
    pages,
    async () => {
      for (const { label, page } of pages) {
        const first = await waitFor(
          `${label}: decoding over TCP`,
          async () => {
            const [s] = await remoteStats(page);
            return s && s.connectionState === 'connected' && s.videoFramesDecoded > 0 && s.audioEnergy > 0 ? s : null;
          },
          60_000,
          500,
        );
        await waitFor(
          `${label}: frames rising`,
          async () => {
            const [s] = await remoteStats(page);
            return s && s.videoFramesDecoded > first.videoFramesDecoded + 10 ? s : null;
          },
          20_000,
          500,
        );
        assert.equal(first.remoteCandidatePort, rtcPort);
        assert.equal((await publishStats(page))?.remoteCandidatePort, rtcPort);
      }
    },
    () => describeSfuRoom(server, ROOM),
  );
  const router = server.sfu?.rooms.get(ROOM);
  assert.ok(router);
  for (const p of router.participants.values()) {
    assert.equal(p.publishRtc.ice.selectedTuple?.protocol, 'tcp');
    assert.equal(p.subscribeRtc.ice.selectedTuple?.protocol, 'tcp');
  }
  assert.ok(server.rtc!.port.stats.tcpFrames > 100, 'media arrived as RFC 4571 frames');
});

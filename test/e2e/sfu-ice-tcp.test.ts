/**
 * ICE-TCP on the SFU's port (RFC 6544 passive candidates, RFC 4571 framing): with UDP to the
 * RTC port dropped by iptables (a chain of its own, removed afterwards), two Chromium pages
 * still connect to the server over TCP on the same port number, and decode each other.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { LOW_VIDEO, diagnose, openPage, publishStats, remoteStats } from './page-api.js';

const CHAIN = `SB_ICETCP_${process.pid}`;
const ROOM = 'icetcp1';
let server: Switchboard;
let browser: TestBrowser;
const pages: Array<{ label: string; page: TestPage }> = [];

function iptables(...args: string[]): void {
  for (const tool of ['iptables', 'ip6tables']) execFileSync(tool, ['-w', ...args], { stdio: 'pipe' });
}

function removeChain(): void {
  for (const tool of ['iptables', 'ip6tables']) {
    try { execFileSync(tool, ['-w', '-D', 'INPUT', '-j', CHAIN], { stdio: 'pipe' }); } catch { /* not hooked */ }
    try { execFileSync(tool, ['-w', '-F', CHAIN], { stdio: 'pipe' }); execFileSync(tool, ['-w', '-X', CHAIN], { stdio: 'pipe' }); } catch { /* not there */ }
  }
}

before(async () => {
  removeChain();
  server = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' });
  iptables('-N', CHAIN);
  iptables('-A', CHAIN, '-p', 'udp', '--dport', String(server.rtc!.port.udpPort), '-j', 'DROP');
  iptables('-I', 'INPUT', '-j', CHAIN);
  browser = await launchChromium();
  for (const name of ['a', 'b']) {
    const page = await browser.newPage();
    pages.push({ label: name, page });
    await openPage(page, `http://localhost:${server.port}/?room=${ROOM}&name=${name}&topology=sfu&video=${LOW_VIDEO}`);
  }
});

after(async () => {
  removeChain();
  await browser?.close();
  await server?.close();
});

test('with UDP blocked, pages reach the SFU over ICE-TCP on the same port and decode', { timeout: 120_000 }, async () => {
  const rtcPort = server.rtc!.port.tcpPort;
  assert.equal(rtcPort, server.rtc!.port.udpPort, 'ICE-TCP shares the port number');
  await diagnose(pages, async () => {
    for (const { label, page } of pages) {
      const first = await waitFor(`${label}: decoding over TCP`, async () => {
        const [s] = await remoteStats(page);
        return s && s.connectionState === 'connected' && s.videoFramesDecoded > 0 && s.audioEnergy > 0 ? s : null;
      }, 60_000, 500);
      await waitFor(`${label}: frames rising`, async () => {
        const [s] = await remoteStats(page);
        return s && s.videoFramesDecoded > first.videoFramesDecoded + 10 ? s : null;
      }, 20_000, 500);
      assert.equal(first.remoteCandidatePort, rtcPort);
      assert.equal((await publishStats(page))?.remoteCandidatePort, rtcPort);
    }
  });
  const router = server.sfu?.routers.get(ROOM);
  assert.ok(router);
  for (const p of router.participants.values()) {
    assert.equal(p.publishRtc.ice.selectedTuple?.protocol, 'tcp');
    assert.equal(p.subscribeRtc.ice.selectedTuple?.protocol, 'tcp');
  }
  assert.ok(server.rtc!.port.stats.tcpFrames > 100, 'media arrived as RFC 4571 frames');
});

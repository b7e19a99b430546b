/**
 * Chromium calls relayed through our own embedded TURN server, one test per way of reaching
 * it: UDP, TCP and TLS (`?relay=udp|tcp|tls` keeps only those TURN URLs and sets
 * iceTransportPolicy 'relay'). What the pages see (relay ↔ relay pairs, frames decoded,
 * audio) and what the server saw (allocations by client transport, packets relayed) must
 * agree. Both browsers are on this machine, so relaying to loopback is allowed on purpose.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { launchChromium, waitFor, type TestBrowser } from '../helpers/browsers.js';
import { makeTestCert, type TestCert } from '../helpers/tls-cert.js';
import { LOW_VIDEO, diagnose, openPage, remoteStats } from './page-api.js';

let sb: Switchboard;
let browser: TestBrowser;
let cert: TestCert;

before(async () => {
  cert = makeTestCert();
  sb = await startSwitchboard({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    turnPort: 0,
    rtcPort: 0,
    turnTlsPort: 0,
    turnTlsCert: cert.certFile,
    turnTlsKey: cert.keyFile,
    turnAllowPeers: ['127.0.0.0/8'],
    // The checks read the in-process server's counters (sb.turn).
    turnWorkers: 0,
  });
  // The TURN server's certificate is self-signed for this test.
  browser = await launchChromium({ args: ['--ignore-certificate-errors'] });
});
after(async () => {
  await browser?.close();
  await sb?.close();
  cert?.remove();
});

for (const transport of ['udp', 'tcp', 'tls'] as const) {
  test(`a relay-only call through our TURN server over ${transport.toUpperCase()}`, { timeout: 90_000 }, async () => {
    const turn = sb.turn!;
    const relayed0 = turn.counters.toPeerPackets;
    const url = `${sb.url.replace('127.0.0.1', 'localhost')}/?room=own-relay-${transport}&video=${LOW_VIDEO}&relay=${transport}`;
    const a = await browser.newPage();
    const b = await browser.newPage();
    try {
      await openPage(a, `${url}&name=a`);
      await openPage(b, `${url}&name=b`);
      await diagnose(
        [
          { label: 'a', page: a },
          { label: 'b', page: b },
        ],
        async () => {
          for (const [label, page] of [
            ['a', a],
            ['b', b],
          ] as const) {
            const s = await waitFor(
              `${label} decodes through the relay`,
              async () => {
                const [r] = await remoteStats(page);
                return r && r.connectionState === 'connected' && r.videoFramesDecoded > 10 && r.audioEnergy > 0 ? r : null;
              },
              45_000,
              500,
            );
            assert.equal(s.localCandidateType, 'relay', `${label}: local candidate is a relay`);
            assert.equal(s.remoteCandidateType, 'relay', `${label}: remote candidate is a relay`);
            assert.equal(s.localRelayProtocol, transport, `${label}: reaches TURN over ${transport}`);
          }
        },
      );
      const kinds = turn.allocationsByTransport();
      assert.ok(kinds[transport] >= 2, `both pages allocated over ${transport} (${JSON.stringify(kinds)})`);
      // Media keeps flowing through the relay: audio alone is ~50 packets/s each way.
      const mark = turn.counters.toPeerPackets;
      assert.ok(mark > relayed0, 'packets were relayed');
      await waitFor('relayed packets keep growing', () => turn.counters.toPeerPackets - mark >= 100, 10_000, 100);
    } finally {
      await a.close();
      await b.close();
    }
  });
}

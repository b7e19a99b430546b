/**
 * The SFU under 10 % packet loss. One Chromium page ("lossy") runs in a home of the NAT lab
 * (../helpers/netlab.ts) whose LAN drops 10 % of the packets in each direction; two ordinary
 * Chromium pages publish from this machine. The server runs in this process, reachable from
 * the lab through ../helpers/lab-uplink.ts, so its Producers and Consumers can be inspected.
 *
 * What recovers the loss (RFC 4585 §6.2.1 generic NACK, RFC 4588 RTX):
 *  - downstream (server → lossy): the lossy page NACKs what it misses and the server resends
 *    it from the producer's packet cache as RTX — its video keeps decoding;
 *  - upstream (lossy → server): the server's Producer NACKs and the lossy page resends as RTX,
 *    so the clean pages decode the lossy page's video without loss of their own.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { browsersAvailable, CHROMIUM_PATH, launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { addLoss, type LinkLoss } from '../helpers/lab-loss.js';
import { attachToLab, type LabUplink } from '../helpers/lab-uplink.js';
import { createNatLab, netlabAvailable, type Home, type NatLab } from '../helpers/netlab.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import type { SfuParticipant } from '../../src/session/SfuParticipant.js';
import { LOW_VIDEO, diagnose, openPage, remoteStats, sleep, type RemoteStat } from '../e2e/page-api.js';
import { describeSfuRoom } from '../helpers/sfu-state.js';

const ROOM = 'loss1';
const LOSS_PERCENT = 10;
const PUBLISHERS = ['ada', 'bob'] as const;
/** How long decoding must keep going under loss, and how often it is sampled. */
const WATCH_MS = 12_000;
const SAMPLE_MS = 2_000;

let lab: NatLab | undefined;
let uplink: LabUplink | undefined;
let dir = '';
let server: Switchboard | undefined;
const losses: Array<{ label: string; loss: LinkLoss }> = [];
const browsers: TestBrowser[] = [];
const pages: Array<{ label: string; page: TestPage }> = [];

before(async () => {
  // CI runs this as root: a missing lab is a failure to report, never a silent skip.
  assert.ok(netlabAvailable(), 'the NAT lab needs root with iproute2 and iptables (ip netns, iptables)');
  assert.ok(browsersAvailable().chromium, `Chromium not found at ${CHROMIUM_PATH}`);
  dir = mkdtempSync(join(tmpdir(), 'sb-sfuloss-'));
  lab = createNatLab([{ nat: 'cone' }]);
  const home = lab.homes[0]!;
  uplink = attachToLab(lab, [home]);
  // The home's router loses 10 % of what it forwards each way: onto the LAN (downstream,
  // toward the page) and onto the WAN (upstream, toward the server).
  losses.push({ label: 'downstream', loss: addLoss(lab, home.natNs, 'lan', LOSS_PERCENT) });
  losses.push({ label: 'upstream', loss: addLoss(lab, home.natNs, 'wan', LOSS_PERCENT) });

  // Only on the uplink address: nothing listens on the machine's own network.
  server = await startSwitchboard({
    workers: 0,
    host: uplink.ip,
    port: 0,
    rtcHost: uplink.ip,
    rtcPort: 0,
    announcedIps: [uplink.ip],
    turnEnabled: false,
    logLevel: 'silent',
  });
  const origin = `http://${uplink.ip}:${server.port}`;
  const url = (name: string): string => `${origin}/?room=${ROOM}&name=${name}&topology=sfu&video=${LOW_VIDEO}`;

  const clean = await launchChromium({ insecureOriginAsSecure: origin });
  browsers.push(clean);
  for (const name of PUBLISHERS) {
    const page = await clean.newPage();
    pages.push({ label: name, page });
    await openPage(page, url(name));
  }
  const lossy = await browserIn(home, origin);
  browsers.push(lossy);
  const page = await lossy.newPage();
  pages.push({ label: 'lossy', page });
  await openPage(page, url('lossy'));
});

after(async () => {
  for (const b of browsers) await b.close();
  await server?.close();
  for (const { loss } of losses) loss.remove();
  uplink?.close();
  lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Chromium inside `home`'s host namespace (../shared/DESIGN.md: a wrapper as executablePath). */
async function browserIn(home: Home, origin: string): Promise<TestBrowser> {
  const wrapper = join(dir, `chromium-${home.hostNs}.sh`);
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${home.hostNs} ${CHROMIUM_PATH} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return launchChromium({ executablePath: wrapper, insecureOriginAsSecure: origin });
}

function pageOf(label: string): TestPage {
  const p = pages.find((x) => x.label === label);
  assert.ok(p, `page ${label}`);
  return p.page;
}

/** The server's participant behind a page, found by the name the other pages show for it. */
async function participantNamed(name: string, seenFrom: TestPage): Promise<SfuParticipant> {
  const id = (await remoteStats(seenFrom)).find((s) => s.name === name)?.participantId;
  assert.ok(id, `${name} is visible`);
  const participant = server!.sfu?.rooms.get(ROOM)?.participants.get(id);
  assert.ok(participant, `${name} (${id}) is in the router`);
  return participant;
}

/**
 * Waits until `page` decodes video from every one of `from`, then samples it every
 * SAMPLE_MS for WATCH_MS: each sample must show more frames decoded from each of them than
 * the one before — a freeze of SAMPLE_MS anywhere fails. Returns the first and last samples.
 */
async function keepsDecoding(label: string, page: TestPage, from: readonly string[]): Promise<{ first: RemoteStat[]; last: RemoteStat[] }> {
  const pick = (stats: RemoteStat[]): RemoteStat[] | null => {
    const out = from.map((name) => stats.find((s) => s.name === name));
    return out.every((s) => s && s.connectionState === 'connected' && s.videoFramesDecoded > 0) ? (out as RemoteStat[]) : null;
  };
  const first = await waitFor(`${label}: decoding video from ${from.join(', ')}`, async () => pick(await remoteStats(page)), 60_000, 500);
  let prev = first;
  for (let i = 0; i < WATCH_MS / SAMPLE_MS; i++) {
    await sleep(SAMPLE_MS);
    const now = pick(await remoteStats(page));
    assert.ok(now, `${label}: still connected to ${from.join(', ')} after ${(i + 1) * SAMPLE_MS} ms`);
    now.forEach((s, k) => {
      const before = prev[k]!.videoFramesDecoded;
      assert.ok(
        s.videoFramesDecoded > before,
        `${label}: frames from ${s.name} rising at ${(i + 1) * SAMPLE_MS} ms (${before} → ${s.videoFramesDecoded}); ${JSON.stringify(s)}`,
      );
    });
    prev = now;
  }
  return { first, last: prev };
}

const fps = (a: RemoteStat, b: RemoteStat): string => ((b.videoFramesDecoded - a.videoFramesDecoded) / (WATCH_MS / 1000)).toFixed(1);

test(
  "downstream loss: the lossy page keeps decoding both publishers, NACKs, and gets RTX from the server's cache",
  { timeout: 150_000 },
  async (t) => {
    const lossy = pageOf('lossy');
    await diagnose(
      pages,
      async () => {
        const { first, last } = await keepsDecoding('lossy', lossy, PUBLISHERS);
        for (const [k, s] of last.entries())
          t.diagnostic(`lossy ← ${s.name}: ${fps(first[k]!, s)} frames/s decoded over ${WATCH_MS / 1000} s`);

        // The page's own view (inbound-rtp): NACKs sent, retransmissions received, per publisher.
        const repaired = await waitFor(
          'lossy: NACKs sent and retransmissions received for each publisher',
          async () => {
            const stats = (await remoteStats(lossy)).filter((s) => (PUBLISHERS as readonly string[]).includes(s.name));
            return stats.length === PUBLISHERS.length && stats.every((s) => s.nackCount > 0 && (s.retransmittedPacketsReceived ?? 0) > 0)
              ? stats
              : null;
          },
          20_000,
          500,
        );
        for (const s of repaired)
          t.diagnostic(`lossy ← ${s.name}: nackCount ${s.nackCount}, retransmittedPacketsReceived ${s.retransmittedPacketsReceived}`);

        // The server's view: those NACKs reached the consumers toward the lossy page, which
        // answered from the producer's cache (a miss is not counted) as RTX on the RTX SSRC.
        const participant = await participantNamed('lossy', pageOf('ada'));
        // Over ICE-TCP (also offered) TCP would hide the loss from RTP: the media must be on UDP.
        assert.equal(participant.subscribeRtc.ice.selectedTuple?.protocol, 'udp', 'the subscribe connection runs over UDP');
        assert.equal(participant.publishRtc.ice.selectedTuple?.protocol, 'udp', 'the publish connection runs over UDP');
        const video = [...participant.subscribe.consumers].filter((c) => c.kind === 'video');
        assert.equal(video.length, PUBLISHERS.length, 'one video consumer per publisher');
        for (const c of video) {
          t.diagnostic(
            `server → lossy, consumer of ${c.producer.ownerId}: ${c.nacksReceived} seqs NACKed, ${c.retransmitted} resent of ${c.packetsSent} packets`,
          );
          assert.notEqual(c.rtxSsrc, undefined, 'the subscribe offer negotiated RTX');
          assert.ok(c.nacksReceived > 0, `consumer ${c.id} received NACKs`);
          assert.ok(c.retransmitted > 0, `consumer ${c.id} resent from the cache`);
        }
      },
      () => describeSfuRoom(server, ROOM),
    );
  },
);

test(
  "upstream loss: the server NACKs the lossy page's video, gets RTX, and the clean pages keep decoding it",
  { timeout: 150_000 },
  async (t) => {
    await diagnose(
      pages,
      async () => {
        for (const name of PUBLISHERS) {
          const { first, last } = await keepsDecoding(name, pageOf(name), ['lossy']);
          t.diagnostic(`${name} ← lossy: ${fps(first[0]!, last[0]!)} frames/s decoded over ${WATCH_MS / 1000} s`);
        }
        const participant = await participantNamed('lossy', pageOf('ada'));
        const video = [...participant.producers].filter((p) => p.kind === 'video');
        assert.equal(video.length, 1, 'the lossy page publishes one video track');
        const producer = video[0]!;
        t.diagnostic(
          `lossy → server: ${producer.packetsReceived} packets, ${producer.nacksSent} seqs NACKed, ${producer.retransmissionsReceived} RTX received`,
        );
        assert.notEqual(producer.rtxSsrc, undefined, 'the publisher negotiated RTX');
        assert.ok(producer.nacksSent > 0, 'the server NACKed missing packets');
        assert.ok(producer.retransmissionsReceived > 0, 'the page resent them as RTX');
      },
      () => describeSfuRoom(server, ROOM),
    );
  },
);

test('the loss was real: about 10 % of the packets each way were dropped', (t) => {
  for (const { label, loss } of losses) {
    const { packets, dropped } = loss.counts();
    // Bernoulli(0.1) over thousands of packets: well inside 5–15 % unless the loss is broken.
    t.diagnostic(
      `${label} (${loss.method}): dropped ${dropped} of ${packets} packets (${((100 * dropped) / Math.max(1, packets)).toFixed(1)} %)`,
    );
    assert.ok(packets > 1000, `${label}: enough packets crossed the lossy link (${packets})`);
    const ratio = dropped / packets;
    assert.ok(ratio > 0.05 && ratio < 0.15, `${label}: loss ratio ${ratio.toFixed(3)}`);
  }
});

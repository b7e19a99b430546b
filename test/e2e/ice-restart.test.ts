/**
 * ICE restart after a real connection failure. Two Chromium pages are connected; the test
 * then drops every UDP packet of the selected candidate pair's ports with iptables (a rule in
 * a chain of its own, removed afterwards — loopback traffic only). Both pages see the path
 * die and restart ICE (often both at about the same time: a glare that perfect negotiation
 * must resolve), gather fresh candidates on new ports, and media decodes again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { IptablesChain } from '../helpers/iptables-chain.js';
import { launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { LOW_VIDEO, diagnose, openPage, remoteStats } from './page-api.js';

const chain = new IptablesChain(`SB_ICE_${process.pid}`);
let server: Switchboard;
let browser: TestBrowser;
let a: TestPage;
let b: TestPage;

interface LinkView {
  port: number;
  address: string;
  protocol: string;
  restarts: number;
  allPorts: number[];
}

/** The local port of the selected candidate pair and the restart count of the page's only peer link. */
function linkView(page: TestPage): Promise<LinkView> {
  return page.evaluate(async () => {
    type Link = { pc: { getStats(): Promise<Map<string, Record<string, unknown>>> }; iceRestarts: number };
    const g = globalThis as unknown as { switchboard: { room: { participants: Map<string, { peer: { link: Link } }> } } };
    const [p] = [...g.switchboard.room.participants.values()];
    if (!p) return { port: -1, address: '', protocol: '', restarts: -1, allPorts: [] };
    const stats = await p.peer.link.pc.getStats();
    let pairId: unknown;
    const allPorts: number[] = [];
    stats.forEach((r) => {
      if (r.type === 'transport') pairId = r.selectedCandidatePairId;
      if (r.type === 'local-candidate') allPorts.push(Number(r.port));
    });
    const pair = typeof pairId === 'string' ? stats.get(pairId) : undefined;
    const local = pair ? stats.get(String(pair.localCandidateId)) : undefined;
    const text = (v: unknown): string => (typeof v === 'string' ? v : '');
    return {
      port: Number(local?.port ?? -1),
      address: text(local?.address),
      protocol: text(local?.protocol),
      restarts: p.peer.link.iceRestarts,
      allPorts,
    };
  });
}

async function decoding(page: TestPage, label: string, timeoutMs: number): Promise<void> {
  const first = await waitFor(
    `${label}: connected and decoding`,
    async () => {
      const [s] = await remoteStats(page);
      return s && s.connectionState === 'connected' && s.videoFramesDecoded > 0 ? s : null;
    },
    timeoutMs,
    500,
  );
  await waitFor(
    `${label}: frames rising`,
    async () => {
      const [s] = await remoteStats(page);
      return s !== undefined && s.videoFramesDecoded > first.videoFramesDecoded + 10;
    },
    15_000,
    500,
  );
}

before(async () => {
  chain.remove();
  server = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' });
  browser = await launchChromium();
  [a, b] = await Promise.all([browser.newPage(), browser.newPage()]);
  const url = `http://localhost:${server.port}/?room=restart1&video=${LOW_VIDEO}`;
  await openPage(a, `${url}&name=a`);
  await openPage(b, `${url}&name=b`);
});

after(async () => {
  chain.remove();
  await browser?.close();
  await server?.close();
});

test('a failed path is restarted and media comes back on new ports', { timeout: 120_000 }, async () => {
  const pages = [
    { label: 'a', page: a },
    { label: 'b', page: b },
  ];
  await diagnose(pages, async () => {
    await decoding(a, 'a', 30_000);
    await decoding(b, 'b', 30_000);
    const [va, vb] = [await linkView(a), await linkView(b)];
    assert.ok(va.port > 0 && vb.port > 0, `selected ports known (${va.port}, ${vb.port})`);
    assert.deepEqual([va.restarts, vb.restarts], [0, 0]);

    chain.create();
    // Every candidate of both pages (all interfaces, UDP and TCP): ICE has no pair left to fail over to.
    const blocked = new Set([...va.allPorts, ...vb.allPorts]);
    for (const port of blocked) {
      for (const proto of ['udp', 'tcp']) {
        chain.append('-p', proto, '--sport', String(port), '-j', 'DROP');
        chain.append('-p', proto, '--dport', String(port), '-j', 'DROP');
      }
    }
    chain.hook('INPUT');
    chain.hook('OUTPUT');

    // The pages notice, restart ICE and reconnect over fresh candidates.
    const recovered: LinkView[] = await waitFor(
      'an ICE restart and both pages reconnected on new ports',
      async () => {
        const [na, nb] = [await linkView(a), await linkView(b)];
        const [sa] = await remoteStats(a);
        const [sb] = await remoteStats(b);
        // One side's restart is enough: its offer carries new credentials and restarts the other too.
        const ok =
          na.restarts + nb.restarts > 0 &&
          sa?.connectionState === 'connected' &&
          sb?.connectionState === 'connected' &&
          na.port > 0 &&
          !blocked.has(na.port) &&
          nb.port > 0 &&
          !blocked.has(nb.port);
        return ok ? [na, nb] : null;
      },
      60_000,
      1000,
    );
    assert.ok((recovered[0]?.restarts ?? 0) + (recovered[1]?.restarts ?? 0) >= 1, 'a restart happened');
    await decoding(a, 'a after restart', 20_000);
    await decoding(b, 'b after restart', 20_000);
  });
});

/**
 * ICE across real NATs: two Chromium peers, each in its own home behind its own NAT
 * (../helpers/netlab.ts), and the Switchboard server — signaling plus STUN/TURN — on the lab's
 * "internet" at 198.18.0.1. What each kind of NAT allows:
 *  - two port-restricted cones: hole punching works, media flows srflx ↔ srflx, no relay;
 *  - two symmetric NATs: only the TURN relay connects them; with STUN alone the call fails;
 *  - outbound UDP blocked at one NAT: that side reaches the relay over TCP (or TLS).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { browsersAvailable, CHROMIUM_PATH, launchChromium, waitFor, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { createNatLab, netlabAvailable, type Home, type NatLab } from '../helpers/netlab.js';
import { LOW_VIDEO, diagnose, openPage, remoteStats, type RemoteStat } from '../e2e/page-api.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const HTTP_PORT = 8080;
const STUN_ONLY_PORT = 8081;
const TURN_PORT = 3478;
const TURNS_PORT = 5349;

// Home indexes in the lab (one browser per home).
const CONE_A = 0;
const CONE_B = 1;
const SYM_A = 2;
const SYM_B = 3;
/** Outbound UDP and TLS-TURN blocked: the only way out to the relay is TURN over TCP. */
const TCP_ONLY = 4;
/** Outbound UDP and plain TCP-TURN blocked: the only way out to the relay is TURN over TLS. */
const TLS_ONLY = 5;

let lab: NatLab | undefined;
let dir: string;
let certSpki = '';
const browsers = new Set<TestBrowser>();

/**
 * Waits for a line matching `re` on the child's stdout, draining its output; fails early if it
 * exits, with what it printed (stderr included) in the error.
 */
function waitForLine(child: ChildProcess, re: RegExp, what: string, timeoutMs = 15_000): Promise<void> {
  let out = '';
  child.stderr!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      child.stdout!.resume();
      if (err) reject(err);
      else resolve();
    };
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (re.test(out)) done();
    };
    const onExit = (code: number | null): void => done(new Error(`${what} exited (${code}) before ready:\n${out}`));
    const timer = setTimeout(() => done(new Error(`${what} not ready after ${timeoutMs} ms:\n${out}`)), timeoutMs);
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

before(async () => {
  // CI runs this as root: a missing lab is a failure to report, never a silent skip.
  assert.ok(netlabAvailable(), 'the NAT lab needs root with iproute2 and iptables (ip netns, iptables)');
  assert.ok(browsersAvailable().chromium, `Chromium not found at ${CHROMIUM_PATH}`);
  dir = mkdtempSync(join(tmpdir(), 'sb-icenat-'));
  const udpOut = ['-i', 'lan', '-p', 'udp', '-j', 'DROP'];
  lab = createNatLab([
    { nat: 'cone' },
    { nat: 'cone' },
    { nat: 'symmetric' },
    { nat: 'symmetric' },
    { nat: 'cone', forwardRules: [udpOut, ['-i', 'lan', '-p', 'tcp', '--dport', String(TURNS_PORT), '-j', 'DROP']] },
    { nat: 'cone', forwardRules: [udpOut, ['-i', 'lan', '-p', 'tcp', '--dport', String(TURN_PORT), '-j', 'DROP']] },
  ]);
  const ip = lab.inetIp;

  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/CN=${ip}`,
      '-addext',
      `subjectAltName=IP:${ip}`,
      '-days',
      '1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const spkiDer = createPublicKey(readFileSync(join(dir, 'key.pem'))).export({ type: 'spki', format: 'der' });
  certSpki = createHash('sha256').update(spkiDer).digest('base64');

  // Our server with its embedded STUN/TURN (udp, tcp; tls with the certificate). Relaying to
  // reserved ranges is refused by default, and the lab lives in one of them.
  const sb = lab.spawn(lab.inetNs, process.execPath, [
    CLI,
    'serve',
    '--host',
    ip,
    '--port',
    String(HTTP_PORT),
    '--log-level',
    'warn',
    '--turn-port',
    String(TURN_PORT),
    '--turn-tls-port',
    String(TURNS_PORT),
    '--turn-tls-cert',
    join(dir, 'cert.pem'),
    '--turn-tls-key',
    join(dir, 'key.pem'),
    '--turn-allow-peer',
    '198.18.0.0/15',
    // One TURN worker (a process of its own): every client gets ports 3478/5349, which the lab's rules name.
    '--turn-workers',
    '1',
    '--rtc-port',
    '0',
  ]);
  const sbReady = waitForLine(sb, /listening/, 'switchboard serve');

  // STUN only (the first server's): no TURN of its own, no relay offered to the clients.
  writeFileSync(join(dir, 'stun-only.yaml'), `iceServers:\n  - urls: ['stun:${ip}:${TURN_PORT}']\n`);
  const stunOnly = lab.spawn(lab.inetNs, process.execPath, [
    CLI,
    'serve',
    '--config',
    join(dir, 'stun-only.yaml'),
    '--host',
    ip,
    '--port',
    String(STUN_ONLY_PORT),
    '--log-level',
    'warn',
    '--turn-enabled',
    'false',
    '--rtc-enabled',
    'false',
  ]);
  const stunOnlyReady = waitForLine(stunOnly, /listening/, 'switchboard serve (STUN only)');

  await Promise.all([sbReady, stunOnlyReady]);
});

after(async () => {
  for (const b of browsers) await b.close();
  lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Chromium inside `home`'s host namespace, trusting the lab server's plain-HTTP origin. */
async function browserIn(home: Home, port: number): Promise<TestBrowser> {
  const wrapper = join(dir, `chromium-${home.hostNs}.sh`);
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${home.hostNs} ${CHROMIUM_PATH} "$@"\n`);
  chmodSync(wrapper, 0o755);
  // The TURN/TLS certificate is self-signed: trust exactly its key, nothing else.
  const args = [`--ignore-certificate-errors-spki-list=${certSpki}`];
  const b = await launchChromium({ executablePath: wrapper, insecureOriginAsSecure: `http://${lab!.inetIp}:${port}`, args });
  browsers.add(b);
  return b;
}

interface Call {
  a: TestPage;
  b: TestPage;
  /** Runs `fn` with both pages' console output appended to a failure. */
  check<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** One browser in each home, both joining `room` on the server at `port`. */
async function callBetween(homeA: number, homeB: number, room: string, port = HTTP_PORT): Promise<Call> {
  const [ba, bb] = await Promise.all([browserIn(lab!.homes[homeA]!, port), browserIn(lab!.homes[homeB]!, port)]);
  const close = async (): Promise<void> => {
    for (const b of [ba, bb]) {
      await b.close();
      browsers.delete(b);
    }
  };
  try {
    const [a, b] = await Promise.all([ba.newPage(), bb.newPage()]);
    const url = `http://${lab!.inetIp}:${port}/?room=${room}&video=${LOW_VIDEO}`;
    await openPage(a, `${url}&name=a`);
    await openPage(b, `${url}&name=b`);
    const check = <T>(fn: () => Promise<T>): Promise<T> =>
      diagnose(
        [
          { label: 'a', page: a },
          { label: 'b', page: b },
        ],
        fn,
      );
    return { a, b, check, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Waits until `page` is connected to its one remote peer and decodes its video, then until
 * both the decoded frames and the received audio energy have grown: media is flowing now,
 * not merely once. Returns the last sample (its candidate pair is the one carrying media).
 */
async function mediaFlows(label: string, page: TestPage, timeoutMs = 45_000): Promise<RemoteStat> {
  const first = await waitFor(
    `${label}: connected and decoding`,
    async () => {
      const [r] = await remoteStats(page);
      return r && r.connectionState === 'connected' && r.videoFramesDecoded > 10 && r.audioEnergy > 0 ? r : null;
    },
    timeoutMs,
    500,
  );
  return waitFor(
    `${label}: frames and audio energy rising`,
    async () => {
      const [r] = await remoteStats(page);
      return r && r.connectionState === 'connected' && r.videoFramesDecoded > first.videoFramesDecoded && r.audioEnergy > first.audioEnergy
        ? r
        : null;
    },
    15_000,
    500,
  );
}

const path = (s: RemoteStat): string =>
  `${s.localCandidateType} ↔ ${s.remoteCandidateType}` + (s.localRelayProtocol ? ` (local relay over ${s.localRelayProtocol})` : '');

test('two port-restricted cone NATs: the call connects srflx ↔ srflx, without the relay', { timeout: 120_000 }, async (t) => {
  const call = await callBetween(CONE_A, CONE_B, 'cone-cone');
  try {
    await call.check(async () => {
      // Our STUN/TURN, on the address the page reached signaling by, on every transport.
      const ip = lab!.inetIp;
      assert.deepEqual(await welcomeUrls(call.a), [
        `stun:${ip}:${TURN_PORT}`,
        `turn:${ip}:${TURN_PORT}?transport=udp`,
        `turn:${ip}:${TURN_PORT}?transport=tcp`,
        `turns:${ip}:${TURNS_PORT}?transport=tcp`,
      ]);
      for (const [label, page] of [
        ['a', call.a],
        ['b', call.b],
      ] as const) {
        const s = await mediaFlows(label, page);
        t.diagnostic(`${label}: ${path(s)}`);
        assert.equal(s.localCandidateType, 'srflx', `${label}: ${path(s)}`);
        assert.equal(s.remoteCandidateType, 'srflx', `${label}: ${path(s)}`);
      }
    });
  } finally {
    await call.close();
  }
});

test('two symmetric NATs: the call connects through the relay', { timeout: 120_000 }, async (t) => {
  const call = await callBetween(SYM_A, SYM_B, 'sym-sym');
  try {
    await call.check(async () => {
      for (const [label, page] of [
        ['a', call.a],
        ['b', call.b],
      ] as const) {
        const s = await mediaFlows(label, page);
        t.diagnostic(`${label}: ${path(s)}`);
        assert.ok(
          s.localCandidateType === 'relay' || s.remoteCandidateType === 'relay',
          `${label}: the pair goes through TURN (${path(s)})`,
        );
      }
    });
  } finally {
    await call.close();
  }
});

test('two symmetric NATs with STUN only: the call does not connect', { timeout: 120_000 }, async () => {
  const call = await callBetween(SYM_A, SYM_B, 'sym-sym-stun', STUN_ONLY_PORT);
  try {
    await call.check(async () => {
      // STUN itself works from there (so the failure below is the NATs', not a dead server).
      for (const [label, page] of [
        ['a', call.a],
        ['b', call.b],
      ] as const) {
        const types = await gatheredTypes(page);
        assert.ok(types.includes('srflx'), `${label} gathers a server-reflexive candidate (got ${types.join(', ')})`);
        assert.ok(!types.includes('relay'), `${label} is offered no relay (got ${types.join(', ')})`);
      }
      // Where a path exists, the lab connects in a few seconds; connecting at any point in this
      // bounded wait fails the test. (Chromium still reports 'connecting' at its end.)
      const deadline = Date.now() + 20_000;
      let last: RemoteStat[] = [];
      while (Date.now() < deadline) {
        last = [...(await remoteStats(call.a)), ...(await remoteStats(call.b))];
        assert.ok(
          last.every((s) => s.connectionState !== 'connected'),
          `connected anyway: ${last.map(path).join('; ')}`,
        );
        if (last.length === 2 && last.every((s) => s.connectionState === 'failed')) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(last.length, 2, 'each side sees the other participant');
      for (const s of last) {
        assert.notEqual(s.connectionState, 'connected');
        assert.equal(s.videoFramesDecoded, 0);
      }
    });
  } finally {
    await call.close();
  }
});

for (const [label, home, protocol] of [
  ['outbound UDP blocked at one NAT: that side relays over TURN/TCP', TCP_ONLY, 'tcp'],
  ['outbound UDP and TURN/TCP blocked at one NAT: that side relays over TURN/TLS', TLS_ONLY, 'tls'],
] as const) {
  test(label, { timeout: 120_000 }, async (t) => {
    const call = await callBetween(home, CONE_A, `udp-blocked-${protocol}`);
    try {
      await call.check(async () => {
        const s = await mediaFlows('a (UDP blocked)', call.a);
        t.diagnostic(`a: ${path(s)}`);
        assert.equal(s.localCandidateType, 'relay', path(s));
        assert.equal(s.localRelayProtocol, protocol, path(s));
        t.diagnostic(`b: ${path(await mediaFlows('b', call.b))}`);
      });
    } finally {
      await call.close();
    }
  });
}

/** Every ICE server URL the page got in `welcome`, in order. */
function welcomeUrls(page: TestPage): Promise<string[]> {
  return page.evaluate(() => {
    const g = globalThis as unknown as {
      switchboard: { signaling: { welcome: { iceServers?: Array<{ urls: string | string[] }> } | null } };
    };
    return (g.switchboard.signaling.welcome?.iceServers ?? []).flatMap((s) => s.urls);
  });
}

/** Candidate types a fresh RTCPeerConnection gathers in `page` with the ICE servers from `welcome`. */
function gatheredTypes(page: TestPage): Promise<string[]> {
  return page.evaluate(async () => {
    interface Pc {
      onicecandidate: ((e: { candidate: { type: string | null } | null }) => void) | null;
      createDataChannel(label: string): unknown;
      createOffer(): Promise<unknown>;
      setLocalDescription(d: unknown): Promise<void>;
      close(): void;
    }
    const g = globalThis as unknown as {
      switchboard: { signaling: { welcome: { iceServers?: unknown[] } | null } };
      RTCPeerConnection: new (c: unknown) => Pc;
    };
    const pc = new g.RTCPeerConnection({ iceServers: g.switchboard.signaling.welcome?.iceServers ?? [] });
    const types: string[] = [];
    const done = new Promise<void>((resolve) => {
      pc.onicecandidate = (e) => {
        if (e.candidate) types.push(e.candidate.type ?? '?');
        else resolve();
      };
      setTimeout(resolve, 10_000);
    });
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    await done;
    pc.close();
    return types;
  });
}

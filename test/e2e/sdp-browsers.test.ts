/**
 * Real browsers accept the SFU's SDP. In Chromium and in Firefox ESR: the browser's publish
 * offer gets our answer; then our subscribe offer (data + audio + video) is answered by the
 * browser and that answer passes checkSubscribeAnswer; then two renegotiations: one section
 * goes inactive and a new video section is added, then the inactive section is reused for a
 * new audio track. No media flows (there is no server transport here): the local candidate
 * is 127.0.0.1:9, so the browsers' connectivity checks stay on loopback and fail quietly.
 */
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { browsersAvailable, launchChromium, launchFirefox, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { makeTestCert } from '../helpers/tls-cert.js';
import {
  buildPublishAnswer,
  buildSubscribeOffer,
  checkSubscribeAnswer,
  parseRemoteSdp,
  type LocalTransportParameters,
  type OfferedSection,
  type RemoteDescription,
} from '../../src/rtc/sdp/index.js';

/** The browser APIs the page functions use (the project's tsconfig has no DOM lib). */
interface PageTransceiver {
  mid: string | null;
  direction: string;
  currentDirection: string | null;
  sender: { getParameters(): { encodings: Array<{ rid?: string }> } };
}
interface PagePc {
  addTransceiver(
    kind: string,
    init: { direction: string; sendEncodings?: Array<{ rid: string; scaleResolutionDownBy: number }> },
  ): PageTransceiver;
  createDataChannel(label: string): unknown;
  createOffer(): Promise<{ type: string; sdp?: string }>;
  createAnswer(): Promise<{ type: string; sdp?: string }>;
  setLocalDescription(d?: { type: string; sdp?: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  getTransceivers(): PageTransceiver[];
  addEventListener(
    type: 'track',
    fn: (e: { transceiver: PageTransceiver; track: { kind: string }; streams: Array<{ id: string }> }) => void,
  ): void;
  readonly signalingState: string;
  close(): void;
}
interface PageGlobals {
  RTCPeerConnection: new () => PagePc;
  sdpTest: { pub?: PagePc; sub?: PagePc; tracks: Array<{ mid: string | null; kind: string; streams: string[] }> };
}
interface Transceivers {
  signalingState: string;
  transceivers: Array<{ mid: string | null; currentDirection: string | null }>;
}

let http: Server;
let url: string;
let chromium: TestBrowser | undefined;
let firefox: TestBrowser | undefined;
let local: LocalTransportParameters;

before(async () => {
  http = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>sdp</title>');
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  url = `http://localhost:${(http.address() as AddressInfo).port}/`;
  const cert = makeTestCert();
  try {
    const fingerprint = new X509Certificate(cert.cert).fingerprint256;
    local = {
      iceUfrag: randomBytes(6).toString('base64').replace(/=/g, ''),
      icePwd: randomBytes(18).toString('base64'),
      fingerprint: { algorithm: 'sha-256', value: fingerprint },
      candidates: [{ foundation: '1', component: 1, transport: 'udp', priority: 2130706431, ip: '127.0.0.1', port: 9, type: 'host' }],
    };
  } finally {
    cert.remove();
  }
  const available = browsersAvailable();
  [chromium, firefox] = await Promise.all([
    available.chromium ? launchChromium({ media: 'none' }) : undefined,
    available.firefox ? launchFirefox() : undefined,
  ]);
});

after(async () => {
  await Promise.all([chromium?.close(), firefox?.close()]);
  http?.close();
});

function section(mid: string, kind: 'audio' | 'video', ssrc: number, active = true, stream = `stream-${mid}`): OfferedSection {
  const codec =
    kind === 'audio'
      ? {
          payloadType: 111,
          name: 'opus',
          clockRate: 48000,
          channels: 2,
          fmtp: 'minptime=10;useinbandfec=1',
          rtcpFeedback: [{ type: 'transport-cc' }],
        }
      : {
          payloadType: 96,
          name: 'VP8',
          clockRate: 90000,
          fmtp: '',
          rtxPayloadType: 97,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'transport-cc' }],
        };
  const base: OfferedSection = {
    mid,
    kind,
    active,
    codec,
    ssrc,
    cname: 'sfu',
    streamId: stream,
    trackId: `track-${stream}`,
    headerExtensions: [
      { id: 1, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' },
      { id: 3, uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' },
    ],
  };
  return kind === 'video' ? { ...base, rtxSsrc: ssrc + 1 } : base;
}

function parseOk(sdp: string, type: 'offer' | 'answer'): RemoteDescription {
  const r = parseRemoteSdp(sdp, type);
  if (!r.ok) assert.fail(`${type} does not parse: ${r.error}\n${sdp}`);
  return r.description;
}

/** setRemoteDescription(offer), createAnswer, setLocalDescription on the subscribe pc; returns the answer. */
async function browserAnswers(page: TestPage, sdp: string): Promise<{ sdp: string } & Transceivers> {
  return page.evaluate(async (offer: string) => {
    const g = globalThis as unknown as PageGlobals;
    const pc = g.sdpTest.sub as PagePc;
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    return {
      sdp: answer.sdp ?? '',
      signalingState: pc.signalingState,
      transceivers: pc.getTransceivers().map((t) => ({ mid: t.mid, currentDirection: t.currentDirection })),
    };
  }, sdp);
}

function directions(t: Transceivers): Record<string, string | null> {
  return Object.fromEntries(t.transceivers.map((x) => [x.mid ?? '?', x.currentDirection]));
}

async function tracks(page: TestPage): Promise<Array<{ mid: string | null; kind: string; streams: string[] }>> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).sdpTest.tracks);
}

async function negotiateInBrowser(browser: TestBrowser): Promise<void> {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    // Publish: the browser offers audio + video sendonly and a data channel.
    const offerSdp = await page.evaluate(async () => {
      const g = globalThis as unknown as PageGlobals;
      const pub = new g.RTCPeerConnection();
      const sub = new g.RTCPeerConnection();
      g.sdpTest = { pub, sub, tracks: [] };
      sub.addEventListener('track', (e) =>
        g.sdpTest.tracks.push({ mid: e.transceiver.mid, kind: e.track.kind, streams: e.streams.map((s) => s.id) }),
      );
      pub.addTransceiver('audio', { direction: 'sendonly' });
      pub.addTransceiver('video', { direction: 'sendonly' });
      // Simulcast (RFC 8853): three rids on a second video.
      pub.addTransceiver('video', {
        direction: 'sendonly',
        sendEncodings: [
          { rid: 'q', scaleResolutionDownBy: 4 },
          { rid: 'h', scaleResolutionDownBy: 2 },
          { rid: 'f', scaleResolutionDownBy: 1 },
        ],
      });
      pub.createDataChannel('chat');
      const offer = await pub.createOffer();
      await pub.setLocalDescription(offer);
      return offer.sdp ?? '';
    });
    const publish = buildPublishAnswer(parseOk(offerSdp, 'offer'), local);
    assert.equal(publish.dtlsRole, 'server');
    assert.deepEqual(
      publish.accepted.map((a) => [a.kind, a.codec.name.toLowerCase(), a.rids]),
      [
        ['audio', 'opus', []],
        ['video', 'vp8', []],
        ['video', 'vp8', ['q', 'h', 'f']],
      ],
    );
    assert.ok(
      publish.accepted[1]?.ssrc !== undefined && publish.accepted[1].rtxSsrc !== undefined,
      'the plain video has an SSRC and an rtx SSRC',
    );
    const published = await page.evaluate(async (answer: string) => {
      const pub = (globalThis as unknown as PageGlobals).sdpTest.pub as PagePc;
      await pub.setRemoteDescription({ type: 'answer', sdp: answer });
      return {
        signalingState: pub.signalingState,
        transceivers: pub.getTransceivers().map((t) => ({ mid: t.mid, currentDirection: t.currentDirection })),
        layers: pub.getTransceivers().map((t) => t.sender.getParameters().encodings.map((e) => e.rid ?? '')),
      };
    }, publish.sdp);
    assert.equal(published.signalingState, 'stable');
    assert.deepEqual(
      published.transceivers.map((t) => t.currentDirection),
      ['sendonly', 'sendonly', 'sendonly'],
      'every sender negotiated',
    );
    assert.deepEqual(published.layers[2], ['q', 'h', 'f'], 'the simulcast answer kept the three layers');

    // Subscribe, first offer: data + audio a0 + video v0.
    const first = [section('a0', 'audio', 1000), section('v0', 'video', 2000)];
    const answer1 = await browserAnswers(
      page,
      buildSubscribeOffer({ local, sessionId: '4242', sessionVersion: 1, sections: first, data: true }),
    );
    assert.equal(answer1.signalingState, 'stable');
    assert.equal(checkSubscribeAnswer(parseOk(answer1.sdp, 'answer'), first), null);
    assert.deepEqual(directions(answer1), { a0: 'recvonly', v0: 'recvonly' });
    assert.deepEqual(
      (await tracks(page)).map((t) => [t.mid, t.kind, t.streams]),
      [
        ['a0', 'audio', ['stream-a0']],
        ['v0', 'video', ['stream-v0']],
      ],
    );

    // Second offer: a0's track ended (inactive, same mid and codec), a new video v1 appended.
    const second = [section('a0', 'audio', 1000, false), section('v0', 'video', 2000), section('v1', 'video', 3000)];
    const answer2 = await browserAnswers(
      page,
      buildSubscribeOffer({ local, sessionId: '4242', sessionVersion: 2, sections: second, data: true }),
    );
    assert.equal(checkSubscribeAnswer(parseOk(answer2.sdp, 'answer'), second), null);
    assert.deepEqual(directions(answer2), { a0: 'inactive', v0: 'recvonly', v1: 'recvonly' });
    const afterSecond = await tracks(page);
    assert.deepEqual(
      afterSecond.slice(2).map((t) => [t.mid, t.kind, t.streams]),
      [['v1', 'video', ['stream-v1']]],
      'one new track, for v1',
    );

    // Third offer: a0 is reused for a new audio track of another stream.
    const third = [section('a0', 'audio', 4000, true, 'stream-new'), section('v0', 'video', 2000), section('v1', 'video', 3000)];
    const answer3 = await browserAnswers(
      page,
      buildSubscribeOffer({ local, sessionId: '4242', sessionVersion: 3, sections: third, data: true }),
    );
    assert.equal(checkSubscribeAnswer(parseOk(answer3.sdp, 'answer'), third), null);
    assert.deepEqual(directions(answer3), { a0: 'recvonly', v0: 'recvonly', v1: 'recvonly' });
    const afterThird = await tracks(page);
    assert.deepEqual(
      afterThird.slice(3).map((t) => [t.mid, t.kind, t.streams]),
      [['a0', 'audio', ['stream-new']]],
      'the reused a0 fires track with its new stream',
    );
    // The data channel section and the transceivers' order stayed the same through all three offers.
    assert.deepEqual(
      answer3.transceivers.map((t) => t.mid),
      ['a0', 'v0', 'v1'],
    );
    assert.equal(parseOk(answer3.sdp, 'answer').media[0]?.kind, 'application');
  } finally {
    await page
      .evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        g.sdpTest?.pub?.close();
        g.sdpTest?.sub?.close();
      })
      .catch(() => undefined);
    await page.close();
  }
}

test('Chromium accepts the publish answer and three subscribe offers', { timeout: 60_000 }, async (t) => {
  if (!chromium) return t.skip('no Chromium');
  await negotiateInBrowser(chromium);
});

test('Firefox ESR accepts the publish answer and three subscribe offers', { timeout: 60_000 }, async (t) => {
  if (!firefox) return t.skip('no Firefox');
  await negotiateInBrowser(firefox);
});

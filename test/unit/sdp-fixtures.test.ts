/**
 * Real offers (Chromium, Firefox ESR, libwebrtc in Node, libdatachannel; see
 * test/fixtures/sdp/README.md) through parseRemoteSdp and buildPublishAnswer: the chosen
 * payload types, rtx mapping, header extension ids and SSRCs are the ones each offer wrote.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPublishAnswer, parseRemoteSdp, type RemoteDescription } from '../../src/rtc/sdp/index.js';
import { FIXTURES, TEST_LOCAL, loadFixture, type FixtureName } from '../fixtures/sdp/fixtures.js';

interface Expected {
  ufrag: string;
  /** red: the RFC 2198 payload type taken when the offer has `red/48000/2` with fmtp `pt/pt`. */
  audio: { pt: number; ext: number[]; ssrc: number; red?: number };
  video: { pt: number; rtx: number; ext: number[]; ssrc?: number; rtxSsrc?: number; rids: string[] };
}

const EXPECTED: Record<FixtureName, Expected> = {
  'chromium-offer.sdp': {
    ufrag: 'iM6H',
    audio: { pt: 111, ext: [1, 2, 3, 4], ssrc: 3409496613, red: 63 },
    video: { pt: 96, rtx: 97, ext: [2, 3, 4, 10, 11], ssrc: 3027500940, rtxSsrc: 777120723, rids: [] },
  },
  'chromium-simulcast-offer.sdp': {
    ufrag: 'NkkG',
    audio: { pt: 111, ext: [1, 2, 3, 4], ssrc: 3143510843, red: 63 },
    video: { pt: 96, rtx: 97, ext: [2, 3, 4, 10, 11], rids: ['q', 'h', 'f'] },
  },
  // Firefox: other payload types, ICE at media level only, fingerprint at session level, FID group after the SSRCs.
  'firefox-offer.sdp': {
    ufrag: '2d8db865',
    audio: { pt: 109, ext: [1, 3, 7], ssrc: 699795427 },
    video: { pt: 120, rtx: 124, ext: [3, 4, 7], ssrc: 615986918, rtxSsrc: 578455620, rids: [] },
  },
  'firefox-simulcast-offer.sdp': {
    ufrag: '6da8111e',
    audio: { pt: 109, ext: [1, 3, 7], ssrc: 3052185915 },
    video: { pt: 120, rtx: 124, ext: [3, 4, 7, 9, 10], rids: ['q', 'h', 'f'] },
  },
  'wrtc-offer.sdp': {
    ufrag: 'RNWU',
    audio: { pt: 111, ext: [1, 2, 3, 4], ssrc: 2804911416, red: 63 },
    video: { pt: 96, rtx: 97, ext: [2, 3, 4, 10, 11], ssrc: 3080232092, rtxSsrc: 1906151546, rids: [] },
  },
  // libdatachannel: no header extensions, an rtx payload type but a single SSRC (no FID group).
  'node-datachannel-offer.sdp': {
    ufrag: '2O4Q',
    audio: { pt: 111, ext: [], ssrc: 1111 },
    video: { pt: 96, rtx: 97, ext: [], ssrc: 2222, rids: [] },
  },
};

function parsed(name: FixtureName): RemoteDescription {
  const r = parseRemoteSdp(loadFixture(name), 'offer');
  if (!r.ok) assert.fail(`${name}: ${r.error}`);
  return r.description;
}

for (const name of FIXTURES) {
  const want = EXPECTED[name];

  test(`${name}: parses as a bundled offer with one transport`, () => {
    const d = parsed(name);
    assert.equal(d.iceUfrag, want.ufrag);
    assert.equal(d.setup, 'actpass');
    assert.equal(d.fingerprints.length, 1);
    assert.equal(d.fingerprints[0]?.algorithm, 'sha-256');
    assert.deepEqual(d.bundleMids, ['0', '1', '2']);
    assert.deepEqual(
      d.media.map((m) => [m.mid, m.kind, m.direction, m.rejected]),
      [
        ['0', 'audio', 'sendonly', false],
        ['1', 'video', 'sendonly', false],
        ['2', 'application', 'sendrecv', false],
      ],
    );
    assert.equal(d.media[2]?.sctpPort, 5000);
    // rtx entries are folded into their original codec, never listed as codecs.
    for (const m of d.media) assert.ok(m.codecs.every((c) => c.name.toLowerCase() !== 'rtx'));
  });

  test(`${name}: the publish answer takes opus and VP8 with the offer's payload types, extension ids and SSRCs`, () => {
    const answer = buildPublishAnswer(parsed(name), TEST_LOCAL, { sessionId: '1', sessionVersion: 1 });
    assert.equal(answer.dtlsRole, 'server');
    const [audio, video] = answer.accepted;
    assert.equal(answer.accepted.length, 2);
    assert.equal(audio?.kind, 'audio');
    assert.equal(audio?.codec.name.toLowerCase(), 'opus');
    assert.equal(audio?.codec.payloadType, want.audio.pt);
    assert.equal(audio?.codec.channels, 2);
    assert.equal(audio?.codec.rtxPayloadType, undefined);
    assert.equal(audio?.codec.redPayloadType, want.audio.red);
    assert.deepEqual(
      audio?.headerExtensions.map((e) => e.id),
      want.audio.ext,
    );
    assert.equal(audio?.ssrc, want.audio.ssrc);

    assert.equal(video?.kind, 'video');
    assert.equal(video?.codec.name.toUpperCase(), 'VP8');
    assert.equal(video?.codec.payloadType, want.video.pt);
    assert.equal(video?.codec.rtxPayloadType, want.video.rtx);
    assert.deepEqual(
      video?.headerExtensions.map((e) => e.id),
      want.video.ext,
    );
    assert.equal(video?.ssrc, want.video.ssrc);
    assert.equal(video?.rtxSsrc, want.video.rtxSsrc);
    assert.deepEqual(video?.rids, want.video.rids);
    assert.ok(video?.msid && video.msid.trackId.length > 0, 'msid known');
    // Chrome's simulcast offer has no a=ssrc for video: the cname comes with RTCP then.
    if (name !== 'chromium-simulcast-offer.sdp') assert.ok(video?.cname && video.cname.length > 0, 'cname known');

    // The answer itself, read back: same mids, recvonly, data accepted, server transport.
    const back = parseRemoteSdp(answer.sdp, 'answer');
    if (!back.ok) assert.fail(back.error);
    const d = back.description;
    assert.equal(d.iceUfrag, TEST_LOCAL.iceUfrag);
    assert.equal(d.setup, 'passive');
    assert.deepEqual(d.bundleMids, ['0', '1', '2']);
    assert.deepEqual(
      d.media.map((m) => [m.mid, m.direction, m.rejected]),
      [
        ['0', 'recvonly', false],
        ['1', 'recvonly', false],
        ['2', 'sendrecv', false],
      ],
    );
    // RED first when taken: libwebrtc sends RED only when red precedes opus in the negotiated list.
    assert.deepEqual(
      d.media[0]?.codecs.map((c) => c.payloadType),
      want.audio.red !== undefined ? [want.audio.red, want.audio.pt] : [want.audio.pt],
    );
    if (want.audio.red !== undefined) {
      assert.equal(d.media[0]?.codecs[0]?.fmtp, `${want.audio.pt}/${want.audio.pt}`);
      assert.match(answer.sdp, new RegExp(`\\r\\na=rtpmap:${want.audio.red} red/48000/2\\r\\n`));
    }
    assert.equal(d.media[0]?.codecs.find((c) => c.name === 'opus')?.fmtp, 'minptime=10;useinbandfec=1;usedtx=1');
    assert.deepEqual(
      d.media[1]?.codecs.map((c) => [c.payloadType, c.rtxPayloadType]),
      [[want.video.pt, want.video.rtx]],
    );
    assert.equal(d.media[2]?.sctpPort, 5000);
    assert.equal(d.media[2]?.maxMessageSize, 262144);
    assert.match(answer.sdp, /\r\na=ice-lite\r\n/);
    assert.equal(answer.sdp.match(/^a=end-of-candidates$/gm)?.length, 3);
    if (want.video.rids.length > 0) {
      assert.match(answer.sdp, /\r\na=simulcast:recv q;h;f\r\n/);
      assert.deepEqual(d.media[1]?.rids, [
        { id: 'q', direction: 'recv' },
        { id: 'h', direction: 'recv' },
        { id: 'f', direction: 'recv' },
      ]);
    }
  });
}

test('Firefox: rid extensions offered /sendonly are answered /recvonly (RFC 8285 §7)', () => {
  const answer = buildPublishAnswer(parsed('firefox-simulcast-offer.sdp'), TEST_LOCAL);
  assert.match(answer.sdp, /\r\na=extmap:9\/recvonly urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n/);
  assert.match(answer.sdp, /\r\na=extmap:10\/recvonly urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n/);
  // csrc-audio-level and playout-delay are offered /recvonly and are not ours to take.
  assert.doesNotMatch(answer.sdp, /csrc-audio-level|playout-delay/);
});

test('the publish answer keeps only the feedback both sides know (libdatachannel offers no transport-cc, no ccm fir)', () => {
  const answer = buildPublishAnswer(parsed('node-datachannel-offer.sdp'), TEST_LOCAL);
  assert.deepEqual(answer.accepted[1]?.codec.rtcpFeedback, [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }]);
  assert.deepEqual(answer.accepted[0]?.codec.rtcpFeedback, []);
});

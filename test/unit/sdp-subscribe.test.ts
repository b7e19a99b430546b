/**
 * buildSubscribeOffer's sections (sendonly with msid and SSRCs, RFC 5576 FID groups, inactive
 * sections without SSRCs) and checkSubscribeAnswer's refusals, on answers derived from the offer
 * the way a browser writes them (real browser answers are checked in test/e2e/sdp-browsers).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildSubscribeOffer,
  checkSubscribeAnswer,
  parseRemoteSdp,
  type OfferedSection,
  type RemoteDescription,
} from '../../src/rtc/sdp/index.js';
import { TEST_LOCAL } from '../fixtures/sdp/fixtures.js';

const AUDIO: OfferedSection = {
  mid: 'a0',
  kind: 'audio',
  active: true,
  ssrc: 1111,
  cname: 'sfu-cname',
  streamId: 'alice',
  trackId: 'alice-mic',
  codec: {
    payloadType: 111,
    name: 'opus',
    clockRate: 48000,
    channels: 2,
    fmtp: 'minptime=10;useinbandfec=1',
    rtcpFeedback: [{ type: 'transport-cc' }],
  },
  headerExtensions: [
    { id: 1, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' },
    { id: 5, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' },
  ],
};
const VIDEO: OfferedSection = {
  mid: 'v0',
  kind: 'video',
  active: true,
  ssrc: 2222,
  rtxSsrc: 3333,
  cname: 'sfu-cname',
  streamId: 'alice',
  trackId: 'alice-cam',
  codec: {
    payloadType: 96,
    name: 'VP8',
    clockRate: 90000,
    fmtp: '',
    rtxPayloadType: 97,
    rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
  },
  headerExtensions: [
    { id: 1, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' },
    { id: 3, uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' },
  ],
};
const ENDED: OfferedSection = { ...VIDEO, mid: 'v1', active: false, ssrc: 4444, rtxSsrc: 5555 };

function offerSdp(sections: OfferedSection[], data = true): string {
  return buildSubscribeOffer({ local: TEST_LOCAL, sessionId: '777', sessionVersion: 3, sections, data });
}

function parse(sdp: string, type: 'offer' | 'answer'): RemoteDescription {
  const r = parseRemoteSdp(sdp, type);
  if (!r.ok) assert.fail(`${r.error}\n${sdp}`);
  return r.description;
}

/** What a browser answers: its own transport, recvonly for sendonly, no SSRCs of ours. */
function browserAnswer(offer: string): string {
  return offer
    .replace('a=ice-lite\r\n', '')
    .replaceAll(`a=ice-ufrag:${TEST_LOCAL.iceUfrag}`, 'a=ice-ufrag:brws')
    .replaceAll('a=setup:actpass', 'a=setup:active')
    .replaceAll('a=sendonly', 'a=recvonly')
    .replace(/^a=(ssrc|ssrc-group|msid|candidate|end-of-candidates)\b.*\r\n/gm, '');
}

test('the offer: ice-lite, BUNDLE of every mid with data first, actpass, candidates in each section', () => {
  const sdp = offerSdp([AUDIO, VIDEO, ENDED]);
  assert.ok(sdp.startsWith('v=0\r\no=- 777 3 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-lite\r\na=group:BUNDLE data a0 v0 v1\r\n'));
  const d = parse(sdp, 'offer');
  assert.equal(d.setup, 'actpass');
  assert.equal(d.iceUfrag, TEST_LOCAL.iceUfrag);
  assert.deepEqual(d.fingerprints, [TEST_LOCAL.fingerprint]);
  assert.deepEqual(
    d.media.map((m) => [m.mid, m.kind, m.direction, m.rtcpMux]),
    [
      ['data', 'application', 'sendrecv', false],
      ['a0', 'audio', 'sendonly', true],
      ['v0', 'video', 'sendonly', true],
      ['v1', 'video', 'inactive', true],
    ],
  );
  assert.equal(d.media[0]?.sctpPort, 5000);
  assert.equal(sdp.match(/^a=end-of-candidates$/gm)?.length, 4);
  assert.equal(sdp.match(/^a=candidate:/gm)?.length, 8);
  assert.ok(d.media.slice(1).every((m) => m.rtcpRsize));
});

test('active sections carry msid, cname and the FID group; inactive ones keep codec and mid but no SSRC', () => {
  const d = parse(offerSdp([AUDIO, VIDEO, ENDED]), 'offer');
  const [, audio, video, ended] = d.media;
  assert.deepEqual(audio?.msid, { streamId: 'alice', trackId: 'alice-mic' });
  assert.deepEqual(audio?.ssrcs, [{ ssrc: 1111, cname: 'sfu-cname', msid: 'alice alice-mic' }]);
  assert.deepEqual(audio?.codecs, [AUDIO.codec]);
  assert.deepEqual(audio?.headerExtensions, AUDIO.headerExtensions);
  assert.deepEqual(video?.ssrcGroups, [{ semantics: 'FID', ssrcs: [2222, 3333] }]);
  assert.deepEqual(
    video?.ssrcs.map((s) => [s.ssrc, s.cname, s.msid]),
    [
      [2222, 'sfu-cname', 'alice alice-cam'],
      [3333, 'sfu-cname', 'alice alice-cam'],
    ],
  );
  assert.deepEqual(video?.codecs, [VIDEO.codec]);
  assert.deepEqual(ended?.codecs, [VIDEO.codec]);
  assert.deepEqual([ended?.ssrcs, ended?.ssrcGroups, ended?.msid], [[], [], undefined]);
  assert.equal(ended?.rejected, false);
});

test('without data there is no m=application; without an rtx payload type there is no FID group', () => {
  const { rtxPayloadType: _rtx, ...codec } = VIDEO.codec;
  const noRtx: OfferedSection = { ...VIDEO, codec };
  const d = parse(offerSdp([noRtx], false), 'offer');
  assert.deepEqual(d.bundleMids, ['v0']);
  assert.deepEqual(
    d.media[0]?.ssrcs.map((s) => s.ssrc),
    [2222],
  );
  assert.deepEqual(d.media[0]?.ssrcGroups, []);
});

test('a browser-like answer passes checkSubscribeAnswer', () => {
  const sections = [AUDIO, VIDEO, ENDED];
  const answer = parse(browserAnswer(offerSdp(sections)), 'answer');
  assert.equal(answer.setup, 'active');
  assert.equal(checkSubscribeAnswer(answer, sections), null);
});

test('checkSubscribeAnswer names what the browser changed', () => {
  const sections = [AUDIO, VIDEO, ENDED];
  const good = browserAnswer(offerSdp(sections));
  const cases: Array<[string, string, RegExp]> = [
    ['rejected', good.replace(/^m=video (\d+) /m, 'm=video 0 '), /mid v0: rejected by the browser/],
    [
      'refused to receive',
      good.replace(/(a=mid:v0\r\n(?:a=extmap.*\r\n)*)a=recvonly/, '$1a=inactive'),
      /mid v0: direction inactive, expected recvonly/,
    ],
    [
      'receives on inactive',
      good.replace(/(a=mid:v1\r\n(?:a=extmap.*\r\n)*)a=inactive/, '$1a=recvonly'),
      /mid v1: direction recvonly, expected inactive/,
    ],
    ['codec renamed', good.replace('a=rtpmap:96 VP8/90000', 'a=rtpmap:96 VP9/90000'), /payload type 96 changed to VP9\/90000/],
    [
      'codec missing',
      good
        .replace(/^m=audio (\d+) UDP\/TLS\/RTP\/SAVPF 111$/m, 'm=audio $1 UDP/TLS/RTP/SAVPF 0')
        .replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:0 PCMU/8000'),
      /mid a0: codec opus\/111 missing/,
    ],
    [
      'extra codec',
      good
        .replace(/^m=audio (\d+) UDP\/TLS\/RTP\/SAVPF 111$/m, 'm=audio $1 UDP/TLS/RTP/SAVPF 111 0')
        .replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000'),
      /mid a0: answer adds payload type 0/,
    ],
    [
      'rtx moved',
      good
        .replace(/^m=video (\d+) UDP\/TLS\/RTP\/SAVPF 96 97$/m, 'm=video $1 UDP/TLS/RTP/SAVPF 96 98')
        .replace('a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96', 'a=rtpmap:98 rtx/90000\r\na=fmtp:98 apt=96'),
      /mid v0: rtx payload type 98 was not offered/,
    ],
    [
      'extension renumbered',
      good.replace('a=extmap:5 urn:ietf:params:rtp-hdrext:ssrc-audio-level', 'a=extmap:6 urn:ietf:params:rtp-hdrext:ssrc-audio-level'),
      /mid a0: header extension 6 .* was not offered/,
    ],
    ['not bundled', good.replace('a=group:BUNDLE data a0 v0 v1', 'a=group:BUNDLE data a0 v1'), /mid v0: not in the answer's BUNDLE group/],
    ['no rtcp-mux', good.replace(/(a=mid:a0\r\n(?:.*\r\n)*?)a=rtcp-mux\r\n/, '$1'), /mid a0: no rtcp-mux/],
  ];
  for (const [what, sdp, error] of cases) {
    assert.notEqual(sdp, good, `${what}: the edit applies`);
    const answer = parse(sdp, 'answer');
    assert.match(checkSubscribeAnswer(answer, sections) ?? 'null', error, what);
  }
  // A missing section, and a section that was never offered.
  const answer = parse(good, 'answer');
  assert.match(checkSubscribeAnswer(answer, [...sections, { ...AUDIO, mid: 'a9' }]) ?? '', /mid a9 missing from the answer/);
  assert.match(checkSubscribeAnswer(answer, [AUDIO, VIDEO]) ?? '', /answer has mid v1, which was not offered/);
  assert.match(checkSubscribeAnswer({ ...answer, type: 'offer' }, sections) ?? '', /not an answer/);
});

test('bad sections are a programming error and throw', () => {
  assert.throws(() => offerSdp([AUDIO, { ...VIDEO, mid: 'a0' }]), /used twice/);
  assert.throws(() => offerSdp([{ ...AUDIO, mid: 'data' }], true), /used twice/);
  assert.throws(() => offerSdp([{ ...AUDIO, ssrc: -1 }]), /SSRC/);
  assert.throws(() => offerSdp([{ ...AUDIO, trackId: 'has space' }]), /token chars/);
  assert.throws(() => offerSdp([{ ...AUDIO, codec: { ...AUDIO.codec, payloadType: 128 } }]), /payload type/);
  assert.throws(() => buildSubscribeOffer({ local: TEST_LOCAL, sessionId: 'abc', sessionVersion: 1, sections: [] }), /sessionId/);
  // An inactive section's stale ids are not written, so they are not checked.
  assert.doesNotThrow(() => offerSdp([{ ...ENDED, trackId: '' }]));
});

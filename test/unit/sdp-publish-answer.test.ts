/**
 * buildPublishAnswer rules: DTLS roles (RFC 8842 §5.3), rejection of what the server cannot
 * receive (port 0, out of the BUNDLE group, RFC 8829 §5.3.1 / RFC 8843 §7.3.3), extension and
 * feedback selection, default destination from the first candidate.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPublishAnswer, parseRemoteSdp, type RemoteDescription } from '../../src/rtc/sdp/index.js';
import { TEST_LOCAL, loadFixture } from '../fixtures/sdp/fixtures.js';

const CHROME = loadFixture('chromium-offer.sdp');

function offer(sdp: string): RemoteDescription {
  const r = parseRemoteSdp(sdp, 'offer');
  if (!r.ok) assert.fail(r.error);
  return r.description;
}

function answerOf(sdp: string): RemoteDescription {
  const r = parseRemoteSdp(sdp, 'answer');
  if (!r.ok) assert.fail(`${r.error}\n${sdp}`);
  return r.description;
}

test('DTLS: actpass and active are answered passive (server); passive is answered active (client)', () => {
  for (const [offered, answered, role] of [
    ['actpass', 'passive', 'server'],
    ['active', 'passive', 'server'],
    ['passive', 'active', 'client'],
  ] as const) {
    const a = buildPublishAnswer(offer(CHROME.replaceAll('a=setup:actpass', `a=setup:${offered}`)), TEST_LOCAL);
    assert.equal(a.dtlsRole, role, offered);
    assert.equal(answerOf(a.sdp).setup, answered, offered);
    assert.equal(a.sdp.match(/^a=setup:/gm)?.length, 3);
  }
});

test('session: ice-lite, o= from the options, BUNDLE of what is accepted', () => {
  const a = buildPublishAnswer(offer(CHROME), TEST_LOCAL, { sessionId: '12345', sessionVersion: 7 });
  assert.ok(
    a.sdp.startsWith('v=0\r\no=- 12345 7 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-lite\r\na=group:BUNDLE 0 1 2\r\n'),
    a.sdp.slice(0, 120),
  );
  assert.ok(a.sdp.endsWith('\r\n'));
  const generated = buildPublishAnswer(offer(CHROME), TEST_LOCAL).sdp;
  assert.match(generated, /^v=0\r\no=- \d{1,19} 1 IN IP4 0\.0\.0\.0\r\n/);
});

test('candidates: all of them with end-of-candidates; m= and c= carry the first (RFC 8839 §4.2.1.2)', () => {
  const a = buildPublishAnswer(offer(CHROME), TEST_LOCAL);
  assert.match(a.sdp, /\r\nm=audio 40000 UDP\/TLS\/RTP\/SAVPF 63 111\r\nc=IN IP4 127\.0\.0\.1\r\n/);
  assert.match(
    a.sdp,
    /\r\na=candidate:udp4 1 udp 2130706431 127\.0\.0\.1 40000 typ host\r\na=candidate:tcp6 1 tcp 1518280447 ::1 40001 typ host tcptype passive\r\na=end-of-candidates\r\n/,
  );
  const v6 = buildPublishAnswer(offer(CHROME), { ...TEST_LOCAL, candidates: [...TEST_LOCAL.candidates].reverse() });
  assert.match(v6.sdp, /\r\nm=audio 40001 UDP\/TLS\/RTP\/SAVPF 63 111\r\nc=IN IP6 ::1\r\n/);
});

test('a video section offering only H264 is rejected with port 0 and left out of BUNDLE', () => {
  // Keep only the H264 payload types of the video m= line.
  const h264Only = CHROME.replace(/^m=video 9 UDP\/TLS\/RTP\/SAVPF .*$/m, 'm=video 9 UDP/TLS/RTP/SAVPF 102 103');
  const a = buildPublishAnswer(offer(h264Only), TEST_LOCAL);
  assert.deepEqual(
    a.accepted.map((m) => m.kind),
    ['audio'],
  );
  assert.match(a.sdp, /\r\nm=video 0 UDP\/TLS\/RTP\/SAVPF 102\r\nc=IN IP4 0\.0\.0\.0\r\na=mid:1\r\na=inactive\r\n/);
  assert.match(a.sdp, /\r\na=group:BUNDLE 0 2\r\n/);
  const d = answerOf(a.sdp);
  assert.deepEqual(
    d.media.map((m) => [m.mid, m.rejected]),
    [
      ['0', false],
      ['1', true],
      ['2', false],
    ],
  );
});

test('opus must be /48000/2 (RFC 7587 §7); without rtcp-mux or outside BUNDLE a section is rejected', () => {
  const mono = buildPublishAnswer(offer(CHROME.replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:111 opus/48000')), TEST_LOCAL);
  assert.deepEqual(
    mono.accepted.map((m) => m.kind),
    ['video'],
  );
  // Only the audio section loses rtcp-mux.
  const noMux = buildPublishAnswer(offer(CHROME.replace(/a=rtcp-mux\r\n/, '')), TEST_LOCAL);
  assert.deepEqual(
    noMux.accepted.map((m) => m.kind),
    ['video'],
  );
  const unbundled = buildPublishAnswer(offer(CHROME.replace('a=group:BUNDLE 0 1 2', 'a=group:BUNDLE 1 2')), TEST_LOCAL);
  assert.deepEqual(
    unbundled.accepted.map((m) => m.mid),
    ['1'],
  );
  assert.match(unbundled.sdp, /\r\na=group:BUNDLE 1 2\r\n/);
  // No BUNDLE at all: one transport, so only the first usable section.
  const noGroup = buildPublishAnswer(offer(CHROME.replace('a=group:BUNDLE 0 1 2\r\n', '')), TEST_LOCAL);
  assert.deepEqual(
    noGroup.accepted.map((m) => m.mid),
    ['0'],
  );
  assert.match(noGroup.sdp, /\r\nm=application 0 UDP\/DTLS\/SCTP webrtc-datachannel\r\n/);
});

test('a section the browser only receives on is kept inactive, not listed as accepted', () => {
  const a = buildPublishAnswer(
    offer(
      CHROME.replace(
        /a=sendonly(\r\na=msid:\S+ \S+\r\na=rtcp-mux\r\na=rtcp-rsize\r\na=rtcp-xr:rcvr-rtt=all\r\na=rtpmap:96)/,
        'a=recvonly$1',
      ),
    ),
    TEST_LOCAL,
  );
  assert.deepEqual(
    a.accepted.map((m) => m.kind),
    ['audio'],
  );
  assert.deepEqual(
    answerOf(a.sdp).media.map((m) => [m.mid, m.direction, m.rejected]),
    [
      ['0', 'recvonly', false],
      ['1', 'inactive', false],
      ['2', 'sendrecv', false],
    ],
  );
});

test('the first acceptable codec in offer order wins; feedback and header extensions are filtered', () => {
  // Put a VP8 duplicate (PT 100 with rtx 101) before PT 96: offer order is preference order (RFC 3264 §5.1).
  const reordered = CHROME.replace(/^(m=video 9 UDP\/TLS\/RTP\/SAVPF) 96 97 (.*) 100 101 /m, '$1 100 101 96 97 $2 ').replace(
    'a=rtpmap:100 VP9/90000',
    'a=rtpmap:100 VP8/90000',
  );
  const a = buildPublishAnswer(offer(reordered), TEST_LOCAL);
  assert.deepEqual([a.accepted[1]?.codec.payloadType, a.accepted[1]?.codec.rtxPayloadType], [100, 101]);
  // toffset, video-orientation, playout-delay and others are not taken.
  const chrome = buildPublishAnswer(offer(CHROME), TEST_LOCAL);
  assert.deepEqual(
    chrome.accepted[1]?.headerExtensions.map((e) => e.uri),
    [
      'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
      'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
      'urn:ietf:params:rtp-hdrext:sdes:mid',
      'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
      'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
    ],
  );
  assert.doesNotMatch(chrome.sdp, /toffset|video-orientation|playout-delay|rtcp-xr|H264|red\/90000|ulpfec/);
  // Audio RED (RFC 2198) is taken with the offer's payload type, video RED/ULPFEC is not.
  assert.equal(chrome.accepted[0]?.codec.redPayloadType, 63);
  assert.equal(chrome.accepted[1]?.codec.redPayloadType, undefined);
  assert.deepEqual(chrome.accepted[1]?.codec.rtcpFeedback, [
    { type: 'nack' },
    { type: 'nack', parameter: 'pli' },
    { type: 'ccm', parameter: 'fir' },
    { type: 'goog-remb' },
    { type: 'transport-cc' },
  ]);
  assert.equal(chrome.accepted[0]?.codec.fmtp, 'minptime=10;useinbandfec=1;usedtx=1');
  // RED whose blocks are not all the chosen opus payload type is not taken.
  const mixed = buildPublishAnswer(offer(CHROME.replace('a=fmtp:63 111/111', 'a=fmtp:63 111/0')), TEST_LOCAL);
  assert.equal(mixed.accepted[0]?.codec.redPayloadType, undefined);
  assert.match(mixed.sdp, /\r\nm=audio 40000 UDP\/TLS\/RTP\/SAVPF 111\r\n/);
});

test('simulcast with a rid the a=simulcast line does not declare is not simulcast', () => {
  const sim = loadFixture('chromium-simulcast-offer.sdp');
  const good = buildPublishAnswer(offer(sim), TEST_LOCAL);
  assert.deepEqual(good.accepted[1]?.rids, ['q', 'h', 'f']);
  const bad = buildPublishAnswer(offer(sim.replace('a=simulcast:send q;h;f', 'a=simulcast:send q;h;x')), TEST_LOCAL);
  assert.deepEqual(bad.accepted[1]?.rids, []);
  assert.doesNotMatch(bad.sdp, /a=rid:|a=simulcast:/);
});

test('bad local parameters are a programming error and throw', () => {
  const d = offer(CHROME);
  assert.throws(() => buildPublishAnswer(d, { ...TEST_LOCAL, iceUfrag: 'x' }), /ufrag/);
  assert.throws(() => buildPublishAnswer(d, { ...TEST_LOCAL, icePwd: 'short' }), /password/);
  assert.throws(() => buildPublishAnswer(d, { ...TEST_LOCAL, fingerprint: { algorithm: 'sha-256', value: 'AB' } }), /fingerprint/);
  assert.throws(() => buildPublishAnswer({ ...d, type: 'answer' }, TEST_LOCAL), /needs an offer/);
});

/**
 * parseRemoteSdp on edited real offers: each limit and format rule refuses with an error that
 * names what is wrong; the accepted shapes (session-level transport, bundle-only, rtcp-fb *,
 * two-byte extension ids) resolve as RFC 8843 / 8285 / 4588 say.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRemoteSdp, sdpParseCounters, type RemoteDescription } from '../../src/rtc/sdp/index.js';
import { loadFixture } from '../fixtures/sdp/fixtures.js';

const CHROME = loadFixture('chromium-offer.sdp');
const FIREFOX = loadFixture('firefox-offer.sdp');

function ok(sdp: string, type: 'offer' | 'answer' = 'offer'): RemoteDescription {
  const r = parseRemoteSdp(sdp, type);
  if (!r.ok) assert.fail(r.error);
  return r.description;
}

function refused(sdp: string, pattern: RegExp, type: 'offer' | 'answer' = 'offer'): void {
  const r = parseRemoteSdp(sdp, type);
  assert.equal(r.ok, false, `expected refusal matching ${pattern}`);
  if (!r.ok) assert.match(r.error, pattern);
}

/** Replaces every match (the fixture repeats transport lines in each section). */
function edit(sdp: string, from: RegExp, to: string): string {
  const out = sdp.replace(new RegExp(from.source, 'gm'), to);
  assert.notEqual(out, sdp, `edit ${from} changed nothing`);
  return out;
}

test('size limits: 60 KiB, 64 m-sections, 32 payload types, 64 SSRCs', () => {
  refused(CHROME + `a=x-pad:${'x'.repeat(60 * 1024)}\r\n`, /larger than 61440 bytes/);
  const section = 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:m{i}\r\na=rtpmap:111 opus/48000/2\r\n';
  const many = (n: number): string => CHROME + Array.from({ length: n }, (_, i) => section.replace('{i}', String(i))).join('');
  ok(many(61));
  refused(many(62), /more than 64 m-sections/);
  const pts = Array.from({ length: 33 }, (_, i) => 96 + i).join(' ');
  refused(
    edit(CHROME, /^m=audio 9 UDP\/TLS\/RTP\/SAVPF .*$/, `m=audio 9 UDP/TLS/RTP/SAVPF ${pts}`),
    /m-section 0: more than 32 payload types/,
  );
  const ssrcs = Array.from({ length: 65 }, (_, i) => `a=ssrc:${i + 1} cname:x`).join('\r\n');
  refused(edit(CHROME, /^a=ssrc:3409496613 cname:(\S+)$/, ssrcs), /m-section 0: more than 64 SSRCs/);
});

test('ICE credentials: ufrag 4-256 ice-chars, password 22-256 (RFC 8839 §5.4)', () => {
  refused(edit(CHROME, /^a=ice-ufrag:.*$/, 'a=ice-ufrag:abc'), /bad a=ice-ufrag/);
  refused(edit(CHROME, /^a=ice-ufrag:.*$/, 'a=ice-ufrag:ab-cd'), /bad a=ice-ufrag/);
  refused(edit(CHROME, /^a=ice-ufrag:.*$/, `a=ice-ufrag:${'u'.repeat(257)}`), /bad a=ice-ufrag/);
  ok(edit(CHROME, /^a=ice-ufrag:.*$/, `a=ice-ufrag:${'u'.repeat(256)}`));
  refused(edit(CHROME, /^a=ice-pwd:.*$/, 'a=ice-pwd:only21charsAAAAAAAAAA'), /bad a=ice-pwd/);
  ok(edit(CHROME, /^a=ice-pwd:.*$/, 'a=ice-pwd:exactly22chars+/AAAAAAA'));
  refused(edit(CHROME, /^a=ice-ufrag:.*\r\n/, ''), /no a=ice-ufrag/);
  refused(edit(CHROME, /^a=ice-pwd:.*\r\n/, ''), /no a=ice-pwd/);
});

test('fingerprints: at least one, hash name and length must agree (RFC 8122 §5)', () => {
  refused(edit(CHROME, /^a=fingerprint:.*\r\n/, ''), /no a=fingerprint/);
  refused(edit(CHROME, /^a=fingerprint:sha-256 (\S+)$/, 'a=fingerprint:sha-1 $1'), /bad a=fingerprint/);
  refused(edit(CHROME, /^a=fingerprint:sha-256 (\S+)$/, 'a=fingerprint:md5 $1'), /bad a=fingerprint/);
  refused(edit(CHROME, /^a=fingerprint:sha-256 (\S+):(\S\S)$/, 'a=fingerprint:sha-256 $1:ZZ'), /bad a=fingerprint/);
  // Several fingerprints (RFC 8122 §5) are all kept; lower case hex is normalised.
  const sha1 = 'a=fingerprint:sha-1 ' + Array.from({ length: 20 }, () => 'ab').join(':');
  const d = ok(edit(CHROME, /^(a=fingerprint:.*)$/, `$1\r\n${sha1}`));
  assert.deepEqual(
    d.fingerprints.map((f) => f.algorithm),
    ['sha-256', 'sha-1'],
  );
  assert.equal(d.fingerprints[1]?.value, Array.from({ length: 20 }, () => 'AB').join(':'));
});

test('DTLS setup: one of actpass/active/passive; an answer may not say actpass (RFC 8842 §5.3)', () => {
  refused(edit(CHROME, /^a=setup:actpass$/, 'a=setup:holdconn'), /bad a=setup/);
  refused(edit(CHROME, /^a=setup:actpass\r\n/, ''), /no a=setup/);
  refused(CHROME, /a=setup:actpass in an answer/, 'answer');
  assert.equal(ok(edit(CHROME, /^a=setup:actpass$/, 'a=setup:passive')).setup, 'passive');
});

test('payload types 0-127, header extension ids 1-255 (RFC 8285 §5)', () => {
  refused(edit(CHROME, /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 111 /, 'm=audio 9 UDP/TLS/RTP/SAVPF 128 '), /payload type 128 not in 0-127/);
  refused(edit(CHROME, /^a=rtpmap:111 opus/, 'a=rtpmap:200 opus'), /a=rtpmap payload type not in 0-127/);
  refused(edit(CHROME, /^a=extmap:1 /, 'a=extmap:0 '), /a=extmap id not in 1-255/);
  refused(edit(CHROME, /^a=extmap:1 /, 'a=extmap:256 '), /a=extmap id not in 1-255/);
  refused(edit(CHROME, /^a=extmap:1 /, 'a=extmap:2 '), /a=extmap id 2 used twice/);
  // Two-byte ids (RFC 8285 §4.3) are fine.
  const d = ok(edit(CHROME, /^a=extmap:1 /, 'a=extmap:200 '));
  assert.equal(d.media[0]?.headerExtensions.find((e) => e.uri.endsWith('ssrc-audio-level'))?.id, 200);
});

test('mids: present, unique, ≤ 32 of [A-Za-z0-9_-]; BUNDLE names only known mids', () => {
  refused(edit(CHROME, /^a=mid:0$/, 'a=mid:a b'), /m-section 0: bad a=mid/);
  refused(edit(CHROME, /^a=mid:0$/, `a=mid:${'m'.repeat(33)}`), /m-section 0: bad a=mid/);
  refused(edit(CHROME, /^a=mid:0$/, 'a=mid:1'), /duplicate mid 1/);
  refused(edit(CHROME, /^a=mid:0\r\n/, ''), /m-section 0: no a=mid/);
  refused(edit(CHROME, /^a=group:BUNDLE 0 1 2$/, 'a=group:BUNDLE 0 1 2 7'), /BUNDLE group names unknown mid 7/);
  refused(edit(CHROME, /^a=group:BUNDLE 0 1 2$/, 'a=group:BUNDLE 0 1 2\r\na=group:BUNDLE 0'), /more than one BUNDLE group/);
  const long = ok(edit(edit(CHROME, /^a=mid:0$/, `a=mid:${'m'.repeat(32)}`), /^a=group:BUNDLE 0 /, `a=group:BUNDLE ${'m'.repeat(32)} `));
  assert.equal(long.media[0]?.mid, 'm'.repeat(32));
});

test('other refusals: not SDP, unknown media type, bad SSRC, bad rid, bad msid', () => {
  refused('', /does not start with v=0/);
  refused('hello', /does not start with v=0/);
  refused(CHROME.replace(/\r\nm=[\s\S]*$/, '\r\n'), /no m-section/);
  refused(edit(CHROME, /^m=audio /, 'm=text '), /m-section 0: unsupported media type/);
  refused(edit(CHROME, /^a=ssrc:3409496613 cname/, 'a=ssrc:4294967296 cname'), /a=ssrc not a 32-bit number/);
  refused(edit(CHROME, /^a=ssrc-group:FID 3027500940 /, 'a=ssrc-group:FID 99999999999 '), /SSRC not a 32-bit number/);
  refused(
    edit(loadFixture('chromium-simulcast-offer.sdp'), /^a=rid:q send$/, 'a=rid:q sideways'),
    /a=rid:q direction must be send or recv/,
  );
  refused(edit(CHROME, /^a=msid:(\S+) (\S+)$/, `a=msid:${'s'.repeat(65)} t`), /bad a=msid/);
  refused(null as unknown as string, /not a string/);
});

test('Firefox layout: ICE at media level, fingerprint at session level, braces in msid', () => {
  const d = ok(FIREFOX);
  assert.equal(d.iceUfrag, d.media[0]?.iceUfrag);
  assert.equal(d.media[0]?.fingerprints.length, 0);
  assert.equal(d.fingerprints.length, 1);
  assert.match(d.media[1]?.msid?.streamId ?? '', /^\{[0-9a-f-]{36}\}$/);
  assert.ok(d.extmapAllowMixed, 'media-level a=extmap-allow-mixed counts');
});

test("the BUNDLE transport is the tagged section's (RFC 8843 §7), session level otherwise", () => {
  // Only section 1 carries different credentials: the tag (mid 0) wins.
  const other = CHROME.replace(/a=ice-ufrag:(\S+)\r\n(a=ice-pwd:\S+\r\n(?:.*\r\n){3}a=mid:1)/, 'a=ice-ufrag:other\r\n$2');
  assert.equal(ok(other).media[1]?.iceUfrag, 'other');
  assert.equal(ok(other).iceUfrag, ok(CHROME).iceUfrag);
  // Session-level credentials when no section has its own.
  const sessionOnly = edit(edit(CHROME, /^a=ice-ufrag:.*\r\n/, ''), /^(a=msid-semantic.*)$/, '$1\r\na=ice-ufrag:sess');
  assert.equal(ok(sessionOnly).iceUfrag, 'sess');
});

test('rejected sections: port 0, unless a=bundle-only (RFC 8843 §6)', () => {
  const zero = CHROME.replace('m=video 9 ', 'm=video 0 ');
  assert.deepEqual(
    ok(zero).media.map((m) => m.rejected),
    [false, true, false],
  );
  const bundleOnly = zero.replace('a=mid:1\r\n', 'a=mid:1\r\na=bundle-only\r\n');
  assert.deepEqual(
    ok(bundleOnly).media.map((m) => m.rejected),
    [false, false, false],
  );
});

test('codecs: rtx folded by apt (RFC 4588 §8.6), rtcp-fb * applies to all, fmtp kept raw', () => {
  const d = ok(CHROME);
  const video = d.media[1];
  assert.deepEqual(
    video?.codecs.slice(0, 3).map((c) => [c.name, c.payloadType, c.rtxPayloadType]),
    [
      ['VP8', 96, 97],
      ['H264', 102, 103],
      ['H264', 104, 107],
    ],
  );
  assert.equal(
    video?.codecs.find((c) => c.payloadType === 102)?.fmtp,
    'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  );
  assert.deepEqual(d.media[0]?.codecs[0], {
    payloadType: 111,
    name: 'opus',
    clockRate: 48000,
    channels: 2,
    fmtp: 'minptime=10;useinbandfec=1',
    rtcpFeedback: [{ type: 'transport-cc' }],
  });
  const star = ok(edit(CHROME, /^a=rtcp-fb:111 transport-cc$/, 'a=rtcp-fb:* nack'));
  assert.ok(star.media[0]?.codecs.every((c) => c.rtcpFeedback.some((f) => f.type === 'nack')));
  assert.deepEqual(d.media[1]?.ssrcGroups, [{ semantics: 'FID', ssrcs: [3027500940, 777120723] }]);
  assert.equal(d.media[1]?.ssrcs[0]?.cname, 'Ifm3bb9I7dfCWxSa');
});

test('counters: every call is counted as accepted or rejected', () => {
  const before = { ...sdpParseCounters };
  ok(CHROME);
  refused('x', /v=0/);
  assert.deepEqual(sdpParseCounters, { accepted: before.accepted + 1, rejected: before.rejected + 1 });
});

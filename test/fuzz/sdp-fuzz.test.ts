/**
 * Fuzzing parseRemoteSdp: 100,000 mutations of the real offers and of the server's own SDP
 * (dropped, duplicated and swapped lines, edited numbers, truncation, random bytes, junk
 * attributes). parseRemoteSdp must never throw and must say why it refuses; whatever it
 * accepts must go through buildPublishAnswer / checkSubscribeAnswer without throwing, and an
 * answer that accepts something must itself parse.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildPublishAnswer,
  buildSubscribeOffer,
  checkSubscribeAnswer,
  parseRemoteSdp,
  type OfferedSection,
} from '../../src/rtc/sdp/index.js';
import { FIXTURES, TEST_LOCAL, loadFixture } from '../fixtures/sdp/fixtures.js';
import { xorshift32 } from '../helpers/random.js';

const ITERATIONS = 100_000;

const rng = xorshift32;

const SECTIONS: OfferedSection[] = [
  {
    mid: 'a0',
    kind: 'audio',
    active: true,
    ssrc: 1,
    cname: 'c',
    streamId: 's',
    trackId: 't',
    codec: { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10', rtcpFeedback: [] },
    headerExtensions: [{ id: 1, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' }],
  },
  {
    mid: 'v0',
    kind: 'video',
    active: false,
    ssrc: 2,
    cname: 'c',
    streamId: 's',
    trackId: 'u',
    codec: { payloadType: 96, name: 'VP8', clockRate: 90000, fmtp: '', rtxPayloadType: 97, rtcpFeedback: [{ type: 'nack' }] },
    headerExtensions: [],
  },
];

const NUMBERS = [
  '0',
  '-1',
  '1',
  '127',
  '128',
  '255',
  '256',
  '65535',
  '65536',
  '4294967295',
  '4294967296',
  '99999999999999999999',
  '',
  'NaN',
  '1e3',
  '0x10',
  '007',
];
const JUNK = [
  'a=mid:',
  'a=mid:0',
  'a=group:BUNDLE',
  'a=group:BUNDLE 0 0',
  'a=setup:',
  'a=fingerprint:sha-256',
  'a=rtpmap:96',
  'a=fmtp:97 apt=',
  'a=rtcp-fb:* nack',
  'a=ssrc-group:FID',
  'a=ssrc:1',
  'a=rid:q',
  'a=simulcast:send',
  'a=extmap:15/sendonly x',
  'a=msid:',
  'm=',
  'm=audio',
  'm=video 9 UDP/TLS/RTP/SAVPF',
  'a=bundle-only',
  'a=ice-ufrag:',
  'a=sctp-port:0',
  'a=max-message-size:-1',
  'a=extmap-allow-mixed',
  'v=0',
  'a=__proto__:x',
];

function mutate(seed: string, r: (n: number) => number): string {
  let lines = seed.split('\r\n');
  const rounds = 1 + r(4);
  for (let i = 0; i < rounds && lines.length > 0; i++) {
    const at = r(lines.length);
    switch (r(9)) {
      case 0:
        lines.splice(at, 1);
        break;
      case 1:
        lines.splice(at, 0, lines[r(lines.length)] ?? '');
        break;
      case 2: {
        // edit one number in a line
        const line = lines[at] ?? '';
        const runs = [...line.matchAll(/\d+/g)];
        const run = runs[r(Math.max(runs.length, 1))];
        if (run?.index !== undefined)
          lines[at] = line.slice(0, run.index) + NUMBERS[r(NUMBERS.length)] + line.slice(run.index + run[0].length);
        break;
      }
      case 3:
        lines = lines.slice(0, at);
        break;
      case 4: {
        // truncate inside a line
        const line = lines[at] ?? '';
        lines[at] = line.slice(0, r(line.length + 1));
        break;
      }
      case 5:
        lines.splice(at, 0, JUNK[r(JUNK.length)] ?? '');
        break;
      case 6: {
        // random printable or control bytes inside a line
        const line = lines[at] ?? '';
        const pos = r(line.length + 1);
        lines[at] = line.slice(0, pos) + String.fromCharCode(r(128)) + line.slice(pos);
        break;
      }
      case 7: {
        // swap two lines
        const other = r(lines.length);
        [lines[at], lines[other]] = [lines[other] ?? '', lines[at] ?? ''];
        break;
      }
      default: {
        // a whole section duplicated (more m-sections, duplicate mids)
        const start = lines.findIndex((l, k) => k >= at && l.startsWith('m='));
        if (start >= 0) lines.push(...lines.slice(start, start + 1 + r(40)));
      }
    }
  }
  return lines.join(r(8) === 0 ? '\n' : '\r\n');
}

test(`${ITERATIONS.toLocaleString('en')} mutated SDPs through parseRemoteSdp: nothing throws`, { timeout: 300_000 }, (t) => {
  const offers = FIXTURES.map(loadFixture);
  const serverOffer = buildSubscribeOffer({ local: TEST_LOCAL, sessionId: '1', sessionVersion: 1, sections: SECTIONS, data: true });
  const answerSeed = serverOffer
    .replace('a=ice-lite\r\n', '')
    .replaceAll('a=setup:actpass', 'a=setup:active')
    .replaceAll('a=sendonly', 'a=recvonly');
  const r = rng(0x5d9f00d);
  let accepted = 0;
  let answersChecked = 0;
  const errors = new Set<string>();
  for (let i = 0; i < ITERATIONS; i++) {
    const asAnswer = i % 5 === 4;
    const seed = asAnswer ? answerSeed : (offers[i % offers.length] ?? '');
    const input = mutate(seed, r);
    const type = asAnswer ? 'answer' : 'offer';
    const result = parseRemoteSdp(input, type);
    if (!result.ok) {
      assert.equal(typeof result.error, 'string');
      assert.ok(result.error.length > 0);
      errors.add(result.error.replace(/\d+/g, 'N'));
      continue;
    }
    accepted++;
    if (asAnswer) {
      const verdict = checkSubscribeAnswer(result.description, SECTIONS);
      assert.ok(verdict === null || verdict.length > 0);
      answersChecked++;
      continue;
    }
    const answer = buildPublishAnswer(result.description, TEST_LOCAL, { sessionId: '1', sessionVersion: 1 });
    if (answer.sdp.includes('a=group:BUNDLE ')) {
      const back = parseRemoteSdp(answer.sdp, 'answer');
      assert.ok(
        back.ok,
        `our answer to an accepted offer must parse: ${back.ok ? '' : back.error}\n--- offer:\n${input}\n--- answer:\n${answer.sdp}`,
      );
    }
  }
  t.diagnostic(`accepted ${accepted} (${answersChecked} answers checked), ${errors.size} distinct refusals`);
  // Both sides of the fence were exercised, with many distinct refusals.
  assert.ok(accepted > ITERATIONS / 20, `accepted ${accepted}`);
  assert.ok(accepted < ITERATIONS * 0.95, `accepted ${accepted}`);
  assert.ok(answersChecked > 0);
  assert.ok(errors.size > 40, `${errors.size} distinct errors`);
});

test('inputs that are not strings or are huge are refused, not thrown', () => {
  for (const bad of [undefined, null, 42, {}, [], Symbol('x')]) {
    const result = parseRemoteSdp(bad as string, 'offer');
    assert.equal(result.ok, false);
  }
  assert.equal(parseRemoteSdp('v=0\r\n' + 'a=x\r\n'.repeat(20_000), 'offer').ok, false);
  assert.equal(parseRemoteSdp(loadFixture('chromium-offer.sdp'), 'pranswer' as 'offer').ok, false);
});

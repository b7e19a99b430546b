/**
 * The browser SDK's pure parts used by SFU rooms: the chat wire format shared with the mesh, the
 * checks on the server's SFU messages, the subscribe track table, and the stats field mapping
 * (selected pair's remote address/port, NACK and retransmission counters).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeChatLine, MAX_CHAT_CHARS, parseChatLine } from '../../client/chat-line.js';
import { VideoSizeReports, readLayersMessage } from '../../client/sfu-layers.js';
import { MAX_SFU_TRACKS, readPublishAnswer, readSubscribeOffer, SfuTrackTable } from '../../client/sfu-tracks.js';
import { summarizeStats, type StatsEntry } from '../../client/stats-summary.js';
import type { SfuTrackInfo } from '../../src/protocol/index.js';
import { mulberry32 } from '../helpers/random.js';

const prng = mulberry32;

describe('chat line', () => {
  it('round-trips a line, including quotes and non-ASCII', () => {
    const text = 'héllo "you" 👋\n<b>';
    assert.equal(parseChatLine(encodeChatLine(text)), text);
  });

  it('truncates to MAX_CHAT_CHARS on both ends', () => {
    const long = 'x'.repeat(MAX_CHAT_CHARS + 10);
    assert.equal((JSON.parse(encodeChatLine(long)) as { text: string }).text.length, MAX_CHAT_CHARS);
    assert.equal(parseChatLine(JSON.stringify({ text: 'y'.repeat(MAX_CHAT_CHARS + 5) }))?.length, MAX_CHAT_CHARS);
  });

  it('returns null for everything that is not a line', () => {
    const junk: unknown[] = [
      new ArrayBuffer(4),
      null,
      42,
      '',
      'not json',
      '{"text":',
      'null',
      '42',
      '"text"',
      '[]',
      '{}',
      '{"text":42}',
      '{"text":null}',
      JSON.stringify({ text: 'z' }).padEnd(MAX_CHAT_CHARS * 2 + 65, ' '),
    ];
    for (const j of junk) assert.equal(parseChatLine(j), null, `input ${String(j).slice(0, 40)}`);
  });

  it('never throws on random frames (2000 bounded cases)', () => {
    const rnd = prng(7);
    const alphabet = '{}[]":,\\ textnul0123456789é\u0000';
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const n = Math.floor(rnd() * 40);
      for (let k = 0; k < n; k++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      const r = parseChatLine(s);
      assert.ok(r === null || typeof r === 'string');
    }
  });
});

const track = (mid: string, participantId: string, kind: 'audio' | 'video', active = true): SfuTrackInfo => ({
  mid,
  kind,
  participantId,
  trackId: `t-${participantId}-${kind}`,
  active,
});

const offer = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'sfu-offer',
  transport: 'subscribe',
  sdp: 'v=0\r\n',
  revision: 3,
  tracks: [track('0', 'alice', 'audio'), track('1', 'alice', 'video', false)],
  ...extra,
});

describe('server SFU messages', () => {
  it('accepts a well-formed subscribe offer and keeps only the known fields', () => {
    const m = readSubscribeOffer({ ...offer(), extra: 1, tracks: [{ ...track('0', 'a', 'audio'), junk: true }] });
    assert.deepEqual(m, { type: 'sfu-offer', transport: 'subscribe', sdp: 'v=0\r\n', revision: 3, tracks: [track('0', 'a', 'audio')] });
  });

  it('accepts an empty track table (everyone else left)', () => {
    assert.deepEqual(readSubscribeOffer(offer({ tracks: [] }))?.tracks, []);
  });

  it('refuses malformed subscribe offers', () => {
    const bad: unknown[] = [
      null,
      'sfu-offer',
      [],
      offer({ type: 'offer' }),
      offer({ transport: 'publish' }),
      offer({ sdp: '' }),
      offer({ sdp: 5 }),
      offer({ revision: -1 }),
      offer({ revision: 1.5 }),
      offer({ revision: '3' }),
      offer({ revision: Number.MAX_VALUE }),
      offer({ tracks: null }),
      offer({ tracks: {} }),
      offer({ tracks: [{ ...track('0', 'a', 'audio'), kind: 'data' }] }),
      offer({ tracks: [{ ...track('0', 'a', 'audio'), active: 'yes' }] }),
      offer({ tracks: [{ ...track('', 'a', 'audio') }] }),
      offer({ tracks: [{ ...track('0', 'a', 'audio'), participantId: 7 }] }),
      offer({ tracks: [{ ...track('0', 'a', 'audio'), trackId: 'x'.repeat(257) }] }),
      offer({ tracks: [track('0', 'a', 'audio'), track('0', 'b', 'video')] }),
      offer({ tracks: [null] }),
      offer({ tracks: Array.from({ length: MAX_SFU_TRACKS + 1 }, (_, i) => track(String(i), 'a', 'audio')) }),
    ];
    for (const b of bad) assert.equal(readSubscribeOffer(b), null, JSON.stringify(b)?.slice(0, 120));
  });

  it('accepts the largest allowed table', () => {
    const tracks = Array.from({ length: MAX_SFU_TRACKS }, (_, i) => track(String(i), `p${i}`, 'video'));
    assert.equal(readSubscribeOffer(offer({ tracks }))?.tracks.length, MAX_SFU_TRACKS);
  });

  it('never throws on randomly damaged offers (2000 bounded cases)', () => {
    const rnd = prng(11);
    const values: unknown[] = [null, undefined, 0, -1, 2.5, '', 'x', true, [], {}, ['0'], { mid: '0' }];
    const keys = ['type', 'transport', 'sdp', 'revision', 'tracks'];
    const trackKeys = ['mid', 'kind', 'participantId', 'trackId', 'active'];
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      const m = offer();
      const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
      if (rnd() < 0.5) m[pick(keys)] = pick(values);
      else {
        const t = { ...track('0', 'a', 'audio') } as Record<string, unknown>;
        t[pick(trackKeys)] = pick(values);
        m.tracks = [t];
      }
      if (readSubscribeOffer(m) !== null) accepted++;
    }
    // Only the replacements that keep the message valid pass (e.g. revision 0); most are refused.
    assert.ok(accepted < 400, `accepted ${accepted}`);
  });

  it('reads the publish answer and refuses anything else', () => {
    assert.deepEqual(readPublishAnswer({ type: 'sfu-answer', ref: 4, transport: 'publish', sdp: 'v=0' }), {
      type: 'sfu-answer',
      transport: 'publish',
      sdp: 'v=0',
    });
    for (const b of [
      null,
      { type: 'joined' },
      { type: 'sfu-answer', transport: 'subscribe', sdp: 'v=0' },
      { type: 'sfu-answer', transport: 'publish' },
      { type: 'sfu-answer', transport: 'publish', sdp: '' },
    ]) {
      assert.equal(readPublishAnswer(b), null);
    }
  });
});

describe('SFU track table', () => {
  it('orders revisions: only newer ones apply', () => {
    const t = new SfuTrackTable();
    assert.equal(t.revision, -1);
    assert.ok(t.isNewer(0));
    t.replace(2, []);
    assert.equal(t.revision, 2);
    assert.ok(!t.isNewer(2));
    assert.ok(!t.isNewer(1));
    assert.ok(t.isNewer(3));
  });

  it('groups active sections by participant and skips inactive and unknown mids', () => {
    const t = new SfuTrackTable();
    t.replace(1, [
      track('0', 'alice', 'audio'),
      track('1', 'alice', 'video'),
      track('2', 'bob', 'audio'),
      track('3', 'bob', 'video', false),
      track('9', 'carol', 'video'),
    ]);
    const receivers = new Map([
      ['0', 'rA0'],
      ['1', 'rV1'],
      ['2', 'rA2'],
      ['3', 'rV3'],
    ]);
    const plan = t.plan((mid) => receivers.get(mid));
    assert.deepEqual(
      [...plan.entries()],
      [
        ['alice', ['rA0', 'rV1']],
        ['bob', ['rA2']],
      ],
    );
    assert.equal(t.get('3')?.participantId, 'bob');
    assert.equal(t.get(null), undefined);
  });

  it('a reused section moves its receiver to the new participant; each revision replaces the last', () => {
    const t = new SfuTrackTable();
    t.replace(1, [track('0', 'alice', 'video')]);
    assert.deepEqual([...t.plan(() => 'r0').entries()], [['alice', ['r0']]]);
    t.replace(2, [track('0', 'alice', 'video', false)]);
    assert.equal(t.plan(() => 'r0').size, 0);
    t.replace(3, [track('0', 'dave', 'video')]);
    assert.deepEqual([...t.plan(() => 'r0').entries()], [['dave', ['r0']]]);
    t.replace(4, []);
    assert.equal(t.get('0'), undefined);
  });
});

const entry = (id: string, type: string, fields: Record<string, unknown>): [string, StatsEntry] => [
  id,
  { id, type, timestamp: 1, ...fields },
];

describe('stats summary', () => {
  it('Chromium shape: selected pair through the transport, remote address/port, NACKs and retransmissions', () => {
    const reports = new Map<string, StatsEntry>([
      entry('T01', 'transport', { selectedCandidatePairId: 'CP1' }),
      entry('CP0', 'candidate-pair', { localCandidateId: 'L0', remoteCandidateId: 'R0', nominated: true, state: 'succeeded' }),
      entry('CP1', 'candidate-pair', { localCandidateId: 'L1', remoteCandidateId: 'R1', currentRoundTripTime: 0.0123 }),
      entry('L1', 'local-candidate', { candidateType: 'host', address: '127.0.0.1', port: 50000 }),
      entry('R1', 'remote-candidate', { candidateType: 'host', address: '127.0.0.1', port: 40000 }),
      entry('R0', 'remote-candidate', { candidateType: 'srflx', address: '203.0.113.9', port: 1 }),
      entry('CV', 'codec', { mimeType: 'video/VP8' }),
      entry('IV', 'inbound-rtp', {
        kind: 'video',
        codecId: 'CV',
        bytesReceived: 1000,
        framesDecoded: 30,
        frameWidth: 320,
        frameHeight: 240,
        nackCount: 4,
        retransmittedPacketsReceived: 3,
      }),
      entry('IA', 'inbound-rtp', { kind: 'audio', bytesReceived: 500, totalAudioEnergy: 0.5, nackCount: 99 }),
    ]);
    const { stats, inBytes, outBytes } = summarizeStats(reports);
    assert.equal(stats.remoteCandidateAddress, '127.0.0.1');
    assert.equal(stats.remoteCandidatePort, 40000);
    assert.equal(stats.localCandidateType, 'host');
    assert.equal(stats.rttMs, 12);
    assert.equal(stats.nackCount, 4, 'audio NACKs are not counted');
    assert.equal(stats.retransmittedPacketsReceived, 3);
    assert.equal(stats.videoCodec, 'video/VP8');
    assert.equal(stats.videoFramesDecoded, 30);
    assert.equal(stats.audioEnergy, 0.5);
    assert.equal(inBytes, 1500);
    assert.equal(outBytes, 0);
  });

  it('Firefox shape: the pair flagged selected, `ip` as the address, no retransmission counter', () => {
    const reports = new Map<string, StatsEntry>([
      entry('p1', 'candidate-pair', { localCandidateId: 'l', remoteCandidateId: 'r', selected: false }),
      entry('p2', 'candidate-pair', { localCandidateId: 'l', remoteCandidateId: 'r2', selected: true }),
      entry('l', 'local-candidate', { candidateType: 'relay', relayProtocol: 'tcp' }),
      entry('r', 'remote-candidate', { candidateType: 'host', ip: '10.0.0.1', port: 1 }),
      entry('r2', 'remote-candidate', { candidateType: 'relay', ip: '::1', port: 3478 }),
      entry('iv', 'inbound-rtp', { mediaType: 'video', nackCount: 2 }),
    ]);
    const { stats } = summarizeStats(reports);
    assert.equal(stats.remoteCandidateAddress, '::1');
    assert.equal(stats.remoteCandidatePort, 3478);
    assert.equal(stats.localRelayProtocol, 'tcp');
    assert.equal(stats.nackCount, 2);
    assert.equal(stats.retransmittedPacketsReceived, null);
  });

  it('without a selected pair (or with wrongly typed fields) the pair fields stay null and counters 0', () => {
    const { stats } = summarizeStats(
      new Map([
        entry('p', 'candidate-pair', { localCandidateId: 'l', remoteCandidateId: 'r', nominated: true, state: 'in-progress' }),
        entry('r', 'remote-candidate', { address: '127.0.0.1', port: 9 }),
        entry('iv', 'inbound-rtp', { kind: 'video', nackCount: 'many', framesDecoded: Number.NaN }),
      ]),
    );
    assert.equal(stats.remoteCandidateAddress, null);
    assert.equal(stats.remoteCandidatePort, null);
    assert.equal(stats.nackCount, 0);
    assert.equal(stats.videoFramesDecoded, 0);
    const withPort = summarizeStats(
      new Map([
        entry('T', 'transport', { selectedCandidatePairId: 'p' }),
        entry('p', 'candidate-pair', { remoteCandidateId: 'r' }),
        entry('r', 'remote-candidate', { address: 7, port: '9' }),
      ]),
    ).stats;
    assert.equal(withPort.remoteCandidateAddress, null);
    assert.equal(withPort.remoteCandidatePort, null);
  });
});

describe('SFU render sizes and layer messages', () => {
  it('reports a size once per track and size; a new track id re-sends it', () => {
    const r = new VideoSizeReports();
    let track: string | undefined;
    const trackOf = (): string | undefined => track;
    assert.deepEqual(r.set('a', 160.4, 90, trackOf), [], 'no track yet: kept for later');
    track = 't1';
    assert.deepEqual(r.pending(trackOf), [{ trackId: 't1', width: 160, height: 90 }]);
    assert.deepEqual(r.set('a', 160, 90, trackOf), [], 'unchanged');
    assert.deepEqual(r.set('a', 1280, 720, trackOf), [{ trackId: 't1', width: 1280, height: 720 }]);
    track = 't2';
    assert.deepEqual(r.pending(trackOf), [{ trackId: 't2', width: 1280, height: 720 }]);
    r.forget('a');
    assert.deepEqual(r.pending(trackOf), []);
  });

  it('sfu-layers messages are checked before use', () => {
    assert.deepEqual(readLayersMessage({ type: 'sfu-layers', mid: '1', active: ['q', 'h'] }), { mid: '1', active: ['q', 'h'] });
    for (const bad of [
      null,
      { type: 'sfu-layers', mid: '', active: [] },
      { type: 'sfu-layers', mid: '1', active: 'q' },
      { type: 'sfu-layers', mid: '1', active: [1] },
      { type: 'x', mid: '1', active: [] },
    ]) {
      assert.equal(readLayersMessage(bad), null, JSON.stringify(bad));
    }
  });
});

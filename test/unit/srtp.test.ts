/**
 * SrtpContext behaviour: round trips over both profiles (CSRCs, header extensions, padding),
 * ROC across the 65535 → 0 wrap, replay and window rules (RFC 3711 §3.3.2), tampering and
 * truncation, and a cross-check against werift's independent SRTP implementation: byte-identical
 * SRTP output and mutual decryption, RTP and RTCP, across a sequence-number wrap.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { RtpPacket, SrtcpSession, SrtpSession } from 'werift';
import { SRTP_PROFILE_IDS, SrtpContext, srtpKeyLengths, type SrtpMasterKeys, type SrtpProfileName } from '../../src/rtc/srtp/index.js';
import { estimatePacketIndex } from '../../src/rtc/srtp/context.js';

const PROFILES: readonly SrtpProfileName[] = ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'];
const TAG: Record<SrtpProfileName, number> = { AES_CM_128_HMAC_SHA1_80: 10, AEAD_AES_128_GCM: 16 };

function masterKeys(profile: SrtpProfileName): SrtpMasterKeys {
  const { key, salt } = srtpKeyLengths(profile);
  return { key: randomBytes(key), salt: randomBytes(salt) };
}

function pair(profile: SrtpProfileName): { sender: SrtpContext; receiver: SrtpContext } {
  const keys = masterKeys(profile);
  return { sender: new SrtpContext(profile, keys), receiver: new SrtpContext(profile, keys) };
}

interface RtpOptions {
  seq: number;
  ssrc?: number;
  payload?: number;
  csrcs?: number;
  extensionWords?: number | undefined;
  padding?: number;
}

/** A plain RTP packet; the payload bytes are a function of seq so mix-ups show. */
function rtp(o: RtpOptions): Buffer {
  const csrcs = o.csrcs ?? 0,
    ext = o.extensionWords,
    pad = o.padding ?? 0,
    payload = o.payload ?? 160;
  const header = 12 + 4 * csrcs + (ext === undefined ? 0 : 4 + 4 * ext);
  const p = Buffer.alloc(header + payload + pad);
  p[0] = 0x80 | (pad > 0 ? 0x20 : 0) | (ext === undefined ? 0 : 0x10) | csrcs;
  p[1] = 111;
  p.writeUInt16BE(o.seq & 0xffff, 2);
  p.writeUInt32BE((o.seq * 960) >>> 0, 4);
  p.writeUInt32BE(o.ssrc ?? 0x11223344, 8);
  for (let i = 0; i < csrcs; i++) p.writeUInt32BE(0xc0000000 + i, 12 + 4 * i);
  if (ext !== undefined) {
    const at = 12 + 4 * csrcs;
    p.writeUInt16BE(0xbede, at);
    p.writeUInt16BE(ext, at + 2);
    for (let i = 0; i < 4 * ext; i++) p[at + 4 + i] = i === 0 ? 0x10 : 0; // one-byte ext id 1, len 1, then padding
  }
  for (let i = 0; i < payload; i++) p[header + i] = (o.seq + i) & 0xff;
  if (pad > 0) p[p.length - 1] = pad;
  return p;
}

/** An RTCP receiver report from `ssrc` with one report block. */
function rtcp(ssrc: number, n: number): Buffer {
  const p = Buffer.alloc(32);
  p[0] = 0x81;
  p[1] = 201;
  p.writeUInt16BE(7, 2);
  p.writeUInt32BE(ssrc, 4);
  p.writeUInt32BE(0x55667788, 8);
  p.writeUInt32BE(n, 12);
  return p;
}

for (const profile of PROFILES) {
  test(`${profile}: round trip with CSRCs, header extension, padding and empty payload`, () => {
    const { sender, receiver } = pair(profile);
    const cases: RtpOptions[] = [
      { seq: 1 },
      { seq: 2, csrcs: 3 },
      { seq: 3, extensionWords: 2 },
      { seq: 4, csrcs: 15, extensionWords: 1 },
      { seq: 5, padding: 4 },
      { seq: 6, payload: 0 },
      { seq: 7, payload: 1200 },
      { seq: 8, payload: 3000 },
    ];
    for (const c of cases) {
      const plain = rtp(c);
      const copy = Buffer.from(plain);
      const srtp = sender.protectRtp(plain);
      assert.deepEqual(plain, copy, 'protectRtp must not modify its input');
      assert.equal(srtp.length, plain.length + TAG[profile]);
      const header = plain.length - (c.payload ?? 160) - (c.padding ?? 0);
      assert.deepEqual(srtp.subarray(0, header), plain.subarray(0, header), 'the header stays clear');
      if ((c.payload ?? 160) >= 16) assert.notDeepEqual(srtp.subarray(header, header + 16), plain.subarray(header, header + 16));
      assert.deepEqual(receiver.unprotectRtp(Buffer.from(srtp)), plain);
    }
    for (let n = 0; n < 5; n++) {
      const plain = rtcp(0x11223344, n);
      const srtcp = sender.protectRtcp(plain);
      assert.equal(srtcp.length, plain.length + 4 + TAG[profile]);
      assert.deepEqual(srtcp.subarray(0, 8), plain.subarray(0, 8));
      assert.deepEqual(receiver.unprotectRtcp(Buffer.from(srtcp)), plain);
    }
    // A compound packet larger than the initial SRTCP scratch buffers (they grow).
    const large = Buffer.concat([rtcp(0x11223344, 99), Buffer.alloc(1000, 0x5a)]);
    assert.deepEqual(receiver.unprotectRtcp(Buffer.from(sender.protectRtcp(large))), large);
    assert.deepEqual(receiver.stats, { authFailures: 0, replays: 0, malformed: 0 });
  });

  test(`${profile}: ROC increments across the 65535 → 0 wrap, with reordering around it`, () => {
    const { sender, receiver } = pair(profile);
    const protectedBySeq: Buffer[] = [];
    for (let s = 65530; s < 65536 + 10; s++) protectedBySeq.push(Buffer.from(sender.protectRtp(rtp({ seq: s }))));
    // Deliver 65530..65533, then 2, 0, 65535, 1, 65534, 3..9: late packets from before the wrap use ROC 0.
    const order = [65530, 65531, 65532, 65533, 65538, 65536, 65535, 65537, 65534, 65539, 65540, 65541, 65542, 65543, 65544, 65545];
    for (const s of order) {
      const out = receiver.unprotectRtp(Buffer.from(protectedBySeq[s - 65530]!));
      assert.deepEqual(out, rtp({ seq: s }), `seq ${s & 0xffff}`);
    }
    assert.deepEqual(receiver.stats, { authFailures: 0, replays: 0, malformed: 0 });
    // A receiver that guessed the wrong ROC would fail authentication: check one straight after the wrap.
    const late = new SrtpContext(profile, masterKeys(profile));
    assert.equal(late.unprotectRtp(Buffer.from(protectedBySeq[10]!)), null);
  });

  test(`${profile}: replays refused, reorder inside the window accepted, older than 64 refused`, () => {
    const { sender, receiver } = pair(profile);
    const packets = new Map<number, Buffer>();
    for (let s = 100; s < 300; s++) packets.set(s, Buffer.from(sender.protectRtp(rtp({ seq: s }))));
    const deliver = (s: number): Buffer | null => receiver.unprotectRtp(Buffer.from(packets.get(s)!));
    assert.notEqual(deliver(200), null);
    assert.equal(deliver(200), null, 'same packet twice');
    assert.equal(receiver.stats.replays, 1);
    assert.notEqual(deliver(137), null, '63 behind the highest: inside the window');
    assert.equal(deliver(137), null);
    assert.equal(deliver(136), null, '64 behind: outside the window');
    assert.equal(receiver.stats.replays, 3);
    assert.notEqual(deliver(199), null);
    assert.notEqual(deliver(250), null, 'jump ahead slides the window');
    assert.equal(deliver(199), null, 'now outside the window');
    assert.notEqual(deliver(187), null, '63 behind 250');
    assert.equal(deliver(200), null, 'still remembered after the slide');
    assert.equal(receiver.stats.replays, 5);
    assert.equal(receiver.stats.authFailures, 0);

    const rtcpPackets = [0, 1, 2, 3].map((n) => Buffer.from(sender.protectRtcp(rtcp(0x11223344, n))));
    assert.notEqual(receiver.unprotectRtcp(Buffer.from(rtcpPackets[2]!)), null);
    assert.notEqual(receiver.unprotectRtcp(Buffer.from(rtcpPackets[0]!)), null, 'reordered SRTCP inside the window');
    assert.equal(receiver.unprotectRtcp(Buffer.from(rtcpPackets[2]!)), null, 'SRTCP replay');
    assert.equal(receiver.stats.replays, 6);
  });

  test(`${profile}: a tampered byte anywhere or a truncation is refused and leaves state intact`, () => {
    const { sender, receiver } = pair(profile);
    const plain = rtp({ seq: 1000, csrcs: 1, extensionWords: 1, payload: 40 });
    const srtp = Buffer.from(sender.protectRtp(plain));
    for (let i = 0; i < srtp.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const bad = Buffer.from(srtp);
        bad[i]! ^= mask;
        const before = Buffer.from(bad);
        assert.equal(receiver.unprotectRtp(bad), null, `byte ${i} ^ ${mask}`);
        assert.deepEqual(bad, before, 'a refused packet is not modified');
      }
    }
    for (let n = 0; n < srtp.length; n++) assert.equal(receiver.unprotectRtp(Buffer.from(srtp.subarray(0, n))), null, `truncated to ${n}`);
    const failures = receiver.stats.authFailures,
      malformed = receiver.stats.malformed;
    assert.equal(failures + malformed + receiver.stats.replays, 2 * srtp.length + srtp.length);
    assert.ok(failures > 0 && malformed > 0);
    // None of that created state or moved the window: the genuine packet still goes through once.
    assert.deepEqual(receiver.unprotectRtp(Buffer.from(srtp)), plain);
    assert.equal(receiver.unprotectRtp(Buffer.from(srtp)), null);

    const srtcp = Buffer.from(sender.protectRtcp(rtcp(0x11223344, 9)));
    for (let i = 0; i < srtcp.length; i++) {
      const bad = Buffer.from(srtcp);
      bad[i]! ^= 0x04;
      assert.equal(receiver.unprotectRtcp(bad), null, `SRTCP byte ${i}`);
    }
    for (let n = 0; n < srtcp.length; n++) assert.equal(receiver.unprotectRtcp(Buffer.from(srtcp.subarray(0, n))), null);
    assert.deepEqual(receiver.unprotectRtcp(Buffer.from(srtcp)), rtcp(0x11223344, 9));
  });

  test(`${profile}: SSRCs keep separate ROC and windows; wrong keys fail`, () => {
    const { sender, receiver } = pair(profile);
    const a = Buffer.from(sender.protectRtp(rtp({ seq: 5, ssrc: 1 })));
    const b = Buffer.from(sender.protectRtp(rtp({ seq: 5, ssrc: 2 })));
    assert.notEqual(receiver.unprotectRtp(a), null);
    assert.notEqual(receiver.unprotectRtp(b), null, 'same SEQ on another SSRC is not a replay');
    const stranger = new SrtpContext(profile, masterKeys(profile));
    assert.equal(stranger.unprotectRtp(Buffer.from(sender.protectRtp(rtp({ seq: 6, ssrc: 1 })))), null);
    assert.equal(stranger.stats.authFailures, 1);
    assert.throws(() => sender.protectRtp(Buffer.alloc(11)), RangeError);
    assert.throws(() => sender.protectRtcp(Buffer.from([0x40, 0, 0, 1, 0, 0, 0, 1])), RangeError);
  });
}

test('RFC 3711 Appendix A index estimation', () => {
  assert.equal(estimatePacketIndex(0, 10, 11), 11);
  assert.equal(estimatePacketIndex(0, 65535, 0), 65536, 'wrap forward');
  assert.equal(estimatePacketIndex(1, 2, 65535), 65535, 'late packet from before the wrap');
  assert.equal(estimatePacketIndex(0, 2, 65535), -1, 'before the first packet');
  assert.equal(estimatePacketIndex(3, 40000, 100), 4 * 65536 + 100);
  assert.equal(estimatePacketIndex(3, 40000, 7233), 3 * 65536 + 7233, 'exactly half behind stays in this ROC');
});

/** werift's session API: one session per direction pair; we only use one direction each. */
function weriftSessions(
  profile: SrtpProfileName,
  local: SrtpMasterKeys,
  remote: SrtpMasterKeys,
): { srtp: SrtpSession; srtcp: SrtcpSession } {
  const config = {
    keys: { localMasterKey: local.key, localMasterSalt: local.salt, remoteMasterKey: remote.key, remoteMasterSalt: remote.salt },
    profile: SRTP_PROFILE_IDS[profile],
  };
  return { srtp: new SrtpSession(config), srtcp: new SrtcpSession(config) };
}

for (const profile of PROFILES) {
  test(`${profile}: byte-identical to werift and mutually decryptable, RTP across a wrap and RTCP`, () => {
    const ours = masterKeys(profile),
      theirs = masterKeys(profile);
    const us = { tx: new SrtpContext(profile, ours), rx: new SrtpContext(profile, theirs) };
    const werift = weriftSessions(profile, theirs, ours); // werift sends with `theirs`, receives with `ours`
    const weriftTwin = weriftSessions(profile, ours, theirs); // encrypts with our keys for the byte comparison
    let compared = 0;
    for (let i = 0; i < 1200; i++) {
      const seq = (65000 + i) & 0xffff; // crosses 65535 → 0 at i = 536
      const plain = rtp({ seq, ssrc: 0xcafe0001, csrcs: i % 3, extensionWords: i % 2 === 0 ? 1 : undefined, payload: 20 + (i % 200) });
      const parsed = RtpPacket.deSerialize(plain);
      const mine = Buffer.from(us.tx.protectRtp(plain));
      assert.deepEqual(mine, weriftTwin.srtp.encrypt(parsed.payload, parsed.header), `SRTP bytes for seq ${seq}`);
      assert.deepEqual(werift.srtp.decrypt(mine), plain, `werift decrypts seq ${seq}`);
      const fromWerift = werift.srtp.encrypt(parsed.payload, parsed.header);
      assert.deepEqual(us.rx.unprotectRtp(Buffer.from(fromWerift)), plain, `we decrypt werift's seq ${seq}`);
      compared++;
    }
    assert.equal(compared, 1200);
    for (let n = 0; n < 50; n++) {
      const plain = rtcp(0xcafe0001, n);
      assert.deepEqual(werift.srtcp.decrypt(Buffer.from(us.tx.protectRtcp(plain))), plain, `werift decrypts SRTCP ${n}`);
      assert.deepEqual(us.rx.unprotectRtcp(werift.srtcp.encrypt(plain)), plain, `we decrypt werift's SRTCP ${n}`);
    }
    assert.deepEqual(us.rx.stats, { authFailures: 0, replays: 0, malformed: 0 });
  });
}

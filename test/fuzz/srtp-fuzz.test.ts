/**
 * Fuzz: over a million mutated SRTP and SRTCP packets (bit flips, truncation, extension, random
 * bytes, header edits to V/P/X/CC and the extension length) into unprotectRtp and unprotectRtcp
 * for both profiles. Nothing may throw, every refusal is counted in stats, and a mutated packet
 * is only ever accepted if it is byte-identical to the genuine one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SrtpContext, srtpKeyLengths, type SrtpProfileName } from '../../src/rtc/srtp/index.js';

const TOTAL = 1_050_000;
const DEADLINE_MS = 120_000;
const ROTATE = 4096;

/** xorshift32: deterministic, so a failure reproduces. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function keys(profile: SrtpProfileName, fill: number): { key: Buffer; salt: Buffer } {
  const { key, salt } = srtpKeyLengths(profile);
  return { key: Buffer.alloc(key, fill), salt: Buffer.alloc(salt, fill + 1) };
}

function mutate(src: Buffer, rand: () => number, rtcp: boolean): Buffer {
  const kind = rand() % 8;
  let out = Buffer.from(src);
  switch (kind) {
    case 0: {
      // 1-4 bit flips anywhere
      const flips = 1 + (rand() % 4);
      for (let i = 0; i < flips; i++) out[rand() % out.length]! ^= 1 << (rand() % 8);
      break;
    }
    case 1:
      out = out.subarray(0, rand() % out.length);
      break; // truncation
    case 2:
      out = Buffer.concat([out, Buffer.alloc(1 + (rand() % 20), rand() & 0xff)]);
      break; // extension
    case 3: {
      // random bytes of random length
      out = Buffer.alloc(rand() % 80);
      for (let i = 0; i < out.length; i++) out[i] = rand() & 0xff;
      break;
    }
    case 4:
      out[0] = (out[0]! & 0x30) | ((rand() & 3) << 6) | (out[0]! & 0x0f);
      break; // version
    case 5:
      out[0] = (out[0]! & 0xf0) | (rand() & 0x0f);
      break; // CC: CSRC count
    case 6:
      out[0]! ^= rtcp ? 0x20 : 0x10 << (rand() & 1);
      break; // X or P bit
    default: {
      // header-extension length / RTCP length field
      const at = rtcp ? 2 : 12 + 4 * (out[0]! & 0x0f) + 2;
      if (at + 1 < out.length) out.writeUInt16BE(rand() & 0xffff, at);
      else out[rand() % out.length] = rand() & 0xff;
    }
  }
  return out;
}

test('unprotectRtp / unprotectRtcp never throw on a million mutated packets; refusals are counted', () => {
  const rand = prng(0x5eed1234);
  const started = Date.now();
  let done = 0,
    accepted = 0;
  const perProfile = TOTAL / 2;
  for (const profile of ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'] as const) {
    const sender = new SrtpContext(profile, keys(profile, 7));
    // A fresh receiver every ROTATE inputs, so most mutations reach authentication instead of
    // stopping at the replay check once their genuine packet has been accepted.
    const receivers: SrtpContext[] = [];
    let receiver = new SrtpContext(profile, keys(profile, 7));
    // Genuine packets of several shapes: plain, CSRCs, one-byte extension, padding.
    const genuineRtp: Buffer[] = [];
    const genuineRtcp: Buffer[] = [];
    for (let i = 0; i < 64; i++) {
      const csrcs = i % 3,
        ext = i % 2 === 1;
      const header = 12 + 4 * csrcs + (ext ? 8 : 0);
      const p = Buffer.alloc(header + 8 + (i % 40));
      p[0] = 0x80 | (ext ? 0x10 : 0) | csrcs;
      p[1] = 96;
      p.writeUInt16BE((65500 + i * 3) & 0xffff, 2);
      p.writeUInt32BE(0xabc, 8);
      if (ext) {
        p.writeUInt16BE(0xbede, 12 + 4 * csrcs);
        p.writeUInt16BE(1, 14 + 4 * csrcs);
      }
      genuineRtp.push(Buffer.from(sender.protectRtp(p)));
      const r = Buffer.alloc(8 + 4 * (i % 8));
      r[0] = 0x80;
      r[1] = 200 + (i % 5);
      r.writeUInt16BE(r.length / 4 - 1, 2);
      r.writeUInt32BE(0xabc, 4);
      genuineRtcp.push(Buffer.from(sender.protectRtcp(r)));
    }
    let calls = 0,
      acceptedHere = 0;
    for (let n = 0; n < perProfile && Date.now() - started < DEADLINE_MS; n++) {
      if (n % ROTATE === 0) receivers.push((receiver = new SrtpContext(profile, keys(profile, 7))));
      const rtcp = (n & 1) === 1;
      const pool = rtcp ? genuineRtcp : genuineRtp;
      const original = pool[rand() % pool.length]!;
      const input = mutate(original, rand, rtcp);
      const identical = input.equals(original);
      const result = rtcp ? receiver.unprotectRtcp(input) : receiver.unprotectRtp(input);
      calls++;
      if (result !== null) {
        accepted++;
        acceptedHere++;
        assert.ok(identical, `accepted a mutated ${rtcp ? 'SRTCP' : 'SRTP'} packet (iteration ${n})`);
      }
    }
    const stats = { authFailures: 0, replays: 0, malformed: 0 };
    for (const r of receivers) {
      stats.authFailures += r.stats.authFailures;
      stats.replays += r.stats.replays;
      stats.malformed += r.stats.malformed;
    }
    const { authFailures, replays, malformed } = stats;
    const refusedCount = authFailures + replays + malformed;
    assert.equal(refusedCount, calls - acceptedHere, 'every refusal is counted exactly once');
    assert.ok(authFailures > 0 && replays > 0 && malformed > 0, `${profile}: every refusal kind was hit: ${JSON.stringify(stats)}`);
    done += calls;
    console.log(`# ${profile}: ${calls} inputs, ${acceptedHere} accepted, ${JSON.stringify(stats)}`);
  }
  assert.ok(done >= 1_000_000, `only ${done} inputs before the deadline`);
  assert.ok(accepted > 0, 'unmutated packets (mutations that changed nothing) were accepted');
});

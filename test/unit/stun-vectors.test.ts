/**
 * The STUN codec against the RFC 5769 test vectors and RFC 8489 Appendix B.1 as corrected by
 * erratum 6268 (bytes as printed there), plus round trips and corruption cases.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  Attr,
  PasswordAlgorithm,
  StunClass,
  StunMessageBuilder,
  StunMethod,
  checkFingerprint,
  checkIntegrity,
  classifyPacket,
  crc32,
  decodeChannelData,
  decodeErrorCode,
  decodePasswordAlgorithm,
  decodeStun,
  decodeXorAddress,
  encodeChannelData,
  encodeErrorCode,
  encodePasswordAlgorithm,
  encodeXorAddress,
  getAttribute,
  longTermKey,
  messageType,
  parseNonceCookie,
  prepPassword,
  prepUsername,
  splitMessageType,
  userHash,
  type StunMessage,
} from '../../src/stun/index.js';
import { RFC5769_PASSWORD, RFC5769_REQUEST as SAMPLE_REQUEST, hex } from '../fixtures/rfc5769.js';

/** §2.2 Sample IPv4 Response. */
const IPV4_RESPONSE = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);
/** §2.3 Sample IPv6 Response. */
const IPV6_RESPONSE = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);
/** §2.4 Sample Request with Long-Term Authentication. */
const LONG_TERM_REQUEST = hex(`
  00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
  00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
  00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
  00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
  00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`);

/**
 * RFC 8489 Appendix B.1, corrected by erratum 6268: the printed length 0x9c becomes 0x90,
 * PASSWORD-ALGORITHM (SHA-256) is added, and the HMAC is recomputed.
 */
const SHA256_USERHASH_REQUEST = hex(`
  00 01 00 90 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
  00 1e 00 20 4a 3c f3 8f ef 69 92 bd a9 52 c6 78 04 17 da 0f 24 81 94 15 56 9e 60 b2 05 c4 6e 41 40 7f 17 04
  00 15 00 29 6f 62 4d 61 74 4a 6f 73 32 41 41 41 43 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39
              46 53 54 76 79 36 34 73 41 00 00 00
  00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
  00 1d 00 04 00 02 00 00
  00 1c 00 20 b5 c7 bf 00 5b 6c 52 a2 1c 51 c5 e8 92 f8 19 24 13 62 96 cb 92 7c 43 14 93 09 27 8c c6 51 8e 65`);

const SHORT_TERM_KEY = Buffer.from(RFC5769_PASSWORD);

function decode(buf: Buffer): StunMessage {
  const r = decodeStun(buf);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.message;
}

/** Re-encodes a decoded message attribute by attribute (same padding bytes) and compares. */
function reencode(msg: StunMessage, padOf: (type: number) => number): Buffer {
  const b = new StunMessageBuilder(msg.method, msg.cls, Buffer.from(msg.transactionId));
  for (const a of msg.attributes) b.add(a.type, a.value, padOf(a.type));
  return b.build();
}

test('CRC-32 check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('RFC 5769 §2.1 sample request: attributes, integrity, fingerprint, byte-exact re-encoding', () => {
  const m = decode(SAMPLE_REQUEST);
  assert.deepEqual([m.method, m.cls], [StunMethod.Binding, StunClass.Request]);
  assert.equal(m.transactionId.toString('hex'), 'b7e7a701bc34d686fa87dfae');
  assert.equal(getAttribute(m, Attr.Software)?.toString(), 'STUN test client');
  assert.equal(getAttribute(m, Attr.Username)?.toString(), 'evtj:h6vY');
  assert.equal(getAttribute(m, Attr.Priority)?.readUInt32BE(0), 0x6e0001ff);
  assert.equal(getAttribute(m, Attr.IceControlled)?.toString('hex'), '932ff9b151263b36');
  assert.equal(checkIntegrity(m, SHORT_TERM_KEY), true);
  assert.equal(checkIntegrity(m, Buffer.from('wrong')), false);
  assert.equal(checkFingerprint(m), true);
  // USERNAME is padded with spaces in the RFC's bytes.
  assert.deepEqual(
    reencode(m, (t) => (t === Attr.Username ? 0x20 : 0)),
    SAMPLE_REQUEST,
  );
});

test('RFC 5769 §2.2/§2.3 responses: XOR-MAPPED-ADDRESS v4 and v6, and the builder reproduces them', () => {
  for (const [bytes, address, family] of [
    [IPV4_RESPONSE, '192.0.2.1', 4],
    [IPV6_RESPONSE, '2001:db8:1234:5678:11:2233:4455:6677', 6],
  ] as const) {
    const m = decode(bytes);
    assert.deepEqual([m.method, m.cls], [StunMethod.Binding, StunClass.Success]);
    assert.equal(checkIntegrity(m, SHORT_TERM_KEY), true);
    assert.equal(checkFingerprint(m), true);
    const mapped = decodeXorAddress(getAttribute(m, Attr.XorMappedAddress) as Buffer, m.transactionId);
    assert.deepEqual(mapped, { family, address, port: 32853 });
    const built = new StunMessageBuilder(StunMethod.Binding, StunClass.Success, Buffer.from(m.transactionId))
      .add(Attr.Software, Buffer.from('test vector'), 0x20)
      .add(Attr.XorMappedAddress, encodeXorAddress({ address, port: 32853 }, m.transactionId))
      .addIntegrity(SHORT_TERM_KEY)
      .addFingerprint()
      .build();
    assert.deepEqual(built, bytes, `${address}: builder writes the RFC's bytes`);
  }
});

test('RFC 5769 §2.4 long-term credentials with SASLprep', () => {
  const m = decode(LONG_TERM_REQUEST);
  const username = getAttribute(m, Attr.Username)?.toString('utf8') as string;
  assert.equal(username, '\u30de\u30c8\u30ea\u30c3\u30af\u30b9');
  assert.equal(getAttribute(m, Attr.Realm)?.toString(), 'example.org');
  assert.equal(getAttribute(m, Attr.Nonce)?.toString(), 'f//499k954d6OL34oL9FSTvy64sA');
  assert.equal(checkFingerprint(m), undefined);
  assert.equal(prepPassword('The\u00adM\u00aatr\u2168'), 'TheMatrIX');
  assert.equal(checkIntegrity(m, longTermKey(username, 'example.org', 'The\u00adM\u00aatr\u2168')), true);
  assert.equal(checkIntegrity(m, longTermKey(username, 'example.org', 'TheMatrix')), false);
  assert.deepEqual(
    reencode(m, () => 0),
    LONG_TERM_REQUEST,
  );
});

test('RFC 8489 B.1 (erratum 6268): USERHASH, PASSWORD-ALGORITHM and MESSAGE-INTEGRITY-SHA256', () => {
  const m = decode(SHA256_USERHASH_REQUEST);
  assert.deepEqual([m.method, m.cls], [StunMethod.Binding, StunClass.Request]);
  assert.equal(m.transactionId.toString('hex'), '78ad3433c6ad72c029da412e');
  assert.deepEqual(
    m.attributes.map((a) => a.type),
    [Attr.Userhash, Attr.Nonce, Attr.Realm, Attr.PasswordAlgorithm, Attr.MessageIntegritySha256],
  );
  const username = '\u30de\u30c8\u30ea\u30c3\u30af\u30b9';
  const realm = getAttribute(m, Attr.Realm)?.toString('utf8') as string;
  const nonce = getAttribute(m, Attr.Nonce)?.toString('utf8') as string;
  assert.equal(realm, 'example.org');
  assert.equal(nonce, 'obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA');
  // "AAAC" sets only the unassigned bit 22 (§9.2, §18.1); B.1 says nothing of the features.
  assert.deepEqual(parseNonceCookie(nonce), { passwordAlgorithms: false, usernameAnonymity: false });
  assert.equal(checkFingerprint(m), undefined);

  // §14.4: SHA-256 over the OpaqueString-prepared "username:realm" (both already prepared here).
  assert.equal(prepUsername(username), username);
  assert.deepEqual(getAttribute(m, Attr.Userhash), createHash('sha256').update(`${username}:${realm}`).digest());
  assert.deepEqual(getAttribute(m, Attr.Userhash), userHash(username, realm));

  // §9.2.2 with SHA-256 (§18.5.1.2), as PASSWORD-ALGORITHM asks.
  assert.deepEqual(decodePasswordAlgorithm(getAttribute(m, Attr.PasswordAlgorithm) as Buffer), { algorithm: PasswordAlgorithm.SHA256 });
  const password = 'The\u00adM\u00aatr\u2168';
  assert.equal(prepPassword(password), 'TheMatrIX');
  const key = longTermKey(username, realm, password, 'sha256');
  assert.deepEqual(key, createHash('sha256').update(`${username}:example.org:TheMatrIX`).digest());
  assert.equal(checkIntegrity(m, key, true), true);
  assert.equal(checkIntegrity(m, longTermKey(username, realm, password, 'md5'), true), false);
  assert.equal(checkIntegrity(m, key), false, 'no MESSAGE-INTEGRITY (SHA-1) in this message');

  // The builder writes the same bytes, from the decoded attributes and from scratch (zero padding).
  assert.deepEqual(
    reencode(m, () => 0),
    SHA256_USERHASH_REQUEST,
  );
  const built = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, Buffer.from(m.transactionId))
    .add(Attr.Userhash, userHash(username, realm))
    .add(Attr.Nonce, Buffer.from(nonce))
    .add(Attr.Realm, Buffer.from(realm))
    .add(Attr.PasswordAlgorithm, encodePasswordAlgorithm({ algorithm: PasswordAlgorithm.SHA256 }))
    .addIntegrity(key, true)
    .build();
  assert.deepEqual(built, SHA256_USERHASH_REQUEST);

  // Any one flipped bit, padding and header included, is refused or fails the check.
  for (let bit = 0; bit < SHA256_USERHASH_REQUEST.length * 8; bit++) {
    const bad = Buffer.from(SHA256_USERHASH_REQUEST);
    bad[bit >> 3] = (bad[bit >> 3] as number) ^ (0x80 >> (bit & 7));
    const r = decodeStun(bad);
    if (r.ok) assert.equal(checkIntegrity(r.message, key, true), false, `bit ${bit}`);
  }
});

test('corruption: a flipped bit breaks the fingerprint and the integrity', () => {
  const bad = Buffer.from(SAMPLE_REQUEST);
  bad[30] = (bad[30] as number) ^ 1; // inside SOFTWARE
  const m = decode(bad);
  assert.equal(checkFingerprint(m), false);
  assert.equal(checkIntegrity(m, SHORT_TERM_KEY), false);
  const badFp = Buffer.from(SAMPLE_REQUEST);
  badFp[badFp.length - 1] = (badFp[badFp.length - 1] as number) ^ 0x80;
  const m2 = decode(badFp);
  assert.equal(checkFingerprint(m2), false);
  assert.equal(checkIntegrity(m2, SHORT_TERM_KEY), true, 'integrity does not cover the fingerprint');
});

test('malformed input is refused with a reason, never thrown', () => {
  const cases: Array<[Buffer, RegExp]> = [
    [Buffer.alloc(19), /shorter/],
    [Buffer.concat([Buffer.from([0x40]), SAMPLE_REQUEST.subarray(1)]), /first two bits/],
    [Buffer.concat([SAMPLE_REQUEST.subarray(0, 4), Buffer.alloc(4), SAMPLE_REQUEST.subarray(8)]), /cookie/],
    [SAMPLE_REQUEST.subarray(0, 60), /past the datagram/],
  ];
  const oddLength = Buffer.from(SAMPLE_REQUEST);
  oddLength.writeUInt16BE(0x57, 2);
  cases.push([oddLength, /multiple of 4/]);
  const longAttr = Buffer.from(SAMPLE_REQUEST);
  longAttr.writeUInt16BE(0x4000, 22);
  cases.push([longAttr, /runs past the message/]);
  for (const [buf, re] of cases) {
    const r = decodeStun(buf);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, re);
  }
});

test('message types interleave method and class bits (RFC 8489 §5, RFC 8656)', () => {
  const cases: Array<[number, StunClass, number]> = [
    [StunMethod.Binding, StunClass.Request, 0x0001],
    [StunMethod.Binding, StunClass.Success, 0x0101],
    [StunMethod.Binding, StunClass.Error, 0x0111],
    [StunMethod.Allocate, StunClass.Request, 0x0003],
    [StunMethod.Allocate, StunClass.Error, 0x0113],
    [StunMethod.Refresh, StunClass.Request, 0x0004],
    [StunMethod.Send, StunClass.Indication, 0x0016],
    [StunMethod.Data, StunClass.Indication, 0x0017],
    [StunMethod.CreatePermission, StunClass.Request, 0x0008],
    [StunMethod.ChannelBind, StunClass.Success, 0x0109],
  ];
  for (const [method, cls, type] of cases) {
    assert.equal(messageType(method, cls), type);
    assert.deepEqual(splitMessageType(type), { method, cls });
  }
});

test('XOR addresses, error codes and ChannelData round-trip', () => {
  const tid = Buffer.alloc(12, 7);
  for (const a of [
    { address: '198.18.0.1', port: 3478 },
    { address: '2001:db8::1', port: 443 },
    { address: '::', port: 1 },
    { address: 'fe80::1:2:3:4', port: 65535 },
  ]) {
    const back = decodeXorAddress(encodeXorAddress(a, tid), tid);
    assert.equal(back?.address, a.address);
    assert.equal(back?.port, a.port);
  }
  assert.equal(decodeXorAddress(Buffer.alloc(5), tid), undefined);
  assert.deepEqual(decodeErrorCode(encodeErrorCode(438, 'Stale Nonce')), { code: 438, reason: 'Stale Nonce' });
  assert.equal(decodeErrorCode(Buffer.from([0, 0, 7, 0])), undefined);
  const frame = encodeChannelData(0x4abc, Buffer.from('voice'));
  assert.deepEqual(decodeChannelData(frame), { channel: 0x4abc, data: Buffer.from('voice') });
  assert.equal(encodeChannelData(0x4001, Buffer.from('abcde'), true).length, 12, 'padded for TCP');
  assert.deepEqual(decodeChannelData(Buffer.concat([frame, Buffer.alloc(3)]))?.data, Buffer.from('voice'));
  assert.equal(decodeChannelData(frame.subarray(0, 6)), undefined);
  assert.equal(decodeChannelData(Buffer.from([0x3f, 0xff, 0, 0])), undefined);
  assert.throws(() => encodeChannelData(0x8000, Buffer.alloc(1)), RangeError);
});

test('RFC 7983 demultiplexing by first byte', () => {
  const kind = (...bytes: number[]): string => classifyPacket(Buffer.from(bytes));
  assert.equal(classifyPacket(SAMPLE_REQUEST), 'stun');
  assert.deepEqual(
    [kind(0), kind(3), kind(16), kind(19), kind(20), kind(63), kind(64), kind(79)],
    ['stun', 'stun', 'zrtp', 'zrtp', 'dtls', 'dtls', 'turn-channel', 'turn-channel'],
  );
  assert.deepEqual(
    [kind(0x80, 96), kind(0x80, 0xe0), kind(0x81, 200), kind(0x80, 223), kind(191, 111)],
    ['rtp', 'rtp', 'rtcp', 'rtcp', 'rtp'],
  );
  assert.deepEqual(
    [kind(4), kind(15), kind(80), kind(127), kind(192), kind(255), kind(0x80)],
    ['unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown'],
  );
  assert.equal(classifyPacket(Buffer.alloc(0)), 'unknown');
});

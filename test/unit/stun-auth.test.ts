/**
 * Long-term credential helpers of the STUN codec: string preparation and USERHASH
 * (RFC 8489 §14.3–14.4), PASSWORD-ALGORITHM(S) (§14.11–14.12), the nonce cookie (§9.2), and
 * the TURN numbers of RFC 8656 §18 and RFC 6062. The B.1 vector itself is in stun-vectors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Attr,
  PasswordAlgorithm,
  StunClass,
  StunMethod,
  decodePasswordAlgorithm,
  decodePasswordAlgorithms,
  encodeNonceCookie,
  encodePasswordAlgorithm,
  encodePasswordAlgorithms,
  longTermKey,
  messageType,
  parseNonceCookie,
  prepUsername,
  splitMessageType,
  userHash,
} from '../../src/stun/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex');

test('prepUsername is OpaqueString: spaces mapped, NFC but not NFKC', () => {
  assert.equal(prepUsername('a\u00a0b\u3000c'), 'a b c');
  assert.equal(prepUsername('e\u0301'), '\u00e9');
  assert.equal(prepUsername('\uff21\u2168'), '\uff21\u2168', 'compatibility forms are kept');
  assert.equal(prepUsername('\u30de\u30c8\u30ea\u30c3\u30af\u30b9'), '\u30de\u30c8\u30ea\u30c3\u30af\u30b9');
});

test('userHash is SHA-256 of the prepared "username:realm" (§14.4)', () => {
  // Value from RFC 8489 Appendix B.1.
  assert.equal(
    userHash('\u30de\u30c8\u30ea\u30c3\u30af\u30b9', 'example.org').toString('hex'),
    '4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704',
  );
  assert.deepEqual(userHash('jose\u0301', 'r\u00a01'), userHash('jos\u00e9', 'r 1'));
  assert.notDeepEqual(userHash('user', 'realm'), userHash('User', 'realm'), 'no case folding');
  assert.equal(userHash('', '').length, 32);
});

test('longTermKey prepares the realm (§9.2.2) and keeps the username as sent', () => {
  assert.deepEqual(longTermKey('u', 'cafe\u0301', 'p', 'sha256'), longTermKey('u', 'caf\u00e9', 'p', 'sha256'));
  assert.equal(longTermKey('u', 'r', 'p', 'sha256').length, 32);
  assert.equal(longTermKey('u', 'r', 'p').length, 16);
});

test('PASSWORD-ALGORITHMS round-trips and pads parameters inside the attribute', () => {
  const two = encodePasswordAlgorithms([{ algorithm: PasswordAlgorithm.MD5 }, { algorithm: PasswordAlgorithm.SHA256 }]);
  assert.deepEqual(two, hex('0001 0000 0002 0000'));
  assert.deepEqual(decodePasswordAlgorithms(two), [{ algorithm: 1 }, { algorithm: 2 }]);
  const withParams = encodePasswordAlgorithms([{ algorithm: 0x8001, params: Buffer.from('abcde') }, { algorithm: 2 }]);
  assert.deepEqual(withParams, hex('8001 0005 6162636465 000000 0002 0000'));
  assert.deepEqual(decodePasswordAlgorithms(withParams), [{ algorithm: 0x8001, params: Buffer.from('abcde') }, { algorithm: 2 }]);
  // Padding is ignored on receipt (§14.12).
  assert.deepEqual(decodePasswordAlgorithms(hex('8001 0001 61ffffff')), [{ algorithm: 0x8001, params: Buffer.from('a') }]);
  assert.deepEqual(encodePasswordAlgorithms([]), Buffer.alloc(0));
});

test('PASSWORD-ALGORITHMS: malformed values are undefined', () => {
  for (const bad of [
    '',
    '00',
    '000100',
    '0001 0000 00',
    '0001 0004 000000',
    '0001 0005 0102030405',
    '0001 0005 0102030405 0000',
    '0001 0000 0002 0001 aa',
  ]) {
    assert.equal(decodePasswordAlgorithms(hex(bad)), undefined, bad || '(empty)');
  }
});

test('PASSWORD-ALGORITHM round-trips; exactly one entry', () => {
  assert.deepEqual(encodePasswordAlgorithm({ algorithm: PasswordAlgorithm.SHA256 }), hex('0002 0000'));
  assert.deepEqual(decodePasswordAlgorithm(hex('0002 0000')), { algorithm: 2 });
  const p = encodePasswordAlgorithm({ algorithm: 7, params: Buffer.from([9, 9]) });
  assert.deepEqual(p, hex('0007 0002 0909 0000'));
  assert.deepEqual(decodePasswordAlgorithm(p), { algorithm: 7, params: Buffer.from([9, 9]) });
  for (const bad of ['', '0002', '0002 00', '0002 0000 0001 0000', '0002 0002 0909', '0002 0000 00']) {
    assert.equal(decodePasswordAlgorithm(hex(bad)), undefined, bad || '(empty)');
  }
  assert.throws(() => encodePasswordAlgorithm({ algorithm: 0x10000 }), RangeError);
  assert.throws(() => encodePasswordAlgorithms([{ algorithm: 1, params: Buffer.alloc(0x10000) }]), RangeError);
});

test('nonce cookie: bit 0 is the leftmost bit of the 24 (§9.2, §18.1)', () => {
  assert.equal(encodeNonceCookie({ passwordAlgorithms: false, usernameAnonymity: false }), 'obMatJos2AAAA');
  assert.equal(encodeNonceCookie({ passwordAlgorithms: true, usernameAnonymity: false }), 'obMatJos2gAAA');
  assert.equal(encodeNonceCookie({ passwordAlgorithms: false, usernameAnonymity: true }), 'obMatJos2QAAA');
  assert.equal(encodeNonceCookie({ passwordAlgorithms: true, usernameAnonymity: true }), 'obMatJos2wAAA');
  for (const passwordAlgorithms of [false, true]) {
    for (const usernameAnonymity of [false, true]) {
      const f = { passwordAlgorithms, usernameAnonymity };
      assert.deepEqual(parseNonceCookie(`${encodeNonceCookie(f)}f//499k954d6OL34oL9FSTvy64sA`), f);
    }
  }
});

test('nonce cookie: the RFC 8489 B.1 nonce sets only bit 22, which is unassigned', () => {
  // "AAAC" is 0x000002: neither password algorithms (bit 0) nor username anonymity (bit 1).
  assert.deepEqual(parseNonceCookie('obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA'), { passwordAlgorithms: false, usernameAnonymity: false });
  assert.deepEqual(parseNonceCookie('obMatJos2/v//'), { passwordAlgorithms: true, usernameAnonymity: true });
});

test('nonce cookie: nonces without one are undefined', () => {
  for (const bad of [
    '',
    'f//499k954d6OL34oL9FSTvy64sA',
    'obMatJos2',
    'obMatJos2AAA',
    'obMatJos2AA-A',
    'obMatJos2AA_A',
    'obMatJos2AA=A',
    'obMatJos2AA A',
    'OBMATJOS2AAAA',
    'xobMatJos2AAAA',
  ]) {
    assert.equal(parseNonceCookie(bad), undefined, bad || '(empty)');
  }
});

test('TURN numbers: RFC 8656 §18 attributes, RFC 6062 methods and CONNECTION-ID', () => {
  assert.deepEqual([Attr.AdditionalAddressFamily, Attr.AddressErrorCode, Attr.Icmp, Attr.ConnectionId], [0x8000, 0x8001, 0x8004, 0x002a]);
  assert.equal(messageType(StunMethod.Connect, StunClass.Request), 0x000a);
  assert.equal(messageType(StunMethod.ConnectionBind, StunClass.Success), 0x010b);
  assert.equal(messageType(StunMethod.ConnectionAttempt, StunClass.Indication), 0x001c);
  assert.deepEqual(splitMessageType(0x011b), { method: StunMethod.ConnectionBind, cls: StunClass.Error });
  const values = Object.values(Attr);
  assert.equal(new Set(values).size, values.length, 'no attribute number twice');
});

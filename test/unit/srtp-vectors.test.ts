/**
 * SRTP against published vectors: RFC 3711 Appendix B.2 (AES-CM keystream) and B.3 (key
 * derivation), RFC 7714 §16.1 (AEAD_AES_128_GCM SRTP) and §17.1 (SRTCP, encrypted and
 * authentication-only), plus the DTLS-SRTP keying layout of RFC 5764 §4.2.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DTLS_SRTP_EXPORTER_LABEL,
  SRTP_PROFILE_IDS,
  SrtpContext,
  deriveSessionKeys,
  splitDtlsSrtpKeyingMaterial,
  srtpKeyLengths,
  srtpProfileById,
  type SrtpSessionKeys,
} from '../../src/rtc/srtp/index.js';
import { AesGcmTransform } from '../../src/rtc/srtp/aes-gcm.js';
import { KdfLabel, srtpKdf } from '../../src/rtc/srtp/kdf.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex');

/** Same key and salt for SRTP and SRTCP, as the RFC vectors use. */
function sessionKeys(key: Buffer, salt: Buffer, auth: Buffer): SrtpSessionKeys {
  return { rtpKey: key, rtpSalt: salt, rtpAuth: auth, rtcpKey: key, rtcpSalt: salt, rtcpAuth: auth };
}

test('RFC 3711 B.2: AES-CM keystream for SSRC 0, index 0', () => {
  const keys = sessionKeys(hex('2B7E151628AED2A6ABF7158809CF4F3C'), hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), Buffer.alloc(20));
  const context = new SrtpContext('AES_CM_128_HMAC_SHA1_80', keys);
  const header = hex('800f0000 decafbad 00000000'); // SEQ 0, SSRC 0: the counter is salt·2^16
  const zeros = Buffer.alloc(48);
  const srtp = context.protectRtp(Buffer.concat([header, zeros]));
  // Encrypting zeros yields the keystream: blocks for counters F0F1…FD0000, …0001, …0002.
  assert.deepEqual(
    srtp.subarray(12, 60),
    hex(`
    E03EAD0935C95E80E166B16DD92B4EB4
    D23513162B02D0F72A43A2FE4A5F97AB
    41E95B3BB0A2E8DD477901E4FCA894C0`),
  );
  assert.deepEqual(srtp.subarray(0, 12), header);
  assert.equal(srtp.length, 12 + 48 + 10);
});

test('RFC 3711 B.3: key derivation (encryption key, salt, authentication key)', () => {
  const masterKey = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const masterSalt = hex('0EC675AD498AFEEBB6960B3AABE6');
  assert.deepEqual(srtpKdf(masterKey, masterSalt, KdfLabel.RtpEncryption, 16), hex('C61E7A93744F39EE10734AFE3FF7A087'));
  assert.deepEqual(srtpKdf(masterKey, masterSalt, KdfLabel.RtpSalt, 14), hex('30CBBC08863D8C85D49DB34A9AE1'));
  assert.deepEqual(srtpKdf(masterKey, masterSalt, KdfLabel.RtpAuthentication, 20), hex('CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4'));
  const all = deriveSessionKeys('AES_CM_128_HMAC_SHA1_80', { key: masterKey, salt: masterSalt });
  assert.deepEqual(all.rtpKey, hex('C61E7A93744F39EE10734AFE3FF7A087'));
  assert.deepEqual(all.rtpSalt, hex('30CBBC08863D8C85D49DB34A9AE1'));
  assert.deepEqual(all.rtpAuth, hex('CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4'));
  // SRTCP keys use labels 3..5: different from the SRTP ones, same sizes.
  assert.equal(all.rtcpKey.length, 16);
  assert.equal(all.rtcpSalt.length, 14);
  assert.equal(all.rtcpAuth.length, 20);
  assert.notDeepEqual(all.rtcpKey, all.rtpKey);
  const gcm = deriveSessionKeys('AEAD_AES_128_GCM', { key: masterKey, salt: masterSalt.subarray(0, 12) });
  assert.equal(gcm.rtpSalt.length, 12);
  assert.equal(gcm.rtpAuth.length, 0);
});

// RFC 7714 §16.1 / §17.1: key and salt are the session keys; SSRC 0x5501a0b2 SEQ 0xf17b ROC 0;
// SRTCP SSRC 0x4d617273 index 0x5d4.
const GCM_KEYS = sessionKeys(hex('000102030405060708090a0b0c0d0e0f'), hex('517569642070726f2071756f'), Buffer.alloc(0));
const GCM_RTP = hex(`8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976
  69736120 696e2070 61727465 73207472 6573`);
const GCM_SRTP = hex(`8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5
  0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce`);
const GCM_RTCP = hex(`81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
  deadbeef deadbeef deadbeef deadbeef deadbeef`);
const GCM_SRTCP = hex(`81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d
  c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4`);
const GCM_SRTCP_AUTH_ONLY = hex(`81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
  deadbeef deadbeef deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790 125f62b3 000005d4`);

test('RFC 7714 §16.1: AEAD_AES_128_GCM SRTP protect and unprotect', () => {
  const sender = new SrtpContext('AEAD_AES_128_GCM', GCM_KEYS);
  assert.deepEqual(sender.protectRtp(GCM_RTP), GCM_SRTP);
  const receiver = new SrtpContext('AEAD_AES_128_GCM', GCM_KEYS);
  assert.deepEqual(receiver.unprotectRtp(Buffer.from(GCM_SRTP)), GCM_RTP);
  assert.deepEqual(receiver.stats, { authFailures: 0, replays: 0, malformed: 0 });
});

test('RFC 7714 §17.1: AEAD_AES_128_GCM SRTCP, encrypted and authentication-only', () => {
  const transform = new AesGcmTransform(GCM_KEYS);
  assert.deepEqual(transform.protectRtcp(GCM_RTCP, 0x4d617273, 0x5d4), GCM_SRTCP);
  const receiver = new SrtpContext('AEAD_AES_128_GCM', GCM_KEYS);
  assert.deepEqual(receiver.unprotectRtcp(Buffer.from(GCM_SRTCP)), GCM_RTCP);
  // E = 0: the same index again is a replay for the same context; a fresh one accepts it.
  assert.equal(receiver.unprotectRtcp(Buffer.from(GCM_SRTCP_AUTH_ONLY)), null);
  assert.equal(receiver.stats.replays, 1);
  const other = new SrtpContext('AEAD_AES_128_GCM', GCM_KEYS);
  assert.deepEqual(other.unprotectRtcp(Buffer.from(GCM_SRTCP_AUTH_ONLY)), GCM_RTCP);
});

test('RFC 5764 §4.2: keying material is client key | server key | client salt | server salt', () => {
  assert.equal(DTLS_SRTP_EXPORTER_LABEL, 'EXTRACTOR-dtls_srtp');
  for (const profile of ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'] as const) {
    const { key, salt } = srtpKeyLengths(profile);
    const material = Buffer.alloc(2 * (key + salt));
    for (let i = 0; i < material.length; i++) material[i] = i;
    const clientKey = material.subarray(0, key),
      serverKey = material.subarray(key, 2 * key);
    const clientSalt = material.subarray(2 * key, 2 * key + salt),
      serverSalt = material.subarray(2 * key + salt);
    const asClient = splitDtlsSrtpKeyingMaterial(material, profile, true);
    assert.deepEqual(asClient.local, { key: clientKey, salt: clientSalt });
    assert.deepEqual(asClient.remote, { key: serverKey, salt: serverSalt });
    const asServer = splitDtlsSrtpKeyingMaterial(material, profile, false);
    assert.deepEqual(asServer.local, { key: serverKey, salt: serverSalt });
    assert.deepEqual(asServer.remote, { key: clientKey, salt: clientSalt });
    assert.throws(() => splitDtlsSrtpKeyingMaterial(material.subarray(1), profile, true), RangeError);
  }
  assert.deepEqual(srtpKeyLengths('AES_CM_128_HMAC_SHA1_80'), { key: 16, salt: 14 });
  assert.deepEqual(srtpKeyLengths('AEAD_AES_128_GCM'), { key: 16, salt: 12 });
});

test('DTLS-SRTP profile ids (RFC 5764 §4.1.2, RFC 7714 §14.2)', () => {
  assert.equal(SRTP_PROFILE_IDS.AES_CM_128_HMAC_SHA1_80, 0x0001);
  assert.equal(SRTP_PROFILE_IDS.AEAD_AES_128_GCM, 0x0007);
  assert.equal(srtpProfileById(1), 'AES_CM_128_HMAC_SHA1_80');
  assert.equal(srtpProfileById(7), 'AEAD_AES_128_GCM');
  assert.equal(srtpProfileById(2), undefined);
  assert.equal(srtpProfileById(8), undefined);
});

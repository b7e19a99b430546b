/**
 * Fuzzing the STUN/TURN decoders: 1,000,000 inputs — RFC 5769 and RFC 8489 B.1 shaped
 * messages with bit flips, truncations, length-field and attribute-length edits, random
 * appends, and pure random bytes — through the message decoder, the integrity and fingerprint
 * checks and the server's Binding answer. Every attribute value of every decoded message, and
 * every raw input, also goes through every value decoder whatever its type. Nothing may throw,
 * and memory must stay flat.
 */
import assert from 'node:assert/strict';
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
  decodeChannelData,
  decodeErrorCode,
  decodePasswordAlgorithm,
  decodePasswordAlgorithms,
  decodeStun,
  decodeXorAddress,
  encodeNonceCookie,
  encodePasswordAlgorithm,
  encodePasswordAlgorithms,
  encodeXorAddress,
  longTermKey,
  parseNonceCookie,
  userHash,
} from '../../src/stun/index.js';
import { answerBinding } from '../../src/turn/dispatch/binding.js';
import { xorshift32 } from '../helpers/random.js';

const ITERATIONS = 1_000_000;

const rng = xorshift32;

const SHA256_KEY = longTermKey('user', 'realm', 'pass', 'sha256');

function seeds(): Buffer[] {
  const tid = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex');
  const key = longTermKey('user', 'realm', 'pass');
  const nonce = Buffer.from(`${encodeNonceCookie({ passwordAlgorithms: true, usernameAnonymity: true })}f//499k954d6OL34oL9FSTvy64sA`);
  return [
    new StunMessageBuilder(StunMethod.Binding, StunClass.Request, tid)
      .add(Attr.Username, Buffer.from('evtj:h6vY'))
      .addIntegrity(Buffer.from('pw'))
      .addFingerprint()
      .build(),
    new StunMessageBuilder(StunMethod.Binding, StunClass.Success, tid)
      .add(Attr.XorMappedAddress, encodeXorAddress({ address: '2001:db8::7', port: 9 }, tid))
      .addFingerprint()
      .build(),
    new StunMessageBuilder(StunMethod.Allocate, StunClass.Error, tid)
      .add(Attr.ErrorCode, Buffer.from([0, 0, 4, 1, 0x55]))
      .add(Attr.Nonce, Buffer.from('n0nce'))
      .build(),
    new StunMessageBuilder(StunMethod.Allocate, StunClass.Request, tid)
      .add(Attr.RequestedTransport, Buffer.from([17, 0, 0, 0]))
      .add(Attr.Username, Buffer.from('user'))
      .addIntegrity(key, true)
      .build(),
    new StunMessageBuilder(StunMethod.Send, StunClass.Indication, tid)
      .add(Attr.XorPeerAddress, encodeXorAddress({ address: '198.18.0.5', port: 5000 }, tid))
      .add(Attr.Data, Buffer.alloc(40, 1))
      .build(),
    Buffer.from([0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]),
    // RFC 8489 B.1 shape: USERHASH, NONCE with cookie, REALM, PASSWORD-ALGORITHM, SHA-256 integrity.
    new StunMessageBuilder(StunMethod.Allocate, StunClass.Request, tid)
      .add(Attr.Userhash, userHash('user', 'realm'))
      .add(Attr.Nonce, nonce)
      .add(Attr.Realm, Buffer.from('realm'))
      .add(Attr.PasswordAlgorithm, encodePasswordAlgorithm({ algorithm: PasswordAlgorithm.SHA256 }))
      .addIntegrity(SHA256_KEY, true)
      .addFingerprint()
      .build(),
    // 401 challenge offering algorithms, one with parameters.
    new StunMessageBuilder(StunMethod.Allocate, StunClass.Error, tid)
      .add(Attr.ErrorCode, Buffer.from([0, 0, 4, 1]))
      .add(Attr.Nonce, nonce)
      .add(
        Attr.PasswordAlgorithms,
        encodePasswordAlgorithms([
          { algorithm: PasswordAlgorithm.SHA256 },
          { algorithm: 0x8001, params: Buffer.from('abcde') },
          { algorithm: PasswordAlgorithm.MD5 },
        ]),
      )
      .build(),
  ];
}

function mutate(base: Buffer, r: (n: number) => number): Buffer {
  const b = Buffer.from(base);
  switch (r(6)) {
    case 0:
      for (let k = 0, n = 1 + r(4); k < n; k++) b[r(b.length)] = (b[r(b.length)] as number) ^ (1 << r(8));
      return b;
    case 1:
      return b.subarray(0, r(b.length + 1));
    case 2:
      if (b.length >= 4) b.writeUInt16BE(r(0x10000), 2);
      return b;
    case 3: {
      // An attribute-length-shaped field: 2 bytes into a 4-aligned word after the header.
      const off = 22 + 4 * r(Math.max(1, (b.length - 22) >> 2));
      if (off + 2 <= b.length) b.writeUInt16BE(r(0x10000), off);
      return b;
    }
    case 4:
      return Buffer.concat([b, Buffer.from(Array.from({ length: 1 + r(64) }, () => r(256)))]);
    default:
      return Buffer.from(Array.from({ length: r(120) }, () => r(256)));
  }
}

/** Every value decoder on one buffer, whatever it is; returns how many accepted it. */
function decodeValue(v: Buffer, transactionId: Buffer): number {
  let ok = 0;
  if (decodeXorAddress(v, transactionId)) ok++;
  if (decodeErrorCode(v)) ok++;
  if (decodePasswordAlgorithms(v)) ok++;
  if (decodePasswordAlgorithm(v)) ok++;
  if (decodeChannelData(v)) ok++;
  if (classifyPacket(v) !== 'unknown') ok++;
  if (parseNonceCookie(v.toString('latin1'))) ok++;
  return ok;
}

test(`${ITERATIONS.toLocaleString('en')} random and mutated inputs: no throw, flat memory`, { timeout: 120_000 }, () => {
  const r = rng(0x5eed);
  const bases = seeds();
  const key = Buffer.from('pw');
  const noTid = Buffer.alloc(12);
  let decoded = 0;
  let values = 0;
  let accepted = 0;
  let integrityOk = 0;
  let heapAfterWarmup = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) {
    if (i === 50_000) heapAfterWarmup = process.memoryUsage().heapUsed;
    const input = mutate(bases[r(bases.length)] as Buffer, r);
    accepted += decodeValue(input, noTid);
    const res = decodeStun(input);
    if (!res.ok) continue;
    decoded++;
    const m = res.message;
    checkFingerprint(m);
    if (m.method === StunMethod.Binding && m.cls === StunClass.Request) answerBinding(m, { address: '198.18.0.9', port: 4242 });
    // HMAC is the costly part: check integrity on a sample, still well over 100k times.
    if ((i & 7) === 0) {
      if (checkIntegrity(m, key)) integrityOk++;
      if (checkIntegrity(m, SHA256_KEY, true)) integrityOk++;
    }
    for (const a of m.attributes) {
      values++;
      accepted += decodeValue(a.value, m.transactionId);
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const growth = process.memoryUsage().heapUsed - heapAfterWarmup;
  console.log(
    `stun fuzz: ${ITERATIONS} inputs in ${seconds.toFixed(1)} s (${Math.round(ITERATIONS / seconds)}/s), ${decoded} decoded as STUN, ` +
      `${values} attribute values through every value decoder (${accepted} acceptances), ${integrityOk} integrity passes, heap growth ${(growth / 1048576).toFixed(1)} MiB`,
  );
  assert.ok(decoded > ITERATIONS / 10, `enough inputs got past the header (${decoded})`);
  assert.ok(values > ITERATIONS / 2, `enough attribute values reached the value decoders (${values})`);
  assert.ok(integrityOk > 0, 'some unmutated messages still pass integrity, so the check itself is exercised');
  assert.ok(growth < 50 * 1048576, `heap grew ${growth} bytes`);
});

/**
 * ICE-lite answers to connectivity checks (RFC 8445 §7.3, RFC 8489 §9.1.3), pure: against the
 * RFC 5769 §2.1 sample request (a real ICE check with short-term credentials) and checks
 * built here with the project's STUN builder.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Attr,
  StunClass,
  StunMessageBuilder,
  StunMethod,
  checkFingerprint,
  checkIntegrity,
  decodeErrorCode,
  decodeStun,
  decodeXorAddress,
  getAttribute,
  type StunMessage,
} from '../../src/stun/index.js';
import { answerCheck, localUfragOf, type CheckCredentials } from '../../src/rtc/ice/check.js';
import { isValidPassword, isValidUfrag, randomIceString } from '../../src/rtc/ice/credentials.js';
import { RFC5769_PASSWORD, RFC5769_REQUEST, hex } from '../fixtures/rfc5769.js';

/** RFC 5769 §2.2: the XOR-MAPPED-ADDRESS value of 192.0.2.1:32853 for that transaction. */
const RFC5769_XOR_MAPPED = hex('00 01 a1 47 e1 12 a6 43');

const LOCAL_UFRAG = 'srvUfrag';
const LOCAL_PASSWORD = 'serverPasswordOf24chars+';
const REMOTE_UFRAG = 'brws';
const FROM = { address: '127.0.0.1', port: 50000 };
const creds = (remoteUfrag: string | null = REMOTE_UFRAG): CheckCredentials => ({
  localUfrag: LOCAL_UFRAG,
  localKey: Buffer.from(LOCAL_PASSWORD),
  remoteUfrag,
});

interface CheckOptions {
  username?: string | null;
  password?: string | null;
  useCandidate?: boolean;
  controlled?: boolean;
  fingerprint?: boolean;
  extra?: number;
  method?: number;
  cls?: StunClass;
}

function buildCheck(o: CheckOptions = {}): Buffer {
  const b = new StunMessageBuilder(o.method ?? StunMethod.Binding, o.cls ?? StunClass.Request);
  const username = o.username === undefined ? `${LOCAL_UFRAG}:${REMOTE_UFRAG}` : o.username;
  if (username !== null) b.add(Attr.Username, Buffer.from(username));
  b.add(Attr.Priority, Buffer.from([0x6e, 0, 1, 0xff]));
  b.add(o.controlled ? Attr.IceControlled : Attr.IceControlling, Buffer.alloc(8, 7));
  if (o.useCandidate) b.add(Attr.UseCandidate, Buffer.alloc(0));
  if (o.extra !== undefined) b.add(o.extra, Buffer.from('x'));
  const password = o.password === undefined ? LOCAL_PASSWORD : o.password;
  if (password !== null) b.addIntegrity(Buffer.from(password));
  if (o.fingerprint ?? true) b.addFingerprint();
  return b.build();
}

function decode(buf: Buffer): StunMessage {
  const r = decodeStun(buf);
  assert.ok(r.ok, 'decodes');
  return r.message;
}

test('RFC 5769 §2.1 sample request: integrity verifies with its password, ICE-CONTROLLED → 487 signed (§7.3.1.1)', () => {
  const req = decode(RFC5769_REQUEST);
  assert.equal(localUfragOf(req), 'evtj');
  const v = answerCheck(
    req,
    { address: '192.0.2.1', port: 32853 },
    { localUfrag: 'evtj', localKey: Buffer.from(RFC5769_PASSWORD), remoteUfrag: 'h6vY' },
  );
  assert.equal(v.kind, 'reject');
  assert.ok(v.kind === 'reject');
  assert.equal(v.reason, 'role-conflict', 'integrity passed, then the role conflict was found');
  const res = decode(v.response);
  assert.deepEqual([res.method, res.cls], [StunMethod.Binding, StunClass.Error]);
  assert.equal(decodeErrorCode(getAttribute(res, Attr.ErrorCode) as Buffer)?.code, 487);
  assert.equal(checkIntegrity(res, Buffer.from(RFC5769_PASSWORD)), true);
  assert.equal(checkFingerprint(res), true);
  // The same request with a wrong password is refused with an unsigned 401.
  const wrong = answerCheck(
    req,
    { address: '192.0.2.1', port: 32853 },
    { localUfrag: 'evtj', localKey: Buffer.from('not the password at all'), remoteUfrag: 'h6vY' },
  );
  assert.ok(wrong.kind === 'reject' && wrong.reason === 'bad-integrity');
  const r401 = decode(wrong.response);
  assert.equal(decodeErrorCode(getAttribute(r401, Attr.ErrorCode) as Buffer)?.code, 401);
  assert.equal(getAttribute(r401, Attr.MessageIntegrity), undefined);
});

test('RFC 5769 §2.2: our success response carries the XOR-MAPPED-ADDRESS bytes of the vector', () => {
  // The vector's request with the role attribute turned into ICE-CONTROLLING would be
  // accepted; build the equivalent check with the vector's transaction ID.
  const tid = RFC5769_REQUEST.subarray(8, 20);
  const req = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, Buffer.from(tid))
    .add(Attr.Username, Buffer.from('evtj:h6vY'))
    .add(Attr.IceControlling, Buffer.alloc(8, 1))
    .addIntegrity(Buffer.from(RFC5769_PASSWORD))
    .addFingerprint()
    .build();
  const v = answerCheck(
    decode(req),
    { address: '192.0.2.1', port: 32853 },
    { localUfrag: 'evtj', localKey: Buffer.from(RFC5769_PASSWORD), remoteUfrag: null },
  );
  assert.ok(v.kind === 'accept');
  const res = decode(v.response);
  assert.deepEqual(getAttribute(res, Attr.XorMappedAddress), RFC5769_XOR_MAPPED);
  assert.deepEqual(res.transactionId, tid);
});

test('valid check → success: XOR-MAPPED-ADDRESS = source, integrity with the local password, fingerprint last', () => {
  for (const from of [FROM, { address: '::1', port: 40001 }]) {
    const v = answerCheck(decode(buildCheck()), from, creds());
    assert.ok(v.kind === 'accept');
    assert.equal(v.useCandidate, false);
    const res = decode(v.response);
    assert.deepEqual([res.method, res.cls], [StunMethod.Binding, StunClass.Success]);
    assert.deepEqual(decodeXorAddress(getAttribute(res, Attr.XorMappedAddress) as Buffer, res.transactionId), {
      family: from.address.includes(':') ? 6 : 4,
      ...from,
    });
    assert.equal(checkIntegrity(res, Buffer.from(LOCAL_PASSWORD)), true);
    assert.equal(checkIntegrity(res, Buffer.from('someone elses password!!')), false);
    assert.equal(checkFingerprint(res), true);
    assert.equal(res.attributes.at(-1)?.type, Attr.Fingerprint);
  }
  const nominating = answerCheck(decode(buildCheck({ useCandidate: true })), FROM, creds());
  assert.ok(nominating.kind === 'accept' && nominating.useCandidate);
});

test('before signaling gives the remote ufrag, any remote part is accepted (RFC 8445 §7.3); after, it must match', () => {
  const other = decode(buildCheck({ username: `${LOCAL_UFRAG}:zzzz` }));
  assert.equal(answerCheck(other, FROM, creds(null)).kind, 'accept');
  const v = answerCheck(other, FROM, creds());
  assert.ok(v.kind === 'reject' && v.reason === 'wrong-username');
});

test('bad checks: 400 / 401 unsigned, 420 and 487 signed, fingerprint problems and non-requests dropped', () => {
  const cases: Array<[string, CheckOptions, string, number | null]> = [
    ['no MESSAGE-INTEGRITY', { password: null }, 'bad-request', 400],
    ['no USERNAME', { username: null }, 'bad-request', 400],
    ['wrong password', { password: 'wrongPasswordOf24chars++' }, 'bad-integrity', 401],
    ['another local ufrag', { username: `other:${REMOTE_UFRAG}` }, 'wrong-username', 401],
    ['USERNAME without colon', { username: LOCAL_UFRAG }, 'wrong-username', 401],
    ['unknown comprehension-required attribute', { extra: 0x7777 }, 'unknown-attribute', 420],
    ['peer claims controlled too', { controlled: true }, 'role-conflict', 487],
    ['no FINGERPRINT', { fingerprint: false }, 'no-fingerprint', null],
    ['a Binding indication', { cls: StunClass.Indication }, 'not-binding-request', null],
    ['an Allocate request', { method: StunMethod.Allocate }, 'not-binding-request', null],
  ];
  for (const [name, o, reason, code] of cases) {
    const v = answerCheck(decode(buildCheck(o)), FROM, creds());
    assert.equal(v.kind === 'accept' ? 'accept' : v.reason, reason, name);
    if (code === null) {
      assert.equal(v.kind, 'drop', name);
      continue;
    }
    assert.ok(v.kind === 'reject', name);
    const res = decode(v.response);
    assert.equal(decodeErrorCode(getAttribute(res, Attr.ErrorCode) as Buffer)?.code, code, name);
    assert.equal(checkIntegrity(res, Buffer.from(LOCAL_PASSWORD)), code === 420 || code === 487, `${name}: signed only once authenticated`);
    assert.equal(checkFingerprint(res), true, name);
    if (code === 420) assert.deepEqual(getAttribute(res, Attr.UnknownAttributes), Buffer.from([0x77, 0x77]));
  }
  const corrupted = buildCheck();
  corrupted.writeUInt8((corrupted.at(-1) as number) ^ 1, corrupted.length - 1);
  const v = answerCheck(decode(corrupted), FROM, creds());
  assert.ok(v.kind === 'drop' && v.reason === 'bad-fingerprint');
});

test('generated credentials are ice-chars of RFC 8445 §5.3 lengths', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const u = randomIceString(8);
    const p = randomIceString(24);
    assert.ok(isValidUfrag(u) && isValidPassword(p));
    seen.add(u);
  }
  assert.equal(seen.size, 200, 'no repeats in 200 draws of 48 bits');
  assert.equal(isValidUfrag('abc'), false);
  assert.equal(isValidUfrag('ab:cd'), false);
  assert.equal(isValidPassword('short+/'), false);
});

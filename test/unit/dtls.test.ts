/** DTLS transport in process: our server ↔ our client, fingerprints, proof of possession, bad input. */
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import {
  certificateMatchesFingerprints,
  computeFingerprint,
  DtlsCertificate,
  DtlsTransport,
  SRTP_AEAD_AES_128_GCM,
  SRTP_AES128_CM_HMAC_SHA1_80,
  type DtlsConnectedInfo,
} from '../../src/rtc/dtls/index.js';
import { verifyClientFinished, verifyPeerHandshake } from '../../src/rtc/dtls/peer-auth.js';
import { isCookielessClientHello } from '../../src/rtc/dtls/client-hello.js';
import { HandshakeReassembler } from '../../src/rtc/dtls/handshake-reassembler.js';
import { createRecordView, readRecordHeader } from '../../src/rtc/dtls/record-header.js';
import { prfSha256 } from '../../src/rtc/dtls/tls-prf.js';
import { WeriftSession } from '../../src/rtc/dtls/werift-session.js';
import { pairLinks } from '../helpers/dtls-bridge.js';

const STEP_MS = 10_000;
let serverCert: DtlsCertificate;
let clientCert: DtlsCertificate;

before(async () => {
  serverCert = await DtlsCertificate.create();
  clientCert = await DtlsCertificate.create();
});

function outcome(t: DtlsTransport): Promise<{ connected: DtlsConnectedInfo } | { failed: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no DTLS outcome')), STEP_MS);
    t.once('connected', (connected) => {
      clearTimeout(timer);
      resolve({ connected });
    });
    t.once('failed', (failed) => {
      clearTimeout(timer);
      resolve({ failed });
    });
  });
}

function once<T>(register: (resolve: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), STEP_MS);
    register((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

/**
 * Our server and client over an in-process link. `toServer` (default: hand it on) sees every
 * datagram the client sends, with a `deliver` to pass it (or anything else) to the server.
 */
function makePair(
  opts: {
    serverProfiles?: number[];
    clientProfiles?: number[];
    serverExpects?: DtlsCertificate;
    toServer?: (datagram: Buffer, deliver: (buf: Buffer) => void) => void;
  } = {},
) {
  const links = pairLinks();
  const server = new DtlsTransport({
    role: 'server',
    certificate: serverCert,
    remoteFingerprints: [(opts.serverExpects ?? clientCert).fingerprint],
    link: links.a,
    srtpProfileIds: opts.serverProfiles,
    handshakeTimeoutMs: STEP_MS,
  });
  const client = new DtlsTransport({
    role: 'client',
    certificate: clientCert,
    remoteFingerprints: [serverCert.fingerprint],
    link: links.b,
    srtpProfileIds: opts.clientProfiles,
    handshakeTimeoutMs: STEP_MS,
  });
  const deliver = (buf: Buffer): void => server.handle(buf);
  const toServer = opts.toServer;
  links.connect(toServer ? (buf) => toServer(buf, deliver) : deliver, (buf) => client.handle(buf));
  return { server, client, links };
}

/** Starts both ends of a pair and waits for both outcomes. */
async function handshake(pair: { server: DtlsTransport; client: DtlsTransport }) {
  const s = outcome(pair.server);
  const c = outcome(pair.client);
  pair.server.start();
  pair.client.start();
  return Promise.all([s, c]);
}

test('TLS 1.2 PRF (P_SHA256) matches the published vector (IETF TLS list, msg03416)', () => {
  const out = prfSha256(
    Buffer.from('9bbe436ba940f017b17652849a71db35', 'hex'),
    'test label',
    Buffer.from('a0ba9f936cda311827a6f796ffd5198c', 'hex'),
    100,
  );
  assert.equal(
    out.toString('hex'),
    'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66',
  );
});

test('certificate: ECDSA P-256, SDP-style sha-256 fingerprint, one per process from generate()', async () => {
  const x509 = new X509Certificate(serverCert.certPem);
  assert.equal(x509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.deepEqual(x509.raw, serverCert.der);
  assert.equal(serverCert.fingerprint.algorithm, 'sha-256');
  assert.match(serverCert.fingerprint.value, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.ok(x509.checkPrivateKey((await import('node:crypto')).createPrivateKey(serverCert.keyPem)));
  const a = await DtlsCertificate.generate();
  assert.equal(await DtlsCertificate.generate(), a);
  assert.notEqual(serverCert.fingerprint.value, clientCert.fingerprint.value);
});

test('fingerprint matching: case-insensitive, strongest offered hash decides (RFC 8122 §5), unknown hashes ignored', () => {
  const der = serverCert.der;
  const fp = (alg: string) => computeFingerprint(der, alg) ?? assert.fail(alg);
  const other = (alg: string) => computeFingerprint(clientCert.der, alg) ?? assert.fail(alg);
  assert.equal(certificateMatchesFingerprints(der, [{ algorithm: 'SHA-256', value: fp('sha-256').value.toLowerCase() }]), true);
  for (const alg of ['sha-1', 'sha-384', 'sha-512']) assert.equal(certificateMatchesFingerprints(der, [fp(alg)]), true, alg);
  // One of several of the strongest kind may match.
  assert.equal(certificateMatchesFingerprints(der, [other('sha-256'), fp('sha-256')]), true);
  // sha-512 is offered and wrong: a right sha-256 does not rescue it.
  assert.equal(certificateMatchesFingerprints(der, [fp('sha-256'), other('sha-512')]), false);
  assert.equal(certificateMatchesFingerprints(der, [other('sha-256'), fp('sha-512')]), true);
  assert.equal(certificateMatchesFingerprints(der, [{ algorithm: 'md5', value: 'AA' }]), false);
  assert.equal(certificateMatchesFingerprints(der, []), false);
  assert.equal(computeFingerprint(der, 'md5'), null);
});

for (const profile of [SRTP_AES128_CM_HMAC_SHA1_80, SRTP_AEAD_AES_128_GCM]) {
  test(`our server ↔ our client, profile 0x000${profile}: equal keys, data both ways, close_notify`, async () => {
    const { server, client } = makePair({ serverProfiles: [profile], clientProfiles: [profile] });
    const s = outcome(server);
    const c = outcome(client);
    server.start();
    client.start();
    const [sr, cr] = await Promise.all([s, c]);
    assert.ok('connected' in sr && 'connected' in cr, JSON.stringify([sr, cr]));
    assert.equal(sr.connected.srtpProfileId, profile);
    assert.equal(cr.connected.srtpProfileId, profile);
    assert.equal(sr.connected.keyingMaterial.length, profile === SRTP_AEAD_AES_128_GCM ? 56 : 60);
    assert.deepEqual(sr.connected.keyingMaterial, cr.connected.keyingMaterial);
    assert.deepEqual(sr.connected.remoteCertificateDer, clientCert.der);
    assert.deepEqual(cr.connected.remoteCertificateDer, serverCert.der);
    const atServer = once<Buffer>((r) => server.once('data', r));
    client.sendApplicationData(Buffer.from('c→s'));
    assert.equal((await atServer).toString(), 'c→s');
    const atClient = once<Buffer>((r) => client.once('data', r));
    server.sendApplicationData(Buffer.from('s→c'));
    assert.equal((await atClient).toString(), 's→c');
    const closed = once<void>((r) => server.once('closed', () => r()));
    client.close();
    await closed;
    assert.deepEqual([server.state, client.state], ['closed', 'closed']);
  });
}

test('the server picks its most preferred profile the client offers', async () => {
  const { server, client } = makePair({
    serverProfiles: [SRTP_AES128_CM_HMAC_SHA1_80, SRTP_AEAD_AES_128_GCM],
    clientProfiles: [SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80],
  });
  const s = outcome(server);
  const c = outcome(client);
  server.start();
  client.start();
  const [sr, cr] = await Promise.all([s, c]);
  assert.ok('connected' in sr && 'connected' in cr);
  assert.equal(sr.connected.srtpProfileId, SRTP_AES128_CM_HMAC_SHA1_80);
  assert.equal(cr.connected.srtpProfileId, SRTP_AES128_CM_HMAC_SHA1_80);
  client.close();
});

test('a client certificate other than the SDP fingerprint fails the server; nothing is exported', async () => {
  const { server, client } = makePair({ serverExpects: serverCert });
  let exported = false;
  server.on('connected', () => {
    exported = true;
  });
  const s = outcome(server);
  server.start();
  client.start();
  const sr = await s;
  assert.ok('failed' in sr);
  assert.match(sr.failed, /fingerprint/);
  assert.equal(exported, false);
  assert.equal(server.state, 'failed');
  client.close();
});

test('garbage datagrams are dropped and counted, never thrown, and the session survives', async () => {
  const { server, client } = makePair();
  const s = outcome(server);
  const c = outcome(client);
  server.start();
  client.start();
  // Noise during the handshake.
  for (let i = 0; i < 200; i++) {
    server.handle(randomBytes(1 + (i % 64)));
    client.handle(Buffer.from([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff])); // length past end
  }
  const [sr, cr] = await Promise.all([s, c]);
  assert.ok('connected' in sr && 'connected' in cr, JSON.stringify([sr, cr]));
  // Noise after it: random bodies in well-formed headers, forged alerts and app data.
  for (let i = 0; i < 2000; i++) {
    const body = randomBytes(i % 100);
    const type = 20 + (i % 4);
    const epoch = i % 3;
    const header = Buffer.from([type, 254, 253, 0, epoch, 0, 0, 0, 0, 0, i & 0xff, body.length >> 8, body.length & 0xff]);
    server.handle(Buffer.concat([header, body]));
    server.handle(randomBytes(i % 200));
  }
  server.handle(Buffer.alloc(0));
  assert.equal(server.state, 'connected');
  assert.ok(server.stats.malformedRecords > 0);
  assert.ok(server.stats.undecryptableRecords > 0);
  assert.ok(server.stats.ignoredPlaintextAlerts > 0);
  assert.ok(client.stats.malformedRecords >= 200);
  const atServer = once<Buffer>((r) => server.once('data', r));
  client.sendApplicationData(Buffer.from('still here'));
  assert.equal((await atServer).toString(), 'still here');
  client.close();
});

test('a first ClientHello retransmitted after the cookie exchange is dropped; the handshake completes', async () => {
  // Seen with Chromium over ICE-TCP on a loaded machine: its timer resent the cookie-less
  // hello, which reached us after the hello with the cookie (another candidate pair).
  const view = createRecordView();
  let firstHello: Buffer | null = null;
  let replays = 0;
  const pair = makePair({
    toServer: (buf, deliver) => {
      if (readRecordHeader(buf, 0, view) > 0 && isCookielessClientHello(buf, view)) firstHello ??= Buffer.from(buf);
      deliver(buf);
      // The hello with the cookie has just been handled (werift is in flight 4): replay the first.
      if (firstHello && !isCookielessClientHello(buf, view) && view.contentType === 22 && view.epoch === 0 && replays < 2) {
        replays++;
        deliver(Buffer.from(firstHello));
      }
    },
  });
  const [sr, cr] = await handshake(pair);
  assert.ok(replays > 0, 'the first hello was replayed');
  assert.ok('connected' in sr && 'connected' in cr, JSON.stringify([sr, cr]));
  assert.deepEqual(sr.connected.keyingMaterial, cr.connected.keyingMaterial);
  assert.equal(pair.server.stats.staleClientHellos, replays);
  pair.client.close();
});

test('ClientHellos after the handshake are dropped (no renegotiation, RFC 8827 §6.5): keys and data unchanged', async () => {
  const view = createRecordView();
  const hellos: Buffer[] = [];
  const pair = makePair({
    toServer: (buf, deliver) => {
      if (readRecordHeader(buf, 0, view) > 0 && view.contentType === 22 && view.epoch === 0 && buf[13] === 1) hellos.push(Buffer.from(buf));
      deliver(buf);
    },
  });
  const [sr, cr] = await handshake(pair);
  assert.ok('connected' in sr && 'connected' in cr);
  assert.equal(hellos.length, 2, 'a hello without and one with the cookie');
  for (const h of hellos) pair.server.handle(h);
  assert.equal(pair.server.state, 'connected');
  assert.equal(pair.server.stats.staleClientHellos, 2);
  const atServer = once<Buffer>((r) => pair.server.once('data', r));
  pair.client.sendApplicationData(Buffer.from('after the late hellos'));
  assert.equal((await atServer).toString(), 'after the late hellos');
  const atClient = once<Buffer>((r) => pair.client.once('data', r));
  pair.server.sendApplicationData(Buffer.from('still the same keys'));
  assert.equal((await atClient).toString(), 'still the same keys');
  pair.client.close();
});

/** Each plaintext handshake message of `datagram` as two records of one fragment each (Chromium sends its 1.4 KB ClientHello so). */
function splitHandshakes(datagram: Buffer): Buffer[] {
  const view = createRecordView();
  const out: Buffer[] = [];
  for (let at = 0; at < datagram.length;) {
    const next = readRecordHeader(datagram, at, view);
    if (next < 0) break;
    const body = datagram.subarray(view.bodyOffset, next);
    const length = body.length >= 12 ? body.readUIntBE(1, 3) : 0;
    if (view.contentType !== 22 || view.epoch !== 0 || length < 2 || body.length !== 12 + length) {
      out.push(datagram.subarray(at, next));
    } else {
      const half = length >> 1;
      for (const [from, to] of [
        [0, half],
        [half, length],
      ] as const) {
        const header = Buffer.from(datagram.subarray(at, at + 13));
        const hs = Buffer.from(body.subarray(0, 12));
        hs.writeUIntBE(from, 6, 3);
        hs.writeUIntBE(to - from, 9, 3);
        const piece = Buffer.concat([header, hs, body.subarray(12 + from, 12 + to)]);
        piece.writeUInt16BE(piece.length - 13, 11);
        out.push(piece);
      }
    }
    at = next;
  }
  return out;
}

test('fragmented ClientHellos, one fragment lost and a stale one arriving amid the next hello: reassembled by message_seq, connected', async () => {
  const view = createRecordView();
  let hellos = 0;
  let held: Buffer | null = null;
  const pair = makePair({
    toServer: (datagram, deliver) => {
      const pieces = splitHandshakes(datagram);
      const isHello = readRecordHeader(datagram, 0, view) > 0 && view.contentType === 22 && view.epoch === 0 && datagram[13] === 1;
      if (!isHello) {
        for (const p of pieces) deliver(p);
        return;
      }
      hellos++;
      if (hellos === 1) {
        // The first hello's second fragment is "lost" (kept back); the client will retransmit.
        deliver(pieces[0]!);
        held = pieces[1]!;
      } else if (isCookielessClientHello(datagram, view)) {
        for (const p of pieces) deliver(p);
      } else {
        // The hello with the cookie: its first fragment, then the stale fragment, then the rest.
        deliver(pieces[0]!);
        if (held) deliver(held);
        held = null;
        for (const p of pieces.slice(1)) deliver(p);
      }
    },
  });
  const [sr, cr] = await handshake(pair);
  assert.ok(hellos >= 3, `hellos seen: ${hellos}`);
  assert.ok('connected' in sr && 'connected' in cr, JSON.stringify([sr, cr, pair.server.stats]));
  assert.deepEqual(sr.connected.keyingMaterial, cr.connected.keyingMaterial);
  assert.ok(pair.server.stats.handshakesReassembled >= 2, JSON.stringify(pair.server.stats));
  pair.client.close();
});

test("the client's flight 5 arriving twice (a retransmission) is handled once; the handshake completes", async () => {
  const view = createRecordView();
  let repeated = 0;
  const pair = makePair({
    toServer: (datagram, deliver) => {
      deliver(datagram);
      // Every datagram of the client's flight 5 (Certificate, ClientKeyExchange, CertificateVerify…) again.
      for (let at = 0; at < datagram.length;) {
        const next = readRecordHeader(datagram, at, view);
        if (next < 0) break;
        if (view.contentType === 22 && view.epoch === 0 && [11, 15, 16].includes(datagram[view.bodyOffset] as number)) {
          repeated++;
          deliver(Buffer.from(datagram));
          break;
        }
        at = next;
      }
    },
  });
  const [sr, cr] = await handshake(pair);
  assert.ok(repeated > 0, 'flight 5 was repeated');
  assert.ok('connected' in sr && 'connected' in cr, JSON.stringify([sr, cr, pair.server.stats]));
  assert.deepEqual(sr.connected.keyingMaterial, cr.connected.keyingMaterial);
  assert.ok(pair.server.stats.duplicateHandshakes >= repeated, JSON.stringify(pair.server.stats));
  pair.client.close();
});

test('handshake reassembler: 100,000 random fragments never throw; out-of-order pieces give the exact message', () => {
  const r = new HandshakeReassembler();
  const view = createRecordView();
  const body = randomBytes(1000);
  const fragment = (seq: number, from: number, to: number): Buffer => {
    const hs = Buffer.alloc(12);
    hs[0] = 1;
    hs.writeUIntBE(body.length, 1, 3);
    hs.writeUInt16BE(seq, 4);
    hs.writeUIntBE(from, 6, 3);
    hs.writeUIntBE(to - from, 9, 3);
    const rec = Buffer.concat([Buffer.from([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, seq, 0, 0]), hs, body.subarray(from, to)]);
    rec.writeUInt16BE(rec.length - 13, 11);
    return rec;
  };
  const feed = (rec: Buffer): Buffer[] => (readRecordHeader(rec, 0, view) > 0 ? r.push(rec, view) : []);
  assert.deepEqual(feed(fragment(3, 600, 1000)), []);
  assert.deepEqual(feed(fragment(3, 0, 300)), []);
  assert.deepEqual(feed(fragment(3, 200, 550)), [], 'overlaps are fine; still short of the whole');
  const [whole] = feed(fragment(3, 300, 650));
  assert.ok(whole);
  assert.equal(whole.readUInt16BE(11), 12 + body.length);
  assert.deepEqual(whole.subarray(25), body);
  assert.deepEqual([whole.readUIntBE(19, 3), whole.readUIntBE(22, 3)], [0, body.length], 'handed on unfragmented');
  for (let i = 0; i < 100_000; i++) {
    const rec = randomBytes(13 + (i % 60));
    rec[0] = 22;
    rec[1] = 254;
    rec[2] = 253;
    rec[3] = 0;
    rec[4] = 0;
    rec.writeUInt16BE(rec.length - 13, 11);
    if (i % 3 === 0 && rec.length >= 25) {
      rec.writeUIntBE(i % 5000, 14, 3);
      rec.writeUIntBE(i % 4000, 19, 3);
      rec.writeUIntBE(rec.length - 25, 22, 3);
    }
    feed(rec);
  }
  assert.ok(r.stats.badFragments > 0);
});

test('cookie-less ClientHello reader: a real hello of each kind, and 100,000 random records never throw', () => {
  const view = createRecordView();
  const record = (body: number[]): Buffer =>
    Buffer.from([22, 254, 255, 0, 0, 0, 0, 0, 0, 0, 0, body.length >> 8, body.length & 0xff, ...body]);
  // msg_type 1, length, message_seq, fragment_offset 0, fragment_length; version, random, session id, cookie.
  const hello = (cookie: number[]): number[] => {
    const body = [254, 253, ...new Array<number>(32).fill(7), 0, cookie.length, ...cookie, 0, 2, 0xc0, 0x2b, 1, 0];
    const n = body.length;
    return [1, 0, n >> 8, n & 0xff, 0, 0, 0, 0, 0, 0, n >> 8, n & 0xff, ...body];
  };
  for (const [body, want] of [
    [hello([]), true],
    [hello([1, 2, 3]), false],
    [hello([]).slice(0, 40), false],
  ] as const) {
    const buf = record([...body]);
    assert.ok(readRecordHeader(buf, 0, view) > 0);
    assert.equal(isCookielessClientHello(buf, view), want);
  }
  for (let i = 0; i < 100_000; i++) {
    const body = randomBytes(i % 80);
    if (i % 2 === 0 && body.length > 0) body[0] = 1;
    const buf = Buffer.concat([Buffer.from([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, body.length >> 8, body.length & 0xff]), body]);
    if (readRecordHeader(buf, 0, view) < 0) continue;
    isCookielessClientHello(buf, view);
  }
});

test('no peer: the handshake times out into failed', async () => {
  const server = new DtlsTransport({
    role: 'server',
    certificate: serverCert,
    remoteFingerprints: [clientCert.fingerprint],
    link: { send: () => undefined },
    handshakeTimeoutMs: 150,
  });
  const s = outcome(server);
  server.start();
  const sr = await s;
  assert.ok('failed' in sr);
  assert.match(sr.failed, /timeout/);
  server.handle(Buffer.from([22, 254, 253]));
  assert.equal(server.stats.droppedRecords, 1);
  assert.equal(server.state, 'failed');
});

test('record header reader refuses bad framing', () => {
  const view = createRecordView();
  const ok = Buffer.from([23, 254, 253, 0, 1, 0, 0, 0, 0, 0, 7, 0, 2, 0xaa, 0xbb]);
  assert.equal(readRecordHeader(ok, 0, view), 15);
  assert.deepEqual([view.contentType, view.epoch, view.sequenceNumber, view.bodyLength], [23, 1, 7, 2]);
  for (const bad of [
    Buffer.from([24, 254, 253, 0, 1, 0, 0, 0, 0, 0, 7, 0, 0]), // heartbeat: not ours
    Buffer.from([23, 3, 3, 0, 1, 0, 0, 0, 0, 0, 7, 0, 0]), // TLS, not DTLS
    Buffer.from([23, 254, 253, 0, 1, 0, 0, 0, 0, 0, 7, 0, 3, 1]), // body past end
    Buffer.from([23, 254, 253, 0, 1]),
  ]) {
    assert.equal(readRecordHeader(bad, 0, view), -1);
  }
});

test('proof of possession: a real transcript verifies; another key, a forged Finished do not', async () => {
  const links = pairLinks();
  let serverUp = false;
  let clientUp = false;
  const make = (role: 'server' | 'client', cert: DtlsCertificate, link: { send(b: Buffer): void }) =>
    new WeriftSession({
      role,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      srtpProfileIds: [SRTP_AES128_CM_HMAC_SHA1_80],
      hooks: {
        send: (b) => link.send(b),
        onConnect: () => {
          if (role === 'server') serverUp = true;
          else clientUp = true;
        },
        onData: () => undefined,
        onError: () => undefined,
      },
    });
  const server = make('server', serverCert, links.a);
  const client = make('client', clientCert, links.b);
  links.connect(
    (b) => server.feedRecord(b),
    (b) => client.feedRecord(b),
  );
  await client.connect();
  for (let i = 0; i < 500 && !(serverUp && clientUp); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(serverUp && clientUp);
  assert.equal(verifyPeerHandshake(server, 'server', clientCert.der), null);
  assert.equal(verifyPeerHandshake(client, 'client', serverCert.der), null);
  // Someone presenting the client's certificate without its key would sign with another.
  assert.match(verifyPeerHandshake(server, 'server', serverCert.der) ?? '', /CertificateVerify/);
  assert.match(verifyPeerHandshake(client, 'client', clientCert.der) ?? '', /ServerKeyExchange/);
  assert.match(verifyClientFinished(server.handshakeMessages(), Buffer.alloc(48)) ?? '', /Finished/);
  assert.match(verifyPeerHandshake(server, 'server', Buffer.from('not a certificate')) ?? '', /cannot verify/);
});

/** Our DTLS against OpenSSL's s_client / s_server on 127.0.0.1: keys must match byte for byte. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  computeFingerprint,
  DtlsCertificate,
  DtlsTransport,
  srtpKeyingMaterialLength,
  type DtlsConnectedInfo,
} from '../../src/rtc/dtls/index.js';
import { freeUdpPort, openUdpBridge } from '../helpers/dtls-bridge.js';
import { makeOpensslIdentity, OPENSSL_SRTP_NAMES, startOpenssl, type OpensslIdentity } from '../helpers/openssl-dtls.js';

const LABEL = 'EXTRACTOR-dtls_srtp';
const STEP_MS = 15_000;
let ours: DtlsCertificate;
let theirs: OpensslIdentity;

before(async () => {
  ours = await DtlsCertificate.create();
  theirs = await makeOpensslIdentity();
});
after(() => theirs.remove());

function theirFingerprint(): { algorithm: string; value: string }[] {
  const fp = computeFingerprint(theirs.certDer, 'sha-256');
  assert.ok(fp);
  return [{ algorithm: fp.algorithm, value: fp.value.toLowerCase() }]; // lower case on purpose
}

function waitState(t: DtlsTransport): Promise<{ connected: DtlsConnectedInfo } | { failed: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no DTLS outcome')), STEP_MS);
    t.once('connected', (info) => {
      clearTimeout(timer);
      resolve({ connected: info });
    });
    t.once('failed', (reason) => {
      clearTimeout(timer);
      resolve({ failed: reason });
    });
  });
}

function nextData(t: DtlsTransport): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no data')), STEP_MS);
    t.once('data', (buf) => {
      clearTimeout(timer);
      resolve(buf);
    });
  });
}

function nextEvent(t: DtlsTransport, event: 'closed'): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event}`)), STEP_MS);
    t.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

for (const profile of [0x0001, 0x0007]) {
  const name = OPENSSL_SRTP_NAMES.get(profile) ?? '';
  const length = srtpKeyingMaterialLength(profile) ?? 0;

  test(`our server ↔ openssl s_client, ${name}: same ${length}-byte keying material, data both ways; their close_notify → closed`, async () => {
    let transport: DtlsTransport | undefined;
    const bridge = await openUdpBridge((buf) => transport?.handle(buf));
    transport = new DtlsTransport({
      role: 'server',
      certificate: ours,
      remoteFingerprints: theirFingerprint(),
      link: bridge.link,
      srtpProfileIds: [profile],
      handshakeTimeoutMs: STEP_MS,
    });
    transport.start();
    const outcome = waitState(transport);
    const peer = startOpenssl(
      's_client',
      [
        '-dtls1_2',
        '-connect',
        `127.0.0.1:${bridge.port}`,
        '-cert',
        theirs.certPath,
        '-key',
        theirs.keyPath,
        '-use_srtp',
        name,
        '-keymatexport',
        LABEL,
        '-keymatexportlen',
        String(length),
      ],
      STEP_MS,
    );
    try {
      const result = await outcome;
      assert.ok('connected' in result, `failed: ${'failed' in result ? result.failed : ''}\n${peer.output()}`);
      const theirKeys = await peer.keyingMaterial();
      assert.equal(result.connected.srtpProfileId, profile);
      assert.equal(result.connected.keyingMaterial.length, length);
      assert.deepEqual(result.connected.keyingMaterial, theirKeys);
      assert.deepEqual(result.connected.remoteCertificateDer, theirs.certDer);
      assert.match(peer.output(), new RegExp(`SRTP Extension negotiated, profile=${name}`));
      // Application data both ways.
      transport.sendApplicationData(Buffer.from('hello-from-switchboard\n'));
      await peer.waitFor('hello-from-switchboard', STEP_MS);
      const incoming = nextData(transport);
      peer.child.stdin.write('hello-from-openssl\n');
      assert.equal((await incoming).toString(), 'hello-from-openssl\n');
      // s_client: a line "Q" ends the session with close_notify → our 'closed'.
      const closed = nextEvent(transport, 'closed');
      peer.child.stdin.write('Q\n');
      await closed;
      assert.equal(transport.state, 'closed');
    } finally {
      peer.stop();
      await bridge.close();
    }
  });

  test(`our client ↔ openssl s_server, ${name}: same keying material; our close_notify ends their session`, async () => {
    const port = await freeUdpPort();
    const peer = startOpenssl(
      's_server',
      [
        '-dtls1_2',
        '-accept',
        `127.0.0.1:${port}`,
        '-cert',
        theirs.certPath,
        '-key',
        theirs.keyPath,
        '-verify',
        '1',
        '-use_srtp',
        name,
        '-keymatexport',
        LABEL,
        '-keymatexportlen',
        String(length),
      ],
      STEP_MS,
    );
    let transport: DtlsTransport | undefined;
    const bridge = await openUdpBridge((buf) => transport?.handle(buf));
    try {
      await peer.waitFor('ACCEPT', STEP_MS);
      bridge.setPeer(port);
      transport = new DtlsTransport({
        role: 'client',
        certificate: ours,
        remoteFingerprints: theirFingerprint(),
        link: bridge.link,
        srtpProfileIds: [profile],
        handshakeTimeoutMs: STEP_MS,
      });
      const outcome = waitState(transport);
      transport.start();
      const result = await outcome;
      assert.ok('connected' in result, `failed: ${'failed' in result ? result.failed : ''}\n${peer.output()}`);
      assert.deepEqual(result.connected.keyingMaterial, await peer.keyingMaterial());
      assert.equal(result.connected.srtpProfileId, profile);
      // s_server verified our certificate (it asked for one with -verify).
      assert.match(peer.output(), /Client certificate/);
      transport.sendApplicationData(Buffer.from('hello-from-switchboard\n'));
      await peer.waitFor('hello-from-switchboard', STEP_MS);
      // Our close_notify ends OpenSSL's session (it prints DONE).
      transport.close();
      assert.equal(transport.state, 'closed');
      await peer.waitFor('DONE', STEP_MS);
    } finally {
      transport?.close();
      peer.stop();
      await bridge.close();
    }
  });
}

test('a certificate that does not match the SDP fingerprint fails and exports nothing', async () => {
  let transport: DtlsTransport | undefined;
  const bridge = await openUdpBridge((buf) => transport?.handle(buf));
  const other = await DtlsCertificate.create();
  transport = new DtlsTransport({
    role: 'server',
    certificate: ours,
    remoteFingerprints: [other.fingerprint],
    link: bridge.link,
    handshakeTimeoutMs: STEP_MS,
  });
  let connected = false;
  transport.on('connected', () => {
    connected = true;
  });
  transport.start();
  const outcome = waitState(transport);
  const peer = startOpenssl(
    's_client',
    [
      '-dtls1_2',
      '-connect',
      `127.0.0.1:${bridge.port}`,
      '-cert',
      theirs.certPath,
      '-key',
      theirs.keyPath,
      '-use_srtp',
      'SRTP_AES128_CM_SHA1_80',
    ],
    STEP_MS,
  );
  try {
    const result = await outcome;
    assert.ok('failed' in result);
    assert.match(result.failed, /fingerprint/);
    assert.equal(connected, false);
    assert.equal(transport.state, 'failed');
  } finally {
    peer.stop();
    await bridge.close();
  }
});

test('a client that sends no certificate never reaches connected: failed, nothing exported', async () => {
  let transport: DtlsTransport | undefined;
  const bridge = await openUdpBridge((buf) => transport?.handle(buf));
  transport = new DtlsTransport({
    role: 'server',
    certificate: ours,
    remoteFingerprints: theirFingerprint(),
    link: bridge.link,
    handshakeTimeoutMs: 2_000,
  });
  let connected = false;
  transport.on('connected', () => {
    connected = true;
  });
  transport.start();
  const outcome = waitState(transport);
  const peer = startOpenssl(
    's_client',
    ['-dtls1_2', '-connect', `127.0.0.1:${bridge.port}`, '-use_srtp', 'SRTP_AES128_CM_SHA1_80'],
    STEP_MS,
  );
  try {
    const result = await outcome;
    assert.ok('failed' in result);
    assert.equal(connected, false);
  } finally {
    peer.stop();
    await bridge.close();
  }
});

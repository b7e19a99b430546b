/**
 * PipeTransport on real UDP sockets (127.0.0.1): the parameters one end hands the other, SRTP
 * both ways, and what it refuses — datagrams before connect, from any address but the connected
 * remote, or failing authentication (another key, a replay) — each dropped and counted without
 * a throw; bad remote parameters are refused naming the field; close is once.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';
import { SwitchboardError } from '../../src/protocol/errors.js';
import { newPipeSrtpParameters, pipeMasterKeys } from '../../src/rtc/pipe/parameters.js';
import { PipeTransport } from '../../src/rtc/pipe/PipeTransport.js';
import { writePli } from '../../src/rtc/rtcp/index.js';
import { writeRtpHeader } from '../../src/rtc/rtp/index.js';
import { SrtpContext } from '../../src/rtc/srtp/index.js';
import { entryFaults } from '../../src/util/guarded.js';
import { openPipePair, until } from '../helpers/pipe-pair.js';

function rtp(seq: number, ssrc = 0x1234, payload = Buffer.from([1, 2, 3, seq & 0xff])): Buffer {
  const out = Buffer.alloc(12 + payload.length);
  writeRtpHeader(out, 0, { marker: false, payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc }, []);
  payload.copy(out, 12);
  return out;
}

function pli(): Buffer {
  const out = Buffer.alloc(12);
  writePli(out, 0, { senderSsrc: 7, mediaSsrc: 0x1234 });
  return out;
}

async function rawSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

function send(s: Socket, data: Buffer, t: PipeTransport): void {
  const p = t.localParameters();
  s.send(data, p.port, p.ip);
}

test('pipe transport: parameters, SRTP both ways, counters', async () => {
  const pair = await openPipePair();
  const { a, b } = pair;
  const pa = a.localParameters();
  const pb = b.localParameters();
  assert.equal(pa.ip, '127.0.0.1');
  assert.ok(pa.port > 0 && pa.port !== pb.port);
  assert.equal(pa.srtp.suite, 'AEAD_AES_128_GCM');
  assert.equal(Buffer.from(pa.srtp.keyBase64, 'base64').length, 28, 'a 128-bit key and a 96-bit salt');
  assert.notEqual(pa.srtp.keyBase64, pb.srtp.keyBase64, 'each transport draws its own key');
  assert.deepEqual(JSON.parse(JSON.stringify(pa)), pa, 'plain JSON');

  const atB = { rtp: [] as Buffer[], rtcp: [] as Buffer[] };
  const atA = { rtp: [] as Buffer[], rtcp: [] as Buffer[] };
  b.setReceiver({ onRtp: (p) => atB.rtp.push(Buffer.from(p)), onRtcp: (p) => atB.rtcp.push(Buffer.from(p)) });
  a.setReceiver({ onRtp: (p) => atA.rtp.push(Buffer.from(p)), onRtcp: (p) => atA.rtcp.push(Buffer.from(p)) });
  const sent = [1, 2, 3, 4, 5].map((s) => rtp(s));
  for (const p of sent) a.sendRtp(p);
  b.sendRtcp(pli());
  b.sendRtp(rtp(9, 0x5555));
  await until(() => atB.rtp.length === 5 && atA.rtcp.length === 1 && atA.rtp.length === 1, 'packets both ways');
  assert.deepEqual(atB.rtp, sent, 'decrypted to the very bytes sent');
  assert.deepEqual(atA.rtcp[0], pli());
  assert.equal(a.counters.packetsOut, 5);
  assert.equal(b.counters.packetsIn, 5);
  assert.ok(b.counters.bytesIn > 5 * 16, 'bytes count the protected size');
  assert.equal(a.counters.packetsIn, 2);
  pair.close();
});

test('pipe transport: before connect, wrong source, wrong key and replays are dropped and counted', async () => {
  const faultsBefore = entryFaults.byEntryPoint().get('rtc.pipe.message') ?? 0;
  const t = await PipeTransport.open({ address: '127.0.0.1' });
  const peer = await rawSocket();
  const stranger = await rawSocket();
  const got: Buffer[] = [];
  t.setReceiver({ onRtp: (p) => got.push(Buffer.from(p)), onRtcp: (p) => got.push(Buffer.from(p)) });

  const peerSrtp = newPipeSrtpParameters();
  const good = new SrtpContext('AEAD_AES_128_GCM', pipeMasterKeys(peerSrtp));
  const wrong = new SrtpContext('AEAD_AES_128_GCM', pipeMasterKeys(newPipeSrtpParameters()));

  send(peer, Buffer.from(good.protectRtp(rtp(1))), t);
  await until(() => t.counters.droppedBeforeConnect === 1, 'a datagram before connect');
  t.sendRtp(rtp(1));
  assert.equal(t.counters.unsentBeforeConnect, 1, 'nowhere to send before connect');

  t.connect({ ip: '127.0.0.1', port: peer.address().port, srtp: peerSrtp });
  const first = Buffer.from(good.protectRtp(rtp(2)));
  send(stranger, Buffer.from(first), t); // the right key, from another port
  send(peer, Buffer.from(wrong.protectRtp(rtp(3))), t); // the right address, another key
  send(peer, Buffer.from(wrong.protectRtcp(pli())), t);
  send(peer, Buffer.from([0x80, 0x60, 0, 1]), t); // too short for RTP
  send(peer, Buffer.from(first), t); // accepted
  send(peer, Buffer.from(first), t); // the same again: a replay
  await until(() => t.counters.droppedAuth === 3 && got.length === 1, 'the refusals');
  assert.equal(t.counters.droppedWrongSource, 1);
  assert.equal(t.counters.droppedMalformed, 1);
  assert.equal(t.counters.packetsIn, 1);
  assert.deepEqual(got[0], rtp(2));
  assert.equal(entryFaults.byEntryPoint().get('rtc.pipe.message') ?? 0, faultsBefore, 'nothing threw');
  t.close();
  peer.close();
  stranger.close();
});

test('pipe transport: bad remote parameters are refused naming the field; connect is once', async () => {
  const t = await PipeTransport.open({ address: '127.0.0.1' });
  const ok = { ip: '127.0.0.1', port: 5000, srtp: newPipeSrtpParameters() };
  const refused = (value: unknown, field: string): void =>
    assert.throws(
      () => t.connect(value),
      (e: unknown) => e instanceof SwitchboardError && e.code === 'invalid-argument' && e.field === field,
      field,
    );
  refused(null, 'remote');
  refused({ ...ok, ip: '::1' }, 'ip');
  refused({ ...ok, ip: 'localhost' }, 'ip');
  refused({ ...ok, port: 0 }, 'port');
  refused({ ...ok, port: 70000 }, 'port');
  refused({ ...ok, srtp: { ...ok.srtp, suite: 'AES_CM_128_HMAC_SHA1_80' } }, 'srtp.suite');
  refused({ ...ok, srtp: { ...ok.srtp, keyBase64: 'c2hvcnQ=' } }, 'srtp.keyBase64');
  refused({ ...ok, srtp: { ...ok.srtp, keyBase64: 42 } }, 'srtp.keyBase64');
  assert.equal(t.connected, false);
  t.connect(ok);
  assert.deepEqual(t.remoteAddress, { ip: '127.0.0.1', port: 5000 });
  refused(ok, 'remote');
  await assert.rejects(PipeTransport.open({ address: 'nowhere' }), (e: unknown) => e instanceof SwitchboardError && e.field === 'address');
  await assert.rejects(
    PipeTransport.open({ address: '0.0.0.0' }),
    (e: unknown) => e instanceof SwitchboardError && e.field === 'announcedIp',
  );
  t.close();
});

test('pipe transport: close is once; a socket error closes it with the error as the reason', async () => {
  const t = await PipeTransport.open({ address: '127.0.0.1' });
  const reasons: string[] = [];
  t.on('closed', (r) => reasons.push(r));
  t.close('done');
  t.close('again');
  assert.deepEqual(reasons, ['done']);
  t.sendRtp(rtp(1)); // a no-op once closed
  assert.equal(t.counters.packetsOut, 0);
  assert.throws(
    () => t.connect({}),
    (e: unknown) => e instanceof SwitchboardError && e.code === 'closed',
  );

  const u = await PipeTransport.open({ address: '127.0.0.1' });
  const closed = new Promise<string>((resolve) => u.on('closed', resolve));
  // Test hook: the socket is private; emit the error its kernel would report.
  (u as unknown as { socket: Socket }).socket.emit('error', new Error('EPERM: test'));
  assert.equal(await closed, 'socket error: EPERM: test');
  assert.equal(u.closeReason, 'socket error: EPERM: test');
});

test('pipe transport: IPv6, the remote given in a non-canonical form', async () => {
  const a = await PipeTransport.open({ address: '::1' });
  const b = await PipeTransport.open({ address: '::1' });
  a.connect({ ...b.localParameters(), ip: '0:0:0:0:0:0:0:1' });
  b.connect({ ...a.localParameters(), ip: '0:0:0:0:0:0:0:1' });
  const got: Buffer[] = [];
  b.setReceiver({ onRtp: (p) => got.push(Buffer.from(p)), onRtcp: () => {} });
  a.sendRtp(rtp(7));
  await until(() => got.length === 1, 'the packet over IPv6');
  assert.deepEqual(got[0], rtp(7));
  assert.equal(b.counters.droppedWrongSource, 0, 'the canonical source address matched');
  assert.throws(() => a.connect({}), SwitchboardError);
  a.close();
  b.close();
});

test('pipe transport: a silent remote closes it, counted from connect', async () => {
  const a = await PipeTransport.open({ address: '127.0.0.1', silenceTimeoutMs: 200 });
  const b = await PipeTransport.open({ address: '127.0.0.1', silenceTimeoutMs: 0 });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(a.closed, false, 'not connected: no clock yet');
  a.connect(b.localParameters());
  b.connect(a.localParameters());
  const closed = new Promise<string>((resolve) => a.on('closed', resolve));
  const started = Date.now();
  for (let i = 0; i < 8; i++) {
    b.sendRtp(rtp(i));
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(a.closed, false, 'alive while the far end sends');
  const reason = await closed;
  assert.match(reason, /^remote silent for \d+ ms$/);
  assert.ok(Date.now() - started < 400 + 8 * 50 + 500, 'closed soon after the far end fell silent');
  assert.equal(b.closed, false, 'silenceTimeoutMs 0: never');
  b.close();
  await assert.rejects(PipeTransport.open({ address: '127.0.0.1', silenceTimeoutMs: -1 }), SwitchboardError);
});

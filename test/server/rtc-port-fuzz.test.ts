/**
 * Hostile input at the shared port: 200,000 random and mutated datagrams over UDP and
 * 100,000 random frames over an ICE-TCP connection. The port must not throw, must deliver
 * to the session only what came from its validated tuple, and must still answer afterwards.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { Attr, StunClass, StunMessageBuilder, StunMethod, decodeStun } from '../../src/stun/index.js';
import { IceLiteSession } from '../../src/rtc/ice/IceLiteSession.js';
import type { RtcTuple } from '../../src/rtc/ice/RtcTuple.js';
import { RtcPort } from '../../src/rtc/RtcPort.js';
import { frameRfc4571 } from '../../src/rtc/port/rfc4571-framer.js';
import { mulberry32 } from '../helpers/random.js';

const HOST = '127.0.0.1';
let port: RtcPort;
let session: IceLiteSession;
const delivered: Array<[Buffer, RtcTuple]> = [];
before(async () => {
  port = new RtcPort({ port: 0, listenAddresses: [HOST] });
  await port.listen();
  session = new IceLiteSession();
  session.setPacketReceiver((b, t) => delivered.push([b, t]));
  port.addSession(session);
});
after(async () => {
  session.close();
  await port.close();
});

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const rng = mulberry32;

function buildCheck(): Buffer {
  return new StunMessageBuilder(StunMethod.Binding, StunClass.Request)
    .add(Attr.Username, Buffer.from(`${session.localUfrag}:brws`))
    .add(Attr.Priority, Buffer.from([0x6e, 0, 1, 0xff]))
    .add(Attr.IceControlling, Buffer.alloc(8, 5))
    .addIntegrity(Buffer.from(session.localPassword))
    .addFingerprint()
    .build();
}

/** Random bytes, a mutated check, or a media-looking packet with a random first byte range. */
function hostile(rand: () => number, check: Buffer): Buffer {
  const kind = rand();
  if (kind < 0.4) {
    const m = Buffer.from(check.subarray(0, Math.max(1, Math.floor(rand() * (check.length + 1)))));
    // XOR with a non-zero byte: every mutation really changes the check, so none stays valid.
    for (let i = 0, n = 1 + Math.floor(rand() * 4); i < n; i++) {
      const at = Math.floor(rand() * m.length);
      m[at] = (m[at] as number) ^ (1 + Math.floor(rand() * 255));
    }
    return m;
  }
  const b = Buffer.allocUnsafe(Math.floor(rand() * 200));
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
  if (kind < 0.7 && b.length > 0) b[0] = Math.floor(rand() * 4); // STUN range
  return b;
}

async function udpSocket(): Promise<UdpSocket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, HOST, () => r()));
  return s;
}

async function exchange(s: UdpSocket, buf: Buffer): Promise<Buffer | null> {
  const got = new Promise<Buffer | null>((resolve) => {
    const t = setTimeout(() => {
      s.off('message', on);
      resolve(null);
    }, 1000);
    const on = (m: Buffer): void => {
      clearTimeout(t);
      s.off('message', on);
      resolve(m);
    };
    s.on('message', on);
  });
  s.send(buf, port.udpPort, HOST);
  return got;
}

test('UDP: 200,000 random/mutated datagrams from a validated and a stranger socket', async () => {
  const rand = rng(42);
  const validated = await udpSocket();
  const stranger = await udpSocket();
  try {
    assert.ok(await exchange(validated, buildCheck()), 'validated');
    const validatedPort = validated.address().port;
    const check = buildCheck();
    const before = port.stats.udpDatagrams;
    const TOTAL = 200_000;
    for (let i = 0; i < TOTAL; i++) {
      (rand() < 0.5 ? validated : stranger).send(hostile(rand, check), port.udpPort, HOST);
      // Pace the burst so the loopback buffers are not simply overrun: let the port catch up
      // to within one batch (bounded wait).
      if (i % 256 === 255) {
        for (let j = 0; j < 50 && port.stats.udpDatagrams - before < i - 512; j++) await wait(1);
      }
    }
    for (let i = 0; i < 100 && port.stats.udpDatagrams - before < TOTAL * 0.9; i++) await wait(20);
    const received = port.stats.udpDatagrams - before;
    assert.ok(received > TOTAL * 0.5, `the port saw ${received} of ${TOTAL}`);
    assert.ok(delivered.length > 0, 'media-looking datagrams from the validated socket were delivered');
    assert.ok(
      delivered.every(([, t]) => t.remotePort === validatedPort),
      'nothing from the stranger was delivered',
    );
    assert.ok(
      delivered.every(([b]) => (b[0] as number) >= 20 && ((b[0] as number) <= 63 || (b[0] as number) >= 128) && (b[0] as number) <= 191),
    );
    assert.equal(session.stats.packetsFromUnknownTuple, 0);
    const res = await exchange(stranger, buildCheck());
    assert.ok(res && decodeStun(res).ok, 'still answers a valid check');
  } finally {
    validated.close();
    stranger.close();
  }
});

test('TCP: 100,000 random frames on a validated connection: media delivered exactly, the rest dropped', async () => {
  const rand = rng(7);
  const sock: Socket = connect({ port: port.tcpPort, host: HOST });
  try {
    await new Promise<void>((r, j) => {
      sock.once('connect', () => r());
      sock.once('error', j);
    });
    let closed = false;
    sock.on('close', () => {
      closed = true;
    });
    let replies = 0;
    sock.on('data', () => {
      replies++;
    });
    sock.write(frameRfc4571(buildCheck()) as Buffer);
    for (let i = 0; i < 100 && replies === 0; i++) await wait(10);
    assert.ok(replies > 0, 'validated');
    const start = delivered.length;
    const check = buildCheck();
    let media = 0;
    const chunks: Buffer[] = [];
    for (let i = 0; i < 100_000; i++) {
      const f = hostile(rand, check);
      if (f.length === 0) continue;
      const first = f[0] as number;
      if ((first >= 20 && first <= 63) || (first >= 128 && first <= 191)) media++;
      chunks.push(frameRfc4571(f) as Buffer);
      if (chunks.length === 1000) sock.write(Buffer.concat(chunks.splice(0)));
    }
    sock.write(Buffer.concat(chunks));
    for (let i = 0; i < 300 && delivered.length - start < media && !closed; i++) await wait(20);
    assert.equal(closed, false, 'a validated connection survives bad frames');
    assert.equal(delivered.length - start, media);
  } finally {
    sock.destroy();
  }
});

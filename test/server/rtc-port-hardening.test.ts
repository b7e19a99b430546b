/**
 * The RTC port against hostile input on real loopback sockets (security review findings 1, 4
 * and 6): UDP from source port 0, attributes appended after MESSAGE-INTEGRITY in ICE checks,
 * and ICE-TCP peers that send checks but never read the answers.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { Attr, StunClass, StunMessageBuilder, StunMethod, decodeErrorCode, decodeStun, getAttribute } from '../../src/stun/index.js';
import { IceLiteSession } from '../../src/rtc/ice/IceLiteSession.js';
import type { RtcTuple } from '../../src/rtc/ice/RtcTuple.js';
import { RtcPort } from '../../src/rtc/RtcPort.js';
import { frameRfc4571 } from '../../src/rtc/port/rfc4571-framer.js';
import { sendRawUdp } from '../helpers/raw-udp.js';
import { resetBurst } from '../helpers/reset-burst.js';
import { until } from '../helpers/until.js';

const HOST = '127.0.0.1';
let port: RtcPort;
const sessions: IceLiteSession[] = [];
const sockets: Array<{ close(): void }> = [];
before(async () => {
  port = new RtcPort({ port: 0, listenAddresses: [HOST], tcpBindTimeoutMs: 5000 });
  await port.listen();
});
after(async () => {
  for (const s of sessions) s.close();
  for (const s of sockets) s.close();
  await port.close();
});

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function newSession(): { s: IceLiteSession; selected: RtcTuple[] } {
  const s = new IceLiteSession();
  const selected: RtcTuple[] = [];
  s.on('tuple-selected', (t) => selected.push(t));
  port.addSession(s);
  sessions.push(s);
  return { s, selected };
}

/** A check as a browser signs it; `appended` goes after MESSAGE-INTEGRITY (then a valid FINGERPRINT). */
function check(s: IceLiteSession, o: { useCandidate?: boolean; appended?: (b: StunMessageBuilder) => void } = {}): Buffer {
  const b = new StunMessageBuilder(StunMethod.Binding, StunClass.Request)
    .add(Attr.Username, Buffer.from(`${s.localUfrag}:brws`))
    .add(Attr.Priority, Buffer.from([0x6e, 0, 1, 0xff]))
    .add(Attr.IceControlling, Buffer.alloc(8, 5));
  if (o.useCandidate) b.add(Attr.UseCandidate, Buffer.alloc(0));
  b.addIntegrity(Buffer.from(s.localPassword));
  o.appended?.(b);
  return b.addFingerprint().build();
}

async function udpClient(): Promise<{ sock: UdpSocket; got: Buffer[]; exchange(b: Buffer): Promise<Buffer | null> }> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, HOST, () => r()));
  sockets.push(sock);
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  return {
    sock,
    got,
    async exchange(b: Buffer): Promise<Buffer | null> {
      const n = got.length;
      sock.send(b, port.udpPort, HOST);
      for (let i = 0; i < 100 && got.length === n; i++) await wait(10);
      return got[n] ?? null;
    },
  };
}

test('finding 1: checks from UDP source port 0 are dropped and counted as malformed; no tuple is bound', async () => {
  const { s, selected } = newSession();
  const before = { malformed: port.stats.malformed, accepted: port.stats.checksAccepted };
  await sendRawUdp({ sourcePort: 0, destinationPort: port.udpPort, payload: check(s, { useCandidate: true }), count: 3 });
  await until('three malformed datagrams', () => port.stats.malformed >= before.malformed + 3);
  assert.equal(port.stats.checksAccepted, before.accepted, 'no check from port 0 was accepted');
  assert.equal(selected.length, 0);
  const c = await udpClient();
  const res = decodeStun((await c.exchange(check(s, { useCandidate: true }))) ?? Buffer.alloc(0));
  assert.ok(res.ok && res.message.cls === StunClass.Success, 'an ordinary check is still answered');
});

test('finding 2: ICE-TCP connections reset before they are accepted are refused and counted; the port keeps answering', async () => {
  const { s } = newSession();
  const refused = port.stats.tcpRefused;
  resetBurst(HOST, port.tcpPort, 100, frameRfc4571(check(s)) as Buffer);
  await until('refused connections counted', () => port.stats.tcpRefused > refused);
  const c = await udpClient();
  const res = decodeStun((await c.exchange(check(s))) ?? Buffer.alloc(0));
  assert.ok(res.ok && res.message.cls === StunClass.Success);
});

test('finding 4: USE-CANDIDATE appended after MESSAGE-INTEGRITY nominates nothing', async () => {
  const { s, selected } = newSession();
  const a = await udpClient();
  const b = await udpClient();
  assert.ok(await a.exchange(check(s, { useCandidate: true })));
  assert.equal(selected.length, 1);
  const first = selected[0];
  const res = await b.exchange(check(s, { appended: (m) => m.add(Attr.UseCandidate, Buffer.alloc(0)) }));
  assert.ok(res, 'the signed part is a valid check and is answered');
  assert.equal(s.selectedTuple, first, 'the unsigned USE-CANDIDATE did not move the selected pair');
  assert.equal(selected.length, 1);
});

test('finding 4: ICE-CONTROLLED or an unknown attribute appended after MESSAGE-INTEGRITY is ignored (success, not 487/420)', async () => {
  const { s } = newSession();
  const c = await udpClient();
  for (const [what, add] of [
    ['ICE-CONTROLLED', (m: StunMessageBuilder) => m.add(Attr.IceControlled, Buffer.alloc(8, 1))],
    ['an unknown comprehension-required attribute', (m: StunMessageBuilder) => m.add(0x7f01, Buffer.alloc(4))],
  ] as const) {
    const raw = await c.exchange(check(s, { appended: add }));
    const res = decodeStun(raw ?? Buffer.alloc(0));
    assert.ok(res.ok);
    const err = getAttribute(res.message, Attr.ErrorCode);
    assert.equal(res.message.cls, StunClass.Success, `${what}: got ${err ? decodeErrorCode(err)?.code : 'no error code'}`);
  }
});

test('finding 6: an ICE-TCP peer that sends checks and never reads is closed once its answers pass the cap', async () => {
  const { s } = newSession();
  const sock: Socket = connect(port.tcpPort, HOST);
  sock.on('error', () => undefined);
  sockets.push({ close: () => sock.destroy() });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.pause();
  let closed = false;
  sock.once('close', () => {
    closed = true;
  });
  const frame = frameRfc4571(check(s)) as Buffer;
  const batch = Buffer.concat(Array.from({ length: 500 }, () => frame));
  const before = port.stats.tcpClosedSlow;
  let sent = 0;
  const deadline = Date.now() + 40_000;
  // At most 600,000 checks (their answers: ~40 MB), or 40 s.
  while (!closed && sent < 600_000 && Date.now() < deadline) {
    if (!sock.write(batch)) await Promise.race([new Promise((r) => sock.once('drain', r)), wait(200)]);
    sent += 500;
    if (sent % 10_000 === 0) await wait(1);
  }
  await until('the port closes the connection', () => closed, 5000);
  assert.equal(port.stats.tcpClosedSlow, before + 1);
});

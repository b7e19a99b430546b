/** The TURN server's STUN Binding over UDP and TCP (no credentials), against coturn's client and our own codec. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import {
  Attr,
  StunClass,
  StunMessageBuilder,
  StunMethod,
  checkFingerprint,
  decodeErrorCode,
  decodeStun,
  decodeXorAddress,
  getAttribute,
  type StunMessage,
} from '../../src/stun/index.js';
import { TurnServer } from '../../src/turn/TurnServer.js';

let server: TurnServer;
before(async () => {
  server = new TurnServer({
    host: '127.0.0.1',
    port: 0,
    realm: 'test',
    users: ['u:p'],
    allowPeers: [],
    maxAllocations: 10,
    maxAllocationsPerUser: 10,
    maxBitrateKbps: 0,
  });
  await server.listen();
});
after(() => server.close());

function udpExchange(req: Buffer): Promise<{ res: StunMessage | null; localPort: number }> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const t = setTimeout(() => {
      sock.close();
      resolve({ res: null, localPort: 0 });
    }, 500);
    sock.on('message', (m) => {
      clearTimeout(t);
      const r = decodeStun(m);
      const localPort = sock.address().port;
      sock.close();
      resolve({ res: r.ok ? r.message : null, localPort });
    });
    sock.send(req, server.port, '127.0.0.1');
  });
}

test("coturn's turnutils_stunclient gets its reflexive address", async () => {
  const c = spawn('turnutils_stunclient', ['-p', String(server.port), '127.0.0.1']);
  let out = '';
  c.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((r) => c.on('exit', r));
  assert.equal(code, 0);
  assert.match(out, /UDP reflexive addr: 127\.0\.0\.1:\d+/);
});

test('UDP Binding: XOR-MAPPED-ADDRESS is the sender, with SOFTWARE and a valid FINGERPRINT', async () => {
  const req = new StunMessageBuilder(StunMethod.Binding, StunClass.Request).addFingerprint().build();
  const { res, localPort } = await udpExchange(req);
  assert.ok(res);
  assert.deepEqual([res.method, res.cls], [StunMethod.Binding, StunClass.Success]);
  assert.deepEqual(res.transactionId, req.subarray(8, 20));
  assert.deepEqual(decodeXorAddress(getAttribute(res, Attr.XorMappedAddress) as Buffer, res.transactionId), {
    family: 4,
    address: '127.0.0.1',
    port: localPort,
  });
  assert.equal(getAttribute(res, Attr.Software)?.toString(), 'switchboard');
  assert.equal(checkFingerprint(res), true);
});

test('unknown comprehension-required attribute → 420 listing it; bad fingerprint and junk are dropped and counted', async () => {
  const withUnknown = new StunMessageBuilder(StunMethod.Binding, StunClass.Request).add(0x7777, Buffer.from('x')).build();
  const { res } = await udpExchange(withUnknown);
  assert.ok(res);
  assert.equal(res.cls, StunClass.Error);
  assert.equal(decodeErrorCode(getAttribute(res, Attr.ErrorCode) as Buffer)?.code, 420);
  assert.equal(getAttribute(res, Attr.UnknownAttributes)?.readUInt16BE(0), 0x7777);
  const malformed0 = server.counters.malformed;
  const badFp = new StunMessageBuilder(StunMethod.Binding, StunClass.Request).addFingerprint().build();
  badFp[badFp.length - 1] = (badFp[badFp.length - 1] as number) ^ 1;
  assert.equal((await udpExchange(badFp)).res, null);
  assert.equal((await udpExchange(Buffer.from('definitely not stun at all'))).res, null);
  assert.equal(server.counters.malformed, malformed0 + 2);
});

test('TCP Binding: two requests in one segment, both answered in order', async () => {
  const a = new StunMessageBuilder(StunMethod.Binding, StunClass.Request).build();
  const b = new StunMessageBuilder(StunMethod.Binding, StunClass.Request).build();
  const sock = connect(server.port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(Buffer.concat([a, b]));
  let got = Buffer.alloc(0);
  const ids: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no TCP answers')), 2000);
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      while (got.length >= 20 && got.length >= 20 + got.readUInt16BE(2)) {
        const len = 20 + got.readUInt16BE(2);
        const r = decodeStun(got.subarray(0, len));
        if (r.ok) {
          ids.push(r.message.transactionId.toString('hex'));
          assert.equal(
            decodeXorAddress(getAttribute(r.message, Attr.XorMappedAddress) as Buffer, r.message.transactionId)?.port,
            sock.localPort,
          );
        }
        got = got.subarray(len);
      }
      if (ids.length === 2) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  assert.deepEqual(ids, [a.subarray(8, 20).toString('hex'), b.subarray(8, 20).toString('hex')]);
  sock.destroy();
});

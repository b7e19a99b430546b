/**
 * The shared socket helpers of src/net on real loopback sockets: one port number on several
 * addresses (127.0.0.1 and 127.0.0.2 are both loopback on Linux), a number taken on one of
 * them, sends that cannot throw, and what a wildcard expands to.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { test } from 'node:test';
import { expandWildcard, interfaceAddresses } from '../../src/net/address.js';
import { bindSamePort, type BoundListener } from '../../src/net/multi-bind.js';
import { bindUdp, closeUdp, createUdpSocket, sendDatagram } from '../../src/net/udp.js';

const A = '127.0.0.1';
const B = '127.0.0.2';

async function udpListener(address: string, port: number, open: Set<UdpSocket>): Promise<BoundListener> {
  const socket = createUdpSocket(address, 1 << 16);
  const bound = await bindUdp(socket, port, address);
  open.add(socket);
  return {
    port: bound,
    unbind: () => {
      open.delete(socket);
      return closeUdp(socket);
    },
  };
}

/** Whether `port` can be bound on `address` right now. */
async function free(address: string, port: number): Promise<boolean> {
  const s = createUdpSocket(address, 1 << 16);
  try {
    await bindUdp(s, port, address);
    await closeUdp(s);
    return true;
  } catch {
    return false;
  }
}

/** A socket holding a port on `address`. */
async function blocker(address: string, port = 0): Promise<UdpSocket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => resolve());
  });
  return s;
}

test('bindSamePort: port 0 gives one number on every address', async () => {
  const open = new Set<UdpSocket>();
  const port = await bindSamePort(0, {
    first: (p) => udpListener(A, p, open),
    rest: (p) => [udpListener(B, p, open)],
  });
  assert.ok(port > 0);
  assert.deepEqual(
    [...open].map((s) => s.address().port),
    [port, port],
  );
  await Promise.all([...open].map(closeUdp));
});

test('bindSamePort: a number taken on another address is given back everywhere and a new one tried', async () => {
  const taken = await blocker(B);
  const takenPort = taken.address().port;
  assert.ok(await free(A, takenPort), 'the test needs the number free on the first address');
  const open = new Set<UdpSocket>();
  let attempts = 0;
  const port = await bindSamePort(0, {
    // The first attempt lands on the number taken on B, as the OS may pick it; later ones let the OS pick.
    first: (p) => udpListener(A, attempts++ === 0 ? takenPort : p, open),
    rest: (p) => [udpListener(B, p, open)],
  });
  assert.equal(attempts, 2);
  assert.notEqual(port, takenPort);
  assert.equal(open.size, 2, "only the second attempt's listeners are open");
  assert.ok(await free(A, takenPort), "the first attempt's listener on A was closed");
  await Promise.all([...open].map(closeUdp));
  taken.close();
});

test('bindSamePort: a fixed port taken on one address rejects with the bind error and leaves nothing open', async () => {
  const taken = await blocker(B);
  const port = taken.address().port;
  const open = new Set<UdpSocket>();
  await assert.rejects(
    bindSamePort(port, {
      first: (p) => udpListener(A, p, open),
      rest: (p) => [udpListener(B, p, open)],
    }),
    { code: 'EADDRINUSE' },
  );
  assert.equal(open.size, 0);
  assert.ok(await free(A, port), 'the listener on A was closed');
  taken.close();
});

test('bindUdp closes the socket it could not bind; sendDatagram refuses without throwing', async () => {
  const taken = await blocker(A);
  const s = createUdpSocket(A, 1 << 16);
  await assert.rejects(bindUdp(s, taken.address().port, A), { code: 'EADDRINUSE' });
  assert.equal(sendDatagram(s, Buffer.from('x'), taken.address().port, A), false, 'a closed socket');
  const rx = await blocker(A);
  const tx = createUdpSocket(A, 1 << 16);
  await bindUdp(tx, 0, A);
  assert.equal(sendDatagram(tx, Buffer.from('x'), 0, A), false, 'port 0');
  const got = new Promise<Buffer>((resolve) => rx.once('message', (m) => resolve(m)));
  assert.equal(sendDatagram(tx, [Buffer.from('gath'), Buffer.from('ered')], rx.address().port, A), true);
  assert.equal((await got).toString(), 'gathered');
  await Promise.all([closeUdp(tx), closeUdp(rx), closeUdp(taken)]);
});

test('expandWildcard: a wildcard is every address of its family, loopback included; other addresses stand for themselves', () => {
  assert.deepEqual(expandWildcard('198.18.0.1'), ['198.18.0.1']);
  const v4 = expandWildcard('0.0.0.0');
  assert.ok(v4.includes('127.0.0.1'));
  assert.ok(v4.every((a) => !a.includes(':')));
  assert.ok(expandWildcard('::').every((a) => a.includes(':') && !/^fe[89ab]/i.test(a)));
  assert.ok(!interfaceAddresses('IPv4', false).includes('127.0.0.1'), 'internal addresses only when asked');
});

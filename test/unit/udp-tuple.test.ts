/**
 * A UDP tuple stops queueing in user space once its socket's send queue is over the bound.
 * Loopback never makes the kernel buffer full (the receiver drops instead), so the queue depth
 * is simulated by overriding getSendQueueCount on a real socket; the datagram itself is real.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { UDP_MAX_SEND_QUEUE, UdpTuple } from '../../src/rtc/port/udp-tuple.js';

test('a datagram is dropped and counted while the send queue is over its bound, sent otherwise', async () => {
  const rx = createSocket('udp4');
  const tx = createSocket('udp4');
  await Promise.all([
    new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r())),
    new Promise<void>((r) => tx.bind(0, '127.0.0.1', () => r())),
  ]);
  const got: Buffer[] = [];
  rx.on('message', (m) => got.push(m));
  const drops = { sendQueueFull: 0 };
  const tuple = new UdpTuple(tx, '127.0.0.1', rx.address().port, drops);
  let queued = UDP_MAX_SEND_QUEUE + 1;
  tx.getSendQueueCount = (): number => queued;
  tuple.send(Buffer.from('late'));
  assert.equal(drops.sendQueueFull, 1);
  queued = UDP_MAX_SEND_QUEUE;
  tuple.send(Buffer.from('on time'));
  for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(
    got.map((b) => b.toString()),
    ['on time'],
  );
  assert.equal(drops.sendQueueFull, 1);
  rx.close();
  tx.close();
});

/** The MCU's packet pacer: a frame's packets leave at the pacing rate, in order, not in one burst. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PacketPacer } from '../../src/mcu/video/PacketPacer.js';

test('40 packets of 1,000 bytes at 800 kbit/s leave in order over about 400 ms, not at once', async () => {
  const sent: Array<{ id: number; at: number }> = [];
  const pacer = new PacketPacer(800_000, (p, at) => sent.push({ id: p.readUInt16BE(0), at }));
  const t0 = performance.now();
  const packet = Buffer.alloc(1000);
  for (let i = 0; i < 40; i++) {
    packet.writeUInt16BE(i, 0);
    pacer.push(packet); // the same buffer each time: the pacer keeps copies
  }
  assert.ok(sent.length <= 2, `at most a step's budget goes out at once (${sent.length})`);
  while (sent.length < 40) await new Promise((r) => setTimeout(r, 20));
  const span = (sent.at(-1)?.at ?? 0) - t0;
  assert.deepEqual(
    sent.map((s) => s.id),
    Array.from({ length: 40 }, (_, i) => i),
  );
  // 40,000 bytes at 100,000 bytes/s = 400 ms; timers only fire late, never early.
  assert.ok(span >= 340, `spread over ${span.toFixed(0)} ms`);
  pacer.close();
});

test('a full ring sends its oldest packet at once instead of growing; close drops the rest', () => {
  const sent: number[] = [];
  const pacer = new PacketPacer(8_000, (p) => sent.push(p.readUInt16BE(0)));
  const packet = Buffer.alloc(1200);
  for (let i = 0; i < 300; i++) {
    packet.writeUInt16BE(i, 0);
    pacer.push(packet);
  }
  assert.equal(pacer.queued, 256);
  assert.equal(pacer.overflows, 300 - 256 - 1); // the first packet went out at once (the step's minimum)
  assert.deepEqual(
    sent,
    Array.from({ length: sent.length }, (_, i) => i),
    'still in order',
  );
  pacer.close();
  assert.equal(pacer.queued, 0);
  pacer.push(packet);
  assert.equal(pacer.queued, 0, 'a closed pacer takes nothing');
});

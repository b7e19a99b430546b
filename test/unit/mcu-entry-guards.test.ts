/**
 * The MCU's timers are entry points: an exception in a mixing tick or a pacer step (work on
 * what publishers and subscribers sent) is counted in entryFaults under the timer's name and
 * the timer goes on; it never reaches the process.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MixerClock } from '../../src/mcu/MixerClock.js';
import { PacketPacer } from '../../src/mcu/video/PacketPacer.js';
import { entryFaults } from '../../src/util/guarded.js';

const faults = (where: string): number => entryFaults.byEntryPoint().get(where) ?? 0;

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a mixer clock whose tick throws: the fault is counted under its name and the ticks go on', async () => {
  let calls = 0;
  const clock = new MixerClock(
    5,
    () => {
      calls++;
      if (calls === 1 || calls === 3) throw new Error(`tick ${calls} failed`);
    },
    2,
    'mcu.audio.tick',
  );
  const before = faults('mcu.audio.tick');
  clock.start();
  try {
    await until(() => calls >= 10, 'ten ticks, two of which threw');
  } finally {
    clock.stop();
  }
  assert.equal(faults('mcu.audio.tick') - before, 2);
  assert.ok(clock.ticks >= 10);
});

test('a pacer whose send throws in a step: the fault is counted and the packets after it still leave', async () => {
  const sent: number[] = [];
  const pacer = new PacketPacer(800_000, (p) => {
    const id = p.readUInt16BE(0);
    if (id === 10) throw new Error('a subscriber transport failed');
    sent.push(id);
  });
  const before = faults('mcu.pacer.step');
  const packet = Buffer.alloc(1000);
  for (let i = 0; i < 20; i++) {
    packet.writeUInt16BE(i, 0);
    pacer.push(packet);
  }
  assert.ok(sent.length < 10, 'packet 10 leaves in a timer step, not at once');
  try {
    await until(() => sent.length === 19, 'every other packet leaves');
  } finally {
    pacer.close();
  }
  assert.deepEqual(
    sent,
    Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 10),
  );
  assert.equal(faults('mcu.pacer.step') - before, 1);
});

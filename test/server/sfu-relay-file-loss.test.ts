/**
 * A 2 MB file through the SFU's data-channel relay to a receiver behind a lossy path: the
 * receiver's subscribe connection (ICE, DTLS, SRTP and SCTP) crosses a UDP hop on loopback that
 * drops 10 % of the datagrams each way (test/helpers/lossy-udp-proxy.ts). Sender and receiver
 * are libdatachannel peers (usrsctp); the server's SCTP toward the receiver has to repair the
 * loss (fast retransmit, T3-rtx) and deliver every byte in order (SHA-256), then go idle.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { SfuNodePeer } from '../helpers/sfu-node-peer.js';
import { NodeDataChannelRtc, releaseNodeDataChannel } from '../helpers/sfu-node-peer-ndc.js';
import { startLossyUdpProxy, viaProxy, type LossyUdpProxy } from '../helpers/lossy-udp-proxy.js';
import { mulberry32 } from '../helpers/random.js';
import { waitFor } from '../helpers/browsers.js';

const ROOM = 'relay-file-loss';
const FILE_BYTES = 2 * 1024 * 1024;
const CHUNK_BYTES = 16 * 1024;
const LOSS = 0.1;
let server: Switchboard;
let proxy: LossyUdpProxy;
let sender: { peer: SfuNodePeer; rtc: NodeDataChannelRtc };
let receiver: { peer: SfuNodePeer; rtc: NodeDataChannelRtc };

before(async () => {
  server = await startSwitchboard({ workers: 0, port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'warn' });
  const rtcPort = server.rtc?.port.udpPort;
  assert.ok(rtcPort);
  proxy = await startLossyUdpProxy({ address: '127.0.0.1', port: rtcPort }, LOSS, mulberry32(2026));
  const senderRtc = new NodeDataChannelRtc('sender');
  sender = { peer: await SfuNodePeer.join(server.wsUrl, ROOM, 'sender', senderRtc), rtc: senderRtc };
  const receiverRtc = new NodeDataChannelRtc('lossy', (sdp) => viaProxy(sdp, proxy.port));
  receiver = { peer: await SfuNodePeer.join(server.wsUrl, ROOM, 'lossy', receiverRtc, 40_000), rtc: receiverRtc };
});

after(async () => {
  for (const p of [sender, receiver]) await p?.peer.close();
  proxy?.close();
  await server?.close();
  await releaseNodeDataChannel();
});

test('a 2 MB file reaches a receiver behind a path losing 10 % each way, SHA-256 intact', { timeout: 150_000 }, async () => {
  const file = randomBytes(FILE_BYTES);
  const hash = createHash('sha256');
  let bytes = 0;
  receiver.rtc.onFiles((from, data) => {
    if (from !== sender.peer.id || typeof data === 'string') return;
    hash.update(data);
    bytes += data.length;
  });
  const chunks: Buffer[] = [];
  for (let off = 0; off < FILE_BYTES; off += CHUNK_BYTES) chunks.push(file.subarray(off, off + CHUNK_BYTES));
  const router = server.sfu?.rooms.get(ROOM);
  const participant = () => [...(router?.participants.values() ?? [])].find((p) => p.id === receiver.peer.id);
  // The subscribe connection, its DTLS and SCTP handshakes all cross the lossy hop first.
  const sctp = await waitFor(
    'the server SCTP toward the lossy receiver is open',
    () => {
      const a = participant()?.subscribeRtc.sctp;
      return a?.state === 'open' ? a : null;
    },
    60_000,
    100,
  ).catch((err: Error) => {
    err.message += `; participants ${[...(router?.participants.keys() ?? [])].join(',')} receiver ${receiver.peer.id} subscribe ${participant()?.subscribeRtc.state}; proxy ${JSON.stringify(proxy.counts)}`;
    throw err;
  });
  const before = { ...proxy.counts };
  const start = performance.now();
  await sender.rtc.sendFileChunks(chunks, 1024 * 1024, 100_000);
  await waitFor('the lossy receiver has the whole file', () => (bytes >= FILE_BYTES ? true : null), 120_000, 200).catch((err: Error) => {
    err.message += `\nreceived ${bytes} of ${FILE_BYTES}; proxy ${JSON.stringify(proxy.counts)}; relay dropped ${router?.data.dropped}; server SCTP ${JSON.stringify(sctp.sendState())}`;
    throw err;
  });
  const ms = Math.round(performance.now() - start);
  const c = proxy.counts;
  const down = c.down - before.down;
  const downDropped = c.downDropped - before.downDropped;
  console.log(
    `2 MB behind ${LOSS * 100} % loss: ${ms} ms; server→receiver ${downDropped} of ${down} datagrams dropped, receiver→server ${c.upDropped - before.upDropped} of ${c.up - before.up}; server SCTP ${JSON.stringify(sctp.sendState())}`,
  );
  assert.equal(hash.digest('hex'), createHash('sha256').update(file).digest('hex'), 'SHA-256 of what arrived');
  assert.ok(downDropped > 100, `the path really lost packets toward the receiver (${downDropped})`);
  assert.equal(router?.data.dropped, 0, 'the relay dropped nothing');
  await waitFor(
    'the server SCTP toward the receiver is idle',
    () => (sctp.sendState().flightSize === 0 && sctp.sendState().sentChunks === 0 ? true : null),
    20_000,
    100,
  );
});

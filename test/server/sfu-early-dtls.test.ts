/**
 * A subscriber whose DTLS ClientHello reaches the server before its answer does. The server is
 * ICE-lite: a peer holding our offer passes its connectivity checks at once and, as the DTLS
 * client, sends its ClientHello right away — while its answer may still be on its way over the
 * WebSocket. Those records are kept and handed to DTLS when the answer arrives (the load tool's
 * subscribers joined in ~1 s, one OpenSSL retransmission timeout, before this; ~50 ms after).
 * The peer is libdatachannel (node-datachannel), whose answer the test holds back for 300 ms.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import { TestClient } from '../helpers/ws-client.js';
import { releaseNodeDataChannel } from '../helpers/sfu-node-peer-ndc.js';

let sb: Switchboard;
let client: TestClient | undefined;
let pc: nodeDataChannel.PeerConnection | undefined;

before(async () => {
  sb = await startSwitchboard({ workers: 0, port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' });
});

after(async () => {
  client?.terminate();
  pc?.close();
  await sb.close();
  await releaseNodeDataChannel();
});

test('a ClientHello that arrives before the answer is kept and used when the answer comes', { timeout: 30_000 }, async () => {
  [client] = await TestClient.hello(sb.wsUrl);
  client.send({ type: 'join', room: 'early1', topology: 'sfu' });
  const joined = await client.next('joined');
  const offer = await client.next('sfu-offer');
  pc = new nodeDataChannel.PeerConnection('early', { iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: true });
  const dtlsUp = new Promise<void>((resolve) =>
    pc!.onStateChange((s) => {
      if (s === 'connected') resolve();
    }),
  );
  pc.setRemoteDescription(offer.sdp, 'offer');
  pc.setLocalDescription('answer');
  const answer = pc.localDescription();
  assert.ok(answer?.sdp);
  const participant = sb.sfu?.rooms.get('early1')?.participants.get(joined.self.id);
  assert.ok(participant, 'the server has our participant');
  const transport = participant.subscribeRtc;
  // Checks and the ClientHello go out now; the answer waits.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(transport.state, 'new', 'no answer yet, no DTLS yet');
  client.send({ type: 'sfu-answer', transport: 'subscribe', sdp: answer.sdp, revision: offer.revision });
  await dtlsUp;
  assert.ok(transport.stats.earlyDtls >= 1, `early DTLS records handed on: ${transport.stats.earlyDtls}`);
  const state = (): string => transport.state;
  for (let i = 0; i < 100 && state() !== 'connected'; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(state(), 'connected');
});

/**
 * Interop with an independent ICE agent: libjuice, inside node-datachannel (libdatachannel).
 * Its PeerConnection offers; we answer as an ICE-lite endpoint (RFC 8839 a=ice-lite) with our
 * session's credentials and the RtcPort's loopback candidate. Its ICE must reach 'connected'
 * through our answers alone. Nothing answers DTLS afterwards (not this layer's job), but its
 * first DTLS flight must reach our session as a 'packet' on the selected tuple.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { IceLiteSession } from '../../src/rtc/ice/IceLiteSession.js';
import type { RtcTuple } from '../../src/rtc/ice/RtcTuple.js';
import { RtcPort } from '../../src/rtc/RtcPort.js';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// libdatachannel's threads wind down after close() returns; tearing the library down while
// they still run aborts the process now and then, so give them a moment first.
// No nodeDataChannel.cleanup(): on this machine it aborts the process now and then (a glibc
// robust-mutex assertion in libdatachannel's teardown, ~10% of runs); closing the peer
// connection is enough for the process to exit.

function answerSdp(offer: string, session: IceLiteSession, candidate: string): string {
  const mid = /^a=mid:(\S+)/m.exec(offer)?.[1] ?? '0';
  // A syntactically valid fingerprint: DTLS never completes here, so its value does not matter.
  const fingerprint = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase().padStart(2, '0')).join(':');
  return [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    `a=group:BUNDLE ${mid}`,
    'a=ice-lite',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 127.0.0.1',
    `a=mid:${mid}`,
    `a=ice-ufrag:${session.localUfrag}`,
    `a=ice-pwd:${session.localPassword}`,
    `a=fingerprint:sha-256 ${fingerprint}`,
    'a=setup:passive',
    'a=sctp-port:5000',
    `a=${candidate}`,
    'a=end-of-candidates',
    '',
  ].join('\r\n');
}

test('libjuice (node-datachannel) reaches ICE connected against our ICE-lite session over UDP', async () => {
  const port = new RtcPort({ port: 0, listenAddresses: ['127.0.0.1'], tcp: false });
  await port.listen();
  const session = new IceLiteSession();
  port.addSession(session);
  const selected: RtcTuple[] = [];
  const packets: Buffer[] = [];
  session.on('tuple-selected', (t) => selected.push(t));
  session.setPacketReceiver((b) => packets.push(b));
  const pc = new nodeDataChannel.PeerConnection('interop', { iceServers: [], bindAddress: '127.0.0.1' });
  const states: string[] = [];
  pc.onIceStateChange((s) => states.push(s));
  try {
    const offer = new Promise<string>((resolve) =>
      pc.onLocalDescription((sdp, type) => {
        if (type === 'offer') resolve(sdp);
      }),
    );
    pc.createDataChannel('probe');
    let timer: NodeJS.Timeout | undefined;
    const sdp = await Promise.race([
      offer,
      new Promise<string>((r) => {
        timer = setTimeout(() => r(''), 5000);
      }),
    ]);
    clearTimeout(timer);
    assert.ok(sdp, 'node-datachannel produced an offer');
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
    const pwd = /^a=ice-pwd:(\S+)/m.exec(sdp)?.[1];
    assert.ok(ufrag && pwd);
    session.setRemoteCredentials(ufrag, pwd);
    const c = port.localCandidates()[0];
    assert.ok(c);
    pc.setRemoteDescription(answerSdp(sdp, session, `candidate:${c.foundation} 1 udp ${c.priority} ${c.ip} ${c.port} typ host`), 'answer');
    for (let i = 0; i < 100 && !(states.includes('connected') || states.includes('completed')); i++) await wait(50);
    assert.ok(states.includes('connected') || states.includes('completed'), `ICE states: ${states.join(' → ')}`);
    assert.ok(session.stats.checksAccepted > 0);
    assert.equal(selected.length >= 1, true);
    assert.equal(selected.at(-1)?.remoteAddress, '127.0.0.1');
    // libdatachannel is DTLS client toward a=setup:passive: its ClientHello comes to us.
    for (let i = 0; i < 100 && packets.length === 0; i++) await wait(20);
    assert.ok(packets.length > 0 && (packets[0]?.[0] as number) === 22, 'a DTLS handshake record was routed to the session');
  } finally {
    const closed = new Promise<void>((r) =>
      pc.onStateChange((st) => {
        if (st === 'closed') r();
      }),
    );
    pc.close();
    await Promise.race([closed, wait(1000)]);
    session.close();
    await port.close();
  }
});

/**
 * The Janus VideoRoom driver (src/loadtest/janus-driver.ts) and runner (bench/lib/janus-server.ts)
 * against the real Janus from Debian: Janus in its own network namespace, a node-datachannel
 * publisher replaying the recorded Chromium VP8 and Opus through the driver's "publish", and a
 * node-datachannel subscriber joined through the driver's "subscribe"; the subscriber must get
 * audio and video RTP and VP8 keyframes through Janus, and the namespace must be gone afterwards.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import nodeDataChannel, { type PeerConnection, type Track } from 'node-datachannel';
import { startJanus } from '../../bench/lib/janus-server.js';
import { JanusVideoRoomDriver } from '../../src/loadtest/janus-driver.js';
import { hasKeyframeRequest } from '../helpers/sfu-node-peer-ndc.js';
import { RtpReceiveCounter, RtpReplayer, isRtcp, loadRecordedMedia } from '../helpers/sfu-node-peer-media.js';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Janus is a full ICE agent doing half-trickle: our SDP must carry our candidates. */
async function gathered(pc: PeerConnection): Promise<string> {
  for (let i = 0; i < 100 && pc.gatheringState() !== 'complete'; i++) await wait(50);
  const sdp = pc.localDescription()?.sdp;
  assert.ok(sdp && /a=candidate:/.test(sdp), 'node-datachannel gathered a candidate');
  return sdp;
}

test('Janus VideoRoom: a headless subscriber receives a headless publisher\'s audio, video and keyframes through the driver', { timeout: 60_000 }, async () => {
  const janus = await startJanus({ tag: 'janustest', eventLoops: 1 });
  const config = { iceServers: [], bindAddress: janus.peerAddress, disableAutoNegotiation: true };
  const pub = new nodeDataChannel.PeerConnection('janus-pub', config);
  const sub = new nodeDataChannel.PeerConnection('janus-sub', { ...config, forceMediaTransport: true });
  const tracks: Track[] = [];
  const replayers: RtpReplayer[] = [];
  const driver = new JanusVideoRoomDriver({ url: janus.wsUrl, timeoutMs: 10_000 });
  const errors: string[] = [];
  try {
    const ssrcs = { audio: 0x1234_5678, video: 0x2345_6789 };
    const audio = new nodeDataChannel.Audio('0', 'SendOnly');
    audio.addOpusCodec(111);
    audio.addSSRC(ssrcs.audio, 'ndc', 'ndc-stream', 'ndc-audio');
    const video = new nodeDataChannel.Video('1', 'SendOnly');
    video.addVP8Codec(96);
    video.addSSRC(ssrcs.video, 'ndc', 'ndc-stream', 'ndc-video');
    const ta = pub.addTrack(audio);
    const tv = pub.addTrack(video);
    tracks.push(ta, tv);
    pub.setLocalDescription('offer');
    const published = await driver.publish('janus-driver-test', 'publisher', await gathered(pub), { onError: (e) => errors.push(e) });
    assert.match(published.answerSdp, /a=rtpmap:96 VP8\/90000/, 'Janus accepted VP8');
    assert.match(published.answerSdp, new RegExp(`a=candidate:\\S+ 1 udp \\d+ ${janus.serverAddress.replace(/\./g, '\\.')} \\d+ typ host`), 'Janus offers its namespace address');
    pub.setRemoteDescription(published.answerSdp, 'answer');
    for (let i = 0; i < 200 && !tv.isOpen(); i++) await wait(50);
    assert.ok(tv.isOpen(), `publish connection up (state ${pub.state()})`);

    const media = loadRecordedMedia();
    const vr = new RtpReplayer(media.video, { kind: 'video', ssrc: ssrcs.video, payloadType: 96, clockRate: 90000, send: (p) => { if (tv.isOpen()) tv.sendMessageBinary(p); } });
    const ar = new RtpReplayer(media.audio, { kind: 'audio', ssrc: ssrcs.audio, payloadType: 111, clockRate: 48000, send: (p) => { if (ta.isOpen()) ta.sendMessageBinary(p); } });
    replayers.push(vr, ar);
    let keyframeRequests = 0;
    tv.onMessage((m) => { if (isRtcp(m) && hasKeyframeRequest(m)) { keyframeRequests++; vr.requestKeyframe(); } });
    for (const r of replayers) r.start();

    const counter = new RtpReceiveCounter();
    sub.onTrack((t) => { tracks.push(t); t.onMessage((m) => counter.onPacket(m)); });
    let offers = 0;
    const subscribed = await driver.subscribe('janus-driver-test', 'subscriber', {
      onOffer: async (sdp) => {
        offers++;
        // Janus names its SSRCs in the offer: map them to the publisher's tracks by kind.
        let kind: 'audio' | 'video' | undefined;
        for (const line of sdp.split(/\r?\n/)) {
          const m = /^m=(audio|video) /.exec(line);
          if (m) kind = m[1] as 'audio' | 'video';
          const s = /^a=ssrc:(\d+) /.exec(line);
          if (s && kind) counter.mapSsrc(Number(s[1]), 'publisher', kind);
        }
        sub.setRemoteDescription(sdp, 'offer');
        sub.setLocalDescription('answer');
        return gathered(sub);
      },
      onError: (e) => errors.push(e),
    });
    assert.equal(offers, 1, 'one offer for one publisher');

    const got = () => counter.byParticipant.get('publisher') ?? { audioPackets: 0, videoPackets: 0, videoKeyframes: 0 };
    for (let i = 0; i < 300 && (got().audioPackets < 50 || got().videoPackets < 100 || got().videoKeyframes < 1); i++) await wait(50);
    const r = got();
    assert.ok(r.audioPackets >= 50, `audio through Janus: ${r.audioPackets} packets (sent ${ar.packetsSent})`);
    assert.ok(r.videoPackets >= 100, `video through Janus: ${r.videoPackets} packets (sent ${vr.packetsSent})`);
    assert.ok(r.videoKeyframes >= 1, `a VP8 keyframe through Janus (publisher saw ${keyframeRequests} keyframe requests)`);
    assert.deepEqual(errors, []);
    await subscribed.close();
    await published.close();
  } finally {
    for (const rep of replayers) rep.stop();
    await driver.close();
    for (const t of tracks) t.close();
    pub.close();
    sub.close();
    await janus.stop();
  }
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(!namespaces.includes(janus.namespace), 'the namespace is removed');
  assert.throws(() => process.kill(janus.pid, 0), 'janus has exited');
});

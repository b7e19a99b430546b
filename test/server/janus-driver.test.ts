/**
 * The Janus VideoRoom driver (bench/loadtest/janus-driver.ts) and runner (bench/lib/janus-server.ts)
 * against the real Janus from Debian: Janus in its own network namespace, a node-datachannel
 * publisher replaying the recorded Chromium VP8 and Opus through the driver's "publish", and a
 * node-datachannel subscriber joined through the driver's "subscribe"; the subscriber must get
 * audio and video RTP and VP8 keyframes through Janus. A second publisher then joins the room: the
 * driver must subscribe to it (a renegotiation Janus offers) and its media must arrive too. The
 * namespace must be gone afterwards.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, test } from 'node:test';
import nodeDataChannel, { type PeerConnection, type Track } from 'node-datachannel';
import { startJanus } from '../../bench/lib/janus-server.js';
import { JanusVideoRoomDriver } from '../../bench/loadtest/janus-driver.js';
import { hasKeyframeRequest, releaseNodeDataChannel } from '../helpers/sfu-node-peer-ndc.js';
import { RtpReceiveCounter, RtpReplayer, isRtcp, loadRecordedMedia } from '../helpers/sfu-node-peer-media.js';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// node-datachannel keeps the event loop alive until its cleanup (see releaseNodeDataChannel).
after(() => releaseNodeDataChannel());

/** Janus is a full ICE agent doing half-trickle: our SDP must carry our candidates. */
async function gathered(pc: PeerConnection): Promise<string> {
  for (let i = 0; i < 100 && pc.gatheringState() !== 'complete'; i++) await wait(50);
  const sdp = pc.localDescription()?.sdp;
  assert.ok(sdp && /a=candidate:/.test(sdp), 'node-datachannel gathered a candidate');
  return sdp;
}

interface Publisher {
  pc: PeerConnection;
  tracks: Track[];
  replayers: RtpReplayer[];
  close(): Promise<void>;
}

/** A node-datachannel publisher through the driver, replaying the recorded VP8 + Opus with these SSRCs. */
async function publish(
  driver: JanusVideoRoomDriver,
  name: string,
  bindAddress: string,
  ssrcs: { audio: number; video: number },
  errors: string[],
): Promise<Publisher> {
  const pc = new nodeDataChannel.PeerConnection(`janus-${name}`, { iceServers: [], bindAddress, disableAutoNegotiation: true });
  const audio = new nodeDataChannel.Audio('0', 'SendOnly');
  audio.addOpusCodec(111);
  audio.addSSRC(ssrcs.audio, name, `${name}-stream`, `${name}-audio`);
  const video = new nodeDataChannel.Video('1', 'SendOnly');
  video.addVP8Codec(96);
  video.addSSRC(ssrcs.video, name, `${name}-stream`, `${name}-video`);
  const ta = pc.addTrack(audio);
  const tv = pc.addTrack(video);
  const p: Publisher = {
    pc,
    tracks: [ta, tv],
    replayers: [],
    close: async () => {
      for (const r of p.replayers) r.stop();
      for (const t of p.tracks) t.close();
      pc.close();
    },
  };
  try {
    pc.setLocalDescription('offer');
    const published = await driver.publish('janus-driver-test', name, await gathered(pc), { onError: (e) => errors.push(e) });
    assert.match(published.answerSdp, /a=rtpmap:96 VP8\/90000/, 'Janus accepted VP8');
    pc.setRemoteDescription(published.answerSdp, 'answer');
    for (let i = 0; i < 200 && !tv.isOpen(); i++) await wait(50);
    assert.ok(tv.isOpen(), `${name}: publish connection up (state ${pc.state()})`);
    const media = loadRecordedMedia();
    const vr = new RtpReplayer(media.video, {
      kind: 'video',
      ssrc: ssrcs.video,
      payloadType: 96,
      clockRate: 90000,
      send: (pkt) => {
        if (tv.isOpen()) tv.sendMessageBinary(pkt);
      },
    });
    const ar = new RtpReplayer(media.audio, {
      kind: 'audio',
      ssrc: ssrcs.audio,
      payloadType: 111,
      clockRate: 48000,
      send: (pkt) => {
        if (ta.isOpen()) ta.sendMessageBinary(pkt);
      },
    });
    p.replayers.push(vr, ar);
    tv.onMessage((m) => {
      if (isRtcp(m) && hasKeyframeRequest(m)) vr.requestKeyframe();
    });
    for (const r of p.replayers) r.start();
    return p;
  } catch (e) {
    await p.close();
    throw e;
  }
}

test(
  "Janus VideoRoom: a headless subscriber receives headless publishers' audio, video and keyframes through the driver",
  { timeout: 60_000 },
  async () => {
    const janus = await startJanus({ tag: 'janustest', eventLoops: 1 });
    const sub = new nodeDataChannel.PeerConnection('janus-sub', {
      iceServers: [],
      bindAddress: janus.peerAddress,
      disableAutoNegotiation: true,
      forceMediaTransport: true,
    });
    const subTracks: Track[] = [];
    const publishers: Publisher[] = [];
    const driver = new JanusVideoRoomDriver({ url: janus.wsUrl, timeoutMs: 10_000 });
    const errors: string[] = [];
    try {
      const first = await publish(driver, 'first', janus.peerAddress, { audio: 0x1234_5678, video: 0x2345_6789 }, errors);
      publishers.push(first);

      const counter = new RtpReceiveCounter();
      sub.onTrack((t) => {
        subTracks.push(t);
        t.onMessage((m) => counter.onPacket(m));
      });
      let offers = 0;
      /** The mids of each offer: the second publisher's sections are those the first offer lacked. */
      const midsByOffer: string[][] = [];
      const subscribed = await driver.subscribe('janus-driver-test', 'subscriber', {
        onOffer: async (sdp) => {
          offers++;
          // Each section's first SSRC is its media (a second, in a FID group, is RTX): map it to the section.
          const mids: string[] = [];
          for (const section of sdp.split(/\r?\nm=/).slice(1)) {
            const kind = /^(audio|video) /.exec(section)?.[1] as 'audio' | 'video' | undefined;
            const mid = /^a=mid:(\S+)/m.exec(section)?.[1];
            const ssrc = /^a=ssrc:(\d+) /m.exec(section)?.[1];
            if (!kind || mid === undefined) continue;
            mids.push(mid);
            if (ssrc) counter.mapSsrc(Number(ssrc), `mid ${mid}`, kind);
          }
          midsByOffer.push(mids);
          sub.setRemoteDescription(sdp, 'offer');
          sub.setLocalDescription('answer');
          return gathered(sub);
        },
        onError: (e) => errors.push(e),
      });
      assert.equal(offers, 1, 'one offer for one publisher');

      const total = () => {
        const r = { audioPackets: 0, videoPackets: 0, videoKeyframes: 0 };
        for (const v of counter.byParticipant.values()) {
          r.audioPackets += v.audioPackets;
          r.videoPackets += v.videoPackets;
          r.videoKeyframes += v.videoKeyframes;
        }
        return r;
      };
      for (let i = 0; i < 300 && (total().audioPackets < 50 || total().videoPackets < 100 || total().videoKeyframes < 1); i++)
        await wait(50);
      const r = total();
      assert.ok(r.audioPackets >= 50, `audio through Janus: ${r.audioPackets} packets (sent ${first.replayers[1]!.packetsSent})`);
      assert.ok(r.videoPackets >= 100, `video through Janus: ${r.videoPackets} packets (sent ${first.replayers[0]!.packetsSent})`);
      assert.ok(r.videoKeyframes >= 1, 'a VP8 keyframe through Janus');

      // A publisher arriving later: the driver's observer hears of it and subscribes (a new offer).
      const second = await publish(driver, 'second', janus.peerAddress, { audio: 0x3456_789a, video: 0x4567_89ab }, errors);
      publishers.push(second);
      for (let i = 0; i < 200 && offers < 2; i++) await wait(50);
      assert.equal(offers, 2, 'a second offer once the second publisher is in');
      const newMids = midsByOffer[1]!.filter((m) => !midsByOffer[0]!.includes(m));
      assert.equal(newMids.length, 2, `the second offer adds the second publisher's audio and video (mids ${JSON.stringify(midsByOffer)})`);
      const fromSecond = () => {
        const r = { audioPackets: 0, videoPackets: 0, videoKeyframes: 0 };
        for (const mid of newMids) {
          const v = counter.byParticipant.get(`mid ${mid}`);
          if (v) {
            r.audioPackets += v.audioPackets;
            r.videoPackets += v.videoPackets;
            r.videoKeyframes += v.videoKeyframes;
          }
        }
        return r;
      };
      for (
        let i = 0;
        i < 300 && (fromSecond().audioPackets < 50 || fromSecond().videoPackets < 100 || fromSecond().videoKeyframes < 1);
        i++
      )
        await wait(50);
      const r2 = fromSecond();
      assert.ok(
        r2.audioPackets >= 50 && r2.videoPackets >= 100 && r2.videoKeyframes >= 1,
        `the second publisher's media through Janus: ${JSON.stringify(r2)} (by section ${JSON.stringify(Object.fromEntries(counter.byParticipant))}, unknown SSRC packets ${counter.unknownSsrcPackets})`,
      );
      assert.deepEqual(errors, []);
      await subscribed.close();
    } finally {
      for (const p of publishers) await p.close();
      await driver.close();
      for (const t of subTracks) t.close();
      sub.close();
      await janus.stop();
    }
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.ok(!namespaces.includes(janus.namespace), 'the namespace is removed');
    assert.throws(() => process.kill(janus.pid, 0), 'janus has exited');
  },
);

/**
 * The SFU under test, as a child process of bench/sfu-forward.ts: one WebRtcServer (the RTC
 * port on 127.0.0.1, UDP only) and one Router, driven over the IPC channel instead of the
 * signaling WebSocket, so that what the bench measures is the media path alone.
 *
 *   node dist/bench/lib/sfu-server.js      (started by the bench, pinned with taskset)
 *
 * Requests ({seq, cmd, …} → {seq, result} or {seq, error}):
 *   join {id, publishOffer?}  → {publishAnswer?, subscribeOffer?: {revision, sdp}}
 *   answer {id, revision, sdp} → subscribe answer applied
 *   leave {id}                → the participant's transports closed
 *   stats                     → RTC port and transport counters
 *   prof-start / prof-stop {path} → V8 CPU profile of this process (inspector, same thread)
 * It prints "sfu listening on udp 127.0.0.1:PORT" once ready and exits when the channel closes.
 */
import inspector from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { WebRtcServer } from '../../src/rtc/WebRtcServer.js';
import { SfuRoom } from '../../src/session/SfuRoom.js';
import type { SubscribeOffer } from '../../src/session/SfuParticipant.js';

type Request =
  | { seq: number; cmd: 'join'; id: string; publishOffer?: string }
  | { seq: number; cmd: 'answer'; id: string; revision: number; sdp: string }
  | { seq: number; cmd: 'leave'; id: string }
  | { seq: number; cmd: 'stats' }
  | { seq: number; cmd: 'prof-start' }
  | { seq: number; cmd: 'prof-stop'; path: string };

const server = await WebRtcServer.start({ port: 0, listenAddresses: ['127.0.0.1'], tcp: false });
const router = new SfuRoom('bench', server);
/** The newest subscribe offer the router made for each participant. */
const offers = new Map<string, SubscribeOffer>();
let profiler: inspector.Session | undefined;

function post<T>(session: inspector.Session, method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))));
}

async function handle(m: Request): Promise<unknown> {
  switch (m.cmd) {
    case 'join': {
      const participant = router.join(m.id, (offer) => offers.set(m.id, offer));
      const publishAnswer = m.publishOffer !== undefined ? participant.handlePublishOffer(m.publishOffer) : undefined;
      const offer = offers.get(m.id);
      return { publishAnswer, subscribeOffer: offer ? { revision: offer.revision, sdp: offer.sdp } : undefined };
    }
    case 'answer': {
      const participant = router.participants.get(m.id);
      if (!participant) throw new Error(`no participant ${m.id}`);
      participant.handleSubscribeAnswer(m.revision, m.sdp);
      return { ok: true };
    }
    case 'leave':
      router.leave(m.id);
      return { ok: true };
    case 'stats': {
      let rtpIn = 0,
        rtpOut = 0,
        rtcpIn = 0,
        rtcpOut = 0,
        srtpRejected = 0,
        notReady = 0,
        connected = 0;
      for (const p of router.participants.values()) {
        for (const t of [p.publishRtc, p.subscribeRtc]) {
          rtpIn += t.stats.rtpIn;
          rtpOut += t.stats.rtpOut;
          rtcpIn += t.stats.rtcpIn;
          rtcpOut += t.stats.rtcpOut;
          srtpRejected += t.stats.srtpRejected;
          notReady += t.stats.notReady;
          if (t.state === 'connected') connected++;
        }
      }
      return {
        port: { ...server.port.stats },
        transports: server.transportCount,
        connected,
        rtpIn,
        rtpOut,
        rtcpIn,
        rtcpOut,
        srtpRejected,
        notReady,
      };
    }
    case 'prof-start':
      profiler = new inspector.Session();
      profiler.connect();
      await post(profiler, 'Profiler.enable');
      await post(profiler, 'Profiler.setSamplingInterval', { interval: 200 });
      await post(profiler, 'Profiler.start');
      return { ok: true };
    case 'prof-stop': {
      if (!profiler) return { ok: false };
      const { profile } = await post<{ profile: unknown }>(profiler, 'Profiler.stop');
      profiler.disconnect();
      profiler = undefined;
      writeFileSync(m.path, JSON.stringify(profile));
      return { ok: true, path: m.path };
    }
  }
}

process.on('message', (m: Request) => {
  handle(m).then(
    (result) => process.send?.({ seq: m.seq, result }),
    (err: unknown) => process.send?.({ seq: m.seq, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The bench going away (or closing the channel) ends the server.
process.on('disconnect', () => {
  router.close();
  void server.close().finally(() => process.exit(0));
});
process.on('SIGTERM', () => process.exit(0));
console.log(`sfu listening on udp 127.0.0.1:${server.port.udpPort}`);

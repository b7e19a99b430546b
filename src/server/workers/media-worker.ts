/**
 * A media worker process: one WebRtcServer (its own RTC port) and the SfuRooms of the rooms
 * placed on it, answering the MediaRooms calls of the main process (MediaWorkerPool.ts). A
 * participant's `send` becomes a `send` event; every second a `load` event says how busy the
 * worker is. Started by WorkerProcess (fork): `node media-worker.js` with an IPC channel.
 */
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Gauge, Registry } from 'prom-client';
import { WebRtcServer } from '../../rtc/WebRtcServer.js';
import type { MediaParticipant } from '../../signaling/MediaRooms.js';
import { entryFaults, guarded } from '../../util/guarded.js';
import { registerSfuGauges } from '../metrics.js';
import { SfuRooms } from '../sfu.js';
import type { MediaWorkerEvents, MediaWorkerInit, MediaWorkerMethods, MetricJson } from './media-ipc.js';
import { ParentLink } from './parent-link.js';

const link = new ParentLink<MediaWorkerMethods, MediaWorkerEvents>();
const init = await link.init<MediaWorkerInit>();
const logger = pino({ level: init.logLevel, base: { app: 'switchboard', worker: init.name } });
entryFaults.setLogger(logger);

try {
  const rtc = await WebRtcServer.start({
    port: init.rtc.port,
    ...(init.rtc.host !== undefined ? { listenAddresses: [init.rtc.host] } : {}),
    ...(init.rtc.announcedIps.length > 0 ? { announcedAddresses: init.rtc.announcedIps } : {}),
  });
  // The pool admits MCU rooms across all workers (maxMcuRooms); a worker takes what it is given.
  // Only a worker that may get MCU rooms loads the MCU's codecs (about 0.5 s of its start).
  const mixerClass = init.hostsMcu ? (await import('../../mcu/Mixer.js')).Mixer : undefined;
  const sfu = new SfuRooms(rtc, logger, { ...init.mcu, maxMcuRooms: Number.POSITIVE_INFINITY }, mixerClass);
  const registry = new Registry();
  registerSfuGauges({ registry }, rtc, sfu);
  new Gauge({
    name: 'switchboard_worker_entry_faults_total',
    help: 'Exceptions caught at an entry point of a worker process, by entry point',
    labelNames: ['where'],
    registers: [registry],
    collect() {
      for (const [where, n] of entryFaults.byEntryPoint()) this.set({ where }, n);
    },
  });
  new Gauge({
    name: 'switchboard_worker_ipc_events_dropped_total',
    help: 'Events (messages for pages, load reports) a worker dropped: its IPC channel held 10,000 not yet sent',
    registers: [registry],
    collect() {
      this.set(link.droppedEvents);
    },
  });
  // The main process owns these two (maxMcuRooms is enforced there).
  const mainOwned = new Set(['switchboard_mcu_rooms_max', 'switchboard_mcu_rooms_refused_total']);

  const participantOf = (room: string, info: MediaParticipant['info']): MediaParticipant => ({
    info,
    send: (msg) => link.emit('send', { room, participantId: info.id, msg }),
  });

  link.serve(
    {
      join: ({ room, participant, topology }) => sfu.join(room, participantOf(room, participant), topology),
      leave: ({ room, participantId }) => sfu.leave(room, participantId),
      publish: ({ room, participantId, sdp }) => sfu.publish(room, participantId, sdp),
      subscribeAnswer: ({ room, participantId, revision, sdp }) => sfu.subscribeAnswer(room, participantId, revision, sdp),
      videoSize: ({ room, participantId, trackId, width, height }) => sfu.videoSize(room, participantId, trackId, width, height),
      videoSource: ({ room, participantId, source }) => sfu.videoSource(room, participantId, source),
      layout: ({ room, participantId, layout }) => sfu.layout(room, participantId, layout),
      metrics: async () => ((await registry.getMetricsAsJSON()) as unknown as MetricJson[]).filter((m) => !mainOwned.has(m.name)),
    },
    async () => {
      clearInterval(loadTimer);
      sfu.close();
      await rtc.close();
    },
  );

  // Load: CPU and event-loop use since the last report, and packets routed in per second.
  let lastCpu = process.cpuUsage();
  let lastElu = performance.eventLoopUtilization();
  let lastAt = performance.now();
  let lastPackets = rtc.port.stats.routedPackets;
  const loadTimer = setInterval(
    guarded('media-worker.load', () => {
      const now = performance.now();
      const wallUs = Math.max(1, (now - lastAt) * 1000);
      const cpu = process.cpuUsage(lastCpu);
      const elu = performance.eventLoopUtilization(lastElu);
      const packets = rtc.port.stats.routedPackets;
      let participants = 0;
      for (const r of sfu.rooms.values()) participants += r.participants.size;
      link.emit('load', {
        cpu: (cpu.user + cpu.system) / wallUs,
        elu: elu.utilization,
        packetsPerSec: ((packets - lastPackets) * 1e6) / wallUs,
        rooms: sfu.rooms.size,
        participants,
      });
      lastCpu = process.cpuUsage();
      lastElu = performance.eventLoopUtilization();
      lastAt = now;
      lastPackets = packets;
    }),
    init.loadIntervalMs,
  );
  link.emit('ready', { pid: process.pid, udpPort: rtc.port.udpPort, tcpPort: rtc.port.tcpPort, candidates: rtc.port.localCandidates() });
  logger.debug({ kind: init.kind, rtcPort: rtc.port.udpPort }, 'media worker ready');
} catch (err) {
  link.failed(err);
}

/** The load test's results: a JSON-ready report built from the runs, and its human-readable table. */
import { LogHistogram, percentile } from './percentiles.js';
import type { PublisherRun, SentTrack } from './publisher-run.js';
import type { SubscriberRun } from './subscriber-run.js';
import type { LoadtestOptions } from './options.js';
import type { MediaKind } from '../../src/protocol/media.js';

export interface TrackRow {
  room: string;
  publisher: string;
  subscriber: string;
  kind: MediaKind;
  packets: number;
  bytes: number;
  /** bit/s received (RTP header + payload), over the track's first to last packet. */
  bitrate: number;
  /** bit/s the publisher sent on this track; null when unknown. */
  sentBitrate: number | null;
  lost: number;
  lossPercent: number;
  duplicates: number;
  reordered: number;
  /** RFC 3550 §6.4.1 interarrival jitter, ms. */
  jitterMs: number;
  /** One-way capture → receive latency; null for media without the tool's trailer. */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
}

export interface JoinFigures {
  count: number;
  failed: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface ServerCpu {
  source: string;
  cpuSeconds: number;
  wallSeconds: number;
  percentOfOneCore: number;
}

export interface LoadtestReport {
  driver: string;
  /** The servers, first to last (`--url` repeated); joined with ", " in the table's title. */
  url: string;
  config: {
    rooms: number;
    publishers: number;
    subscribers: number;
    durationS: number;
    videoBitrate: number;
    peer: string;
    topology: 'sfu' | 'mcu';
  };
  joinTime: {
    definition: string;
    publishers: JoinFigures;
    subscribers: JoinFigures;
  };
  sent: (SentTrack & { room: string; publisher: string })[];
  tracks: TrackRow[];
  totals: {
    tracks: number;
    packetsReceived: number;
    packetsLost: number;
    lossPercent: number;
    /** Sum over tracks of received bit/s. */
    bitrateReceived: number;
    latencyP50Ms: number | null;
    latencyP99Ms: number | null;
    /** Tracks expected (publisher tracks × subscribers of their room) but never received. */
    missingTracks: number;
    /** Length of the measurement window, s. */
    measuredSeconds: number;
    /** Packets received by all subscribers per second of the window: the server's forwarding rate. */
    packetsPerSecond: number;
    /** Server CPU µs per forwarded packet; null without a CPU figure. */
    serverCpuUsPerPacket: number | null;
  };
  serverCpu: ServerCpu | null;
  /** The load tool's own event-loop delay during the measurement: when large, latency figures include the tool's stalls. */
  toolEventLoop: { p99Ms: number; maxMs: number; cpuPercentOfOneCore: number } | null;
  errors: string[];
  errorCount: number;
}

export const JOIN_TIME_DEFINITION =
  'publisher: publish request (signaling connect and join included) to DTLS-SRTP up; ' +
  'subscriber: subscribe request (signaling connect and join included) to the first RTP packet received';

const ms = (us: number): number => Math.round(us) / 1000;
const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

function joinFigures(values: number[], count: number): JoinFigures {
  const ok = values.filter((v) => !Number.isNaN(v));
  return {
    count,
    failed: count - ok.length,
    p50Ms: ok.length ? ms(percentile(ok, 50)) : null,
    p99Ms: ok.length ? ms(percentile(ok, 99)) : null,
  };
}

export function buildReport(
  opts: LoadtestOptions,
  driver: string,
  publishers: PublisherRun[],
  subscribers: SubscriberRun[],
  cpu: ServerCpu | null,
  errors: string[],
  toolEventLoop: { p99Ms: number; maxMs: number; cpuPercentOfOneCore: number } | null = null,
  measuredSeconds = opts.durationS,
): LoadtestReport {
  const sent: LoadtestReport['sent'] = [];
  const sentById = new Map<number, { bitrate: number; publisher: string }>();
  const sentByName = new Map<string, number>();
  const publisherOfTrack = new Map<number, PublisherRun>();
  for (const p of publishers) {
    for (const s of p.sent()) {
      sent.push({ ...s, bitrate: Math.round(s.bitrate), room: p.room, publisher: p.name });
      sentById.set(s.trackId, { bitrate: s.bitrate, publisher: p.name });
      sentByName.set(`${p.name} ${s.kind}`, s.bitrate);
      publisherOfTrack.set(s.trackId, p);
    }
  }
  const tracks: TrackRow[] = [];
  const latency = new LogHistogram();
  let packetsReceived = 0;
  let packetsLost = 0;
  let expected = 0;
  let bitrateReceived = 0;
  for (const sub of subscribers) {
    for (const t of [...sub.tracks.values()].sort((a, b) => a.key - b.key)) {
      const s = t.stats;
      // Marked media names its track; unmarked (wrtc) media is matched through the driver's SSRC → publisher table.
      const named = t.key < 0 ? sub.publisherBySsrc.get(t.ssrc) : undefined;
      const byName = named !== undefined ? sentByName.get(`${named} ${t.kind}`) : undefined;
      const from = sentById.get(t.key) ?? (named !== undefined ? { publisher: named, bitrate: byName ?? NaN } : undefined);
      const hasLatency = s.latencyUs.count > 0;
      latency.merge(s.latencyUs);
      packetsReceived += s.packets;
      packetsLost += s.lost;
      expected += s.expected;
      bitrateReceived += s.bitrate;
      tracks.push({
        room: sub.room,
        publisher: from?.publisher ?? `ssrc ${t.ssrc}`,
        subscriber: sub.name,
        kind: t.kind,
        packets: s.packets,
        bytes: s.bytes,
        bitrate: Math.round(s.bitrate),
        sentBitrate: from && Number.isFinite(from.bitrate) ? Math.round(from.bitrate) : null,
        lost: s.lost,
        lossPercent: round(s.lossFraction * 100, 3),
        duplicates: s.duplicates,
        reordered: s.reordered,
        jitterMs: round(s.jitterMs, 3),
        latencyP50Ms: hasLatency ? round(s.latencyUs.percentile(50) / 1000, 3) : null,
        latencyP99Ms: hasLatency ? round(s.latencyUs.percentile(99) / 1000, 3) : null,
      });
    }
  }
  let missingTracks = 0;
  for (const sub of subscribers) {
    for (const [id, p] of publisherOfTrack) if (id >= 0 && p.room === sub.room && !sub.tracks.has(id)) missingTracks++;
  }
  return {
    driver,
    url: opts.urls.map((u) => u.href).join(', '),
    config: {
      topology: opts.topology,
      rooms: opts.rooms,
      publishers: opts.publishers,
      subscribers: opts.subscribers,
      durationS: opts.durationS,
      videoBitrate: opts.videoBitrate,
      peer: opts.peer,
    },
    joinTime: {
      definition: JOIN_TIME_DEFINITION,
      publishers: joinFigures(
        publishers.map((p) => p.joinUs),
        publishers.length,
      ),
      subscribers: joinFigures(
        subscribers.map((s) => s.joinUs),
        subscribers.length,
      ),
    },
    sent,
    tracks,
    totals: {
      tracks: tracks.length,
      packetsReceived,
      packetsLost,
      lossPercent: expected ? round((packetsLost / expected) * 100, 3) : 0,
      bitrateReceived: Math.round(bitrateReceived),
      latencyP50Ms: latency.count ? round(latency.percentile(50) / 1000, 3) : null,
      latencyP99Ms: latency.count ? round(latency.percentile(99) / 1000, 3) : null,
      missingTracks,
      measuredSeconds: round(measuredSeconds, 3),
      packetsPerSecond: Math.round(packetsReceived / measuredSeconds),
      serverCpuUsPerPacket: cpu && packetsReceived ? round((cpu.cpuSeconds * 1e6) / packetsReceived, 2) : null,
    },
    serverCpu: cpu,
    toolEventLoop: toolEventLoop && {
      p99Ms: round(toolEventLoop.p99Ms, 2),
      maxMs: round(toolEventLoop.maxMs, 2),
      cpuPercentOfOneCore: round(toolEventLoop.cpuPercentOfOneCore, 1),
    },
    errors: errors.slice(0, 50),
    errorCount: errors.length,
  };
}

const kbps = (b: number | null): string => (b === null ? '-' : (b / 1000).toFixed(0));
const num = (n: number | null, d = 1): string => (n === null ? '-' : n.toFixed(d));
const MAX_TABLE_ROWS = 200;

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 4 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function formatReport(r: LoadtestReport): string {
  const out: string[] = [];
  const c = r.config;
  out.push(
    `switchboard loadtest: ${r.driver} at ${r.url}, ${c.rooms} ${c.topology.toUpperCase()} room(s) × (${c.publishers} publisher(s) + ${c.subscribers} subscriber(s)), ${c.durationS} s, video ${kbps(c.videoBitrate)} kbit/s, peers ${c.peer}`,
  );
  out.push('');
  const rows = r.tracks
    .slice(0, MAX_TABLE_ROWS)
    .map((t) => [
      t.room,
      `${t.publisher} → ${t.subscriber}`,
      t.kind,
      '',
      kbps(t.bitrate),
      kbps(t.sentBitrate),
      String(t.packets),
      String(t.lost),
      t.lossPercent.toFixed(2),
      num(t.jitterMs, 2),
      num(t.latencyP50Ms, 2),
      num(t.latencyP99Ms, 2),
    ]);
  out.push(
    table(
      ['room', 'track', 'kind', '', 'kbit/s', 'sent kbit/s', 'packets', 'lost', 'loss %', 'jitter ms', 'lat p50 ms', 'lat p99 ms'],
      rows,
    ),
  );
  if (r.tracks.length > MAX_TABLE_ROWS) out.push(`… ${r.tracks.length - MAX_TABLE_ROWS} more tracks (see --json)`);
  out.push('');
  const j = r.joinTime;
  out.push(
    `join time  publishers: p50 ${num(j.publishers.p50Ms)} ms, p99 ${num(j.publishers.p99Ms)} ms (${j.publishers.failed} of ${j.publishers.count} failed)`,
  );
  out.push(
    `           subscribers: p50 ${num(j.subscribers.p50Ms)} ms, p99 ${num(j.subscribers.p99Ms)} ms (${j.subscribers.failed} of ${j.subscribers.count} failed)`,
  );
  out.push(`           (${j.definition})`);
  const t = r.totals;
  out.push(
    `totals     ${t.tracks} tracks received, ${t.missingTracks} missing, ${t.packetsReceived} packets, ${t.packetsLost} lost (${t.lossPercent.toFixed(3)} %), ` +
      `${kbps(t.bitrateReceived)} kbit/s, latency p50 ${num(t.latencyP50Ms, 2)} ms, p99 ${num(t.latencyP99Ms, 2)} ms`,
  );
  out.push(`           ${t.packetsPerSecond} packets/s forwarded over ${t.measuredSeconds.toFixed(1)} s`);
  out.push(
    r.serverCpu
      ? `server CPU ${r.serverCpu.cpuSeconds.toFixed(2)} s in ${r.serverCpu.wallSeconds.toFixed(1)} s = ${r.serverCpu.percentOfOneCore.toFixed(1)} % of one core, ` +
          `${num(t.serverCpuUsPerPacket, 1)} µs per forwarded packet (${r.serverCpu.source})`
      : 'server CPU unknown (no --server-pid and no /metrics)',
  );
  if (r.toolEventLoop) {
    out.push(
      `load tool  CPU ${r.toolEventLoop.cpuPercentOfOneCore.toFixed(1)} % of one core, event-loop delay p99 ${r.toolEventLoop.p99Ms.toFixed(1)} ms, ` +
        `max ${r.toolEventLoop.maxMs.toFixed(1)} ms (the tool's own queues and stalls count in its latency)`,
    );
  }
  if (r.errorCount) out.push(`errors (${r.errorCount}):`, ...r.errors.slice(0, 10).map((e) => `  ${e}`));
  return out.join('\n');
}

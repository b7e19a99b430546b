/** The soak's report: what ran, the start/end figures, each criterion, and the evidence for a failure. */
import { mb } from './criteria.js';
import type { SoakResult } from './run-soak.js';

export function formatSoakReport(r: SoakResult): string {
  const o = r.options;
  const t = r.tally;
  const rows: Array<[string, string, string]> = [
    ['RSS', mb(r.start.rssBytes), mb(r.end.rssBytes)],
    ['heap used', mb(r.start.heapUsedBytes), mb(r.end.heapUsedBytes)],
    ['external (Buffers)', mb(r.start.externalBytes), mb(r.end.externalBytes)],
    ['fds', String(r.start.fds), String(r.end.fds)],
    ['active handles', String(r.start.activeHandles), String(r.end.activeHandles)],
    ['active resources', String(r.start.activeResources), String(r.end.activeResources)],
  ];
  const peak = (pick: (s: SoakResult['samples'][number]) => number): number => Math.max(...r.samples.map(pick));
  const lines = [
    `Switchboard soak: ${o.sfuRooms} SFU × ${o.roomSize}, ${o.mcuRooms} MCU × ${o.roomSize}, ${o.meshRooms} mesh × 2, 1 call, 1 TURN pair per cycle`,
    `duration (churn)        ${r.churnSeconds.toFixed(0)} s (${o.minutes} min asked)`,
    `cycles                  ${r.cycles} (+1 warm-up)`,
    `participants joined     ${t.participantsJoined} (${t.leftCleanly} left cleanly, ${t.dropped} dropped their socket)`,
    `media checks passed     ${t.mediaChecks} (every other participant's audio+video+keyframe, or the MCU mix with sound)`,
    `MCU mix, B/Opus packet  ${t.mixBytesPerPacket.length ? `min ${Math.min(...t.mixBytesPerPacket).toFixed(1)}, mean ${(t.mixBytesPerPacket.reduce((a, b) => a + b, 0) / t.mixBytesPerPacket.length).toFixed(1)} (≥ 45 required: 35 is a silent mix)` : 'none'}`,
    `chat lines relayed      ${t.chatChecks}`,
    `mesh links (data chan.) ${t.meshLinks}`,
    `P2P pairs made again    ${t.clientRetries.length} (libdatachannel failed with the SDP relayed intact)`,
    `1:1 calls (REST)        ${t.calls}`,
    `TURN allocations (test) ${t.turnAllocations}`,
    `/healthz probes         ${r.healthProbes} (${r.healthFailures.length} failed)`,
    `warn+ log lines         ${r.warnLogs.length} (${r.unexpectedLogs.length} unexpected)`,
    '',
    `                  start       end         peak during churn (samples every ${o.sampleEverySeconds} s, each after a forced GC)`,
    ...rows.map(
      ([name, a, b], i) =>
        `${name.padEnd(19)}${a.padEnd(12)}${b.padEnd(12)}${
          [
            mb(peak((s) => s.rssBytes)),
            mb(peak((s) => s.heapUsedBytes)),
            mb(peak((s) => s.externalBytes)),
            String(peak((s) => s.fds)),
            String(peak((s) => s.activeHandles)),
            String(peak((s) => s.activeResources)),
          ][i]
        }`,
    ),
    `(end after ${r.settleRounds} forced GC${r.settleRounds > 1 ? 's' : ''}; start after the warm-up cycle and a forced GC)`,
    '',
    ...r.verdicts.map((v) => `${v.ok ? 'PASS' : 'FAIL'}  ${v.name}: ${v.detail}`),
  ];
  if (t.clientRetries.length) lines.push('', 'P2P pairs made again (client-library failures):', ...t.clientRetries.map((f) => `  ${f}`));
  if (t.failures.length) lines.push('', 'workload failures:', ...t.failures.map((f) => `  ${f}`));
  if (r.unexpectedLogs.length) lines.push('', 'unexpected log lines:', ...r.unexpectedLogs.slice(0, 50).map((l) => `  ${l.raw}`));
  if (r.stderr.length) lines.push('', 'server stderr:', ...r.stderr.slice(0, 50).map((l) => `  ${l}`));
  if (r.healthFailures.length) lines.push('', 'failed /healthz probes:', ...r.healthFailures.map((l) => `  ${l}`));
  lines.push('', r.passed ? 'SOAK PASSED' : 'SOAK FAILED');
  return lines.join('\n');
}

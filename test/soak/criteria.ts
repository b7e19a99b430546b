/**
 * The soak's pass criteria and its allowlist of expected warnings. A resource is compared
 * between the warm start (after one whole cycle, everyone gone, a forced full GC) and the end
 * (churn stopped, everyone gone, sessions past their resume grace, a forced full GC).
 */
import { LIVE_GAUGES, type Sample } from './probes.js';
import type { LogLine } from '../helpers/server-child.js';

export const MARGINS = {
  /**
   * Descriptors and handles are exact counts of open things: after everyone left the same
   * sockets (HTTP, TURN, RTC port, inspector) and timers remain. ±2 leaves room for a
   * connection the prober or sampler is still closing.
   */
  fds: 2,
  handles: 2,
  /** Timers included: a room's timers (NACK, RTCP, mixer clock) that outlive it show here. */
  resources: 2,
  /**
   * Heap after a full GC is what the server still references: a per-session or per-room leak
   * grows with every cycle. 10 MB is ~25 % of the warm heap and well under what one leaked SFU
   * room per cycle would hold after a few minutes (a Router with its packet caches is several MB).
   */
  heapBytes: 10 * 1024 * 1024,
  /**
   * RSS also holds what the native allocators keep for reuse after a peak and do not give back
   * to the kernel: glibc's per-thread malloc arenas (libvpx/FFmpeg and libuv threads), V8's
   * freed pages. Measured: RSS climbs over the first cycles and then stays level while heap
   * and descriptors return exactly. So RSS gets two tests: the end within +50 % of the warm
   * start (a bound, not a leak test), and no growth past the peak of the churn's first half by
   * more than 5 % — a leak keeps growing to the end, a cache or arena does not.
   */
  rssFraction: 0.5,
  rssPlateauFraction: 0.05,
};

/**
 * Warnings and errors that are expected during the soak. Each entry says why. Anything else of
 * level ≥ warn (pino 40) fails the soak.
 */
export const EXPECTED_LOGS: Array<{ test: (l: LogLine) => boolean; why: string }> = [];

export interface Verdict {
  name: string;
  ok: boolean;
  detail: string;
}

/** `firstHalf`: samples taken in the first half of the churn (after a forced GC each). */
export function judge(
  start: Sample,
  end: Sample,
  firstHalf: Sample[],
  logs: LogLine[],
  stderr: string[],
  healthFailures: string[],
  workloadFailures: string[],
): { verdicts: Verdict[]; unexpectedLogs: LogLine[] } {
  const verdicts: Verdict[] = [];
  const live = LIVE_GAUGES.map((g) => `${g}=${end.live[g]}`);
  verdicts.push({
    name: 'live gauges back to 0',
    ok: LIVE_GAUGES.every((g) => end.live[g] === 0),
    detail: live.filter((l) => !l.endsWith('=0')).join(', ') || 'all 0',
  });
  verdicts.push({
    name: `fds within ±${MARGINS.fds}`,
    ok: Math.abs(end.fds - start.fds) <= MARGINS.fds,
    detail: `${start.fds} → ${end.fds}`,
  });
  verdicts.push({
    name: `active handles within ±${MARGINS.handles}`,
    ok: Math.abs(end.activeHandles - start.activeHandles) <= MARGINS.handles,
    detail: `${start.activeHandles} → ${end.activeHandles}`,
  });
  verdicts.push({
    name: `active resources (timers too) within ±${MARGINS.resources}`,
    ok: Math.abs(end.activeResources - start.activeResources) <= MARGINS.resources,
    detail: `${start.activeResources} → ${end.activeResources}`,
  });
  const heapGrowth = end.heapUsedBytes - start.heapUsedBytes;
  verdicts.push({
    name: `heap used within +${mb(MARGINS.heapBytes)}`,
    ok: heapGrowth <= MARGINS.heapBytes,
    detail: `${mb(start.heapUsedBytes)} → ${mb(end.heapUsedBytes)} (${signedMb(heapGrowth)})`,
  });
  const rssAllowed = start.rssBytes * MARGINS.rssFraction;
  const rssGrowth = end.rssBytes - start.rssBytes;
  verdicts.push({
    name: `RSS within +${Math.round(MARGINS.rssFraction * 100)} % of the warm start`,
    ok: rssGrowth <= rssAllowed,
    detail: `${mb(start.rssBytes)} → ${mb(end.rssBytes)} (${signedMb(rssGrowth)}; allowed +${mb(rssAllowed)})`,
  });
  if (firstHalf.length > 0) {
    const plateau = Math.max(...firstHalf.map((s) => s.rssBytes));
    verdicts.push({
      name: `RSS levels off (end ≤ first-half peak +${Math.round(MARGINS.rssPlateauFraction * 100)} %)`,
      ok: end.rssBytes <= plateau * (1 + MARGINS.rssPlateauFraction),
      detail: `first-half peak ${mb(plateau)}, end ${mb(end.rssBytes)}`,
    });
  } else {
    verdicts.push({ name: 'RSS levels off', ok: true, detail: 'not judged: no sample in the first half of the churn (run longer)' });
  }
  verdicts.push({ name: 'no entry-point faults', ok: end.entryFaults === 0, detail: String(end.entryFaults) });
  const unexpectedLogs = logs.filter((l) => l.level >= 40 && !EXPECTED_LOGS.some((e) => e.test(l)));
  verdicts.push({
    name: 'no unexpected warn/error logs',
    ok: unexpectedLogs.length === 0,
    detail: `${logs.filter((l) => l.level >= 40).length} warn+ lines, ${unexpectedLogs.length} unexpected`,
  });
  verdicts.push({ name: 'no stderr output', ok: stderr.length === 0, detail: `${stderr.length} lines` });
  verdicts.push({ name: 'every /healthz probe answered', ok: healthFailures.length === 0, detail: `${healthFailures.length} failed` });
  verdicts.push({ name: 'every workload succeeded', ok: workloadFailures.length === 0, detail: `${workloadFailures.length} failed` });
  return { verdicts, unexpectedLogs };
}

export const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;
const signedMb = (b: number): string => `${b >= 0 ? '+' : ''}${mb(b)}`;

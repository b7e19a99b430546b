/**
 * The server's CPU time, read at the start and the end of the measurement: from /proc/PID/stat
 * when the server is a local process we know (`--server-pid`), else from its Prometheus
 * `/metrics` (prom-client's default `process_cpu_seconds_total`, which Switchboard registers with
 * the prefix `switchboard_process_`).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { InternalErrorCode, SwitchboardError } from '../../src/protocol/errors.js';

export interface CpuSource {
  /** Where the figure comes from, for the report. */
  readonly description: string;
  /** Cumulative CPU seconds (user + system) of the server process. */
  read(): Promise<number>;
}

/**
 * sysconf(_SC_CLK_TCK): the unit of /proc/PID/stat times (100 on Linux nearly everywhere). Asked
 * once, asynchronously: a synchronous spawn would stall the peers' event loop mid-measurement.
 */
function ticksPerSecond(): Promise<number> {
  return new Promise((resolve) => {
    execFile('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }, (err, out) => resolve(err ? 100 : Number(out.trim()) || 100));
  });
}

/** utime + stime (fields 14 and 15 of proc(5) /proc/PID/stat; the name in parentheses may hold spaces). */
export function parseProcStatCpuTicks(stat: string): number {
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new SwitchboardError(InternalErrorCode.Malformed, 'not a /proc/PID/stat line');
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/); // fields[0] is field 3 (state)
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new SwitchboardError(InternalErrorCode.Malformed, 'no utime/stime in /proc/PID/stat');
  return utime + stime;
}

export function procCpuSource(pid: number): CpuSource {
  const ticks = ticksPerSecond();
  return {
    description: `/proc/${pid}/stat`,
    read: async () => parseProcStatCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / (await ticks),
  };
}

/** The value of the first unlabelled `*process_cpu_seconds_total` sample in a Prometheus text exposition. */
export function parseCpuSecondsMetric(text: string): number | null {
  for (const line of text.split('\n')) {
    const m = /^((?:[A-Za-z_:][A-Za-z0-9_:]*)?process_cpu_seconds_total)(?:\{\})?\s+([0-9.eE+-]+)(?:\s+\d+)?\s*$/.exec(line);
    if (m) {
      const v = Number(m[2]);
      if (Number.isFinite(v)) return v;
    }
  }
  return null;
}

/** The /metrics URL of a server URL (same host and port, http(s)). */
export function metricsUrl(url: URL): URL {
  const m = new URL(url.href);
  m.protocol = url.protocol === 'wss:' || url.protocol === 'https:' ? 'https:' : 'http:';
  m.pathname = '/metrics';
  m.search = '';
  m.hash = '';
  return m;
}

export function metricsCpuSource(url: URL): CpuSource {
  const target = metricsUrl(url);
  return {
    description: target.href,
    read: async () => {
      const res = await fetch(target, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new SwitchboardError(InternalErrorCode.Unavailable, `${target.href}: HTTP ${res.status}`);
      const text = await res.text();
      const v = parseCpuSecondsMetric(text.length > 4_000_000 ? text.slice(0, 4_000_000) : text);
      if (v === null) throw new SwitchboardError(InternalErrorCode.Malformed, `${target.href}: no process_cpu_seconds_total`);
      return v;
    },
  };
}

/**
 * The server's CPU time, read at the start and the end of the measurement: from /proc/PID/stat
 * when the server is a local process we know (`--server-pid`), else from its Prometheus
 * `/metrics` (prom-client's default `process_cpu_seconds_total`, which Switchboard registers with
 * the prefix `switchboard_process_`).
 */
import { processTreeCpuSeconds } from '../../src/server/process-cpu.js';
import { InternalErrorCode, SwitchboardError } from '../../src/protocol/errors.js';

export interface CpuSource {
  /** Where the figure comes from, for the report. */
  readonly description: string;
  /** Cumulative CPU seconds (user + system) of the server process. */
  read(): Promise<number>;
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

/**
 * The server process and every process under it (its media and TURN workers), summed — the same
 * /proc reading a cluster node announces as its load (src/server/process-cpu.ts): a worker that
 * started during the run counts from its start, one that ended drops out.
 */
export function procTreeCpuSource(pid: number): CpuSource {
  return {
    description: `/proc/${pid}/stat and its descendants'`,
    read: () => {
      const seconds = processTreeCpuSeconds(pid);
      if (seconds === undefined) return Promise.reject(new SwitchboardError(InternalErrorCode.Unavailable, `no /proc/${pid}/stat`));
      return Promise.resolve(seconds);
    },
  };
}

/** Several servers (cluster nodes) as one: their CPU seconds summed. */
export function sumCpuSources(sources: CpuSource[]): CpuSource {
  if (sources.length === 1) return sources[0] as CpuSource;
  return {
    description: sources.map((s) => s.description).join(' + '),
    read: async () => (await Promise.all(sources.map((s) => s.read()))).reduce((a, b) => a + b, 0),
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

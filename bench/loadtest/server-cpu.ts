/**
 * The server's CPU time, read at the start and the end of the measurement: from /proc/PID/stat
 * when the server is a local process we know (`--server-pid`), else from its Prometheus
 * `/metrics` (prom-client's default `process_cpu_seconds_total`, which Switchboard registers with
 * the prefix `switchboard_process_`).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

/**
 * The server process and every process under it (its media and TURN workers), summed: a worker
 * that started during the run counts from its start, one that ended drops out (bounded: the
 * /proc scan happens only at the measurement's start and end).
 */
export function procTreeCpuSource(pid: number): CpuSource {
  const ticks = ticksPerSecond();
  return {
    description: `/proc/${pid}/stat and its descendants'`,
    read: async () => {
      let total = 0;
      for (const p of processTree(pid)) {
        try {
          total += parseProcStatCpuTicks(readFileSync(`/proc/${p}/stat`, 'utf8'));
        } catch {
          // ended between the scan and the read
        }
      }
      return total / (await ticks);
    },
  };
}

/** `root` and its descendants, from the parent pid (field 4) of every /proc/PID/stat. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0 && out.length < 4096) {
    const p = queue.shift() as number;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
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

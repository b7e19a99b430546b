/**
 * Child-process helpers for the benchmark: spawn a server, parse its
 * "… listening on http://HOST:PORT" line, read RSS / CPU from /proc, and make sure
 * every child dies when the bench exits (normally, on a signal or on the overall timeout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killAll();
    process.stderr.write(`bench: ${sig}, children killed\n`);
    process.exit(130);
  });
}

export interface ServerChild {
  name: string;
  proc: ChildProcess;
  pid: number;
  host: string;
  port: number;
  /** Last lines of stdout+stderr, for error messages. */
  tail: string[];
}

/** Any child process started here: killed when the bench exits, output lines kept in `tail`. */
export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  tail: string[];
  /** Called for every complete line of stdout or stderr. */
  onLine: ((line: string) => void) | undefined;
}

/**
 * Starts `file args` (no shell) with piped output, registered so it dies with the bench.
 * Lines go to `tail` (last 40) and to `child.onLine`.
 */
export function startChild(
  name: string,
  file: string,
  args: string[],
  opts: { ipc?: boolean; env?: NodeJS.ProcessEnv | undefined } = {},
): Child {
  const proc = spawn(file, args, {
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const child: Child = { name, proc, pid: proc.pid ?? -1, tail: [], onLine: undefined };
  // An 'error' event without a listener would throw; keep it for the error messages instead.
  proc.on('error', (e) => child.tail.push(`spawn error: ${e.message}`));
  for (const stream of [proc.stdout!, proc.stderr!]) {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line) continue;
        child.tail.push(line);
        if (child.tail.length > 40) child.tail.shift();
        child.onLine?.(line);
      }
    });
  }
  return child;
}

/** Resolves with the first output line matching `re`; rejects on exit, spawn error or timeout. */
export function waitForLine(child: Child, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const { proc, name, tail } = child;
  return new Promise((resolve, reject) => {
    let done = false;
    const prev = child.onLine;
    const finish = (err: Error | null, m?: RegExpExecArray) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.onLine = prev;
      proc.off('exit', onExit);
      proc.off('error', onError);
      if (err) reject(new Error(`${err.message}\n--- ${name} output (tail) ---\n${tail.join('\n')}`));
      else resolve(m!);
    };
    const timer = setTimeout(() => finish(new Error(`${name}: no line matching ${re} within ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null, sig: string | null) => finish(new Error(`${name} exited early (code ${code}, signal ${sig})`));
    const onError = (e: Error) => finish(e);
    proc.on('exit', onExit);
    proc.on('error', onError);
    child.onLine = (line) => {
      prev?.(line);
      const m = re.exec(line);
      if (m) finish(null, m);
    };
  });
}

/** `switchboard serve` (`mainJs`) for a bench: loopback only, every port picked by the OS, TURN off, warnings only; then `extra`. */
export function loopbackServeArgs(mainJs: string, extra: readonly string[] = []): string[] {
  return [
    mainJs,
    'serve',
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--log-level',
    'warn',
    '--turn-enabled',
    'false',
    '--rtc-port',
    '0',
    '--rtc-host',
    '127.0.0.1',
    ...extra,
  ];
}

/** Room and per-address caps high enough for one load generator's hundreds of peers on 127.0.0.1. */
export const MANY_PEERS_ARGS = ['--max-room-participants', '2000', '--max-connections-per-ip', '100000'];

const LISTEN_RE = /listening on https?:\/\/(\[[^\]]+\]|[^\s:/]+):(\d+)/i;

/**
 * Spawns `node …args` with an IPC channel (used by bench-preload for gc / memory / profiling)
 * and resolves once the child prints its listening line.
 */
export async function spawnServer(
  name: string,
  nodeArgs: string[],
  opts: { startTimeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<ServerChild> {
  const child = startChild(name, process.execPath, nodeArgs, { ipc: true, env: opts.env });
  try {
    const m = await waitForLine(child, LISTEN_RE, opts.startTimeoutMs);
    const host = m[1]!.replace(/^\[|\]$/g, '');
    return {
      name,
      proc: child.proc,
      pid: child.pid,
      host: host === '0.0.0.0' || host === 'localhost' ? '127.0.0.1' : host,
      port: Number(m[2]),
      tail: child.tail,
    };
  } catch (e) {
    try {
      child.proc.kill('SIGKILL');
    } catch {
      /* gone */
    }
    throw e;
  }
}

/** SIGTERM, then SIGKILL after graceMs. */
export async function stopServer(s: Pick<ServerChild, 'proc'>, graceMs = 3000): Promise<void> {
  const p = s.proc;
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => {
    try {
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }, graceMs);
  await exited;
  clearTimeout(t);
}

/** VmRSS of a process, in KiB. */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** utime + stime of a process (all its threads), in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

let clkTck = 100;
try {
  // getconf is the authority; 100 is the Linux default if it is missing.
  const { execFileSync } = await import('node:child_process');
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* keep 100 */
}
export const CLK_TCK = clkTck;

/** Machine-wide CPU ticks from /proc/stat (all cores): busy (everything but idle+iowait), softirq, steal. */
export function machineTicks(): { busy: number; softirq: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = v;
  return { busy: user + nice + system + irq + softirq + steal, softirq, steal };
}

/**
 * utime + stime of every user-space process now (kernel threads left out), by pid. Per-core
 * busy ticks in /proc/stat are sampled at the timer tick and miss work that runs in short
 * bursts between ticks (uclient's 1 ms timer), while per-process times are exact: to see what
 * else used the CPUs during a measurement, compare two of these snapshots.
 */
export function processTicks(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // rest[1] is the ppid; kernel threads are kthreadd (pid 2) and its children.
      if (name === '2' || rest[1] === '2') continue;
      out.set(Number(name), Number(rest[11]) + Number(rest[12]));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** CPU ticks used between two snapshots by processes not in `exclude` (new ones count whole). */
export function otherTicks(before: Map<number, number>, after: Map<number, number>, exclude: Iterable<number>): number {
  const skip = new Set(exclude);
  let sum = 0;
  for (const [pid, t] of after) if (!skip.has(pid)) sum += t - (before.get(pid) ?? 0);
  return sum;
}

/** Machine-wide UDP datagrams dropped for a full receive buffer (/proc/net/snmp RcvbufErrors). */
export function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp: '));
  const [head, vals] = lines;
  if (!head || !vals) return NaN;
  const i = head.split(/\s+/).indexOf('RcvbufErrors');
  return i < 0 ? NaN : Number(vals.split(/\s+/)[i]);
}

/**
 * Receive drops summed over the UDP sockets a process holds open now (the `drops` column of
 * /proc/net/udp, matched by socket inode). Sockets already closed are not counted.
 */
export function udpSocketDrops(pid: number): number {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        /* fd closed meanwhile */
      }
    }
  } catch {
    return NaN;
  }
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
      if (f.length >= 13 && inodes.has(f[9]!)) drops += Number(f[12]);
    }
  }
  return drops;
}

/** Bounds a whole benchmark run: past `seconds`, exit 2 (children are killed on 'exit', above). */
export function exitAfter(seconds: number): NodeJS.Timeout {
  return setTimeout(() => {
    console.error(`\nbench: overall timeout of ${seconds} s reached; killing servers and exiting`);
    process.exit(2);
  }, seconds * 1000);
}

/** A flag's value as a non-negative number, or `usage` (which exits) naming the flag. */
export function nonNegative(flag: string, v: string | undefined, usage: (problem: string) => never): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < 0) usage(`--${flag} needs a non-negative number`);
  return n;
}

/** `pid` and every process below it (a server's worker processes), from the ppid fields of /proc. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      /* exited meanwhile */
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** CPU ticks (utime + stime) of `pid` and its descendants; a process gone meanwhile counts 0. */
export function treeCpuTicks(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuTicks(pid);
    } catch {
      /* exited */
    }
  }
  return sum;
}

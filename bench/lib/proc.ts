/**
 * Child-process helpers for the benchmark: spawn a server, parse its
 * "… listening on http://HOST:PORT" line, read RSS / CPU from /proc, and make sure
 * every child dies when the bench exits (normally, on a signal or on the overall timeout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try { c.kill('SIGKILL'); } catch { /* already gone */ }
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

const LISTEN_RE = /listening on https?:\/\/(\[[^\]]+\]|[^\s:/]+):(\d+)/i;

/**
 * Spawns `node …args` with an IPC channel (used by bench-preload for gc / memory / profiling)
 * and resolves once the child prints its listening line.
 */
export function spawnServer(name: string, nodeArgs: string[], opts: { startTimeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<ServerChild> {
  const proc = spawn(process.execPath, nodeArgs, {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...opts.env },
  });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => finish(new Error(`${name}: no "listening on http://HOST:PORT" line within ${opts.startTimeoutMs} ms`)), opts.startTimeoutMs);
    const finish = (err: Error | null, child?: ServerChild) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        try { proc.kill('SIGKILL'); } catch { /* gone */ }
        reject(new Error(`${err.message}\n--- ${name} output (tail) ---\n${tail.join('\n')}`));
      } else resolve(child!);
    };
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        const m = LISTEN_RE.exec(line);
        if (m && !done) {
          const host = m[1]!.replace(/^\[|\]$/g, '');
          finish(null, { name, proc, pid: proc.pid!, host: host === '0.0.0.0' || host === 'localhost' ? '127.0.0.1' : host, port: Number(m[2]), tail });
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('error', (e) => finish(e));
    proc.on('exit', (code, sig) => finish(new Error(`${name} exited early (code ${code}, signal ${sig})`)));
  });
}

/** SIGTERM, then SIGKILL after graceMs. */
export async function stopServer(s: ServerChild, graceMs = 3000): Promise<void> {
  const p = s.proc;
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => { try { p.kill('SIGKILL'); } catch { /* gone */ } }, graceMs);
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
} catch { /* keep 100 */ }
export const CLK_TCK = clkTck;

/** Machine-wide CPU ticks from /proc/stat (all cores): busy (everything but idle+iowait), softirq, steal. */
export function machineTicks(): { busy: number; softirq: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = v;
  return { busy: user + nice + system + irq + softirq + steal, softirq, steal };
}

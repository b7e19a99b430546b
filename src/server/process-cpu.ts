/**
 * The CPU this server uses, as a fraction of the machine (0-1), for the load a cluster node
 * announces: this process and every process under it (media or TURN workers), read from
 * /proc/PID/stat (proc(5): utime + stime, fields 14 and 15) at each sample; where /proc cannot
 * be read, this process alone (process.cpuUsage). Sampled every heartbeat (2 s), never per packet.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** USER_HZ: the unit of /proc/PID/stat times; 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;
/** Processes followed below this one (a bound on the /proc scan's result). */
const MAX_TREE = 4096;

/** utime + stime in ticks from one /proc/PID/stat line (the name in parentheses may hold spaces); NaN when malformed. */
export function procStatTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU seconds of `root` and its descendants, or undefined where /proc cannot be read. */
export function processTreeCpuSeconds(root: number = process.pid): number | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    const pid = Number(name);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
    ticks.set(pid, procStatTicks(stat));
  }
  if (!ticks.has(root)) return undefined;
  let total = 0;
  const queue = [root];
  for (let i = 0; i < queue.length && i < MAX_TREE; i++) {
    const pid = queue[i] as number;
    const t = ticks.get(pid);
    if (t !== undefined && Number.isFinite(t)) total += t;
    queue.push(...(children.get(pid) ?? []));
  }
  return total / TICKS_PER_SECOND;
}

/** A sampler: each call returns the CPU fraction used since the previous call (0 at the first). */
export function cpuFractionSampler(cores: number = availableParallelism()): () => number {
  const read = (): number => {
    const tree = processTreeCpuSeconds();
    if (tree !== undefined) return tree;
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  let lastCpu = read();
  let lastAt = performance.now();
  return () => {
    const cpu = read();
    const at = performance.now();
    const wall = (at - lastAt) / 1000;
    const fraction = wall > 0 ? (cpu - lastCpu) / wall / Math.max(1, cores) : 0;
    lastCpu = cpu;
    lastAt = at;
    return Math.min(1, Math.max(0, fraction));
  };
}

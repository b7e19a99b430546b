/**
 * Runs a benchmark inside a network namespace of its own (loopback only), so that Switchboard,
 * Janus (bench/lib/janus-server.ts, netns 'current') and the peers all talk over the same kind
 * of path and nothing can leave the machine. The first call re-executes this script as
 * `ip netns exec NS node …` and, when that child ends, kills what is left in NS, deletes NS and
 * exits with the child's code; inside, SB_BENCH_NETNS names the namespace and the call returns.
 */
import { execFileSync, spawn } from 'node:child_process';

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

/** Returns inside the namespace; in the parent, never returns (exits with the child's status). */
export async function runInOwnNamespace(tag: string): Promise<void> {
  if (process.env.SB_BENCH_NETNS) return;
  const ns = `sb-${tag}-${process.pid}`;
  const remove = (): void => {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      for (const pid of pids.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    } catch {
      /* no namespace */
    }
    try {
      ip('netns', 'del', ns);
    } catch {
      /* gone */
    }
  };
  process.on('exit', remove);
  ip('netns', 'add', ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, SB_BENCH_NETNS: ns },
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(sig, () => {
      child.kill(sig);
    });
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 128 : 1))));
  remove();
  process.exit(code);
}

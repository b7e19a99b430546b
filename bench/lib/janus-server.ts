/**
 * Janus (Debian's `janus` package) with its VideoRoom plugin and WebSocket transport, for the
 * side-by-side benchmark and its test: a minimal configuration in a temporary folder, the
 * process in a network namespace of its own, a wait until its API answers, and a stop that
 * leaves nothing behind (process group killed, veth and namespace deleted, folder removed) —
 * on failure too, and on process exit.
 *
 * Why a namespace: libnice (Janus's ICE agent) gathers no candidates on loopback interfaces,
 * and this kernel has no dummy links. Two ways around it:
 * - `netns: 'own'` (default, for tests in the root namespace): Janus runs in a namespace joined
 *   to the root one by a veth pair with a /30 from 198.19.0.0/16 (inside 198.18.0.0/15, the
 *   benchmarking range). Its end, `serverAddress`, is the only interface Janus gathers on
 *   (ice_enforce_list); peers in the root namespace bind to the other end, `peerAddress`. The
 *   namespace has no other route, so nothing Janus sends can leave the pair.
 * - `netns: 'current'` (for a bench that already runs in a namespace of its own, see
 *   bench-netns.ts): both ends of the veth pair stay in the current namespace and 127.0.0.1/32
 *   also sits on one of them, the one Janus gathers on. libnice then offers 127.0.0.1 (the
 *   interface is not a loopback one), and peers bound to 127.0.0.1 reach Janus through loopback
 *   exactly as they reach Switchboard. (With a 198.19 address there instead, libnice's checks
 *   from it to the peers' 127.0.0.1 never connected.)
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JanusConnection } from '../loadtest/janus-api.js';

const LIB = '/usr/lib/x86_64-linux-gnu/janus';
/** Everything but the VideoRoom plugin and the WebSocket transport is left out. */
const PLUGINS_OFF = [
  'audiobridge',
  'duktape',
  'echotest',
  'lua',
  'nosip',
  'recordplay',
  'sip',
  'streaming',
  'textroom',
  'videocall',
  'voicemail',
];
const TRANSPORTS_OFF = ['http', 'mqtt', 'nanomsg', 'pfunix', 'rabbitmq'];
const WS_PORT = 8188;

export interface JanusServerOptions {
  /**
   * Janus's `event_loops`: that many shared media threads. 0 (the default) = Janus's default
   * threading, one loop and thread per handle.
   */
  eventLoops?: number;
  /** CPU list for taskset (e.g. "0"); unpinned when absent. */
  cpus?: string;
  /** Part of the namespace name, to tell runs apart (letters, digits, dashes). */
  tag?: string;
  /** Janus's debug_level (default 3: errors and warnings). */
  debugLevel?: number;
  startTimeoutMs?: number;
  /** 'own' (default): a fresh namespace; 'current': this process's namespace, which must not be the root one. */
  netns?: 'own' | 'current';
}

export interface JanusServer {
  /** The janus process (ip netns exec and taskset exec into it, so this is Janus itself). */
  readonly pid: number;
  /** ws://serverAddress:8188/ — the Janus API (WebSocket transport, subprotocol janus-protocol). */
  readonly wsUrl: URL;
  /** Janus's only ICE candidate address: its end of the veth pair ('own'), 127.0.0.1 ('current'). */
  readonly serverAddress: string;
  /** Where peers must bind to reach Janus: our end of the veth pair ('own'), 127.0.0.1 ('current'). */
  readonly peerAddress: string;
  /** The namespace Janus runs in ('' = the current one). */
  readonly namespace: string;
  readonly eventLoops: number;
  /** Last lines of Janus's output. */
  readonly tail: string[];
  stop(): Promise<void>;
}

/** Installs the Debian package when janus is missing (the bench and its test need it). */
export function ensureJanusInstalled(): void {
  try {
    execFileSync('sh', ['-c', 'command -v janus'], { stdio: 'ignore' });
    return;
  } catch {
    /* not installed */
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', 'janus'], { stdio: 'inherit', env });
  } catch {
    // A fresh machine may have no package lists yet.
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', 'janus'], { stdio: 'inherit', env });
  }
}

let counter = 0;
/** Namespaces and links made by this process and not yet removed: removed on exit whatever happens. */
const live = new Map<string, () => void>();
process.on('exit', () => {
  for (const cleanup of live.values()) cleanup();
});

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

/** IPv4 prefixes routed in the root namespace (besides the default route), as [network, mask]. */
function routedPrefixes(): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const text = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (const line of text.split('\n')) {
    const m = /^(?:\S+\s+)?(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?\s/.exec(line);
    if (!m) continue;
    const bits = m[2] === undefined ? 32 : Number(m[2]);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    out.push([(toInt(m[1]!) & mask) >>> 0, mask]);
  }
  return out;
}
const toInt = (a: string): number => a.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
const toAddr = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

/** A /30 in 198.19.0.0/16 that nothing in the root namespace routes yet (other tests use 198.18/15 too). */
function freeSubnet(): number {
  const taken = routedPrefixes();
  for (let tries = 0; tries < 200; tries++) {
    const base = (toInt('198.19.0.0') + (Math.floor(Math.random() * 16384) << 2)) >>> 0;
    const clash = taken.some(([net, mask]) => mask !== 0 && ((base & mask) >>> 0 === net || (net & 0xfffffffc) >>> 0 === base));
    if (!clash) return base;
  }
  throw new Error('janus-server: no free /30 in 198.19.0.0/16');
}

function writeConfig(dir: string, iface: string, address: string, eventLoops: number, debugLevel: number): void {
  const list = (names: string[]): string => names.map((n) => `libjanus_${n}.so`).join(',');
  writeFileSync(
    join(dir, 'janus.jcfg'),
    `general: {
\tconfigs_folder = "${dir}"
\tplugins_folder = "${LIB}/plugins"
\ttransports_folder = "${LIB}/transports"
\tevents_folder = "${LIB}/events"
\tloggers_folder = "${LIB}/loggers"
\tdebug_level = ${debugLevel}
\tsession_timeout = 60
${eventLoops > 0 ? `\tevent_loops = ${eventLoops}\n` : ''}}
certificates: {}
media: {}
nat: {
\tice_enforce_list = "${iface}"
\tignore_mdns = true
}
plugins: {
\tdisable = "${list(PLUGINS_OFF)}"
}
transports: {
\tdisable = "${list(TRANSPORTS_OFF)}"
}
loggers: {
\tdisable = "libjanus_jsonlog.so"
}
events: {
\tbroadcast = false
}
`,
  );
  writeFileSync(
    join(dir, 'janus.transport.websockets.jcfg'),
    `general: {
\tjson = "compact"
\tws = true
\tws_port = ${WS_PORT}
\tws_ip = "${address}"
\twss = false
}
admin: {
\tadmin_ws = false
\tadmin_wss = false
}
`,
  );
  // Rooms are made by the driver ("create"); none are predefined.
  writeFileSync(join(dir, 'janus.plugin.videoroom.jcfg'), 'general: {\n}\n');
}

/** Starts Janus in a fresh namespace; resolves once its API answers an "info" request. */
export async function startJanus(opts: JanusServerOptions = {}): Promise<JanusServer> {
  ensureJanusInstalled();
  const eventLoops = opts.eventLoops ?? 0;
  const n = ++counter;
  const tag = (opts.tag ?? 'janus').replace(/[^A-Za-z0-9-]/g, '').slice(0, 12);
  const own = (opts.netns ?? 'own') === 'own';
  if (!own && !process.env.SB_BENCH_NETNS) throw new Error("janus-server: netns 'current' only inside a bench namespace (SB_BENCH_NETNS)");
  const namespace = own ? `sb-${tag}-${process.pid}-${n}` : '';
  const vethRoot = `sbj${process.pid % 100000}x${n}`.slice(0, 15);
  const vethNs = `sbj${process.pid % 100000}y${n}`.slice(0, 15);
  const dir = mkdtempSync(join(tmpdir(), 'sb-janus-'));
  let proc: ChildProcess | undefined;

  const cleanup = (): void => {
    if (proc?.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // Anything else still in the namespace was started by us (through Janus): end it by pid.
    if (own)
      try {
        const pids = execFileSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
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
      ip('link', 'del', vethRoot);
    } catch {
      /* not made or gone with the namespace */
    }
    if (own)
      try {
        ip('netns', 'del', namespace);
      } catch {
        /* not made */
      }
    rmSync(dir, { recursive: true, force: true });
    live.delete(vethRoot);
  };
  live.set(vethRoot, cleanup);

  const tail: string[] = [];
  try {
    let serverAddress = '127.0.0.1';
    let peerAddress = '127.0.0.1';
    ip('link', 'add', vethRoot, 'type', 'veth', 'peer', 'name', vethNs);
    if (own) {
      const base = freeSubnet();
      serverAddress = toAddr(base + 2);
      peerAddress = toAddr(base + 1);
      ip('netns', 'add', namespace);
      ip('link', 'set', vethNs, 'netns', namespace);
      ip('addr', 'add', `${peerAddress}/30`, 'dev', vethRoot);
      ip('-n', namespace, 'addr', 'add', `${serverAddress}/30`, 'dev', vethNs);
      ip('-n', namespace, 'link', 'set', vethNs, 'up');
      ip('-n', namespace, 'link', 'set', 'lo', 'up');
    } else {
      ip('addr', 'add', '127.0.0.1/32', 'dev', vethNs);
      ip('link', 'set', vethNs, 'up');
    }
    ip('link', 'set', vethRoot, 'up');
    writeConfig(dir, vethNs, serverAddress, eventLoops, opts.debugLevel ?? 3);

    // ip netns exec and taskset exec into what they run: the child's pid is Janus's.
    const command = [
      ...(opts.cpus !== undefined ? ['taskset', '-c', opts.cpus] : []),
      'janus',
      '-F',
      dir,
      '-C',
      join(dir, 'janus.jcfg'),
      '-o',
    ];
    const [file, ...args] = own ? ['ip', 'netns', 'exec', namespace, ...command] : command;
    // Own process group: stop() signals the group, so nothing Janus forks outlives it.
    const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    proc = child;
    child.on('error', (e) => tail.push(`spawn error: ${e.message}`));
    for (const s of [child.stdout, child.stderr]) {
      let partial = '';
      s.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) {
          if (l) {
            tail.push(l);
            if (tail.length > 60) tail.shift();
          }
        }
      });
    }
    const wsUrl = new URL(`ws://${serverAddress}:${WS_PORT}/`);
    await waitForApi(wsUrl, child, opts.startTimeoutMs ?? 15_000, tail);

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((r) => child.once('exit', () => r()));
          try {
            process.kill(-child.pid!, 'SIGTERM');
          } catch {
            /* gone */
          }
          const t = setTimeout(() => {
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              /* gone */
            }
          }, 3000);
          await exited;
          clearTimeout(t);
        }
        cleanup();
      })();
      return stopping;
    };
    return { pid: child.pid!, wsUrl, serverAddress, peerAddress, namespace, eventLoops, tail, stop };
  } catch (e) {
    cleanup();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- janus output (tail) ---\n${tail.join('\n')}`, { cause: e });
  }
}

/** Polls until Janus answers "info" over its WebSocket transport (bounded by timeoutMs). */
async function waitForApi(url: URL, child: ChildProcess, timeoutMs: number, tail: string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not tried';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`janus exited during start (code ${child.exitCode}, signal ${child.signalCode})`);
    try {
      const conn = await JanusConnection.open(url.href, 1000, 2000);
      try {
        const info = await conn.request({ janus: 'info' }, 'info');
        if (info.janus === 'server_info') return;
        last = `info answered "${info.janus}"`;
      } finally {
        await conn.close();
      }
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`janus API at ${url.href} did not answer within ${timeoutMs} ms (last: ${last}; ${tail.length} log lines)`);
}

/**
 * TURN benchmark: Switchboard's TURN server side by side with coturn (Debian `turnserver`), same
 * load, same run, ratios ours/coturn.
 *
 *   npm run build && node dist/bench/turn.js [--only both|coturn|switchboard] [--auth user|secret]
 *
 * Single-core comparison: each server runs as a child process pinned to --server-core (taskset),
 * every load generator to --gen-core (default cores 0 and 1); all traffic is UDP on 127.0.0.1.
 * For each server, in this order:
 *   1. STUN Binding requests/s: closed loop from bench/lib/turn-client.ts (this process).
 *   2. Allocations/s: the full exchange (Allocate → 401 → Allocate → 200 → Refresh 0 → 200),
 *      same generator, several sessions in parallel.
 *   3. Relayed packets/s at < --loss % loss: turnutils_uclient (1,000-byte ChannelData messages,
 *      many clients), clients in pairs talking through their relays (-y; or, --mode echo, each
 *      client to turnutils_peer, a UDP echo), one step per offered rate; a bounded search
 *      (up towards the rate its CPU use predicts until loss, then bisect) finds the highest rate
 *      without loss. A relayed packet
 *      is one datagram forwarded by the server: every delivered message counts two (client →
 *      relay → peer or other relay, and relay → client). Server CPU per relayed packet = utime+stime of the
 *      server process (/proc/PID/stat, all threads) in the step's full-rate window ÷ relayed
 *      packets in it; reported at the first step (--relay-start, the same rate for both
 *      servers) and at each server's best step.
 * Both servers use the same credentials: a long-term user (default) or a TURN REST secret.
 * All children are killed on exit; the whole run is bounded by --timeout seconds.
 *
 * TURN workers: `--turn-workers N` runs Switchboard with N TURN worker processes; the uclient
 * processes then alternate over the workers' ports, the server's CPU is summed over its process
 * tree, and `--server-core 0,1` pins the server (and so its workers) to several cores. The
 * matching coturn has `--coturn-threads N` relay threads (its -m).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
import {
  exitAfter,
  nonNegative,
  startChild,
  stopServer,
  processTicks,
  processTree,
  treeCpuTicks,
  otherTicks,
  udpSocketDrops,
  CLK_TCK,
  type Child,
} from './lib/proc.js';
import { runAllocateLoad, runBindingLoad, waitForStun, type LoadWindow, type Target } from './lib/turn-client.js';
import { runRelayStep, type RelayStepResult } from './lib/uclient.js';
import { ipcRequest } from './lib/ipc.js';
import { summarizeProfile } from './lib/cpuprofile.js';
import { turnRestCredential } from '../src/turn/rest-credentials.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const repo = resolve(here, '..', '..');

// ---- options ------------------------------------------------------------------------------

type Key = 'coturn' | 'switchboard';

interface Opts {
  only: 'both' | Key;
  auth: 'user' | 'secret';
  standIn: boolean;
  mode: 'c2c' | 'echo';
  /** taskset -c lists: "0", or "0,1" for a server with worker processes. */
  serverCore: string;
  genCore: string;
  /** Switchboard's --turn-workers (0: TURN in the one server process). */
  turnWorkers: number;
  warmup: number;
  bindingSeconds: number;
  bindingInflight: number;
  bindingSockets: number;
  allocSeconds: number;
  allocConcurrency: number;
  relayStart: number;
  relayMax: number;
  relaySteps: number;
  relayBudget: number;
  interval: number;
  clientsPerProc: number;
  sendSeconds: number;
  messageBytes: number;
  loss: number;
  coturnThreads: number;
  skip: Set<string>;
  timeout: number;
  cpuProf: boolean;
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = {
    only: 'both',
    auth: 'user',
    standIn: false,
    mode: 'c2c',
    serverCore: '0',
    genCore: '1',
    turnWorkers: 0,
    warmup: 1,
    bindingSeconds: 3,
    bindingInflight: 256,
    bindingSockets: 16,
    allocSeconds: 3,
    allocConcurrency: 128,
    relayStart: 10_000,
    relayMax: 200_000,
    relaySteps: 5,
    relayBudget: 55,
    interval: 2,
    clientsPerProc: 16,
    sendSeconds: 9,
    messageBytes: 1000,
    loss: 0.1,
    coturnThreads: 0,
    skip: new Set(),
    timeout: 300,
    cpuProf: false,
  };
  const num = (k: string, v: string | undefined): number => nonNegative(k, v, usage);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    const int = (k: string) => {
      i++;
      return Math.floor(num(k, v));
    };
    const dec = (k: string) => {
      i++;
      return num(k, v);
    };
    switch (a) {
      case '--only':
        if (v !== 'both' && v !== 'coturn' && v !== 'switchboard') usage('--only both|coturn|switchboard');
        o.only = v;
        i++;
        break;
      case '--auth':
        if (v !== 'user' && v !== 'secret') usage('--auth user|secret');
        o.auth = v;
        i++;
        break;
      case '--stand-in':
        o.standIn = true;
        break;
      case '--mode':
        if (v !== 'c2c' && v !== 'echo') usage('--mode c2c|echo');
        o.mode = v;
        i++;
        break;
      case '--server-core':
        if (!/^\d+(,\d+)*$/.test(v ?? '')) usage('--server-core takes a core or a list (0,1)');
        o.serverCore = v!;
        i++;
        break;
      case '--gen-core':
        if (!/^\d+(,\d+)*$/.test(v ?? '')) usage('--gen-core takes a core or a list (0,1)');
        o.genCore = v!;
        i++;
        break;
      case '--turn-workers':
        o.turnWorkers = int('turn-workers');
        break;
      case '--warmup':
        o.warmup = dec('warmup');
        break;
      case '--binding-seconds':
        o.bindingSeconds = dec('binding-seconds');
        break;
      case '--binding-inflight':
        o.bindingInflight = Math.max(1, int('binding-inflight'));
        break;
      case '--binding-sockets':
        o.bindingSockets = Math.max(1, int('binding-sockets'));
        break;
      case '--alloc-seconds':
        o.allocSeconds = dec('alloc-seconds');
        break;
      case '--alloc-concurrency':
        o.allocConcurrency = Math.max(1, int('alloc-concurrency'));
        break;
      case '--relay-start':
        o.relayStart = Math.max(1, dec('relay-start'));
        break;
      case '--relay-max':
        o.relayMax = Math.max(1, dec('relay-max'));
        break;
      case '--relay-steps':
        o.relaySteps = Math.max(1, int('relay-steps'));
        break;
      case '--relay-budget':
        o.relayBudget = dec('relay-budget');
        break;
      case '--interval':
        o.interval = Math.max(1, int('interval'));
        break;
      case '--clients-per-proc':
        o.clientsPerProc = Math.max(1, int('clients-per-proc'));
        break;
      case '--send-seconds':
        o.sendSeconds = dec('send-seconds');
        break;
      case '--message-bytes':
        o.messageBytes = Math.max(32, int('message-bytes'));
        break;
      case '--loss':
        o.loss = dec('loss');
        break;
      case '--coturn-threads':
        o.coturnThreads = int('coturn-threads');
        break;
      case '--skip':
        for (const p of (v ?? '').split(',')) {
          if (!['binding', 'allocate', 'relay'].includes(p)) usage('--skip takes binding,allocate,relay');
          o.skip.add(p);
        }
        i++;
        break;
      case '--timeout':
        o.timeout = dec('timeout');
        break;
      case '--cpu-prof':
        o.cpuProf = true;
        break;
      case '-h':
      case '--help':
        usage();
        break;
      default:
        usage(`unknown option ${a}`);
    }
  }
  if (o.serverCore === o.genCore && !o.serverCore.includes(',')) usage('--server-core and --gen-core must differ');
  return o;
}

function usage(err?: string): never {
  if (err) console.error(`error: ${err}`);
  console.error(`usage: node dist/bench/turn.js [options]
  --only WHICH             both | coturn | switchboard (default both)
  --auth user|secret       long-term user bench:benchpass (default) or TURN REST secret, same for both
  --stand-in               run coturn in Switchboard's place too (to test the harness before
                           Switchboard has a TURN server; its column is then coturn again)
  --mode c2c|echo          relay loop: uclient -y, clients in pairs through their relays (default), or
                           every client to turnutils_peer, a UDP echo (twice the generator work per packet)
  --server-core N[,M]      CPU core(s) the servers are pinned to (default 0); a list for TURN workers
                           (their processes inherit the pinning)
  --gen-core N[,M]         CPU core(s) of the load generators: uclient, peer, this process (default 1)
  --turn-workers N         Switchboard's --turn-workers (default 0: TURN in the server process); the
                           uclient processes are spread over the workers' ports (port + i), and server
                           CPU is that of the server process and all its workers
  --warmup S               warm-up before each Binding/Allocate measurement (default 1)
  --binding-seconds S      Binding measurement (default 3; 0 or --skip binding skips)
  --binding-inflight N     Binding requests outstanding (default 256)
  --binding-sockets N      client sockets for Binding (default 16)
  --alloc-seconds S        Allocate measurement (default 3)
  --alloc-concurrency N    allocation sessions in parallel (default 128: enough to keep either server busy)
  --relay-start R          first offered rate, messages/s (default 10000 = 20000 relayed packets/s);
                           also the fixed rate for CPU per relayed packet
  --relay-max R            highest offered rate tried (default 200000)
  --relay-steps N          most relay steps per server, a retried step included (default 5)
  --relay-budget S         no new relay step once this many seconds went into a server's search (default 55)
  --interval MS            uclient -z: ms between messages of one client (default 2 = 500 msgs/s per client)
  --clients-per-proc N     uclient -m per process; more clients → more processes (default 16)
  --send-seconds S         how long each client sends (default 9; the full-rate window is ~S − 5 s)
  --message-bytes B        uclient -l (default 1000)
  --loss P                 loss limit in % (default 0.1)
  --coturn-threads N       coturn -m (relay threads; 0 = its single-threaded mode; default 0)
  --skip LIST              comma-separated: binding,allocate,relay
  --timeout S              overall limit; children are killed and exit code is 2 (default 300)
  --cpu-prof               V8 CPU profile of Switchboard during the relay search; prints top frames
                           (profiling costs CPU, and its sampler shares the pinned core, which overstates
                           idle time: use it to see where the busy time goes, not for the ratios)`);
  process.exit(err ? 64 : 0);
}

const opts = parseArgs(process.argv.slice(2));
const commandLine = ['node', 'dist/bench/turn.js', ...process.argv.slice(2)].join(' ');

const overall = exitAfter(opts.timeout);

// ---- credentials and servers ----------------------------------------------------------------

/** CPU (% of one core) used by processes outside the bench above which a measurement is called perturbed. */
const NOISE_PCT = 15;

const USER = 'bench',
  PASSWORD = 'benchpass',
  REALM = 'bench',
  SECRET = 'bench-secret';
const HOST = '127.0.0.1';

/** What a client presents: the user, or a REST pair valid for a day (uclient -W does the same). */
function clientCredential(): { username: string; password: string } {
  if (opts.auth === 'user') return { username: USER, password: PASSWORD };
  const c = turnRestCredential(SECRET, USER, 24 * 3600);
  return { username: c.username, password: c.credential };
}

interface ServerSpec {
  key: Key;
  label: string;
  file: string;
  args: (port: number) => string[];
  notes: string[];
  ipc?: boolean;
}

const tmp = mkdtempSync(join(tmpdir(), 'sb-turn-bench-'));
// coturn's pid file and user db live here; a CPU profile is kept for reading afterwards.
process.on('exit', () => {
  if (!opts.cpuProf) rmSync(tmp, { recursive: true, force: true });
});

function coturnSpec(key: Key, label: string): ServerSpec {
  const auth =
    opts.auth === 'user' ? ['--lt-cred-mech', `--user=${USER}:${PASSWORD}`] : ['--use-auth-secret', `--static-auth-secret=${SECRET}`];
  return {
    key,
    label,
    file: 'turnserver',
    args: (port) => [
      '-n',
      `--listening-ip=${HOST}`,
      `--listening-port=${port}`,
      `--relay-ip=${HOST}`,
      '--allow-loopback-peers',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      ...auth,
      `--realm=${REALM}`,
      `--relay-threads=${opts.coturnThreads}`,
      // No per-user or total allocation quota, no bandwidth cap (0 = unlimited for all four).
      '--user-quota=0',
      '--total-quota=0',
      '--max-bps=0',
      '--bps-capacity=0',
      // Binding answers carry XOR-MAPPED-ADDRESS only, as Switchboard's do (no MAPPED-ADDRESS,
      // RESPONSE-ORIGIN, OTHER-ADDRESS), so both do the same work per request.
      '--no-rfc5780',
      '--no-stun-backward-compatibility',
      '--response-origin-only-with-rfc5780',
      '--log-file=stdout',
      '--simple-log',
      `--pidfile=${join(tmp, `${key}.pid`)}`,
      `--userdb=${join(tmp, `${key}.sqlite`)}`,
    ],
    notes: [
      `turnserver ${coturnVersion()}, -m ${opts.coturnThreads}${opts.coturnThreads === 0 ? ' (single-threaded mode)' : ''}, log to stdout (read by the bench)`,
    ],
  };
}

function switchboardSpec(): ServerSpec {
  const main = join(repo, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} not found: build first (npx tsc -p tsconfig.json)`);
  const auth = opts.auth === 'user' ? ['--turn-user', `${USER}:${PASSWORD}`] : ['--turn-secret', SECRET];
  // bench-preload answers profiling requests over the IPC channel (see bench/lib/bench-preload.ts).
  const preload = opts.cpuProf ? ['--import', pathToFileURL(join(here, 'lib', 'bench-preload.js')).href] : [];
  return {
    key: 'switchboard',
    label: 'Switchboard',
    file: process.execPath,
    ipc: opts.cpuProf,
    args: (port) => [
      ...preload,
      main,
      'turn',
      '--host',
      HOST,
      '--turn-port',
      String(port),
      '--turn-realm',
      REALM,
      ...auth,
      '--turn-allow-peer',
      '127.0.0.0/8',
      '--turn-max-bitrate',
      '0',
      '--turn-max-allocations',
      '100000',
      '--turn-max-allocations-per-user',
      '100000',
      '--log-level',
      'warn',
      '--turn-workers',
      String(opts.turnWorkers),
    ],
    notes: [
      `Node ${process.version}, --turn-workers ${opts.turnWorkers}, log level warn${opts.cpuProf ? '; CPU-profiled during the relay search (its relay numbers are perturbed)' : ''}`,
    ],
  };
}

let coturnVersionCache: string | undefined;
function coturnVersion(): string {
  if (coturnVersionCache === undefined) {
    try {
      const out = execFileSync('turnserver', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      coturnVersionCache = out.trim().split('\n').pop() ?? '?';
    } catch {
      coturnVersionCache = '?';
    }
  }
  return coturnVersionCache;
}

/** A port free on 127.0.0.1 for both UDP and TCP (the servers listen on both). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((r, j) => {
      udp.once('error', j);
      udp.bind(0, HOST, () => r(udp.address().port));
    });
    const tcp = createServer();
    const ok = await new Promise<boolean>((r) => {
      tcp.once('error', () => r(false));
      tcp.listen(port, HOST, () => r(true));
    });
    await new Promise<void>((r) => udp.close(() => r()));
    if (ok) {
      await new Promise<void>((r) => tcp.close(() => r()));
      return port;
    }
  }
  throw new Error('no free port for UDP and TCP');
}

interface Running {
  spec: ServerSpec;
  child: Child;
  pid: number;
  target: Target;
}

interface Peer {
  host: string;
  port: number;
  pid: number;
}

/** `n` consecutive ports free for UDP and TCP (TURN workers listen on port + i). */
async function freePorts(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    let ok = true;
    for (let i = 1; i < n && ok; i++) ok = await portFree(port + i);
    if (ok) return port;
  }
  throw new Error(`no ${n} consecutive free ports`);
}

async function portFree(port: number): Promise<boolean> {
  const udp = createSocket('udp4');
  const udpOk = await new Promise<boolean>((r) => {
    udp.once('error', () => r(false));
    udp.bind(port, HOST, () => r(true));
  });
  udp.close();
  if (!udpOk) return false;
  const tcp = createServer();
  const ok = await new Promise<boolean>((r) => {
    tcp.once('error', () => r(false));
    tcp.listen(port, HOST, () => r(true));
  });
  if (ok) await new Promise<void>((r) => tcp.close(() => r()));
  return ok;
}

/** The ports a server's relay clients are spread over: one per TURN worker for Switchboard with workers. */
function clientPorts(s: Running): number[] {
  const n = s.spec.key === 'switchboard' && !opts.standIn ? Math.max(1, opts.turnWorkers) : 1;
  return Array.from({ length: n }, (_, i) => s.target.port + i);
}

async function startServer(spec: ServerSpec): Promise<Running> {
  const port = await freePorts(spec.key === 'switchboard' ? Math.max(1, opts.turnWorkers) : 1);
  const child = startChild(spec.label, 'taskset', ['-c', String(opts.serverCore), spec.file, ...spec.args(port)], {
    ipc: spec.ipc ?? false,
  });
  const target = { host: HOST, port };
  const exited = new Promise<never>((_, reject) =>
    child.proc.once('exit', (code, sig) =>
      reject(new Error(`${spec.label} exited (code ${code}, signal ${sig})\n--- output (tail) ---\n${child.tail.join('\n')}`)),
    ),
  );
  exited.catch(() => {
    /* only raced below */
  });
  // Ready = answers a STUN Binding request: the same test for both servers, whatever they print.
  await Promise.race([
    (async () => {
      // Every TURN worker's port: worker 0 may answer before the others listen.
      const n = spec.key === 'switchboard' && !opts.standIn ? Math.max(1, opts.turnWorkers) : 1;
      for (let i = 0; i < n; i++) await waitForStun({ host: HOST, port: port + i }, 20_000);
    })(),
    exited,
  ]).catch((e: unknown) => {
    throw new Error(
      `${spec.label} did not start: ${e instanceof Error ? e.message : String(e)}\n--- output (tail) ---\n${child.tail.join('\n')}`,
    );
  });
  return { spec, child, pid: child.pid, target };
}

// ---- relay search ---------------------------------------------------------------------------

interface RelaySearch {
  steps: RelayStepResult[];
  best: RelayStepResult | undefined;
  first: RelayStepResult | undefined;
  /** Why the search stopped. */
  stop: string;
  /** True when the best rate is only a lower bound (generator or --relay-max reached). */
  lowerBound: boolean;
}

function stepPasses(r: RelayStepResult): boolean {
  return r.failure === undefined && r.runLossPct < opts.loss && r.windowLossPct < Math.max(0.5, opts.loss);
}

/** The step was limited by the load generator rather than by the server. */
function generatorLimited(r: RelayStepResult): string | undefined {
  if (r.failure !== undefined) return undefined;
  if (r.sentPerS < 0.97 * r.rate) return `uclient sent ${fi(r.sentPerS)} of ${fi(r.rate)} msgs/s`;
  const genDrops = r.peerDrops + r.clientDrops;
  if (!stepPasses(r) && genDrops > 0.5 * Math.max(1, r.sent - r.received))
    return `most losses were at the load generator's sockets (${fi(genDrops)} drops)`;
  return undefined;
}

let relayStepCount = 0;

async function relaySearch(s: Running, peer: () => Promise<Peer | undefined>): Promise<RelaySearch> {
  const perClient = 1000 / opts.interval;
  const quantize = (rate: number) => Math.max(1, Math.round(rate / perClient)) * perClient;
  const { username, password } = clientCredential();
  const steps: RelayStepResult[] = [];
  let best: RelayStepResult | undefined;
  let failedAt = Infinity;
  let rate = quantize(Math.min(opts.relayStart, opts.relayMax));
  let stop: string | undefined;
  let lowerBound = false;
  let retries = 1;
  const t0 = performance.now();
  for (let i = 0; i < opts.relaySteps; i++) {
    if (i > 0 && (performance.now() - t0) / 1000 > opts.relayBudget) {
      stop = `time budget (${opts.relayBudget} s) used`;
      break;
    }
    const r = await runRelayStep({
      server: s.target,
      ports: clientPorts(s),
      mode: opts.mode,
      peer: await peer(),
      serverPid: s.pid,
      username,
      password,
      rate,
      intervalMs: opts.interval,
      clientsPerProc: opts.clientsPerProc,
      sendSeconds: opts.sendSeconds,
      messageBytes: opts.messageBytes,
      core: opts.genCore,
      localHost: `127.2.${++relayStepCount % 256}.1`,
      extraArgs: opts.auth === 'secret' ? ['-W', SECRET] : [],
    });
    steps.push(r);
    const gen = generatorLimited(r);
    const pass = stepPasses(r);
    log(stepLine(r, pass, gen));
    // On a shared machine a step can be spoilt by other processes: the generator falling
    // behind, or loss while others ran on the server's core. Such a step is run once more.
    const perturbed = !pass && r.failure === undefined && r.otherPct > NOISE_PCT;
    if ((gen || perturbed) && retries > 0) {
      retries--;
      log(
        `  (${gen ? 'generator-limited' : `other processes used ${f(r.otherPct, 0)} % of a core meanwhile`}: running this step once more)`,
      );
      continue;
    }
    if (r.failure !== undefined) {
      if (!best) {
        stop = `step failed: ${r.failure}`;
        break;
      }
      failedAt = Math.min(failedAt, r.rate);
    } else if (gen) {
      stop = `load generator limit: ${gen}`;
      lowerBound = true;
      break;
    } else if (pass) best = !best || r.rate > best.rate ? r : best;
    else failedAt = Math.min(failedAt, r.rate);
    let next: number;
    if (failedAt === Infinity) {
      if (rate >= opts.relayMax) {
        stop = `--relay-max ${fi(opts.relayMax)} msgs/s reached without loss`;
        lowerBound = true;
        break;
      }
      // Aim near where the server's CPU would reach 90 % (its CPU grows about linearly with the
      // rate), within 1.25–4× this rate: fewer steps than plain doubling for the same bracket.
      const aim = r.serverCpuPct > 1 ? (rate * 90) / r.serverCpuPct : rate * 4;
      next = Math.min(Math.max(aim, rate * 1.25), rate * 4, opts.relayMax);
    } else if (!best) {
      next = rate / 2;
    } else {
      if (failedAt / best.rate <= 1.15) {
        stop = `bracketed within 15 % (${fi(best.rate)} passes, ${fi(failedAt)} fails)`;
        break;
      }
      next = (best.rate + failedAt) / 2;
    }
    next = quantize(next);
    if (steps.some((x) => x.rate === next)) {
      stop = 'no untested rate left between pass and fail';
      break;
    }
    rate = next;
  }
  // The fixed-rate point: the last step run at the starting rate (it may have been retried).
  const first = steps.filter((x) => x.rate === steps[0]?.rate).pop();
  // Without a failed step the server's limit is above the best rate found.
  if (best && failedAt === Infinity) lowerBound = true;
  return { steps, best, first, stop: stop ?? `${steps.length} steps done (--relay-steps ${opts.relaySteps})`, lowerBound };
}

// ---- one server -----------------------------------------------------------------------------

interface ServerResult {
  spec: ServerSpec;
  binding: LoadWindow | undefined;
  allocate: LoadWindow | undefined;
  relay: RelaySearch | undefined;
  profile?: string;
}

async function runServer(spec: ServerSpec, peer: () => Promise<Peer | undefined>): Promise<ServerResult> {
  log(`\n== ${spec.label} ==`);
  const s = await startServer(spec);
  log(`pid ${s.pid}, ${HOST}:${s.target.port}, pinned to core ${opts.serverCore}`);
  const meter = {
    serverTicks: () => treeCpuTicks(processTree(s.pid)),
    othersSince: () => {
      const t0 = processTicks();
      return () => otherTicks(t0, processTicks(), [process.pid, ...processTree(s.pid)]);
    },
    serverDrops: () => udpSocketDrops(s.pid),
    clkTck: CLK_TCK,
  };
  const result: ServerResult = { spec, binding: undefined, allocate: undefined, relay: undefined };
  try {
    if (!opts.skip.has('binding') && opts.bindingSeconds > 0) {
      result.binding = await runBindingLoad(
        s.target,
        {
          sockets: opts.bindingSockets,
          inflight: opts.bindingInflight,
          warmupS: opts.warmup,
          seconds: opts.bindingSeconds,
          timeoutMs: 1000,
        },
        meter,
      );
      log(loadLine('Binding', 'requests/s', result.binding));
    }
    if (!opts.skip.has('allocate') && opts.allocSeconds > 0) {
      const { username, password } = clientCredential();
      result.allocate = await runAllocateLoad(
        s.target,
        {
          concurrency: opts.allocConcurrency,
          warmupS: opts.warmup,
          seconds: opts.allocSeconds,
          timeoutMs: 2000,
          username,
          password,
          localAddress: () => `127.1.${(Math.random() * 256) | 0}.${1 + ((Math.random() * 254) | 0)}`,
        },
        meter,
      );
      log(loadLine('Allocate', 'allocations/s', result.allocate));
    }
    if (!opts.skip.has('relay')) {
      if (spec.ipc) await ipcRequest(s.child.proc, { cmd: 'prof-start' });
      result.relay = await relaySearch(s, peer);
      log(`relay search stopped: ${result.relay.stop}`);
      if (spec.ipc) {
        const path = join(tmp, `${spec.key}-relay.cpuprofile`);
        await ipcRequest(s.child.proc, { cmd: 'prof-stop', path }, 30_000);
        result.profile = path;
      }
    }
    if (s.child.proc.exitCode !== null || s.child.proc.signalCode !== null)
      throw new Error(`${spec.label} died during the run\n${s.child.tail.join('\n')}`);
    return result;
  } finally {
    await stopServer({ proc: s.child.proc });
  }
}

// ---- output ---------------------------------------------------------------------------------

function log(s: string): void {
  console.log(s);
}
const f = (n: number | undefined, d = 1) => (n !== undefined && Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const fi = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

function errs(e: Record<string, number>): string {
  const s = Object.entries(e)
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
  return s ? ` | ${s}` : '';
}

function loadLine(what: string, unit: string, w: LoadWindow): string {
  return (
    `${what}: ${fi(w.perS)} ${unit} (${fi(w.requests)} requests in ${f(w.seconds, 1)} s) | server CPU ${f(w.serverCpuPct, 0)} % = ` +
    `${f(w.cpuUsPerOp, 1)} µs each | generator CPU ${f(w.loadCpuPct, 0)} % | other processes ${f(w.otherPct, 0)} % | server UDP drops ${fi(w.serverDrops)}${errs(w.errors)}`
  );
}

function stepLine(r: RelayStepResult, pass: boolean, gen: string | undefined): string {
  if (r.failure !== undefined) return `relay ${fi(r.rate)} msgs/s (${r.clients} clients): FAILED — ${r.failure}`;
  const verdict = gen ? `generator-limited (${gen})` : pass ? 'pass' : 'LOSS';
  return (
    `relay ${fi(r.rate)} msgs/s offered (${r.clients} clients in ${r.procs} uclient, ${r.messagesPerClient} msgs each): ` +
    `window ${f(r.windowS, 1)} s sent ${fi(r.sentPerS)}/s delivered ${fi(r.receivedPerS)}/s → ${fi(r.relayedPerS)} relayed pkts/s | ` +
    `loss run ${f(r.runLossPct, 3)} % window ${f(r.windowLossPct, 2)} % | server CPU ${f(r.serverCpuPct, 0)} % = ` +
    `${f(r.cpuUsPerPacket, 2)} µs/pkt | uclient${opts.mode === 'echo' ? ' + peer' : ''} CPU ${f(r.genCpuPct, 0)} % | other processes ${f(r.otherPct, 0)} % | ` +
    `UDP rcvbuf drops ${fi(r.udpDrops)} (server ${fi(r.serverDrops)}, peer ${fi(r.peerDrops)}, uclient ${fi(r.clientDrops)}) → ${verdict}` +
    (r.sent > r.received ? ` | lost per second: ${r.lossBySecond.join(' ')}` : '') +
    (r.notes.length ? ` | ${r.notes.join('; ')}` : '')
  );
}

function ratio(ours: number | undefined, theirs: number | undefined): number {
  return ours !== undefined && theirs !== undefined && Number.isFinite(ours) && Number.isFinite(theirs) && theirs !== 0
    ? ours / theirs
    : NaN;
}

interface Row {
  name: string;
  get: (r: ServerResult) => number | undefined;
  fmt: (n: number | undefined) => string;
  better?: 'higher' | 'lower';
}

function report(results: ServerResult[]): void {
  const co = results.find((r) => r.spec.key === 'coturn');
  const sb = results.find((r) => r.spec.key === 'switchboard');
  const both = co && sb;
  const bestRate = (r: ServerResult) => r.relay?.best?.relayedPerS;
  const lb = (r: ServerResult) => (r.relay?.lowerBound ? ' (≥)' : '');
  const rows: Row[] = [
    { name: `relayed packets/s at < ${opts.loss} % loss (${opts.messageBytes}-byte messages)`, get: bestRate, fmt: fi, better: 'higher' },
    { name: '  offered at that step (msgs/s; clients)', get: (r) => r.relay?.best?.rate, fmt: fi },
    { name: '  loss at that step, whole run (%)', get: (r) => r.relay?.best?.runLossPct, fmt: (n) => f(n, 3) },
    { name: '  server CPU at that step (% of one core)', get: (r) => r.relay?.best?.serverCpuPct, fmt: (n) => f(n, 0) },
    {
      name: '  server CPU per relayed packet at that step (µs; lower is better)',
      get: (r) => r.relay?.best?.cpuUsPerPacket,
      fmt: (n) => f(n, 2),
      better: 'lower',
    },
    {
      name: `server CPU per relayed packet at ${fi(2 * (results[0]?.relay?.first?.rate ?? NaN))} pkts/s (µs; lower is better)`,
      get: (r) => r.relay?.first?.cpuUsPerPacket,
      fmt: (n) => f(n, 2),
      better: 'lower',
    },
    { name: '  server CPU at that rate (% of one core)', get: (r) => r.relay?.first?.serverCpuPct, fmt: (n) => f(n, 0) },
    { name: '  loss at that rate, whole run (%)', get: (r) => r.relay?.first?.runLossPct, fmt: (n) => f(n, 3) },
    { name: 'allocations/s (401 → Allocate → Refresh 0, full exchange)', get: (r) => r.allocate?.perS, fmt: fi, better: 'higher' },
    { name: '  server CPU per allocation (µs; lower is better)', get: (r) => r.allocate?.cpuUsPerOp, fmt: (n) => f(n, 0), better: 'lower' },
    { name: '  server CPU (% of one core)', get: (r) => r.allocate?.serverCpuPct, fmt: (n) => f(n, 0) },
    { name: '  generator CPU (% of one core)', get: (r) => r.allocate?.loadCpuPct, fmt: (n) => f(n, 0) },
    { name: 'STUN Binding requests/s', get: (r) => r.binding?.perS, fmt: fi, better: 'higher' },
    {
      name: '  server CPU per Binding request (µs; lower is better)',
      get: (r) => r.binding?.cpuUsPerOp,
      fmt: (n) => f(n, 2),
      better: 'lower',
    },
    { name: '  server CPU (% of one core)', get: (r) => r.binding?.serverCpuPct, fmt: (n) => f(n, 0) },
    { name: '  generator CPU (% of one core)', get: (r) => r.binding?.loadCpuPct, fmt: (n) => f(n, 0) },
  ];
  console.log('\n## TURN benchmark\n');
  console.log(`Command: \`${commandLine}\``);
  console.log(
    `Effective: servers pinned to core ${opts.serverCore}, generators to core ${opts.genCore}; auth ${opts.auth === 'user' ? `long-term user ${USER}` : 'TURN REST secret'}, realm ${REALM}. ` +
      `Binding: ${opts.bindingInflight} in flight over ${opts.bindingSockets} sockets, ${opts.warmup} s warm-up + ${opts.bindingSeconds} s. ` +
      `Allocate: ${opts.allocConcurrency} sessions, ${opts.warmup} s + ${opts.allocSeconds} s. ` +
      `Relay: turnutils_uclient -l ${opts.messageBytes} -z ${opts.interval} (${fi(1000 / opts.interval)} msgs/s per client) -c, channels, ≤ ${opts.clientsPerProc} clients per process, ` +
      `~${opts.sendSeconds} s per client, ${opts.mode === 'c2c' ? 'clients in pairs (-y)' : 'echo by turnutils_peer'}; search from ${fi(opts.relayStart)} msgs/s, ≤ ${opts.relaySteps} steps; pass = whole-run loss < ${opts.loss} % and full-rate window loss < ${Math.max(0.5, opts.loss)} %.`,
  );
  console.log(
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, load average at start ${startLoad.map((x) => x.toFixed(2)).join(' ')}.\n`,
  );
  console.log(`| metric | ${results.map((r) => r.spec.label).join(' | ')} |${both ? ' ours / coturn |' : ''}`);
  console.log(`|---|${results.map(() => '---:').join('|')}|${both ? '---:|' : ''}`);
  for (const row of rows) {
    const cells = results.map((r) => {
      const base = row.fmt(row.get(r));
      if (row.name.startsWith('  offered')) return `${base}; ${r.relay?.best?.clients ?? 'n/a'}`;
      return row.get === bestRate ? base + lb(r) : base;
    });
    const rat = both && row.better ? f(ratio(row.get(sb), row.get(co)), 2) + '×' : '';
    console.log(`| ${row.name} | ${cells.join(' | ')} |${both ? ` ${rat} |` : ''}`);
  }
  for (const r of results) for (const n of r.spec.notes) console.log(`\n- ${r.spec.label}: ${n}`);

  if (both) {
    console.log('\nRatios ours / coturn (goal: ≥ 1.0 for rates, ≤ 1.0 for CPU per unit of work; single core):');
    const line = (name: string, ours: number | undefined, theirs: number | undefined, better: 'higher' | 'lower', bound = '') => {
      const q = ratio(ours, theirs);
      let ok = Number.isFinite(q) ? (better === 'higher' ? q >= 1 : q <= 1) : undefined;
      // A lower bound decides only one way: ours ≥ x ≥ coturn, or ours < coturn's ≥ y.
      if (bound && ok !== undefined && (ok ? !!co.relay?.lowerBound : !!sb.relay?.lowerBound)) ok = undefined;
      const verdict =
        ok === undefined
          ? Number.isFinite(q)
            ? 'undecided'
            : 'not measured'
          : ok
            ? 'meets the goal'
            : better === 'higher'
              ? `short by ${f(100 * (1 - q), 1)} %`
              : `${f(100 * (q - 1), 1)} % more CPU`;
      console.log(`  ${name.padEnd(40)} ${f(q, 2)}×  ${verdict}${bound}`);
    };
    const bound = co.relay?.lowerBound || sb.relay?.lowerBound ? '  (a lower bound is involved: see the relay notes)' : '';
    line('relayed packets/s at < loss limit', bestRate(sb), bestRate(co), 'higher', bound);
    line(`CPU per relayed packet @ fixed rate`, sb.relay?.first?.cpuUsPerPacket, co.relay?.first?.cpuUsPerPacket, 'lower');
    line('allocations/s', sb.allocate?.perS, co.allocate?.perS, 'higher');
    line('STUN Binding requests/s', sb.binding?.perS, co.binding?.perS, 'higher');
  }
  for (const r of results) {
    for (const [what, w] of [
      ['Binding', r.binding],
      ['Allocate', r.allocate],
    ] as const) {
      if (w && w.loadCpuPct > 90 && w.serverCpuPct < 90)
        console.log(
          `\nnote: ${r.spec.label} ${what}: the generator (${f(w.loadCpuPct, 0)} % CPU) was busier than the server (${f(w.serverCpuPct, 0)} %): that figure is generator-bound, a lower bound.`,
        );
      if (w && Object.keys(w.errors).length) console.log(`\nnote: ${r.spec.label} ${what}: ${errs(w.errors).slice(3)}`);
    }
    const noisy = [
      ['Binding', r.binding?.otherPct],
      ['Allocate', r.allocate?.otherPct],
      ...(r.relay?.steps ?? []).map((x) => [`relay ${fi(x.rate)}`, x.otherPct] as const),
    ] as const;
    const spoilt = noisy.filter(([, p]) => p !== undefined && p > NOISE_PCT).map(([w, p]) => `${w} (${f(p, 0)} %)`);
    if (spoilt.length)
      console.log(
        `\nnote: ${r.spec.label}: other processes used CPU (% of one core) during ${spoilt.join(', ')}: those numbers are perturbed; rerun on a quiet machine.`,
      );
    if (r.relay) {
      console.log(`\nnote: ${r.spec.label} relay search stopped: ${r.relay.stop}.`);
      const busy = r.relay.steps.filter((s) => s.genCpuPct > 85);
      if (busy.length)
        console.log(
          `\nnote: ${r.spec.label}: the load generators used > 85 % of their core at ${busy.map((s) => fi(s.rate)).join(', ')} msgs/s; losses there may be theirs.`,
        );
    }
  }
  for (const r of results)
    if (r.profile) console.log(`\n${r.spec.label} during the relay search (${r.profile}) — ${summarizeProfile(r.profile, 20, true)}`);
  const json = {
    bench: 'turn',
    command: commandLine,
    auth: opts.auth,
    loadAverageAtStart: startLoad,
    servers: Object.fromEntries(
      results.map((r) => [
        r.spec.key,
        {
          label: r.spec.label,
          relayedPacketsPerS: bestRate(r) ?? null,
          relayLowerBound: r.relay?.lowerBound ?? null,
          relayBestStep: r.relay?.best ?? null,
          relayFirstStep: r.relay?.first ?? null,
          relaySteps: r.relay?.steps ?? [],
          relayStop: r.relay?.stop ?? null,
          cpuUsPerRelayedPacketAtFixedRate: r.relay?.first?.cpuUsPerPacket ?? null,
          allocationsPerS: r.allocate?.perS ?? null,
          allocate: r.allocate ?? null,
          bindingPerS: r.binding?.perS ?? null,
          binding: r.binding ?? null,
        },
      ]),
    ),
    ratiosOursOverCoturn: both
      ? {
          relayedPacketsPerS: ratio(bestRate(sb), bestRate(co)),
          cpuPerRelayedPacketAtFixedRate: ratio(sb.relay?.first?.cpuUsPerPacket, co.relay?.first?.cpuUsPerPacket),
          allocationsPerS: ratio(sb.allocate?.perS, co.allocate?.perS),
          bindingPerS: ratio(sb.binding?.perS, co.binding?.perS),
        }
      : null,
  };
  console.log(`\n${JSON.stringify(json, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}`);
}

// ---- main -----------------------------------------------------------------------------------

const startLoad = loadavg();

async function main(): Promise<void> {
  // This process is a load generator too (Binding, Allocate): keep it off the servers' core.
  execFileSync('taskset', ['-a', '-p', '-c', String(opts.genCore), String(process.pid)], { stdio: 'ignore' });
  const specs: ServerSpec[] = [];
  if (opts.only !== 'switchboard') specs.push(coturnSpec('coturn', 'coturn'));
  if (opts.only !== 'coturn') {
    if (opts.standIn) {
      const s = coturnSpec('switchboard', 'coturn as stand-in for Switchboard');
      s.notes.push('STAND-IN: this column is coturn again (--stand-in), not Switchboard');
      specs.push(s);
    } else specs.push(switchboardSpec());
  }
  log(`turn bench: ${commandLine}`);
  let peerChild: Child | undefined;
  let peerInfo: Peer | undefined;
  /** The echo peer for the next step (mode echo), started anew if it is not running. */
  const peer = async (): Promise<Peer | undefined> => {
    if (opts.mode !== 'echo') return undefined;
    if (peerChild && peerChild.proc.exitCode === null && peerChild.proc.signalCode === null) return peerInfo;
    if (peerChild)
      log(`note: turnutils_peer had exited (code ${peerChild.proc.exitCode}, signal ${peerChild.proc.signalCode}); starting a new one`);
    const port = await freePort();
    peerChild = startChild('turnutils_peer', 'taskset', ['-c', String(opts.genCore), 'turnutils_peer', '-L', HOST, '-p', String(port)]);
    await new Promise((r) => setTimeout(r, 300));
    if (peerChild.proc.exitCode !== null) throw new Error(`turnutils_peer exited: ${peerChild.tail.join('\n')}`);
    peerInfo = { host: HOST, port, pid: peerChild.pid };
    log(`echo peer: turnutils_peer on ${HOST}:${port} (pid ${peerChild.pid}), core ${opts.genCore}`);
    return peerInfo;
  };
  const results: ServerResult[] = [];
  try {
    for (const spec of specs) results.push(await runServer(spec, peer));
  } finally {
    if (peerChild) await stopServer({ proc: peerChild.proc });
  }
  report(results);
}

main().then(
  () => {
    clearTimeout(overall);
    process.exit(process.exitCode ?? 0);
  },
  (e: unknown) => {
    console.error(`\nbench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);

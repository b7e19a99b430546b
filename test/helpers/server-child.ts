/**
 * A server under test as a child process started as a user starts it: `switchboard serve` on
 * loopback with every port 0 (the soak, the live fuzz harness). Its ports come from the banner
 * it prints; its JSON log lines (pino, stdout) and its stderr are kept for the end-of-run check.
 * With `inspect`, it runs with the V8 inspector on a loopback port so that a full garbage
 * collection can be forced before measuring (HeapProfiler.collectGarbage): nothing is added to
 * production code for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { wsText } from './ws-text.js';

/** dist/test/helpers → dist/src/cli/main.js */
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface LogLine {
  level: number;
  msg: string;
  raw: string;
}

export interface ServerChild {
  pid: number;
  httpUrl: string;
  wsUrl: string;
  turnPort: number;
  /** 0 without a TURN TLS listener. */
  turnTlsPort: number;
  rtcPort: number;
  logs: LogLine[];
  /** stderr lines that are not the inspector's own notices. */
  stderr: string[];
  /** Full GC in the server (V8 inspector, `inspect` only); resolves when done. */
  collectGarbage(): Promise<void>;
  /** The exit code and signal once it has exited (null while it runs). */
  readonly exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

export interface ServerChildOptions {
  /** Flags after the loopback/port-0 ones the helper always gives. */
  args: string[];
  /** Start with the V8 inspector on loopback (for collectGarbage). */
  inspect?: boolean;
}

/** What the inspector writes to stderr by itself: not the server's output. */
const INSPECTOR_NOTICE =
  /^(Debugger listening on |Debugger ending on |For help, see: https:\/\/nodejs\.org|Debugger attached\.|Waiting for the debugger to disconnect)/;

export async function startServerChild(opts: ServerChildOptions, timeoutMs = 20_000): Promise<ServerChild> {
  const args = [
    ...(opts.inspect ? ['--inspect=127.0.0.1:0'] : []),
    MAIN,
    'serve',
    '--port',
    '0',
    '--turn-port',
    '0',
    '--rtc-port',
    '0',
    '--host',
    '127.0.0.1',
    '--rtc-host',
    '127.0.0.1',
    ...opts.args,
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let exit: ServerChild['exit'] = null;
  child.once('exit', (code, signal) => {
    exit = { code, signal };
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  let inspectorUrl = '';
  const banner: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) {
      try {
        const j = JSON.parse(line) as { level?: unknown; msg?: unknown };
        if (typeof j.level === 'number') {
          logs.push({ level: j.level, msg: typeof j.msg === 'string' ? j.msg : '', raw: line });
          return;
        }
      } catch {
        /* not a log line */
      }
    }
    banner.push(line);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    const m = /^Debugger listening on (ws:\/\/\S+)/.exec(line);
    if (m) inspectorUrl = m[1] as string;
    if (!INSPECTOR_NOTICE.test(line)) stderr.push(line);
  });

  const deadline = Date.now() + timeoutMs;
  let httpUrl = '';
  let turnPort = 0;
  let turnTlsPort = 0;
  let rtcPort = 0;
  while (Date.now() < deadline && child.exitCode === null) {
    const text = banner.join('\n');
    httpUrl = /Switchboard listening on (http:\/\/\S+)/.exec(text)?.[1] ?? '';
    const turn = /STUN\/TURN: udp and tcp port (\d+)(?:, tls port (\d+))?/.exec(text);
    turnPort = Number(turn?.[1] ?? 0);
    turnTlsPort = Number(turn?.[2] ?? 0);
    rtcPort = Number(/RTC media: udp(?: and tcp)? port (\d+)/.exec(text)?.[1] ?? 0);
    if (httpUrl && turnPort && rtcPort && (inspectorUrl || !opts.inspect)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!httpUrl || !turnPort || !rtcPort || (opts.inspect && !inspectorUrl)) {
    child.kill('SIGKILL');
    throw new Error(`server did not start: stdout ${JSON.stringify(banner)} stderr ${JSON.stringify(stderr)}`);
  }

  return {
    pid: child.pid as number,
    httpUrl,
    wsUrl: `${httpUrl.replace(/^http/, 'ws')}/ws`,
    turnPort,
    turnTlsPort,
    rtcPort,
    logs,
    stderr,
    get exit() {
      return exit;
    },
    exited,
    collectGarbage: () =>
      inspectorUrl ? inspectorCall(inspectorUrl, 'HeapProfiler.collectGarbage') : Promise.reject(new Error('started without inspect')),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** One Chrome DevTools Protocol call over the inspector's WebSocket, then the session is closed. */
async function inspectorCall(url: string, method: string, timeoutMs = 15_000): Promise<void> {
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`inspector ${method}: no answer in ${timeoutMs} ms`)), timeoutMs);
      ws.once('error', (err) => {
        clearTimeout(t);
        reject(err);
      });
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, method })));
      ws.on('message', (data) => {
        const m = JSON.parse(wsText(data)) as { id?: number; error?: { message: string } };
        if (m.id !== 1) return;
        clearTimeout(t);
        if (m.error) reject(new Error(`inspector ${method}: ${m.error.message}`));
        else resolve();
      });
    });
  } finally {
    ws.close();
    await new Promise((r) => setTimeout(r, 100));
  }
}

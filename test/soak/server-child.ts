/**
 * The server under soak, as a child process: `switchboard serve` on loopback with every port 0.
 * Its ports come from the banner it prints; its JSON log lines (pino, stdout) and its stderr are
 * kept for the end-of-run check. It runs with the V8 inspector on a loopback port so that the
 * soak can force a full garbage collection before measuring (HeapProfiler.collectGarbage):
 * nothing is added to production code for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

/** dist/test/soak → dist/src/cli/main.js */
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
  rtcPort: number;
  logs: LogLine[];
  /** stderr lines that are not the inspector's own notices. */
  stderr: string[];
  /** Full GC in the server (V8 inspector); resolves when done. */
  collectGarbage(): Promise<void>;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

export interface ServerChildOptions {
  resumeGraceMs: number;
}

/** What the inspector writes to stderr by itself: not the server's output. */
const INSPECTOR_NOTICE = /^(Debugger listening on |Debugger ending on |For help, see: https:\/\/nodejs\.org|Debugger attached\.|Waiting for the debugger to disconnect)/;

export async function startServerChild(opts: ServerChildOptions, timeoutMs = 20_000): Promise<ServerChild> {
  const args = [
    '--inspect=127.0.0.1:0', MAIN, 'serve',
    '--port', '0', '--turn-port', '0', '--rtc-port', '0', '--host', '127.0.0.1', '--rtc-host', '127.0.0.1',
    '--log-level', 'info', '--resume-grace-ms', String(opts.resumeGraceMs),
    // The soak's TURN clients relay to each other's relay addresses on loopback (refused by default).
    '--turn-allow-peer', '127.0.0.1/32',
    // A small MCU canvas and one tier: the soak checks lifecycles, not the encoder's throughput, on a shared 2-core machine.
    '--mcu-width', '320', '--mcu-height', '240', '--mcu-fps', '10', '--mcu-tier', '200',
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
      } catch { /* not a log line */ }
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
  let rtcPort = 0;
  while (Date.now() < deadline && child.exitCode === null) {
    const text = banner.join('\n');
    httpUrl = /Switchboard listening on (http:\/\/\S+)/.exec(text)?.[1] ?? '';
    turnPort = Number(/STUN\/TURN: udp and tcp port (\d+)/.exec(text)?.[1] ?? 0);
    rtcPort = Number(/RTC media: udp(?: and tcp)? port (\d+)/.exec(text)?.[1] ?? 0);
    if (httpUrl && turnPort && rtcPort && inspectorUrl) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!httpUrl || !turnPort || !rtcPort || !inspectorUrl) {
    child.kill('SIGKILL');
    throw new Error(`server did not start: stdout ${JSON.stringify(banner)} stderr ${JSON.stringify(stderr)}`);
  }

  return {
    pid: child.pid as number,
    httpUrl,
    wsUrl: `${httpUrl.replace(/^http/, 'ws')}/ws`,
    turnPort,
    rtcPort,
    logs,
    stderr,
    exited,
    collectGarbage: () => inspectorCall(inspectorUrl, 'HeapProfiler.collectGarbage'),
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
      ws.once('error', (err) => { clearTimeout(t); reject(err); });
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, method })));
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as { id?: number; error?: { message: string } };
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

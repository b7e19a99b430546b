/**
 * The server under attack, as a child process started by the CLI exactly as a user starts it
 * (`switchboard serve`), so that a crash is a dead process and memory is the process's own.
 * Ports are all picked by the kernel and read from the banner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface ServerPorts { http: number; turn: number; turnTls: number; rtc: number }

export class ServerProcess {
  readonly logs: string[] = [];
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;

  private constructor(private readonly child: ChildProcess, readonly ports: ServerPorts) {}

  static async start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
    const child = spawn(process.execPath, [CLI, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const ports = await new Promise<ServerPorts>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
      const onData = (chunk: Buffer): void => {
        out += chunk.toString();
        const http = /listening on https?:\/\/[^:]+:(\d+)/.exec(out);
        const turn = /STUN\/TURN: udp and tcp port (\d+)(?:, tls port (\d+))?/.exec(out);
        const rtc = /media:\s+udp and tcp port (\d+)/.exec(out);
        if (http && turn && rtc) {
          clearTimeout(timer);
          resolve({ http: Number(http[1]), turn: Number(turn[1]), turnTls: Number(turn[2] ?? 0), rtc: Number(rtc[1]) });
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code} at start:\n${out}`)); });
    });
    const server = new ServerProcess(child, ports);
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') server.logs.push(line);
      // Bounded: the harness needs the recent lines, not all of them.
      if (server.logs.length > 20_000) server.logs.splice(0, server.logs.length - 10_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('exit', (code, signal) => { server.exitCode = code; server.exitSignal = signal; });
    return server;
  }

  get pid(): number { return this.child.pid ?? 0; }
  get alive(): boolean { return this.exitCode === null && this.exitSignal === null; }
  get baseUrl(): string { return `http://127.0.0.1:${this.ports.http}`; }

  /** GET /healthz answered 200 within `timeoutMs`. */
  async healthy(timeoutMs = 5000): Promise<boolean> {
    if (!this.alive) return false;
    try {
      const res = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** Prometheus samples by full series name (`name{labels}`). */
  async metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(`${this.baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      const at = line.lastIndexOf(' ');
      out.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
    return out;
  }

  /** Resident memory in bytes and open file descriptors, from /proc. */
  resources(): { rssBytes: number; fds: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return { rssBytes: Number(rss?.[1] ?? 0) * 1024, fds: readdirSync(`/proc/${this.pid}/fd`).length };
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * A real Redis (Debian's /usr/bin/redis-server) for a test: on a free loopback port, without
 * persistence (`--save '' --appendonly no`), stopped by PID. `kill9()` and `restart()` (same
 * port, empty data: what a crashed Redis without persistence comes back as) are for the outage
 * tests. Every server started here is killed when the test process exits, even after a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

const REDIS_SERVER = '/usr/bin/redis-server';
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function freeLoopbackPort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const s = createServer()
      .listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      })
      .on('error', reject);
  });
}

/** Whether a Redis answers PING on the port within `ms`. */
function pingOnce(port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    let reply = '';
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    sock.on('error', () => done(false));
  });
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'sb-redis-'));
  private output = '';

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freeLoopbackPort());
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts redis-server on this port (again) and waits until it answers PING. */
  async launch(): Promise<void> {
    if (this.child) throw new Error('redis-server already running');
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--daemonize', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    running.add(child);
    child.stdout?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000)));
    child.once('exit', () => {
      running.delete(child);
      if (this.child === child) this.child = undefined;
    });
    await this.waitReady(5000);
  }

  async waitReady(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (!this.child) throw new Error(`redis-server exited:\n${this.output}`);
      if (await pingOnce(this.port, 200)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`redis-server on ${this.port} not ready after ${ms} ms:\n${this.output}`);
  }

  /** SIGKILL, as a crash: waits until the process is gone. */
  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM, then SIGKILL if it lingers; waits until the process is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await this.signal('SIGTERM');
    clearTimeout(timer);
  }

  /** Killed (SIGKILL) and started again on the same port, empty. */
  async restart(): Promise<void> {
    await this.kill9();
    await this.launch();
  }

  /** Stops the server and removes its directory. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(sig);
    await gone;
  }
}

/** A Redis for one test and the nodes the test starts on it (push them): all closed when the test ends, nodes first. */
export async function redisWithNodes<N extends { close(): void }>(t: TestContext): Promise<{ redis: RedisServer; nodes: N[] }> {
  const redis = await RedisServer.start();
  const nodes: N[] = [];
  t.after(async () => {
    for (const n of nodes) n.close();
    await redis.close();
  });
  return { redis, nodes };
}

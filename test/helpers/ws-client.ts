/**
 * A signaling client for server tests: records every message received, in order, and
 * waits for the next one of a type with a deadline.
 */
import { WebSocket, type ClientOptions } from 'ws';
import type { ServerMessage, WelcomeMsg } from '../../src/protocol/index.js';
import { wsText } from './ws-text.js';

type Of<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

export class TestClient {
  readonly received: ServerMessage[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];
  closeCode: number | null = null;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.received.push(JSON.parse(wsText(data)) as ServerMessage);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        for (const w of this.waiters.splice(0)) w();
        resolve(code);
      }),
    );
  }

  static async connect(url: string, opts: ClientOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, opts);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new TestClient(ws);
  }

  /** Connects and says hello; returns the client and its welcome. */
  static async hello(url: string, hello: Record<string, unknown> = {}, opts: ClientOptions = {}): Promise<[TestClient, WelcomeMsg]> {
    const c = await TestClient.connect(url, opts);
    c.send({ type: 'hello', ...hello });
    return [c, await c.next('welcome')];
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The next not-yet-consumed message of `type` (earlier ones of other types are skipped). */
  async next<T extends ServerMessage['type']>(type: T, timeoutMs = 3000): Promise<Of<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.received.length; i++) {
        const m = this.received[i] as ServerMessage;
        if (m.type === type) {
          this.cursor = i + 1;
          return m as Of<T>;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== null) {
        throw new Error(`no "${type}" within ${timeoutMs} ms; received: ${JSON.stringify(this.received.slice(this.cursor)).slice(0, 600)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends `msg` and returns the error it provokes. */
  async expectError(msg: unknown): Promise<Of<'error'>> {
    this.send(msg);
    return this.next('error');
  }

  /** Join a room; returns the `joined` answer. */
  async join(room: string): Promise<Of<'joined'>> {
    this.send({ type: 'join', room });
    return this.next('joined');
  }

  close(): void {
    this.ws.close(1000);
  }

  terminate(): void {
    this.ws.terminate();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Request/response over a child's IPC channel (see bench-preload.ts). */
import type { ChildProcess } from 'node:child_process';

let seq = 0;

export function ipcRequest<T>(proc: ChildProcess, msg: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const id = ++seq;
    const timer = setTimeout(() => {
      proc.off('message', onMsg);
      reject(new Error(`IPC ${String(msg.cmd)} timed out`));
    }, timeoutMs);
    const onMsg = (m: { seq?: number; result?: T; error?: string }) => {
      if (m?.seq !== id) return;
      clearTimeout(timer);
      proc.off('message', onMsg);
      if (m.error) reject(new Error(m.error));
      else resolve(m.result as T);
    };
    proc.on('message', onMsg);
    proc.send({ ...msg, seq: id });
  });
}

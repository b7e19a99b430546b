/**
 * Loaded into each server child with `node --expose-gc --import <this file>` (bench only;
 * the server code is untouched). Over the IPC channel the bench can ask for:
 *   {cmd:'mem'}         → full GC (twice) then process.memoryUsage()
 *   {cmd:'prof-start'}  → start a V8 CPU profile (inspector, same thread)
 *   {cmd:'prof-stop', path} → stop it and write a .cpuprofile file
 * The channel is unref'd, so it never keeps the server alive or changes its shutdown.
 */
import inspector from 'node:inspector';
import { writeFileSync } from 'node:fs';

type Cmd = { seq: number; cmd: 'mem' } | { seq: number; cmd: 'prof-start' } | { seq: number; cmd: 'prof-stop'; path: string };

let session: inspector.Session | undefined;

function post<T>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session!.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T)));
  });
}

async function handle(m: Cmd): Promise<unknown> {
  switch (m.cmd) {
    case 'mem': {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) {
        gc();
        gc();
      }
      return { ...process.memoryUsage(), gc: Boolean(gc) };
    }
    case 'prof-start':
      session = new inspector.Session();
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 200 });
      await post('Profiler.start');
      return { ok: true };
    case 'prof-stop': {
      if (!session) return { ok: false };
      const { profile } = await post<{ profile: unknown }>('Profiler.stop');
      session.disconnect();
      session = undefined;
      writeFileSync(m.path, JSON.stringify(profile));
      return { ok: true, path: m.path };
    }
  }
}

if (process.send) {
  process.on('message', (m: Cmd) => {
    handle(m).then(
      (result) => process.send?.({ seq: m.seq, result }),
      (err: unknown) => process.send?.({ seq: m.seq, error: String(err) }),
    );
  });
  process.channel?.unref();
}

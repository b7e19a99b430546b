/**
 * WorkerProcess ↔ ParentLink over a real child process: requests and their errors (codes kept),
 * events, the bounds (request timeout, pending cap), crash and close, niceness.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SwitchboardError } from '../../src/protocol/errors.js';
import { WorkerProcess } from '../../src/server/workers/WorkerProcess.js';
import type { EchoEvents, EchoMethods } from '../fixtures/workers/echo-worker.js';

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/workers/echo-worker.js');

function start(extra: Partial<Parameters<typeof WorkerProcess.start>[0]> = {}, init: object = { greeting: 'hi' }) {
  return WorkerProcess.start<EchoMethods, EchoEvents>({ name: 'echo', entry: ENTRY, init, ...extra });
}

function isUnavailable(pattern: RegExp) {
  return (err: unknown) => err instanceof SwitchboardError && err.code === 'unavailable' && pattern.test(err.message);
}

test('a worker starts with its init data, answers requests and keeps error codes', async () => {
  const { worker, ready } = await start();
  try {
    assert.equal(ready.greeting, 'hi');
    assert.equal(ready.pid, worker.pid);
    assert.deepEqual(await worker.request('echo', { value: { a: [1, 2], b: Buffer.from('xy') } }), { a: [1, 2], b: Buffer.from('xy') });
    await assert.rejects(worker.request('fail', { code: 'room-full' }), (err: unknown) => {
      return err instanceof SwitchboardError && err.code === 'room-full' && err.message === 'failed with room-full';
    });
    const ticks: number[] = [];
    worker.on('event', (name, data) => {
      if (name === 'tick') ticks.push((data as EchoEvents['tick']).n);
    });
    assert.equal(await worker.request('burst', { events: 50 }), 50);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      ticks,
      Array.from({ length: 50 }, (_, n) => n),
      'events arrive in order',
    );
  } finally {
    await worker.close();
  }
});

test('a request the worker never answers times out; a full pending table refuses at once', async () => {
  const { worker } = await start({ requestTimeoutMs: 200, maxPendingRequests: 2 });
  try {
    const hung = [worker.request('hang', null), worker.request('hang', null)];
    await assert.rejects(worker.request('echo', { value: 1 }), isUnavailable(/2 requests waiting/));
    for (const h of hung) await assert.rejects(h, isUnavailable(/did not answer hang within 200 ms/));
    assert.equal(await worker.request('echo', { value: 2 }), 2, 'the worker serves again once the table drains');
  } finally {
    await worker.close();
  }
});

test('a crashed worker fails its pending requests and reports its exit', async () => {
  const { worker } = await start();
  const exit = new Promise<[number | null, string | null]>((r) => worker.once('exit', (code, signal) => r([code, signal])));
  const pending = worker.request('hang', null);
  await assert.rejects(worker.request('crash', { code: 3 }), isUnavailable(/exited \(code 3/));
  await assert.rejects(pending, isUnavailable(/exited/));
  assert.deepEqual(await exit, [3, null]);
  await assert.rejects(worker.request('echo', { value: 1 }), isUnavailable(/has exited/));
});

test('close ends the worker; kill ends it at once', async () => {
  const a = await start();
  await a.worker.close();
  assert.equal(a.worker.exited, true);
  const b = await start();
  const exit = new Promise<string | null>((r) => b.worker.once('exit', (_c, signal) => r(signal)));
  b.worker.kill();
  assert.equal(await exit, 'SIGKILL');
});

test('a worker that cannot start rejects start() with its reason', async () => {
  await assert.rejects(start({}, { greeting: 'x', failStart: true }), isUnavailable(/could not start: asked to fail/));
});

test('a worker runs at the niceness it was given', async () => {
  const { worker } = await start({ niceness: 10 });
  try {
    // /proc/PID/stat field 19 is the nice value; the name (field 2) is in parentheses and may hold spaces.
    const stat = readFileSync(`/proc/${worker.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    assert.equal(Number(fields[16]), 10);
  } finally {
    await worker.close();
  }
});

test('setNiceness renices a running worker', async () => {
  const { worker } = await start();
  try {
    const nice = (): number => {
      const stat = readFileSync(`/proc/${worker.pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    assert.equal(nice(), 0);
    worker.setNiceness(10);
    assert.equal(nice(), 10);
    assert.equal(await worker.request('echo', { value: 'still serving' }), 'still serving');
  } finally {
    await worker.close();
  }
});

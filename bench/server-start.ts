/**
 * What one `startSwitchboard()` costs (the test suite starts about 150 servers): median and max
 * of `--runs` starts (and their close), with media in the main process (`workers: 0`) and with
 * 2 media workers + 1 MCU worker.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/server-start.js [--runs 5]
 */
import { startSwitchboard } from '../src/server/app.js';
import type { ServerConfig } from '../src/server/config.js';

const BASE: Partial<ServerConfig> = { port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' };

async function measure(extra: Partial<ServerConfig>, runs: number): Promise<{ start: number[]; close: number[] }> {
  const start: number[] = [];
  const close: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const sb = await startSwitchboard({ ...BASE, ...extra });
    start.push(performance.now() - t);
    const c = performance.now();
    await sb.close();
    close.push(performance.now() - c);
  }
  return { start, close };
}

const i = process.argv.indexOf('--runs');
const runs = i >= 0 ? Number(process.argv[i + 1]) : 5;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [label, extra] of [
  ['workers: 0 (in-process media)', { workers: 0 }],
  ['workers: 1, mcuWorkers: 0', { workers: 1, mcuWorkers: 0 }],
  ['workers: 2, mcuWorkers: 0', { workers: 2, mcuWorkers: 0 }],
  ['workers: 2, mcuWorkers: 1', { workers: 2, mcuWorkers: 1 }],
] as const) {
  const { start, close } = await measure(extra, runs);
  console.log(
    `${label}: start median ${median(start).toFixed(0)} ms (max ${Math.max(...start).toFixed(0)}), close median ${median(close).toFixed(0)} ms, ${runs} runs`,
  );
}

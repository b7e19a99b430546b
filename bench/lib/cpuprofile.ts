/** Summarises a V8 .cpuprofile: self time by function and by file, top N. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { relative, resolve } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  try {
    const p = url.startsWith('file:') ? fileURLToPath(url) : url;
    const r = relative(process.cwd(), p);
    return r.replace(/^node_modules\//, 'nm/');
  } catch {
    return url;
  }
}

/** `busyOnly`: percentages of the non-idle time, idle left out (for a mostly idle server). */
export function summarizeProfile(path: string, top = 15, busyOnly = false): string {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const sampled = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    const file = shortUrl(f.url);
    const key = `${f.functionName || '(anonymous)'}  ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const idle = [...byFn].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
  const total = busyOnly ? sampled - idle || 1 : sampled;
  if (busyOnly) byFile.set('(native)', (byFile.get('(native)') ?? 0) - idle); // idle is a native frame
  const fmt = (m: Map<string, number>) =>
    [...m]
      .filter(([k]) => !busyOnly || !k.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`)
      .join('\n');
  return (
    `profile ${path}: ${(sampled / 1e6).toFixed(2)} s sampled, ${((100 * idle) / sampled).toFixed(1)} % idle` +
    `${busyOnly ? '; percentages of the busy time' : ''}\n` +
    `top self time by function:\n${fmt(byFn)}\ntop self time by file:\n${fmt(byFile)}`
  );
}

// CLI: node dist/bench/lib/cpuprofile.js FILE.cpuprofile [TOP]
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1]) && process.argv[2]) {
  console.log(summarizeProfile(process.argv[2], Number(process.argv[3] ?? 25)));
}

/**
 * Readings of a server child process (test/helpers/server-child.ts): RSS and file descriptors
 * from /proc (Linux), Prometheus text parsed, and plain GETs on their own connections.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { get as httpGet } from 'node:http';

export function readRssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export function countFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export interface MetricSample {
  name: string;
  labels: string;
  value: number;
}

/** Prometheus text → its samples (`labels` as written, e.g. `{where="x"}`, or ''). */
export function parseMetricSamples(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (Number.isFinite(value)) out.push({ name: m[1] as string, labels: m[2] ?? '', value });
  }
  return out;
}

/** Prometheus text → metric name → sum of its samples over all label sets. */
export function parseMetricSums(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const { name, value } of parseMetricSamples(text)) sums.set(name, (sums.get(name) ?? 0) + value);
  return sums;
}

/**
 * GET without keep-alive (its own connection, closed after the answer): a pooled connection
 * left open would show up in the server's descriptor count.
 */
export function fetchText(url: string, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

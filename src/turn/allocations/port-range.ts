/**
 * A range of relay port numbers (RFC 8656 §7.2 suggests 49152–65535). Several TURN processes
 * on one host each get a disjoint slice, so a port number alone says whose relay it can be
 * (own-endpoints.ts) and no two processes contend for one port.
 */
import { randomInt } from 'node:crypto';

export interface PortRange {
  min: number;
  max: number;
}

/** How many ports of a range one relay bind tries before answering 508 (each try is one bind syscall). */
export const RANGE_BIND_ATTEMPTS = 64;

export function inRange(range: PortRange, port: number): boolean {
  return port >= range.min && port <= range.max;
}

/**
 * Tries `bind` on ports of `range` from a random start, walking upward with wrap-around, at most
 * RANGE_BIND_ATTEMPTS times: the first port it binds wins. `even` tries even ports only; `pair`
 * leaves room for port + 1 (an RTP/RTCP pair, EVEN-PORT with R).
 */
export async function bindInRange<T>(
  range: PortRange,
  opts: { even: boolean; pair: boolean },
  bind: (port: number) => Promise<T | undefined>,
): Promise<T | undefined> {
  const step = opts.even ? 2 : 1;
  const first = opts.even ? range.min + (range.min % 2) : range.min;
  const last = opts.pair ? range.max - 1 : range.max;
  if (last < first) return undefined;
  const count = Math.floor((last - first) / step) + 1;
  const start = randomInt(count);
  for (let i = 0; i < Math.min(count, RANGE_BIND_ATTEMPTS); i++) {
    const bound = await bind(first + ((start + i) % count) * step);
    if (bound !== undefined) return bound;
  }
  return undefined;
}

/** `range` cut into `n` disjoint slices as even as can be (the first ones one port larger). */
export function splitRange(range: PortRange, n: number): PortRange[] {
  const size = range.max - range.min + 1;
  const base = Math.floor(size / n);
  const extra = size % n;
  const out: PortRange[] = [];
  let min = range.min;
  for (let i = 0; i < n; i++) {
    const len = base + (i < extra ? 1 : 0);
    out.push({ min, max: min + len - 1 });
    min += len;
  }
  return out;
}

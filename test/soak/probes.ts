/**
 * What the soak measures of the server process: RSS and file descriptors from /proc (Linux),
 * heap and active handles from its /metrics (prom-client's default metrics, prefix
 * `switchboard_process_`), the server's own live-object gauges, and a /healthz prober
 * (the readings themselves are in test/helpers/server-probes.ts).
 */
import { countFds, fetchText, parseMetricSums, readRssBytes } from '../helpers/server-probes.js';

/** Gauges that count live things: every one must be back to 0 when everyone has left. */
export const LIVE_GAUGES = [
  'switchboard_rooms',
  'switchboard_participants',
  'switchboard_sessions',
  'switchboard_connections',
  'switchboard_calls',
  'switchboard_turn_allocations',
  'switchboard_sfu_rooms',
  'switchboard_sfu_participants',
  'switchboard_sfu_producers',
  'switchboard_sfu_consumers',
  'switchboard_rtc_transports',
] as const;

export interface Sample {
  at: number;
  label: string;
  rssBytes: number;
  fds: number;
  heapUsedBytes: number;
  /** Memory outside the V8 heap that JS objects hold (Buffers, ArrayBuffers). */
  externalBytes: number;
  activeHandles: number;
  /** Handles, requests and timers (process.getActiveResourcesInfo): unlike handles, it counts JS timers. */
  activeResources: number;
  /** LIVE_GAUGES summed over their labels. */
  live: Record<string, number>;
  /** Exceptions caught at network/timer entry points — of the main process, the media workers and the TURN workers — plus worker restarts (a worker that crashed). */
  entryFaults: number;
}

export async function takeSample(pid: number, httpUrl: string, label: string): Promise<Sample> {
  const { text } = await fetchText(`${httpUrl}/metrics`);
  const sums = parseMetricSums(text);
  const live: Record<string, number> = {};
  for (const g of LIVE_GAUGES) live[g] = sums.get(g) ?? NaN;
  return {
    at: Date.now(),
    label,
    rssBytes: readRssBytes(pid),
    fds: countFds(pid),
    heapUsedBytes: sums.get('switchboard_process_nodejs_heap_size_used_bytes') ?? NaN,
    externalBytes: sums.get('switchboard_process_nodejs_external_memory_bytes') ?? NaN,
    activeHandles: sums.get('switchboard_process_nodejs_active_handles_total') ?? NaN,
    activeResources: sums.get('switchboard_process_nodejs_active_resources_total') ?? NaN,
    live,
    entryFaults:
      (sums.get('switchboard_entry_faults_total') ?? 0) +
      (sums.get('switchboard_worker_entry_faults_total') ?? 0) +
      (sums.get('switchboard_worker_restarts_total') ?? 0) +
      (sums.get('switchboard_turn_worker_entry_faults_total') ?? 0) +
      (sums.get('switchboard_turn_worker_restarts_total') ?? 0),
  };
}

/** Probes /healthz every `intervalMs`; a probe fails on a non-200, a body without ok, or no answer in 5 s. */
export class HealthProber {
  probes = 0;
  readonly failures: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly httpUrl: string,
    private readonly intervalMs = 5000,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.inFlight = this.probe();
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private async probe(): Promise<void> {
    this.probes++;
    try {
      const { status, text } = await fetchText(`${this.httpUrl}/healthz`);
      if (status !== 200 || (JSON.parse(text) as { status?: unknown }).status !== 'ok')
        this.failures.push(`${new Date().toISOString()} HTTP ${status}: ${text.slice(0, 200)}`);
    } catch (err) {
      this.failures.push(`${new Date().toISOString()} ${(err as Error).message}`);
    }
  }
}

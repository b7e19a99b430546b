/**
 * Open signaling connections per client IP address, for the per-address cap: one host cannot
 * hold more than its share of sockets (each costs memory and a heartbeat slot) however it
 * behaves on each. Behind a reverse proxy every client shares the proxy's address; raise
 * the cap there (X-Forwarded-For is not trusted: any client could write it).
 */

/** The address a connection is counted under: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as plain IPv4. */
export function clientAddress(remote: string | undefined): string {
  if (remote === undefined) return 'unknown';
  const lower = remote.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

export class ConnectionsByAddress {
  private readonly counts = new Map<string, number>();

  constructor(readonly maxPerAddress: number) {}

  /** True when `address` already holds its cap of connections: a new one must be refused. */
  isFull(address: string): boolean {
    return (this.counts.get(address) ?? 0) >= this.maxPerAddress;
  }

  add(address: string): void {
    this.counts.set(address, (this.counts.get(address) ?? 0) + 1);
  }

  remove(address: string): void {
    const n = this.counts.get(address) ?? 0;
    if (n <= 1) this.counts.delete(address);
    else this.counts.set(address, n - 1);
  }

  count(address: string): number {
    return this.counts.get(address) ?? 0;
  }
}

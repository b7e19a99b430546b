/**
 * Allocation quotas (RFC 8656 §7.2 step 10, 486 Allocation Quota Reached): the server's total,
 * per identity and per client IP. A unit is a live allocation or a port held for a
 * RESERVATION-TOKEN (EVEN-PORT with R), since either holds a socket.
 *
 * The identity is who the credential names, not the credential: a REST username
 * "expiry:identity" changes every second for the same identity, so keying on it would give
 * everyone a fresh quota per second. Static users are their name. The per-IP bound stops one
 * host that can get many identities (open mode gives every signaling hello a new one).
 */

export interface QuotaLimits {
  total: number;
  perIdentity: number;
  perIp: number;
}

/** The identity a TURN username stands for: the part after the first ':' of a REST username, else the name. */
export function quotaIdentity(username: string): string {
  const m = /^\d{1,12}:/.exec(username);
  return m ? username.slice(m[0].length) : username;
}

export class AllocationQuotas {
  private used = 0;
  private readonly byIdentity = new Map<string, number>();
  private readonly byIp = new Map<string, number>();

  constructor(readonly limits: QuotaLimits) {}

  /** Units in use in all (allocations plus held reservations). */
  get total(): number {
    return this.used;
  }

  fits(identity: string, ip: string, units: number): boolean {
    return (
      this.used + units <= this.limits.total &&
      (this.byIdentity.get(identity) ?? 0) + units <= this.limits.perIdentity &&
      (this.byIp.get(ip) ?? 0) + units <= this.limits.perIp
    );
  }

  add(identity: string, ip: string, units = 1): void {
    this.used += units;
    this.byIdentity.set(identity, (this.byIdentity.get(identity) ?? 0) + units);
    this.byIp.set(ip, (this.byIp.get(ip) ?? 0) + units);
  }

  remove(identity: string, ip: string, units = 1): void {
    this.used = Math.max(0, this.used - units);
    dec(this.byIdentity, identity, units);
    dec(this.byIp, ip, units);
  }
}

function dec(m: Map<string, number>, key: string, units: number): void {
  const n = (m.get(key) ?? 0) - units;
  if (n > 0) m.set(key, n);
  else m.delete(key);
}
